"""The two-sequence task, BSF94 / RG flavour (LITERATURE.md, "BSF94 / RG tasks")."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec
from evorec import Architecture, Population


def noise_part(batch, N):
    """All inputs after the first N elements, within each sequence's length."""
    return np.concatenate([batch.inputs[b, N:length, 0] for b, length in enumerate(batch.lengths)])


def test_defaults_are_the_papers():
    task = evorec.make_task("two_sequence")
    assert task.N == 1
    assert task.noise_var == 0.2
    assert task.lengths == (500, 600)
    assert task.targets == (1.0, 0.0)
    assert task.criterion().tol == 0.1


@pytest.mark.parametrize("N", [1, 3])
def test_first_n_elements_give_the_class(N):
    batch = evorec.make_task("two_sequence", N=N, lengths=(N + 1, 20)).sample(60, np.random.default_rng(0))
    sign = np.where(batch.labels == 0, 1.0, -1.0)
    np.testing.assert_array_equal(batch.inputs[:, :N, 0], np.repeat(sign[:, None], N, axis=1))
    # Element N is already noise, not a further informative element.
    assert not np.all(np.abs(batch.inputs[:, N, 0]) == 1.0)


@pytest.mark.parametrize(("N", "noise_var"), [(1, 0.2), (3, 0.2), (3, 0.5)])
def test_rest_is_gaussian_noise_with_variance(N, noise_var):
    task = evorec.make_task("two_sequence", N=N, lengths=(400, 500), noise_var=noise_var)
    noise = noise_part(task.sample(250, np.random.default_rng(1)), N)
    sd = math.sqrt(noise_var)
    assert noise.size > 50_000
    assert abs(noise.mean()) < 0.01
    assert abs(noise.var() - noise_var) < 0.05 * noise_var  # 0.01 for variance 0.2
    assert abs(np.mean(np.abs(noise) < sd) - 0.6827) < 0.01  # Gaussian, not uniform (0.577)
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.02


def test_zero_noise_leaves_only_the_informative_elements():
    batch = evorec.make_task("two_sequence", N=3, lengths=(5, 9), noise_var=0).sample(20, np.random.default_rng(2))
    assert np.all(batch.inputs[:, 3:, 0] == 0.0)


def test_default_targets_are_one_and_zero():
    batch = evorec.make_task("two_sequence", lengths=(5, 9)).sample(40, np.random.default_rng(3))
    last = batch.targets[np.arange(40), batch.lengths - 1, 0]
    np.testing.assert_array_equal(last, np.where(batch.labels == 0, 1.0, 0.0))


@pytest.mark.parametrize("targets", [(0.2, 0.8), [-1, 1], (0.0, 0.0)])
def test_targets_parameter(targets):
    batch = evorec.make_task("two_sequence", lengths=(5, 9), targets=targets).sample(40, np.random.default_rng(4))
    last = batch.targets[np.arange(40), batch.lengths - 1, 0]
    np.testing.assert_array_equal(last, np.where(batch.labels == 0, float(targets[0]), float(targets[1])))


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("N", "lengths"), [(1, 1), (3, 3), (3, (3, 5)), (3, (2, 10)), (5, (1, 4))])
def test_lengths_must_exceed_n(N, lengths):
    with pytest.raises(ValueError, match="lengths"):
        evorec.make_task("two_sequence", N=N, lengths=lengths)


def test_shortest_allowed_length_is_n_plus_one():
    batch = evorec.make_task("two_sequence", N=3, lengths=4).sample(10, np.random.default_rng(5))
    assert np.all(batch.lengths == 4)


@pytest.mark.parametrize("N", [0, -1, 1.5, True, None, "3"])
def test_bad_n(N):
    with pytest.raises(ValueError, match=r"\bN\b"):
        evorec.make_task("two_sequence", N=N, lengths=(10, 20))


@pytest.mark.parametrize("noise_var", [-0.2, math.nan, "0.2", None])
def test_bad_noise_var(noise_var):
    with pytest.raises(ValueError, match="noise_var"):
        evorec.make_task("two_sequence", noise_var=noise_var)


@pytest.mark.parametrize("targets", [(1.0,), (1.0, 0.0, 0.5), 1.0, "10"])
def test_bad_targets_shape(targets):
    with pytest.raises(ValueError, match="targets"):
        evorec.make_task("two_sequence", targets=targets)


@pytest.mark.parametrize("targets", [(1.0, "high"), (1.0, None)])
def test_bad_targets_values(targets):
    with pytest.raises(ValueError, match="targets"):
        evorec.make_task("two_sequence", targets=targets)


# ---------------------------------------------------- a hand-built network that solves it
@pytest.mark.parametrize("N", [1, 3])
def test_latching_network_gets_every_sequence_right(N):
    # A1 with one tanh hidden unit and a sigmoid output.
    # h_t = tanh(2 x_t + 20 h_{t-1}): h_0 = tanh(+-2) = +-0.96 takes the class's sign (the
    # further informative elements of N = 3 push the same way); afterwards the self link
    # (20 * 0.96) outweighs the noise unless |2 n| > 17, i.e. about 20 sd, so h stays near +-1.
    # y_t = sigmoid(10 h_t) is then > 0.9999 for class 0 (target 1) and < 0.0001 for class 1
    # (target 0).  With the output weight's sign flipped every sequence is wrong.
    task = evorec.make_task("two_sequence", N=N)
    arch = Architecture.fully_recurrent(1, 1, 1, hidden="tanh", output="sigmoid")
    src = arch.source_slices()
    x, h = src["input"].start, src["hidden"].start
    W_h = np.zeros((2, 1, arch.n_units))
    W_h[:, 0, x], W_h[:, 0, h] = 2.0, 20.0
    W_y = np.zeros((2, 1, arch.n_units))
    W_y[:, 0, h] = [10.0, -10.0]
    pop = Population.from_weights(arch, W_h, W_y)
    batch = task.sample(100, np.random.default_rng(6))
    result = evorec.evaluate(pop, batch, evorec.make_fitness("mse"), task.criterion())
    np.testing.assert_array_equal(result.wrong, [0, 100])
