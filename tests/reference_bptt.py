"""BPTT for evorec networks as evorec computed it before the compiled kernels: vectorised numpy,
one step at a time.  Kept only as an independent reference for the tests of
:func:`evorec.rnn.loss_and_grad` (gradients equal within 1e-10 relative)."""

from __future__ import annotations

import numpy as np

from evorec.batch import SequenceBatch
from evorec.network import Architecture

# The loss's first step and the squashing functions are shared: the passes are what is tested.
from evorec.rnn import SQUASH, loss_and_output_error, sigmoid
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


def numpy_forward_record(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray,
                         batch: SequenceBatch) -> dict[str, np.ndarray]:
    """What :func:`evorec.rnn.forward_record` returns, one vectorised numpy step at a time."""
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


def numpy_loss_and_grad(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, loss: str = "mse",
                        truncate: int | None = None) -> tuple[float, np.ndarray]:
    """Loss and gradient as :func:`evorec.rnn.loss_and_grad` defines them (its docstring), in numpy."""
    W_h, W_y = architecture.unpack(np.asarray(theta, dtype=float))
    fwd = numpy_forward_record(architecture, W_h, W_y, batch)
    value, error_z = loss_and_output_error(architecture.output, batch, fwd["y"], fwd["z"], loss)
    dW_h, dW_y = _numpy_backward(architecture, W_h, W_y, fwd, error_z, truncate)
    return value, architecture.pack(dW_h, dW_y)


def _numpy_backward(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray, fwd: dict[str, np.ndarray],
                    error_z: np.ndarray, truncate: int | None) -> tuple[np.ndarray, np.ndarray]:
    """BPTT, full or truncated to a window of ``truncate`` parts, vectorised over the batch."""
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
    value, error_z = loss_and_output_error(lstm.output, batch, rec["y"], rec["z"], loss)
    return value, lstm.pack(numpy_lstm_backward(lstm, w, rec, error_z))
