"""BPTT for evorec networks as evorec computed it before the compiled kernels: vectorised numpy,
one step at a time.  Kept only as an independent reference for the tests of
:func:`evorec.rnn.loss_and_grad` (gradients equal within 1e-10 relative)."""

from __future__ import annotations

import numpy as np

from evorec.batch import SequenceBatch
from evorec.network import Architecture
from evorec.task import running_mask


def _activate(name, z):
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))
    return z.copy()


def activation_derivative(name, f):
    if name == "tanh":
        return 1.0 - f * f
    if name == "sigmoid":
        return f * (1.0 - f)
    return np.ones_like(f)


def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _check_loss(loss, output):
    assert loss in ("mse", "cross_entropy")


def optional_integer(value, name, minimum):
    return value


def numpy_forward_record(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray,
                   batch: SequenceBatch) -> dict[str, np.ndarray]:
    """Run the batch forward, keeping what back-propagation needs.

    Returns the inputs ``x`` (B, T, n_in), hidden and output activations ``h``, ``y`` and the
    output net inputs ``z`` (B, T, ·) at every step, and the ``alive`` mask (B, T) of steps
    within each sequence.

    States at padded steps (``t >= lengths[b]``) are set to 0 and padded inputs are read as 0,
    so padding (which may hold anything, even NaN) can never leak into the loss or gradient.
    """
    if arch.update != "hidden_first":
        # The backward pass follows the hidden-first order; a synchronous net would need its own.
        raise ValueError(f"gradients are implemented for update='hidden_first' only; got update={arch.update!r}")
    B, T = batch.n_sequences, batch.n_steps
    H, n_out = arch.n_hidden, arch.n_out
    alive = running_mask(batch.lengths, T)  # (B, T)
    x = np.where(alive[:, :, None], batch.inputs, 0.0)
    h_all = np.zeros((B, T, H))
    y_all = np.zeros((B, T, n_out))
    z_all = np.zeros((B, T, n_out))
    h, y = np.zeros((B, H)), np.zeros((B, n_out))
    ones = np.ones((B, 1))
    for t in range(T):
        live = alive[:, t, None]
        u = np.concatenate([ones, x[:, t], h, y], axis=1)
        h = np.where(live, _activate(arch.hidden, u @ W_h.T), 0.0)
        v = np.concatenate([ones, x[:, t], h, y], axis=1)
        z = np.where(live, v @ W_y.T, 0.0)
        y = np.where(live, _activate(arch.output, z), 0.0)
        h_all[:, t], y_all[:, t], z_all[:, t] = h, y, z
    return {"x": x, "h": h_all, "y": y_all, "z": z_all, "alive": alive}


def _loss_and_output_error(output: str, batch: SequenceBatch, y: np.ndarray, z: np.ndarray,
                           loss: str) -> tuple[float, np.ndarray]:
    """The loss and its derivative with respect to the output net inputs ``z`` (B, T, n_out).

    ``output`` names the output activation ``y = f(z)``; padded and unscored entries get 0.
    """
    mask = batch.target_mask[:, :, None]
    n_entries = int(batch.target_mask.sum()) * batch.n_out
    targets = np.where(mask, batch.targets, 0.0)
    if loss == "mse":
        diff = np.where(mask, y - targets, 0.0)
        value = float(np.sum(diff * diff) / n_entries)
        error_z = 2.0 * diff / n_entries * activation_derivative(output, y)
    else:  # cross_entropy, sigmoid outputs: computed from z so that saturated units stay finite
        terms = targets * _softplus(-z) + (1.0 - targets) * _softplus(z)
        value = float(np.sum(np.where(mask, terms, 0.0)) / n_entries)
        error_z = np.where(mask, y - targets, 0.0) / n_entries
    return value, error_z


def numpy_loss_and_grad(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, loss: str = "mse",
                  truncate: int | None = None) -> tuple[float, np.ndarray]:
    """Loss of an evorec network on a batch and its gradient with respect to the free parameters.

    Parameters
    ----------
    architecture : Architecture
        Sizes, structure mask, frozen weights and activations of the network.
    theta : array_like, shape (n_params,)
        Free parameters, in :meth:`Architecture.pack` order.
    batch : SequenceBatch
        Sequences of possibly different lengths; padding is ignored.
    loss : {"mse", "cross_entropy"}
        ``"mse"``: the plain mean of squared errors over every scored (sequence, step, output)
        entry, exactly the ``mse`` fitness (:class:`evorec.tasks.fitness.MeanSquaredError`).
        ``"cross_entropy"``: binary cross-entropy
        ``-[d log y + (1 - d) log(1 - y)]`` averaged over the same entries; only for sigmoid
        outputs, targets ``d`` in ``[0, 1]`` (it is computed from the net input, so it stays
        finite when outputs saturate).
    truncate : int, optional
        ``None`` (default): full back-propagation through time.  An integer ``k >= 1``:
        truncated BPTT in which the error of each scored step ``s`` flows back through at most
        ``k`` steps, ``s, s-1, ..., s-k+1``.  Precisely, write the loss as ``sum_s L_s``, with
        ``L_s`` the errors of scored step ``s`` (divided by the number of scored entries); the
        result is the gradient with respect to ``theta`` of that sum where, in each ``L_s``,
        the recurrent state ``(h_{s-k}, y_{s-k})`` that enters step ``s-k+1`` is treated as a
        constant (its value in the forward pass); for ``s - k < 0`` that state is the initial
        zero state, so ``truncate >= T`` gives the full gradient exactly.  ``truncate=1`` keeps
        only the within-step paths (input and hidden to output).  The loss value returned is
        always the true loss.

    Returns
    -------
    loss : float
    grad : ndarray, shape (n_params,)
    """
    _check_loss(loss, architecture.output)
    optional_integer(truncate, "truncate", 1)
    if batch.n_in != architecture.n_in or batch.n_out != architecture.n_out:
        raise ValueError(f"batch has {batch.n_in} inputs and {batch.n_out} outputs; the architecture "
                         f"{architecture.n_in} and {architecture.n_out}")
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (architecture.n_params,):
        raise ValueError(f"theta must have shape ({architecture.n_params},); got {theta.shape}")

    W_h, W_y = architecture.unpack(theta)
    fwd = numpy_forward_record(architecture, W_h, W_y, batch)
    value, error_z = _loss_and_output_error(architecture.output, batch, fwd["y"], fwd["z"], loss)
    dW_h, dW_y = _numpy_backward(architecture, W_h, W_y, fwd, error_z, truncate)
    return value, architecture.pack(dW_h, dW_y)


def _numpy_backward(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray, fwd: dict[str, np.ndarray],
              error_z: np.ndarray, truncate: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Back-propagation through time, full or truncated.

    For truncation the error is kept in a window of ``K = truncate`` separate parts, part ``j``
    at step ``t`` holding the error that started at scored step ``t + j``; each part is dropped
    once it has passed through ``K`` steps.  This keeps the cost at ``O(T K)`` vectorised
    steps instead of one backward sweep per scored step.  Full BPTT is the same with a single
    part that is never dropped.
    """
    x, h_all, y_all, alive = fwd["x"], fwd["h"], fwd["y"], fwd["alive"]
    B, T, _ = x.shape
    H, n_out = arch.n_hidden, arch.n_out
    src = arch.source_slices()
    K = 1 if truncate is None else min(int(truncate), T)
    window = truncate is not None
    carry_h = np.zeros((B, K, H))  # dL/dh_t arriving from step t+1, per part
    carry_y = np.zeros((B, K, n_out))  # dL/dy_t arriving from step t+1, per part
    dW_h, dW_y = np.zeros_like(W_h), np.zeros_like(W_y)
    ones = np.ones((B, 1))
    zero_h, zero_y = np.zeros((B, H)), np.zeros((B, n_out))
    for t in range(T - 1, -1, -1):
        h_prev = h_all[:, t - 1] if t > 0 else zero_h
        y_prev = y_all[:, t - 1] if t > 0 else zero_y
        u = np.concatenate([ones, x[:, t], h_prev, y_prev], axis=1)  # (B, D)
        v = np.concatenate([ones, x[:, t], h_all[:, t], y_prev], axis=1)
        live = alive[:, t, None, None]
        # Output units: the carried error goes through f_y', the new error is already dL/dz.
        dz = carry_y * activation_derivative(arch.output, y_all[:, t])[:, None, :]
        dz[:, 0] += error_z[:, t]
        dz = np.where(live, dz, 0.0)  # padded steps carry no error (and their states are 0)
        dW_y += np.einsum("bko,bd->od", dz, v)
        dv = dz @ W_y  # (B, K, D)
        dh = (carry_h + dv[:, :, src["hidden"]]) * activation_derivative(arch.hidden, h_all[:, t])[:, None, :]
        dh = np.where(live, dh, 0.0)
        dW_h += np.einsum("bkh,bd->hd", dh, u)
        du = dh @ W_h
        new_h = du[:, :, src["hidden"]]
        new_y = du[:, :, src["output"]] + dv[:, :, src["output"]]
        if window:
            # Part j started at step t + j; at step t - 1 it becomes part j + 1, and the part that
            # has gone through K steps (j = K - 1) stops: its older state is a constant.
            carry_h = np.concatenate([np.zeros((B, 1, H)), new_h[:, :-1]], axis=1)
            carry_y = np.concatenate([np.zeros((B, 1, n_out)), new_y[:, :-1]], axis=1)
        else:
            carry_h, carry_y = new_h, new_y
    return dW_h, dW_y




# ---------------------------------------------------------------------------------- LSTM
from evorec.rnn import SQUASH, sigmoid  # noqa: E402  (the squashing functions are not what is tested)


def numpy_lstm_run(self, w, batch):
    B, T = batch.n_sequences, batch.n_steps
    N, C = self.n_cells_total, self.n_cells
    g_fn, h_fn = SQUASH[self.cell_input][0], SQUASH[self.cell_output][0]
    alive = running_mask(batch.lengths, T)
    x = np.where(alive[:, :, None], batch.inputs, 0.0)  # padding may hold anything
    keys = ["a_in", "a_out", "a_forget", "a_cell", "s", "c", "z", "y"]
    sizes = {"a_in": self.n_blocks, "a_out": self.n_blocks, "a_forget": self.n_blocks, "a_cell": N,
             "s": N, "c": N, "z": self.n_out, "y": self.n_out}
    rec = {k: np.zeros((B, T, sizes[k])) for k in keys}
    s, c = np.zeros((B, N)), np.zeros((B, N))
    ones = np.ones((B, 1))
    for t in range(T):
        live = alive[:, t, None]
        r = np.concatenate([ones, x[:, t], c], axis=1)
        a_in, a_out, a_cell = r @ w["W_in"].T, r @ w["W_out"].T, r @ w["W_cell"].T
        forget = np.ones((B, N))
        if self.forget_gate:
            a_f = r @ w["W_forget"].T
            forget = np.repeat(sigmoid(a_f), C, axis=1)
            rec["a_forget"][:, t] = a_f
        s = np.where(live, forget * s + np.repeat(sigmoid(a_in), C, axis=1) * g_fn(a_cell), 0.0)
        c = np.where(live, np.repeat(sigmoid(a_out), C, axis=1) * h_fn(s), 0.0)
        z = np.concatenate([ones, x[:, t], c], axis=1) @ w["W_y"].T
        y = _activate(self.output, z)
        for k, v in (("a_in", a_in), ("a_out", a_out), ("a_cell", a_cell), ("s", s), ("c", c), ("z", z),
                     ("y", y)):
            rec[k][:, t] = np.where(live, v, 0.0)
    rec["x"], rec["alive"] = x, alive
    return rec


def numpy_lstm_backward(self, w, rec, error_z):
    x, alive = rec["x"], rec["alive"]
    B, T, _ = x.shape
    N, C, nb = self.n_cells_total, self.n_cells, self.n_blocks
    g_fn, g_d = SQUASH[self.cell_input]
    h_fn, h_d = SQUASH[self.cell_output]
    grads = {name: np.zeros_like(W) for name, W in w.items()}
    cells = slice(1 + self.n_in, self.n_source)  # where c sits in r and in the output source
    d_c_next = np.zeros((B, N))  # dL/dc_t through the step t+1 gates and cell inputs
    d_s_next = np.zeros((B, N))  # dL/ds_t through s_{t+1} = f_{t+1} s_t + ...
    ones, zeros = np.ones((B, 1)), np.zeros((B, N))

    def block_sum(v):  # a gate's error: summed over its block's cells
        return v.reshape(B, nb, C).sum(axis=2)

    for t in range(T - 1, -1, -1):
        live = alive[:, t, None]
        c_prev = rec["c"][:, t - 1] if t > 0 else zeros
        s_prev = rec["s"][:, t - 1] if t > 0 else zeros
        r = np.concatenate([ones, x[:, t], c_prev], axis=1)
        dz = error_z[:, t]
        grads["W_y"] += dz.T @ np.concatenate([ones, x[:, t], rec["c"][:, t]], axis=1)
        d_c = np.where(live, dz @ w["W_y"][:, cells] + d_c_next, 0.0)
        s, a_in, a_out, a_cell = rec["s"][:, t], rec["a_in"][:, t], rec["a_out"][:, t], rec["a_cell"][:, t]
        i_gate, o_gate = sigmoid(a_in), sigmoid(a_out)
        d_a = {"out": block_sum(d_c * h_fn(s)) * o_gate * (1.0 - o_gate)}
        d_s = d_c * np.repeat(o_gate, C, axis=1) * h_d(s) + d_s_next
        d_a["in"] = block_sum(d_s * g_fn(a_cell)) * i_gate * (1.0 - i_gate)
        d_a["cell"] = d_s * np.repeat(i_gate, C, axis=1) * g_d(a_cell)
        if self.forget_gate:
            f_gate = sigmoid(rec["a_forget"][:, t])
            d_a["forget"] = block_sum(d_s * s_prev) * f_gate * (1.0 - f_gate)
            d_s_next = d_s * np.repeat(f_gate, C, axis=1)
        else:
            d_s_next = d_s
        d_r = np.zeros((B, self.n_source))
        for name, da in d_a.items():
            da = np.where(live, da, 0.0)
            grads[f"W_{name}"] += da.T @ r
            d_r += da @ w[f"W_{name}"]
        d_c_next = d_r[:, cells]
    return grads


def numpy_lstm_loss_and_grad(lstm, params, batch, loss="mse"):
    """The LSTM's loss and gradient as evorec computed them before the compiled kernels."""
    w = lstm.unpack(params)
    rec = numpy_lstm_run(lstm, w, batch)
    value, error_z = _loss_and_output_error(lstm.output, batch, rec["y"], rec["z"], loss)
    return value, lstm.pack(numpy_lstm_backward(lstm, w, rec, error_z))
