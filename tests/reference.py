"""A reference network written straight from docs/design.md, to test the evaluator against."""

from __future__ import annotations

import numpy as np

ACTIVATION = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "linear": lambda z: z,
}


def reference_forward(arch, W_h, W_y, inputs, lengths):
    """Plain loop over networks, sequences and steps: docs/design.md's equations, nothing clever."""
    with np.errstate(over="ignore"):  # exp(-z) -> inf gives the right limit, sigmoid(z) = 0
        return _loop(arch, W_h, W_y, inputs, lengths)


def _loop(arch, W_h, W_y, inputs, lengths):
    P, (B, T, _) = W_h.shape[0], inputs.shape
    out = np.full((P, B, T, arch.n_out), np.nan)
    f_h, f_y = ACTIVATION[arch.hidden], ACTIVATION[arch.output]
    for p in range(P):
        for b in range(B):
            h, y = np.zeros(arch.n_hidden), np.zeros(arch.n_out)
            for t in range(lengths[b]):
                before = np.concatenate([[1.0], inputs[b, t], h, y])  # [1, x_t, h_{t-1}, y_{t-1}]
                h = f_h(W_h[p] @ before)
                if arch.update == "synchronous":  # every unit from the previous step
                    y = f_y(W_y[p] @ before)
                else:  # outputs from the current hidden state
                    y = f_y(W_y[p] @ np.concatenate([[1.0], inputs[b, t], h, y]))
                out[p, b, t] = y
    return out
