"""Tests of evorec.rtrl: RTRL's gradient against BPTT's, and Williams and Zipser's online learning."""

import dataclasses

import numpy as np
import pytest

from evorec import Architecture, Population, forward, make_problem, rnn, rtrl
from evorec.rnn import SGD, Adam
from tests.evorec.test_rnn import _batch, _random_arch

LOSSES = ("mse", "sse", "cross_entropy")


def _losses_for(arch):
    return [loss for loss in LOSSES if loss != "cross_entropy" or arch.output == "sigmoid"]


def _assert_same_gradient(arch, theta, batch):
    """RTRL's loss and gradient equal BPTT's for every loss the output activation allows."""
    for loss in _losses_for(arch):
        want_value, want_grad = rnn.loss_and_grad(arch, theta, batch, loss)
        value, grad = rtrl.loss_and_grad(arch, theta, batch, loss)
        assert value == pytest.approx(want_value, rel=1e-12), loss
        assert grad.shape == (arch.n_params,)
        # The key property: forward-in-time sensitivities give exactly the back-propagated gradient.
        assert np.linalg.norm(grad - want_grad) <= 1e-10 * np.linalg.norm(want_grad), loss
        assert np.linalg.norm(want_grad) > 0


# --------------------------------------------------------------- the gradient equals BPTT's
@pytest.mark.parametrize("task, params", [("latch", {}), ("latch", {"variant": "II"}),
                                          ("parity", {"lengths": (5, 12)}),
                                          ("two_sequence", {"lengths": (5, 12), "N": 3})])
def test_rtrl_gradient_equals_bptt_on_the_task_defaults(task, params):
    problem = make_problem(task, task_params=params, train_size=6, test_size=2, seed=3)
    rng = np.random.default_rng(len(task))
    theta = rng.normal(size=problem.architecture.n_params)
    _assert_same_gradient(problem.architecture, theta, problem.train)


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("output", ["tanh", "sigmoid", "linear"])
def test_rtrl_gradient_equals_bptt_on_a_fully_recurrent_net_with_several_hidden_units(hidden, output):
    rng = np.random.default_rng(11)
    arch = Architecture.fully_recurrent(2, 4, 2, hidden=hidden, output=output)
    # Variable lengths, random scored steps and NaN padding: padding must not leak in either pass.
    batch = _batch(rng, 2, 2, B=4, T=9, targets01=output == "sigmoid")
    _assert_same_gradient(arch, rng.normal(scale=0.8, size=arch.n_params), batch)


@pytest.mark.parametrize("seed", range(6))
def test_rtrl_gradient_equals_bptt_with_masks_and_frozen_weights(seed):
    rng = np.random.default_rng(200 + seed)
    arch = _random_arch(rng, int(rng.integers(0, 3)), int(rng.integers(1, 5)), int(rng.integers(1, 3)),
                        "tanh", ["tanh", "sigmoid", "linear"][seed % 3])
    batch = _batch(rng, arch.n_in, arch.n_out, B=3, T=int(rng.integers(2, 9)), targets01=True)
    _assert_same_gradient(arch, rng.normal(size=arch.n_params), batch)


def test_rtrl_outputs_are_the_forward_pass():
    rng = np.random.default_rng(5)
    arch = Architecture.fully_recurrent(2, 3, 1, hidden="tanh", output="sigmoid")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 2, 1, B=3, T=7)
    _, _, outputs = rtrl.loss_and_grad(arch, theta, batch, with_outputs=True)
    want = forward(Population.from_params(arch, theta[None]), batch.inputs, batch.lengths)[0]
    alive = np.arange(batch.n_steps)[None, :] < batch.lengths[:, None]
    np.testing.assert_allclose(outputs[alive], want[alive], rtol=1e-12)
    assert np.all(outputs[~alive] == 0)


def test_rtrl_refuses_what_bptt_refuses():
    rng = np.random.default_rng(0)
    arch = Architecture.fully_recurrent(1, 2, 1, output="tanh")
    batch = _batch(rng, 1, 1)
    theta = np.zeros(arch.n_params)
    with pytest.raises(ValueError, match="loss"):
        rtrl.loss_and_grad(arch, theta, batch, "hinge")
    with pytest.raises(ValueError, match="sigmoid"):
        rtrl.loss_and_grad(arch, theta, batch, "cross_entropy")
    with pytest.raises(ValueError, match="theta"):
        rtrl.loss_and_grad(arch, theta[:-1], batch)
    with pytest.raises(ValueError, match="inputs"):
        rtrl.loss_and_grad(arch, theta, _batch(rng, 2, 1))
    with pytest.raises(ValueError, match="hidden_first"):
        rtrl.loss_and_grad(dataclasses.replace(arch, update="synchronous"), theta, batch)
    leaky = arch.with_time_constants(4.0)
    with pytest.raises(ValueError, match="time constants or delay lines"):
        rtrl.loss_and_grad(leaky, np.zeros(leaky.n_params), batch)
    narx = Architecture.narx(1, 2, 1, delays=3)
    with pytest.raises(ValueError, match="time constants or delay lines"):
        rtrl.loss_and_grad(narx, np.zeros(narx.n_params), batch)
    with pytest.raises(TypeError, match="update_rule"):
        rtrl.train_online(arch, theta, batch, update_rule=None)
    with pytest.raises(ValueError, match="clip"):
        rtrl.train_online(arch, theta, batch, SGD(0.1), clip=0)


# ------------------------------------------------------------------------ online learning
@pytest.mark.parametrize("loss", LOSSES)
def test_per_step_changes_over_a_batch_add_up_to_bptts_gradient_for_a_tiny_rate(loss):
    rng = np.random.default_rng(8)
    arch = Architecture.fully_recurrent(2, 3, 2, hidden="tanh", output="sigmoid")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 2, 2, B=3, T=8, targets01=True)
    lr = 1e-7
    new, losses, _ = rtrl.train_online(arch, theta, batch, SGD(lr), loss=loss)
    want_value, want_grad = rnn.loss_and_grad(arch, theta, batch, loss)
    change = (new - theta) / -lr
    assert np.linalg.norm(change - want_grad) <= 1e-4 * np.linalg.norm(want_grad)
    # Each sequence's loss is its own (its own entries' mean): with a batch of one, the batch's loss.
    first = batch[np.array([0])]
    _, alone, _ = rtrl.train_online(arch, theta, first, SGD(lr), loss=loss)
    assert losses[0] == pytest.approx(alone[0], rel=1e-5)
    assert alone[0] == pytest.approx(rnn.loss_and_grad(arch, theta, first, loss)[0], rel=1e-5)


def test_per_step_updates_change_the_weights_within_a_sequence():
    rng = np.random.default_rng(9)
    arch = Architecture.fully_recurrent(1, 3, 1, hidden="tanh", output="tanh")
    theta = rng.normal(size=arch.n_params)
    T = 8
    batch = _batch(rng, 1, 1, B=1, T=T, nan_padding=False)
    batch = dataclasses.replace(batch, target_mask=np.ones((1, T), dtype=bool))  # every step scored
    lr = 0.2
    online, _, presented = rtrl.train_online(arch, theta, batch, SGD(lr))
    _, grad = rtrl.loss_and_grad(arch, theta, batch, "sse")
    per_sequence = theta - lr * grad  # what an update once per sequence does (= a bptt update)
    assert np.linalg.norm(online - per_sequence) > 1e-3 * np.linalg.norm(per_sequence - theta)
    # The first step ran on the initial weights, the later ones on weights changed at every step.
    fixed = forward(Population.from_params(arch, theta[None]), batch.inputs, batch.lengths)[0]
    assert presented[0, 0, 0] == pytest.approx(fixed[0, 0, 0], rel=1e-12)
    assert not np.allclose(presented[0, 1:, 0], fixed[0, 1:, 0])


def test_only_scored_steps_change_the_weights():
    rng = np.random.default_rng(10)
    arch = Architecture.fully_recurrent(1, 2, 1, hidden="tanh", output="tanh")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 1, 1, B=2, T=6, nan_padding=True)
    adam = Adam(0.01)
    rtrl.train_online(arch, theta, batch, adam)
    assert adam.state["t"] == int(batch.target_mask.sum())  # one update per scored step
    # Where only the last step is scored, a per-step update is the per-sequence one, exactly.
    last = np.zeros_like(batch.target_mask)
    last[np.arange(2), batch.lengths - 1] = True
    one = dataclasses.replace(batch, target_mask=last)[np.array([1])]
    new, _, _ = rtrl.train_online(arch, theta, one, SGD(0.5))
    np.testing.assert_allclose(new, theta - 0.5 * rtrl.loss_and_grad(arch, theta, one, "sse")[1], rtol=1e-14)


def test_adam_and_momentum_states_carry_over_between_calls():
    # Two calls on one sequence each are one call on both: the optimiser's state carries through.
    rng = np.random.default_rng(12)
    arch = Architecture.fully_recurrent(1, 2, 1, hidden="tanh", output="sigmoid")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 1, 1, B=2, T=6, targets01=True)
    for make in (lambda: Adam(0.05), lambda: SGD(0.3, momentum=0.9)):
        both, _, _ = rtrl.train_online(arch, theta, batch, make(), loss="sse")
        rule = make()
        half, _, _ = rtrl.train_online(arch, theta, batch[np.array([0])], rule, loss="sse")
        again, _, _ = rtrl.train_online(arch, half, batch[np.array([1])], rule, loss="sse")
        np.testing.assert_allclose(again, both, rtol=1e-13, atol=1e-15)


def test_clipping_caps_every_steps_change_and_non_finite_gradients_are_skipped():
    rng = np.random.default_rng(13)
    arch = Architecture.fully_recurrent(1, 2, 1, hidden="tanh", output="linear")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 1, 1, B=1, T=1, nan_padding=False)
    batch = dataclasses.replace(batch, targets=batch.targets + 100.0)  # a large error, one scored step
    new, _, _ = rtrl.train_online(arch, theta, batch, SGD(0.1), clip=0.5)
    assert np.linalg.norm(new - theta) == pytest.approx(0.1 * 0.5)
    broken = dataclasses.replace(batch, targets=np.full_like(batch.targets, np.inf))
    kept, _, _ = rtrl.train_online(arch, theta, broken, SGD(0.1))
    np.testing.assert_array_equal(kept, theta)
