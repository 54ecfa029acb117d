"""Tests of evorec.rnn: losses and BPTT gradients of evorec networks, optimisers."""

import numpy as np
import pytest

from evorec import Architecture, Population, SequenceBatch, forward
from evorec.rnn import LSTM, SGD, Adam, clip_norm, loss_and_grad
from evorec.task import running_mask
from evorec.tasks.fitness import MeanSquaredError
from tests.reference import ACTIVATION
from tests.reference_bptt import numpy_loss_and_grad, numpy_lstm_loss_and_grad

ACTS = ["tanh", "sigmoid", "linear"]


# ----------------------------------------------------------------------------- helpers
def _batch(rng, n_in, n_out, B=3, T=6, targets01=False, nan_padding=True):
    """A batch with variable lengths, random scored steps and (optionally) NaN padding."""
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    alive = np.arange(T)[None, :] < lengths[:, None]
    mask = alive & (rng.random((B, T)) < 0.6)
    mask[np.arange(B), lengths - 1] = True  # every sequence scores at least its last step
    inputs = rng.normal(size=(B, T, n_in))
    if nan_padding:
        inputs[~alive] = np.nan  # padding is never read, so NaN must not leak anywhere
    targets = rng.random((B, T, n_out)) if targets01 else rng.normal(size=(B, T, n_out))
    return SequenceBatch(inputs, targets, mask, lengths)


def _random_arch(rng, n_in, n_hidden, n_out, hidden, output, p_link=0.7, p_frozen=0.2):
    D = 1 + n_in + n_hidden + n_out
    return Architecture(n_in, n_hidden, n_out,
                        mask_h=rng.random((n_hidden, D)) < p_link, mask_y=rng.random((n_out, D)) < p_link,
                        frozen_h=rng.random((n_hidden, D)) < p_frozen, frozen_y=rng.random((n_out, D)) < p_frozen,
                        frozen_values_h=rng.normal(size=(n_hidden, D)),
                        frozen_values_y=rng.normal(size=(n_out, D)), hidden=hidden, output=output)


def _fd_grad(f, theta, step=1e-6):
    g = np.zeros_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = step
        g[i] = (f(theta + e) - f(theta - e)) / (2 * step)
    return g


def _assert_close(g, g_fd, rel=1e-6):
    err, scale = np.linalg.norm(g - g_fd), np.linalg.norm(g_fd)
    assert err <= rel * scale, f"relative error {err / scale:.3g}"


def _check_gradient(arch, theta, batch, loss="mse", truncate=None):
    _, g = loss_and_grad(arch, theta, batch, loss, truncate)
    assert g.shape == (arch.n_params,)
    assert np.all(np.isfinite(g))
    g_fd = _fd_grad(lambda th: loss_and_grad(arch, th, batch, loss)[0], theta)
    _assert_close(g, g_fd)


# ---------------------------------------------------------------------------- the loss
@pytest.mark.parametrize("seed", range(6))
def test_mse_equals_the_mse_fitness_of_forward(seed):
    rng = np.random.default_rng(seed)
    arch = _random_arch(rng, 2, 3, 2, ACTS[seed % 3], ACTS[(seed + 1) % 3])
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 2, 2, B=4, T=7)
    outputs = forward(Population.from_params(arch, theta[None]), batch.inputs, batch.lengths)
    targets, sequence, step = batch.scored_targets()
    want = MeanSquaredError()(outputs[:, sequence, step], targets, sequence, len(batch))[0]
    got, _ = loss_and_grad(arch, theta, batch)
    assert got == pytest.approx(want, rel=1e-12)


def test_cross_entropy_value():
    rng = np.random.default_rng(1)
    arch = Architecture.fully_recurrent(2, 2, 2, hidden="tanh", output="sigmoid")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 2, 2, targets01=True)
    y = forward(Population.from_params(arch, theta[None]), batch.inputs, batch.lengths)[0]
    targets, sequence, step = batch.scored_targets()
    y = y[sequence, step]
    want = -np.mean(targets * np.log(y) + (1 - targets) * np.log(1 - y))
    assert loss_and_grad(arch, theta, batch, "cross_entropy")[0] == pytest.approx(want, rel=1e-12)


def test_summed_squared_error_is_half_the_sum_and_its_gradient():
    # LSTM97's objective: E = 1/2 sum (y - d)^2 over the scored entries, not their mean; its
    # gradient is the mean squared error's times n_entries / 2, for networks and the LSTM alike.
    rng = np.random.default_rng(2)
    arch = Architecture.fully_recurrent(2, 2, 2, hidden="tanh", output="sigmoid")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 2, 2, B=3, T=6, targets01=True)
    y = forward(Population.from_params(arch, theta[None]), batch.inputs, batch.lengths)[0]
    targets, sequence, step = batch.scored_targets()
    n_entries = targets.size
    value, grad = loss_and_grad(arch, theta, batch, "sse")
    assert value == pytest.approx(0.5 * np.sum((y[sequence, step] - targets) ** 2), rel=1e-12)
    _assert_close(grad, _fd_grad(lambda t: loss_and_grad(arch, t, batch, "sse")[0], theta))
    np.testing.assert_allclose(grad, loss_and_grad(arch, theta, batch)[1] * n_entries / 2, rtol=1e-12)
    net = LSTM(2, 2, n_blocks=2, recurrence="cells_and_gates", output="sigmoid")
    params = net.init(rng, scale=1.0)
    value, grad = net.loss_and_grad(params, batch, "sse", truncated=True)
    mse, mse_grad = net.loss_and_grad(params, batch, "mse", truncated=True)
    assert value == pytest.approx(mse * n_entries / 2, rel=1e-12)
    np.testing.assert_allclose(grad, mse_grad * n_entries / 2, rtol=1e-12)


def test_cross_entropy_stays_finite_when_outputs_saturate():
    arch = Architecture(1, 0, 1, hidden="linear", output="sigmoid")
    batch = SequenceBatch(np.ones((1, 1, 1)), np.zeros((1, 1, 1)), np.ones((1, 1), bool), np.array([1]))
    value, g = loss_and_grad(arch, np.array([400.0, 400.0, 0.0]), batch, "cross_entropy")
    assert value == pytest.approx(800.0)
    assert np.all(np.isfinite(g))


def test_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    arch = Architecture.fully_recurrent(1, 2, 1, output="tanh")
    batch = _batch(rng, 1, 1)
    theta = np.zeros(arch.n_params)
    with pytest.raises(ValueError, match="loss"):
        loss_and_grad(arch, theta, batch, "hinge")
    with pytest.raises(ValueError, match="sigmoid"):
        loss_and_grad(arch, theta, batch, "cross_entropy")
    with pytest.raises(ValueError, match="truncate"):
        loss_and_grad(arch, theta, batch, truncate=0)
    with pytest.raises(ValueError, match="theta"):
        loss_and_grad(arch, theta[:-1], batch)
    with pytest.raises(ValueError, match="inputs"):
        loss_and_grad(arch, theta, _batch(rng, 2, 1))


# ----------------------------------------------------------------------- full gradients
@pytest.mark.parametrize("hidden", ACTS)
@pytest.mark.parametrize("output", ACTS)
def test_gradient_matches_finite_differences_on_a1(hidden, output):
    rng = np.random.default_rng(ACTS.index(hidden) * 3 + ACTS.index(output))
    arch = Architecture.fully_recurrent(2, 3, 2, hidden=hidden, output=output)
    _check_gradient(arch, rng.normal(scale=0.8, size=arch.n_params), _batch(rng, 2, 2))


@pytest.mark.parametrize("self_links", [True, False])
def test_gradient_matches_finite_differences_on_a2(self_links):
    rng = np.random.default_rng(7)
    arch = Architecture.rg_a2(5, self_links=self_links, hidden="sigmoid", output="sigmoid")
    _check_gradient(arch, rng.uniform(-2, 2, size=arch.n_params), _batch(rng, 1, 1, B=4, T=8))


@pytest.mark.parametrize("seed", range(8))
def test_gradient_matches_finite_differences_with_masks_and_frozen_weights(seed):
    rng = np.random.default_rng(100 + seed)
    arch = _random_arch(rng, int(rng.integers(0, 3)), int(rng.integers(0, 4)), int(rng.integers(1, 3)),
                        ACTS[int(rng.integers(3))], ACTS[int(rng.integers(3))])
    assert arch.n_params > 0
    batch = _batch(rng, arch.n_in, arch.n_out, B=int(rng.integers(1, 5)), T=int(rng.integers(1, 9)))
    _check_gradient(arch, rng.normal(size=arch.n_params), batch)


@pytest.mark.parametrize("arch", [Architecture.latch_i(), Architecture.latch_ii()], ids=["latch_i", "latch_ii"])
def test_gradient_matches_finite_differences_without_hidden_units(arch):
    rng = np.random.default_rng(3)
    _check_gradient(arch, rng.normal(size=arch.n_params), _batch(rng, arch.n_in, 1, B=3, T=10))


def test_latch_i_gradient_ignores_the_frozen_noise_weight():
    # Only the three free parameters appear; the frozen weight 1 still acts in the forward pass.
    rng = np.random.default_rng(4)
    arch = Architecture.latch_i()
    batch = _batch(rng, 3, 1)
    theta = rng.normal(size=3)
    value, g = loss_and_grad(arch, theta, batch)
    assert g.shape == (3,)
    outputs = forward(Population.from_params(arch, theta[None]), batch.inputs, batch.lengths)
    targets, sequence, step = batch.scored_targets()
    assert value == pytest.approx(np.mean((outputs[0, sequence, step] - targets) ** 2), rel=1e-12)


def test_cross_entropy_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    arch = _random_arch(rng, 2, 3, 2, "tanh", "sigmoid")
    _check_gradient(arch, rng.normal(size=arch.n_params), _batch(rng, 2, 2, targets01=True), "cross_entropy")


def test_padding_does_not_change_loss_or_gradient():
    rng = np.random.default_rng(6)
    arch = Architecture.fully_recurrent(1, 3, 1, hidden="tanh", output="linear")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 1, 1, B=4, T=9)
    together = loss_and_grad(arch, theta, batch)
    # Sum of per-sequence contributions, each weighted by its share of scored entries.
    total, grad = 0.0, np.zeros(arch.n_params)
    n = batch.target_mask.sum()
    for b in range(len(batch)):
        value, g = loss_and_grad(arch, theta, batch[np.array([b])])
        share = batch.target_mask[b].sum() / n
        total, grad = total + share * value, grad + share * g
    assert together[0] == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(together[1], grad, rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------- truncated BPTT
def _truncated_reference(arch, theta0, batch, k):
    """The objective whose gradient truncated BPTT is, written as a plain loop.

    Returns ``f(theta)``: for each scored step ``s`` the state ``(h_{s-k}, y_{s-k})`` is computed
    with the fixed ``theta0`` (so it is a constant), and steps ``s-k+1 .. s`` are run with
    ``theta``; the squared errors are averaged over all scored entries.  At ``theta = theta0``
    it equals the true loss, and its gradient there is the truncated gradient.
    """
    f_h, f_y = ACTIVATION[arch.hidden], ACTIVATION[arch.output]
    W_h0, W_y0 = arch.unpack(theta0)

    def run(W_h, W_y, x, h, y):
        for x_t in x:
            h = f_h(W_h @ np.concatenate([[1.0], x_t, h, y]))
            y = f_y(W_y @ np.concatenate([[1.0], x_t, h, y]))
        return h, y

    def f(theta):
        W_h, W_y = arch.unpack(theta)
        total, count = 0.0, 0
        for b in range(len(batch)):
            x = batch.inputs[b]
            for s in np.flatnonzero(batch.target_mask[b]):
                start = max(s - k + 1, 0)
                h, y = run(W_h0, W_y0, x[:start], np.zeros(arch.n_hidden), np.zeros(arch.n_out))
                _, y = run(W_h, W_y, x[start:s + 1], h, y)
                total += np.sum((y - batch.targets[b, s]) ** 2)
                count += arch.n_out
        return total / count

    return f


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(3))
def test_truncated_gradient_matches_finite_differences_of_reference(k, seed):
    rng = np.random.default_rng(200 + seed)
    arch = _random_arch(rng, 2, 3, 2, ACTS[seed], ACTS[(seed + 2) % 3], p_link=0.8)
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 2, 2, B=3, T=8)
    value, g = loss_and_grad(arch, theta, batch, truncate=k)
    reference = _truncated_reference(arch, theta, batch, k)
    assert value == pytest.approx(reference(theta), rel=1e-12)
    assert value == pytest.approx(loss_and_grad(arch, theta, batch)[0], rel=0)
    _assert_close(g, _fd_grad(reference, theta))


@pytest.mark.parametrize("arch", [Architecture.latch_ii(), Architecture.rg_a2(4)], ids=["latch_ii", "a2"])
def test_truncated_gradient_on_presets(arch):
    rng = np.random.default_rng(9)
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, arch.n_in, arch.n_out, B=2, T=7)
    _, g = loss_and_grad(arch, theta, batch, truncate=3)
    _assert_close(g, _fd_grad(_truncated_reference(arch, theta, batch, 3), theta))


def test_truncation_at_least_sequence_length_gives_the_full_gradient():
    rng = np.random.default_rng(10)
    arch = _random_arch(rng, 1, 3, 1, "tanh", "sigmoid")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 1, 1, B=3, T=6)
    _, full = loss_and_grad(arch, theta, batch)
    for k in (6, 7, 50):
        np.testing.assert_allclose(loss_and_grad(arch, theta, batch, truncate=k)[1], full, rtol=1e-13, atol=1e-16)


def test_shorter_truncation_differs_from_full_gradient():
    # Guards against a truncation that silently does nothing.
    rng = np.random.default_rng(11)
    arch = Architecture.fully_recurrent(1, 3, 1, hidden="tanh", output="tanh")
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, 1, 1, B=2, T=8)
    _, full = loss_and_grad(arch, theta, batch)
    _, trunc = loss_and_grad(arch, theta, batch, truncate=2)
    assert np.linalg.norm(full - trunc) > 1e-6 * np.linalg.norm(full)


# ------------------------------------------------------------------------------- LSTM
def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


SQUASH = {"lstm_g": lambda a: 4 * _sig(a) - 2, "lstm_h": lambda a: 2 * _sig(a) - 1, **ACTIVATION}


def _lstm_sources(net, x, c_prev, gates_prev):
    """The source vector the gates and cell inputs read, as the class docstring lays it out."""
    if net.recurrence == "none":
        return np.concatenate([[1.0], x, np.zeros_like(c_prev)])
    extra = [gates_prev] if net.recurrence == "cells_and_gates" else []
    return np.concatenate([[1.0], x, c_prev, *extra])


def _lstm_step(net, w, r, s):
    """One step of the LSTM equations, cell by cell: the new states, cell outputs and gates
    (input, then output and forget gates where present)."""
    g, h = SQUASH[net.cell_input], SQUASH[net.cell_output]
    s_new, c_new = np.zeros_like(s), np.zeros_like(s)
    for j in range(net.n_cells_total):
        k = j // net.n_cells  # the cell's block
        forget = _sig(w["W_forget"][k] @ r) if net.forget_gate else 1.0
        s_new[j] = forget * s[j] + _sig(w["W_in"][k] @ r) * g(w["W_cell"][j] @ r)
        opening = _sig(w["W_out"][k] @ r) if net.output_gate else 1.0
        c_new[j] = opening * h(s_new[j])
    gates = [_sig(w["W_in"] @ r)] + [_sig(w[f"W_{name}"] @ r) for name, present in
                                     (("out", net.output_gate), ("forget", net.forget_gate)) if present]
    return s_new, c_new, np.concatenate(gates)


def _lstm_reference(net, params, inputs, lengths):
    """The LSTM equations of the class docstring as a plain loop over sequences, steps and cells."""
    w = net.unpack(params)
    f_y = ACTIVATION[net.output]
    out = np.full((inputs.shape[0], inputs.shape[1], net.n_out), np.nan)
    for b in range(inputs.shape[0]):
        s, c, gates = np.zeros(net.n_cells_total), np.zeros(net.n_cells_total), np.zeros(net.n_gate_units)
        for t in range(lengths[b]):
            s, c, gates = _lstm_step(net, w, _lstm_sources(net, inputs[b, t], c, gates), s)
            out[b, t] = f_y(w["W_y"] @ np.concatenate([[1.0], inputs[b, t], c]))
    return out


LSTM_CASES = [
    dict(n_blocks=1, n_cells=1),
    dict(n_blocks=2, n_cells=2, forget_gate=True),
    dict(n_blocks=2, n_cells=1, gate_bias=False, output="sigmoid"),
    dict(n_blocks=1, n_cells=3, forget_gate=True, gate_bias=False, input_to_output=True, output="tanh"),
    dict(n_blocks=3, n_cells=2, forget_gate=True, cell_input="tanh", cell_output="linear", output="sigmoid"),
    dict(n_blocks=2, n_cells=2, cell_input="sigmoid", cell_output="tanh", input_to_output=True),
    dict(n_blocks=2, n_cells=1, gate_bias=False, cell_bias=False, output_bias=False, cell_input="sigmoid",
         cell_output="linear"),  # LSTM97's 2a: no biases, g logistic, h the identity
    dict(n_blocks=3, n_cells=1, output_bias=False, output="sigmoid"),  # LSTM97's 3a: the output unbiased
    # LSTM97's hidden layer: cells and gates all see each other's previous activations.
    dict(n_blocks=2, n_cells=2, recurrence="cells_and_gates", output="sigmoid", cell_bias=False),
    dict(n_blocks=2, n_cells=1, recurrence="cells_and_gates", forget_gate=True, output_gate=False),
    # LSTM97's 2a: one cell, an input gate only, no recurrence, no biases, inputs to outputs.
    dict(n_blocks=1, n_cells=1, output_gate=False, recurrence="none", gate_bias=False, cell_bias=False,
         output_bias=False, cell_input="sigmoid", cell_output="linear", input_to_output=True),
]
#: The cases the pre-compilation numpy passes (tests/reference_bptt.py) know.
NUMPY_LSTM_CASES = [i for i, case in enumerate(LSTM_CASES) if "recurrence" not in case and "output_gate" not in case]


def _lstm_case(case: int, seed: int, B: int, T: int):
    """An LSTM of ``LSTM_CASES[case]`` (2 inputs, 2 outputs), its parameters and a batch."""
    rng = np.random.default_rng(seed + case)
    net = LSTM(2, 2, **LSTM_CASES[case])
    return net, net.init(rng, scale=1.0), _batch(rng, 2, 2, B=B, T=T)


@pytest.mark.parametrize("case", range(len(LSTM_CASES)))
def test_lstm_forward_and_loss_match_plain_loop(case):
    net, params, batch = _lstm_case(case, seed=300, B=3, T=7)
    got = net.forward(params, batch.inputs, batch.lengths)
    want = _lstm_reference(net, params, batch.inputs, batch.lengths)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    targets, sequence, step = batch.scored_targets()
    mse = np.mean((want[sequence, step] - targets) ** 2)
    assert net.loss_and_grad(params, batch)[0] == pytest.approx(mse, rel=1e-12)


@pytest.mark.parametrize("case", range(len(LSTM_CASES)))
def test_lstm_gradient_matches_finite_differences(case):
    rng = np.random.default_rng(400 + case)
    net = LSTM(2, 2, **LSTM_CASES[case])
    params = net.init(rng, scale=1.0)
    batch = _batch(rng, 2, 2, B=3, T=8, targets01=net.output == "sigmoid")
    for loss in ["mse", "sse"] + (["cross_entropy"] if net.output == "sigmoid" else []):
        value, g = net.loss_and_grad(params, batch, loss)
        assert g.shape == (net.n_params,)
        _assert_close(g, _fd_grad(lambda p, loss=loss: net.loss_and_grad(p, batch, loss)[0], params))


def test_lstm_parameter_layout():
    net = LSTM(3, 2, n_blocks=2, n_cells=2, forget_gate=True, gate_bias=False)
    R = 1 + 3 + 4
    # three gates without bias, four cell inputs with bias, outputs from bias and cells only
    assert net.n_params == 3 * 2 * (R - 1) + 4 * R + 2 * (1 + 4)
    params = np.arange(net.n_params, dtype=float)
    np.testing.assert_array_equal(net.pack(net.unpack(params)), params)
    w = net.unpack(params)
    assert np.all(w["W_in"][:, 0] == 0) and np.all(w["W_y"][:, 1:4] == 0)
    with pytest.raises(ValueError):
        net.unpack(params[:-1])
    with pytest.raises(ValueError, match="sigmoid"):
        net.loss_and_grad(params, _batch(np.random.default_rng(0), 3, 2), "cross_entropy")


def test_lstm_init_sets_gate_biases_and_uses_the_generator():
    net = LSTM(1, 1, n_blocks=3)
    a = net.init(np.random.default_rng(5), gate_bias=(-1.0, -2.0, -3.0))
    np.testing.assert_array_equal(a, net.init(np.random.default_rng(5), gate_bias=(-1.0, -2.0, -3.0)))
    w = net.unpack(a)
    np.testing.assert_array_equal(w["W_out"][:, 0], [-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(w["W_in"][:, 0], [-1.0, -2.0, -3.0])
    # None leaves the output gates' biases random (LSTM97's adding: input gates -3, -6 only).
    w = net.unpack(net.init(np.random.default_rng(5), gate_bias=(-1.0, -2.0, -3.0), output_gate_bias=None))
    np.testing.assert_array_equal(w["W_in"][:, 0], [-1.0, -2.0, -3.0])
    assert np.all(np.abs(w["W_out"][:, 0]) <= 0.1)
    w = net.unpack(net.init(np.random.default_rng(5), output_gate_bias=(-2.0, -4.0, -6.0)))
    np.testing.assert_array_equal(w["W_out"][:, 0], [-2.0, -4.0, -6.0])
    assert np.all(np.abs(w["W_in"][:, 0]) <= 0.1)
    with pytest.raises(ValueError, match="output gate"):
        LSTM(1, 1, n_blocks=3, output_gate=False).init(np.random.default_rng(5), output_gate_bias=(-1.0, -2.0, -3.0))


def test_lstm_without_forget_gate_keeps_its_error_over_long_lags():
    # The constant error carousel: with the input gate shut after step 0 and no forget gate,
    # the cell state carries its error back over 60 steps undiminished.
    net = LSTM(1, 1, n_blocks=1, n_cells=1, cell_output="linear", output="linear")
    w = {name: np.zeros(shape) for name, shape in net.shapes.items()}
    w["W_in"][0, :2] = [-30.0, 60.0]  # input gate open only while the input is 1 (step 0)
    w["W_out"][0, 0] = 30.0  # output gate always open
    w["W_cell"][0, 1] = 1.0
    w["W_y"][0, -1] = 1.0
    T = 60
    inputs = np.zeros((1, T, 1))
    inputs[0, 0] = 1.0
    mask = np.zeros((1, T), bool)
    mask[0, -1] = True
    batch = SequenceBatch(inputs, np.zeros((1, T, 1)), mask, np.array([T]))
    _, g = net.loss_and_grad(net.pack(w), batch)
    # dL/dW_cell[0, 1] = 2 * y_T * g'(1) * i_0: the error reached step 0 at full strength.
    y = net.forward(net.pack(w), inputs)[0, -1, 0]
    expected = 2 * y * 4 * _sig(1.0) * (1 - _sig(1.0)) * _sig(30.0) * _sig(30.0)
    grads = net.unpack(g)
    assert grads["W_cell"][0, 1] == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------------- optimisers
def _train(optimiser, steps=200, max_norm=None):
    rng = np.random.default_rng(12)
    arch = Architecture.fully_recurrent(1, 2, 1, hidden="tanh", output="linear")
    batch = _batch(rng, 1, 1, B=4, T=5, nan_padding=False)
    theta = rng.normal(scale=0.5, size=arch.n_params)
    start = loss_and_grad(arch, theta, batch)[0]
    for _ in range(steps):
        _, g = loss_and_grad(arch, theta, batch)
        if max_norm is not None:
            g = clip_norm(g, max_norm)
        theta = optimiser.step(theta, g)
    return start, loss_and_grad(arch, theta, batch)[0]


@pytest.mark.parametrize("make", [lambda: SGD(0.1), lambda: SGD(0.02, momentum=0.9), lambda: Adam(0.02)],
                         ids=["sgd", "sgd_momentum", "adam"])
def test_optimisers_reduce_the_loss(make):
    start, end = _train(make())
    assert end < 0.5 * start


def test_training_with_clipping_reduces_the_loss():
    start, end = _train(Adam(0.02), max_norm=0.1)
    assert end < 0.5 * start


def test_sgd_and_adam_first_steps():
    theta, grad = np.array([1.0, -2.0]), np.array([0.5, -4.0])
    sgd = SGD(0.1, momentum=0.5)
    np.testing.assert_allclose(sgd.step(theta, grad), theta - 0.1 * grad)
    np.testing.assert_allclose(sgd.step(theta, grad), theta - 0.1 * grad - 0.5 * 0.1 * grad)
    # Adam's first bias-corrected step moves each coordinate by lr against the gradient's sign.
    adam = Adam(0.01)
    np.testing.assert_allclose(adam.step(theta, grad), theta - 0.01 * np.sign(grad), rtol=1e-6)
    assert adam.state["t"] == 1


def test_clip_norm_caps_the_norm_and_keeps_the_direction():
    g = np.array([3.0, 4.0])
    clipped = clip_norm(g, 1.0)
    assert np.linalg.norm(clipped) == pytest.approx(1.0)
    np.testing.assert_allclose(clipped, g / 5.0)
    np.testing.assert_array_equal(clip_norm(g, 10.0), g)
    assert clip_norm(g, 10.0) is not g
    with pytest.raises(ValueError):
        clip_norm(g, 0.0)


def test_adam_trains_an_lstm_online_one_sequence_at_a_time():
    rng = np.random.default_rng(13)
    net = LSTM(1, 1, n_blocks=2, n_cells=1, forget_gate=True, output="sigmoid")
    batch = _batch(rng, 1, 1, B=4, T=6, targets01=True, nan_padding=False)
    params, adam = net.init(rng, scale=0.5), Adam(0.05)
    start = net.loss_and_grad(params, batch, "cross_entropy")[0]
    for _epoch in range(60):
        for b in range(len(batch)):
            _, g = net.loss_and_grad(params, batch[np.array([b])], "cross_entropy")
            params = adam.step(params, clip_norm(g, 1.0))
    assert net.loss_and_grad(params, batch, "cross_entropy")[0] < 0.8 * start


def test_gradients_refuse_the_synchronous_update_order():
    arch = Architecture.fully_recurrent(1, 2, 1, update="synchronous")
    batch = SequenceBatch(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), np.ones((2, 3), bool), np.array([3, 3]))
    with pytest.raises(ValueError, match="update='hidden_first' only"):
        loss_and_grad(arch, np.zeros(arch.n_params), batch)


# --------------------------------------------- compiled kernels against the numpy reference
# The compiled passes (evorec.rnn_kernels) replace the vectorised numpy passes evorec used
# before; tests/reference_bptt.py keeps those as an independent reference.
def _relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("arch", [
    Architecture.fully_recurrent(1, 3, 1),
    Architecture.rg_a1(2),
    Architecture.rg_a2(10),
    Architecture.fully_recurrent(2, 4, 2, hidden="tanh", output="linear"),
    Architecture.fully_recurrent(2, 0, 2, output="tanh"),
    Architecture.latch_ii(),
], ids=["a1_3", "rg_a1_2", "rg_a2", "tanh_linear_2x2", "no_hidden", "latch_ii"])
@pytest.mark.parametrize("truncate", [None, 1, 3, 50])
def test_compiled_bptt_equals_the_numpy_reference(arch, truncate):
    rng = np.random.default_rng(17)
    batch = _batch(rng, arch.n_in, arch.n_out, B=5, T=12)
    for loss in ("mse", "cross_entropy") if arch.output == "sigmoid" else ("mse",):
        theta = rng.normal(size=arch.n_params)
        value, grad = loss_and_grad(arch, theta, batch, loss=loss, truncate=truncate)
        want_value, want_grad = numpy_loss_and_grad(arch, theta, batch, loss=loss, truncate=truncate)
        assert abs(value - want_value) <= 1e-12 * abs(want_value)
        assert _relative_difference(grad, want_grad) < 1e-10


@pytest.mark.parametrize("case", NUMPY_LSTM_CASES)
def test_compiled_lstm_gradient_equals_the_numpy_reference(case):
    net, params, batch = _lstm_case(case, seed=400, B=4, T=9)
    for loss in ("mse", "cross_entropy") if net.output == "sigmoid" else ("mse",):
        value, grad = net.loss_and_grad(params, batch, loss=loss)
        want_value, want_grad = numpy_lstm_loss_and_grad(net, params, batch, loss=loss)
        assert abs(value - want_value) <= 1e-12 * abs(want_value)
        assert _relative_difference(grad, want_grad) < 1e-10


# ------------------------------------------------------------- LSTM97's truncated gradient
def _lstm_frozen_recurrence(net, params, batch, c_read, gates_read):
    """The LSTM forward pass in which the gates and cell inputs of step t read ``c_read[b, t]``
    and ``gates_read[b, t]`` (constants) in place of ``c_{t-1}`` and the gates of step t - 1;
    the mse loss over the scored entries."""
    w = net.unpack(params)
    f_y = ACTIVATION[net.output]
    total, count = 0.0, 0
    for b in range(batch.n_sequences):
        s = np.zeros(net.n_cells_total)
        for t in range(batch.lengths[b]):
            x = batch.inputs[b, t]
            s, c, _ = _lstm_step(net, w, _lstm_sources(net, x, c_read[b, t], gates_read[b, t]), s)
            if batch.target_mask[b, t]:
                y = f_y(w["W_y"] @ np.concatenate([[1.0], x, c]))
                total += float(np.sum((y - batch.targets[b, t]) ** 2))
                count += net.n_out
    return total / count


@pytest.mark.parametrize("case", range(len(LSTM_CASES)))
def test_truncated_lstm_gradient_holds_the_recurrent_cell_outputs_constant(case):
    # LSTM97's truncation sends error back in time through the cell states only: it is the exact
    # gradient of the loss in which every c_{t-1} that step t's gates and cell inputs read is a
    # constant (its recorded value), checked here by finite differences of that loss.
    net, params, batch = _lstm_case(case, seed=500, B=3, T=8)
    rec = net.record(net.unpack(params), batch)
    gates = np.concatenate([_sig(rec["a_in"])] + [_sig(rec[f"a_{name}"]) for name, present in
                                                  (("out", net.output_gate), ("forget", net.forget_gate)) if present],
                           axis=2)

    def previous(v):  # the value of step t - 1 at step t, 0 at the first step
        return np.concatenate([np.zeros_like(v[:, :1]), v[:, :-1]], axis=1)

    c_read, gates_read = previous(rec["c"]), previous(gates)
    value, grad = net.loss_and_grad(params, batch, truncated=True)
    frozen = _lstm_frozen_recurrence(net, params, batch, c_read, gates_read)
    assert value == pytest.approx(frozen, rel=1e-12)
    _assert_close(grad, _fd_grad(lambda p: _lstm_frozen_recurrence(net, p, batch, c_read, gates_read), params))
    full = net.loss_and_grad(params, batch)[1]
    if net.recurrence != "none":
        assert not np.allclose(grad, full)  # the recurrent paths carry error
    else:
        np.testing.assert_array_equal(grad, full)  # no recurrent path: nothing to truncate


def test_truncated_lstm_gradient_keeps_the_error_of_a_long_lag_in_the_cell_state():
    # With no forget gate the cell state is LSTM97's constant error carousel: the error of an
    # output at the last step reaches the first step's input weights undiminished by the lag.
    net = LSTM(1, 1, n_blocks=1, n_cells=1, output="linear")
    params = net.init(np.random.default_rng(0), scale=0.1)
    grads = []
    for T in (10, 200):
        inputs = np.zeros((1, T, 1))
        inputs[0, 0, 0] = 1.0
        mask = np.zeros((1, T), dtype=bool)
        mask[0, -1] = True
        batch = SequenceBatch(inputs, np.ones((1, T, 1)), mask, np.array([T]))
        w_grad = net.unpack(net.loss_and_grad(params, batch, truncated=True)[1])
        grads.append(w_grad["W_cell"][0, 1])  # the cell input's weight from the input, used at t = 0 only
    assert abs(grads[1]) > 0.1 * abs(grads[0]) > 0


def test_lstm_bias_flags_remove_exactly_those_bias_weights():
    full = LSTM(2, 1, n_blocks=2, n_cells=2)
    for flags, removed in (({"cell_bias": False}, 4), ({"output_bias": False}, 1), ({"gate_bias": False}, 4),
                           ({"gate_bias": False, "cell_bias": False, "output_bias": False}, 9)):
        net = LSTM(2, 1, n_blocks=2, n_cells=2, **flags)
        assert net.n_params == full.n_params - removed
        w = net.unpack(np.ones(net.n_params))
        assert (w["W_cell"][:, 0] == 0).all() != flags.get("cell_bias", True)
        assert (w["W_y"][:, 0] == 0).all() != flags.get("output_bias", True)


# ------------------------------------------------------ LSTM97's per-step online learning
@pytest.mark.parametrize("case", [i for i, c in enumerate(LSTM_CASES) if not c.get("forget_gate")])
def test_per_step_learning_sums_to_the_truncated_gradient_for_a_small_rate(case):
    # LSTM97 changes the weights at every step, from the truncated gradient computed forward in
    # time; over one sequence, for a vanishing rate, the changes add up to -lr times the
    # truncated gradient of E = 1/2 sum (y - d)^2 that the backward pass computes.
    net, params, batch = _lstm_case(case, seed=600, B=1, T=9)
    lr = 1e-7
    new, losses, outputs = net.train_online(params, batch, lr)
    value, grad = net.loss_and_grad(params, batch, "sse", truncated=True)
    assert losses[0] == pytest.approx(value, rel=1e-4)
    np.testing.assert_allclose((params - new) / lr, grad, rtol=2e-4, atol=2e-4 * np.abs(grad).max())
    alive = running_mask(batch.lengths, batch.n_steps)
    np.testing.assert_allclose(outputs[alive], net.forward(params, batch.inputs, batch.lengths)[alive], rtol=1e-5)


def test_per_step_learning_changes_the_weights_within_a_sequence():
    # With a real rate, a step's change already acts on the next step: the result differs from
    # one change by the sequence's summed gradient, and the second sequence sees the first's.
    net, params, batch = _lstm_case(0, seed=601, B=2, T=9)
    new, losses, _ = net.train_online(params, batch, 0.5)
    _, grad = net.loss_and_grad(params, batch[np.array([0])], "sse", truncated=True)
    one_change = params - 0.5 * grad
    first, _, _ = net.train_online(params, batch[np.array([0])], 0.5)
    assert not np.allclose(first, one_change)
    second, _, _ = net.train_online(first, batch[np.array([1])], 0.5)
    np.testing.assert_allclose(second, new, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="forget gate"):
        LSTM(2, 2, forget_gate=True).train_online(params, batch, 0.5)
