"""The latch task, variants I and II (docs/literature.md, "BSF94 / RG tasks")."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec
from evorec import Architecture, Population


def noise_after_start(batch, channel=0):
    """All input values of ``channel`` at steps 1 .. length-1, concatenated."""
    return np.concatenate([batch.inputs[b, 1:length, channel] for b, length in enumerate(batch.lengths)])


def check_gaussian(noise, var):
    """Mean 0, variance ``var``, Gaussian shape, no correlation between neighbouring steps."""
    sd = math.sqrt(var)
    assert noise.size > 50_000
    assert abs(noise.mean()) < 0.01
    assert abs(noise.var() - var) < 0.05 * var  # 0.01 for variance 0.2; std 0.2 would give 0.04
    # Gaussian: 68.3 % within one sd (uniform noise of the same variance: 57.7 %).
    assert abs(np.mean(np.abs(noise) < sd) - 0.6827) < 0.01
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.02


# --------------------------------------------------------------------------- defaults
def test_defaults_are_the_papers():
    task = evorec.make_task("latch")
    assert task.variant == "II"
    assert task.noise_var == 0.2
    assert task.lengths == (500, 600)
    assert task.criterion().tol == 0.1
    assert not task.noise_line and task.n_in == 1


def test_variant_i_is_judged_by_sign_by_default_and_by_error_on_request():
    assert repr(evorec.make_task("latch", variant="I").criterion()) == "SameSign()"
    assert evorec.make_task("latch", variant="I", success="error").criterion().tol == 0.1
    assert repr(evorec.make_task("latch", variant="II", success="sign").criterion()) == "SameSign()"
    with pytest.raises(ValueError, match="success must be one of 'sign', 'error'"):
        evorec.make_task("latch", success="tolerance")


def test_a_saturated_latch_i_unit_is_right_by_sign_and_wrong_by_error():
    # RG's reading: w_self = 20 latches the unit at +-1 (0.2 from the targets +-0.8) and the
    # noise (variance 0.2, weight 1) moves it little; right by sign, wrong by |error| < 0.1.
    arch = Architecture.latch_i()
    src = arch.source_slices()
    W_y = np.zeros((1, 1, arch.n_units))
    W_y[0, 0, src["input"].start:src["input"].start + 2] = [3.0, -3.0]
    W_y[0, 0, src["output"].start] = 20.0
    by_sign = evorec.make_task("latch", variant="I", lengths=(50, 60))
    by_error = evorec.make_task("latch", variant="I", lengths=(50, 60), success="error")
    assert solves(by_sign, arch, W_y).tolist() == [0]
    assert solves(by_error, arch, W_y).tolist() == [100]
    W_y[0, 0, src["input"].start:src["input"].start + 2] = [-3.0, 3.0]  # signs swapped: all wrong
    assert solves(by_sign, arch, W_y).tolist() == [100]


def test_same_sign_needs_a_finite_output_and_a_signed_target():
    from evorec.tasks.fitness import SameSign

    outputs = np.array([[[0.3], [-0.1], [np.nan], [0.5], [0.0]]])
    targets = np.array([[0.8], [-0.8], [0.8], [0.0], [0.8]])
    assert SameSign().entry_correct(outputs, targets).tolist() == [[True, True, False, False, False]]


def test_noise_line_puts_the_noise_on_its_own_input_with_weight_one():
    shared = evorec.make_task("latch", lengths=(20, 30))
    line = evorec.make_task("latch", lengths=(20, 30), noise_line=True)
    a, b = shared.sample(40, np.random.default_rng(2)), line.sample(40, np.random.default_rng(2))
    assert b.inputs.shape[2] == 2 and line.n_in == 2
    np.testing.assert_array_equal(b.inputs[:, 0, 0], a.inputs[:, 0, 0])
    assert not b.inputs[:, 1:, 0].any() and not b.inputs[:, 0, 1].any()
    np.testing.assert_array_equal(b.inputs[:, 1:, 1], a.inputs[:, 1:, 0])
    arch = line.default_architecture()
    assert arch.n_params == 3 and arch.frozen_y[0, 2] and arch.frozen_values_y[0, 2] == 1.0
    # With input weight 1 the two readings are the same network.
    W = np.array([[[0.1, 1.0, 5.0]]])
    W_line = np.array([[[0.1, 1.0, 1.0, 5.0]]])
    y_shared = evorec.forward(Population.from_weights(shared.default_architecture(), np.zeros((1, 0, 3)), W),
                              a.inputs, a.lengths)
    y_line = evorec.forward(Population.from_weights(arch, np.zeros((1, 0, 4)), W_line), b.inputs, b.lengths)
    np.testing.assert_allclose(y_line, y_shared, rtol=0, atol=1e-15, equal_nan=True)
    with pytest.raises(ValueError, match="variant II only"):
        evorec.make_task("latch", variant="I", noise_line=True)


# --------------------------------------------------------------------------- variant II
def test_variant_ii_start_input_is_the_class_sign():
    batch = evorec.make_task("latch", variant="II", lengths=(5, 10)).sample(50, np.random.default_rng(0))
    assert batch.inputs.shape[2] == 1
    np.testing.assert_array_equal(batch.inputs[:, 0, 0], np.where(batch.labels == 0, 1.0, -1.0))


@pytest.mark.parametrize("noise_var", [0.2, 0.5])
def test_variant_ii_noise_is_gaussian_with_variance(noise_var):
    task = evorec.make_task("latch", variant="II", lengths=(400, 500), noise_var=noise_var)
    batch = task.sample(250, np.random.default_rng(1))
    check_gaussian(noise_after_start(batch), noise_var)


def test_variant_ii_noise_is_independent_across_sequences():
    batch = evorec.make_task("latch", lengths=300).sample(400, np.random.default_rng(2))
    a, b = batch.inputs[:-1, 1:, 0].ravel(), batch.inputs[1:, 1:, 0].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02


def test_variant_ii_zero_noise_is_silent():
    batch = evorec.make_task("latch", lengths=(5, 10), noise_var=0).sample(20, np.random.default_rng(3))
    assert np.all(batch.inputs[:, 1:, 0] == 0.0)


def test_variant_ii_targets_are_plus_minus_one():
    batch = evorec.make_task("latch", lengths=(5, 10)).sample(30, np.random.default_rng(4))
    last = batch.targets[np.arange(30), batch.lengths - 1, 0]
    np.testing.assert_array_equal(last, np.where(batch.labels == 0, 1.0, -1.0))


def test_variant_ii_default_architecture():
    arch = evorec.make_task("latch", variant="II").default_architecture()
    assert (arch.n_in, arch.n_hidden, arch.n_out) == (1, 0, 1)
    assert arch.output == "tanh"
    assert arch.n_params == 3
    W_h, W_y = arch.unpack(np.array([2.0, 3.0, 5.0]))
    src = arch.source_slices()
    # The three free weights are the bias, the input and the self link, in some order.
    assert sorted(W_y[0, [src["bias"].start, src["input"].start, src["output"].start]]) == [2.0, 3.0, 5.0]


# ---------------------------------------------------------------------------- variant I
def test_variant_i_channels():
    batch = evorec.make_task("latch", variant="I", lengths=(5, 10)).sample(60, np.random.default_rng(5))
    labels = batch.labels
    assert batch.inputs.shape[2] == 3
    # The class pulse: channel 0 for class 0, channel 1 for class 1, 1 at t = 0 only.
    np.testing.assert_array_equal(batch.inputs[:, 0, 0], (labels == 0).astype(float))
    np.testing.assert_array_equal(batch.inputs[:, 0, 1], (labels == 1).astype(float))
    assert np.all(batch.inputs[:, 1:, :2] == 0.0)
    # The noise channel is silent at t = 0 and noisy afterwards.
    assert np.all(batch.inputs[:, 0, 2] == 0.0)
    assert np.all(noise_after_start(batch, channel=2) != 0.0)


def test_variant_i_noise_is_gaussian_with_variance():
    task = evorec.make_task("latch", variant="I", lengths=(400, 500))
    check_gaussian(noise_after_start(task.sample(250, np.random.default_rng(6)), channel=2), 0.2)


def test_variant_i_targets_are_plus_minus_0_8():
    batch = evorec.make_task("latch", variant="I", lengths=(5, 10)).sample(30, np.random.default_rng(7))
    last = batch.targets[np.arange(30), batch.lengths - 1, 0]
    np.testing.assert_allclose(last, np.where(batch.labels == 0, 0.8, -0.8), rtol=0, atol=1e-12)


def test_variant_i_default_architecture_freezes_noise_weight_at_one():
    arch = evorec.make_task("latch", variant="I").default_architecture()
    assert (arch.n_in, arch.n_hidden, arch.n_out) == (3, 0, 1)
    assert arch.output == "tanh"
    assert arch.n_params == 3
    src = arch.source_slices()
    bias, pulse0, pulse1, noise = src["bias"].start, src["input"].start, src["input"].start + 1, src["input"].start + 2
    self_link = src["output"].start
    _, W_y = arch.unpack(np.array([2.0, 3.0, 5.0]))
    assert W_y[0, noise] == 1.0
    assert W_y[0, bias] == 0.0
    assert sorted(W_y[0, [pulse0, pulse1, self_link]]) == [2.0, 3.0, 5.0]
    # Whatever the free parameters, the noise weight stays 1.
    _, W_y = arch.unpack(np.random.default_rng(0).uniform(-100, 100, size=(10, 3)))
    assert np.all(W_y[:, 0, noise] == 1.0)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("variant", ["III", "ii", "1", 2, None])
def test_bad_variant(variant):
    with pytest.raises(ValueError, match="variant"):
        evorec.make_task("latch", variant=variant)


@pytest.mark.parametrize("noise_var", [-0.1, math.nan, "0.2", None])
def test_bad_noise_var(noise_var):
    with pytest.raises(ValueError, match="noise_var"):
        evorec.make_task("latch", noise_var=noise_var)


# ---------------------------------------------------- hand-built networks that solve it
def solves(task, arch, W_y, n=100, seed=0):
    """Number of wrong sequences of each network (one row of W_y each) on a fresh batch."""
    W_y = np.asarray(W_y, dtype=float)
    pop = Population.from_weights(arch, np.zeros((len(W_y), 0, arch.n_units)), W_y)
    batch = task.sample(n, np.random.default_rng(seed))
    result = evorec.evaluate(pop, batch, evorec.make_fitness("mse"), task.criterion())
    return result.wrong


@pytest.mark.parametrize("lengths", [(10, 20), (500, 600)])
def test_variant_ii_latching_unit_gets_every_sequence_right(lengths):
    # y_t = tanh(2 x_t + 20 y_{t-1}): y_0 = tanh(+-2) = +-0.96 takes the class's sign; afterwards
    # the net input is >= 20 * 0.96 - 2 |n| in the latched direction, which stays above
    # atanh(0.9) = 1.47 unless |n| > 8.8 (about 20 sd): the error at the end is < 0.1.
    # With the input weight's sign flipped the unit latches the wrong sign: all wrong.
    task = evorec.make_task("latch", variant="II", lengths=lengths)
    arch = Architecture.latch_ii()
    src = arch.source_slices()
    W_y = np.zeros((2, 1, arch.n_units))
    W_y[:, 0, src["input"].start] = [2.0, -2.0]
    W_y[:, 0, src["output"].start] = 20.0
    np.testing.assert_array_equal(solves(task, arch, W_y), [0, 100])


def test_variant_i_latching_unit_gets_every_sequence_right():
    # y = +-0.8 is a fixed point of y <- tanh(w y) for w = atanh(0.8) / 0.8 ~ 1.37, and a stable
    # one (slope w (1 - 0.64) ~ 0.49).  The pulse weights +-atanh(0.8) put y_0 exactly there.
    # The noise (weight 1, variance 1e-4 here) moves y by ~0.005 at most: every sequence right.
    # BSF94's variance 0.2 would move y by ~0.16, beyond RG's 0.1 tolerance, hence small noise.
    task = evorec.make_task("latch", variant="I", lengths=(10, 20), noise_var=1e-4, success="error")
    arch = Architecture.latch_i()
    src = arch.source_slices()
    a = math.atanh(0.8)
    W_y = np.zeros((2, 1, arch.n_units))
    W_y[:, 0, src["input"].start] = [a, -a]
    W_y[:, 0, src["input"].start + 1] = [-a, a]
    W_y[:, 0, src["output"].start] = a / 0.8
    np.testing.assert_array_equal(solves(task, arch, W_y), [0, 100])
