"""Leaky (time-constant) and NARX networks, stepped in plain numpy on real activations: an
independent reference for the evaluator's tanh-space step and for BPTT's compiled kernels."""

from __future__ import annotations

import numpy as np

from evorec.network import Architecture


def _f(name: str, a: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(a)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a))
    return a


def reference_outputs(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray, tau: np.ndarray | None,
                      inputs: np.ndarray) -> np.ndarray:
    """Outputs (B, T, n_out) of one network, straight from the definitions:
    ``h_t = (1 - 1/tau) h_{t-1} + (1/tau) f_h(W_h [1, x_t, h_{t-1}, y_{t-1}, ..., y_{t-d}])``,
    ``y_t = f_y(W_y [1, x_t, h_t, y_{t-1}, ..., y_{t-d}])`` (hidden first), with every
    activation and every tap of the delay line 0 at the start."""
    B, T, _ = inputs.shape
    H, n_out, d = arch.n_hidden, arch.n_out, arch.delays
    alpha = np.ones(H) if tau is None else 1.0 / np.asarray(tau, float)
    out = np.zeros((B, T, n_out))
    for b in range(B):
        h = np.zeros(H)
        line = np.zeros((d, n_out))  # line[k] = y_{t-1-k}
        for t in range(T):
            u = np.concatenate([[1.0], inputs[b, t], h, line.ravel()])
            h_new = (1.0 - alpha) * h + alpha * _f(arch.hidden, W_h @ u)
            v = u if arch.update == "synchronous" else np.concatenate([[1.0], inputs[b, t], h_new, line.ravel()])
            y = _f(arch.output, W_y @ v)
            h = h_new
            line[1:] = line[:-1].copy()
            line[0] = y
            out[b, t] = y
    return out


def run_steps(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray, tau: np.ndarray | None, x: np.ndarray,
              h: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step one sequence ``x`` (T, n_in) from state ``h`` (H,) and delay line ``line`` (d, n_out),
    ``line[k] = y_{t-1-k}``; returns the final ``h``, ``line`` and the outputs (T, n_out)."""
    H = arch.n_hidden
    alpha = np.ones(H) if tau is None else 1.0 / np.asarray(tau, float)
    h, line = h.copy(), line.copy()
    ys = np.zeros((len(x), arch.n_out))
    for t in range(len(x)):
        u = np.concatenate([[1.0], x[t], h, line.ravel()])
        h = (1.0 - alpha) * h + alpha * _f(arch.hidden, W_h @ u)
        y = _f(arch.output, W_y @ np.concatenate([[1.0], x[t], h, line.ravel()]))
        line[1:] = line[:-1].copy()
        line[0] = y
        ys[t] = y
    return h, line, ys
