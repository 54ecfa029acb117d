"""The parity task (docs/literature.md, "BSF94 / RG tasks")."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec
from evorec import Architecture, Population


def elements(batch):
    """The elements of each sequence, within its length (a list of 1-D arrays)."""
    return [batch.inputs[b, :length, 0] for b, length in enumerate(batch.lengths)]


def parity_of(values):
    """1 if the number of +1 elements (the positive ones) is odd, else 0."""
    return int(np.sum(values > 0)) % 2


def test_defaults_are_the_papers():
    task = evorec.make_task("parity")
    assert task.noise == 0.0
    assert task.noise_distribution == "uniform"
    assert task.lengths == (500, 600)
    assert task.criterion().tol == 0.1


def test_noise_free_elements_are_exactly_plus_minus_one():
    batch = evorec.make_task("parity", lengths=(1, 40)).sample(200, np.random.default_rng(0))
    for seq in elements(batch):
        assert np.all((seq == 1.0) | (seq == -1.0))


def test_label_is_number_of_plus_ones_mod_2_and_target_equals_label():
    batch = evorec.make_task("parity", lengths=(1, 40)).sample(200, np.random.default_rng(1))
    labels = np.array([parity_of(seq) for seq in elements(batch)])
    np.testing.assert_array_equal(batch.labels, labels)
    last = batch.targets[np.arange(200), batch.lengths - 1, 0]
    np.testing.assert_array_equal(last, labels.astype(float))


def test_elements_are_fair_coin_flips_at_every_position():
    # Uniform among the sequences of each parity: every element, the last one included, is +1
    # with probability 1/2, whatever the class.
    batch = evorec.make_task("parity", lengths=30).sample(4000, np.random.default_rng(2))
    plus = batch.inputs[:, :, 0] > 0
    assert np.all(np.abs(plus.mean(axis=0) - 0.5) < 0.04)  # sd ~0.008
    for label in (0, 1):
        assert abs(plus[batch.labels == label, -1].mean() - 0.5) < 0.05
    # Not the same sequences over and over.
    assert len({row.tobytes() for row in plus}) > 3900


@pytest.mark.parametrize("noise", [0.2, 0.05])
def test_noisy_elements_stay_within_noise_of_plus_minus_one_and_keep_the_label(noise):
    batch = evorec.make_task("parity", lengths=(1, 40), noise=noise).sample(300, np.random.default_rng(3))
    for seq, label in zip(elements(batch), batch.labels, strict=True):
        assert np.all(np.abs(np.abs(seq) - 1.0) <= noise)
        assert parity_of(np.sign(seq)) == label
    assert np.all(np.abs(np.concatenate(elements(batch))) != 1.0)  # noise was added everywhere


def test_noise_is_uniform():
    batch = evorec.make_task("parity", lengths=(400, 500), noise=0.2).sample(250, np.random.default_rng(4))
    values = np.concatenate(elements(batch))
    noise = values - np.sign(values)
    assert noise.size > 50_000
    assert np.all(np.abs(noise) <= 0.2)
    assert abs(noise.mean()) < 0.003                   # sd of the mean ~0.0004
    assert abs(noise.var() - 0.2**2 / 3) < 0.001      # uniform on [-0.2, 0.2]: 0.01333
    # Uniform: half the mass within 0.1 (a Gaussian with that variance: 61 %).
    assert abs(np.mean(np.abs(noise) < 0.1) - 0.5) < 0.01
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.02


def test_gaussian_noise_has_the_standard_deviation_noise():
    task = evorec.make_task("parity", lengths=(400, 500), noise=0.2, noise_distribution="gaussian")
    batch = task.sample(250, np.random.default_rng(4))
    noise = np.concatenate([seq - clean for seq, clean in zip(
        elements(batch), elements(_clean_twin(task, 250, 4)), strict=True)])
    assert noise.size > 50_000
    assert abs(noise.mean()) < 0.005                   # sd of the mean ~0.0009
    assert abs(noise.std() - 0.2) < 0.003              # sd of the sd estimate ~0.0006
    # Gaussian, not uniform: about 4.6 % beyond two standard deviations (uniform: none).
    assert abs(np.mean(np.abs(noise) > 0.4) - 0.0455) < 0.005
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.02


def _clean_twin(task, n, seed):
    """The same draw without the noise: the clean elements are drawn before the noise."""
    clean = evorec.make_task("parity", lengths=task.lengths)
    return clean.sample(n, np.random.default_rng(seed))


def test_default_architecture_has_sigmoid_output():
    arch = evorec.make_task("parity").default_architecture()
    assert (arch.n_in, arch.n_out) == (1, 1)
    assert arch.output == "sigmoid"


@pytest.mark.parametrize("noise", [-0.2, math.nan, "0.2", None])
def test_bad_noise(noise):
    with pytest.raises(ValueError, match="noise"):
        evorec.make_task("parity", noise=noise)


@pytest.mark.parametrize("distribution", ["normal", "Gaussian", None, 1])
def test_bad_noise_distribution(distribution):
    with pytest.raises(ValueError, match="noise_distribution must be one of 'uniform', 'gaussian'"):
        evorec.make_task("parity", noise=0.2, noise_distribution=distribution)


# ---------------------------------------------------- a hand-built network that solves it
@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_xor_network_gets_every_sequence_right(noise):
    # RG's A1 with two sigmoid hidden units and a sigmoid output, k = 20.  The output keeps the
    # running parity y in {0, 1}; each step computes y_t = XOR(b_t, y_{t-1}) with b = (x + 1) / 2:
    #   h1 = sigmoid(k (x/2 + y - 1))   AND(b, y): net input +-10 or below
    #   h2 = sigmoid(k (x/2 + y))       OR(b, y):  net input +-10 or above
    #   y  = sigmoid(k (h2 - h1 - 1/2)) h2 AND NOT h1: net input +-10 (up to ~0.01)
    # The initial y is 0 (no +1 seen: even).  Noise of at most 0.2 on x moves the net inputs of
    # h1 and h2 by at most k * 0.1 = 2, so every margin stays >= 8 and the output stays within
    # 1e-3 of the true parity over 600 steps: every sequence is right, if the task's targets are.
    k = 20.0
    task = evorec.make_task("parity", noise=noise)
    arch = Architecture.fully_recurrent(1, 2, 1, hidden="sigmoid", output="sigmoid")
    src = arch.source_slices()
    bias, x, h1, h2, y = (src["bias"].start, src["input"].start, src["hidden"].start,
                          src["hidden"].start + 1, src["output"].start)
    W_h = np.zeros((1, 2, arch.n_units))
    W_h[0, 0, [bias, x, y]] = [-k, k / 2, k]
    W_h[0, 1, [x, y]] = [k / 2, k]
    W_y = np.zeros((1, 1, arch.n_units))
    W_y[0, 0, [bias, h1, h2]] = [-k / 2, -k, k]
    pop = Population.from_weights(arch, W_h, W_y)
    batch = task.sample(100, np.random.default_rng(5))
    result = evorec.evaluate(pop, batch, evorec.make_fitness("mse"), task.criterion())
    assert result.wrong[0] == 0
    assert result.loss[0] < 1e-4
