"""Compiled forward and backward passes of evorec networks, for gradient training (BPTT).

The gradient baselines train online, one short batch at a time, over tiny matrices (a hidden
layer of 1 to 32 units): per step, numpy's per-call overhead costs more than the arithmetic.
These kernels run a whole sequence in one compiled loop (numba, ``cache=True``, so a worker
process compiles nothing the first process has compiled), with the network semantics of
``docs/design.md`` ("Network semantics", the hidden-first update order): step ``t`` computes
the hidden units from ``(1, x_t, h_{t-1}, y_{t-1})``, then the outputs from
``(1, x_t, h_t, y_{t-1})``; every state starts at 0 and steps beyond a sequence's length are
never computed.

Two memories extend the step (:class:`evorec.network.Architecture`): leaky hidden units,
``h_t = (1 - alpha) h_{t-1} + alpha f_h(a_t)`` with ``alpha = 1 / tau`` per unit, and a NARX
delay line, source entries ``y_{t-2} .. y_{t-d}`` after the outputs.  ``alpha`` all 1 and
``d = 1`` is today's network with today's arithmetic (the kernels branch on ``leaky``).

Activations are passed as codes (:data:`ACTIVATION_CODES`); losses' output errors are formed
by :mod:`evorec.rnn` from the recorded outputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Codes of the activations the kernels know, in the order of ``network.ACTIVATIONS``.
ACTIVATION_CODES = {"tanh": 0, "sigmoid": 1, "linear": 2}


@njit(cache=True, inline="always")
def activate(code: int, a: float) -> float:
    """The activation of code ``code`` (:data:`ACTIVATION_CODES`) at net input ``a``; public, as
    :mod:`evorec.rtrl`'s kernel runs the same units."""
    if code == 0:
        return np.tanh(a)
    if code == 1:
        # The tanh form never overflows, unlike 1 / (1 + exp(-a)) for large negative a.
        return 0.5 * (1.0 + np.tanh(0.5 * a))
    return a


@njit(cache=True, inline="always")
def derivative(code: int, f: float) -> float:
    """The activation's derivative, written in terms of its value ``f``."""
    if code == 0:
        return 1.0 - f * f
    if code == 1:
        return f * (1.0 - f)
    return 1.0


@njit(cache=True, inline="always")
def _rows_times(delta, W, result):  # pragma: no cover - compiled
    """``result[k] = delta[k] @ W`` for every row ``k``: errors sent back through weights ``W``."""
    for k in range(delta.shape[0]):
        for d in range(W.shape[1]):
            total = 0.0
            for i in range(W.shape[0]):
                total += delta[k, i] * W[i, d]
            result[k, d] = total


@njit(cache=True, inline="always")
def _layout(W_h, W_y, x):  # pragma: no cover - compiled
    """Sizes and the source vector's layout ``(1, inputs, hidden, outputs, delayed outputs)``:
    B, n_in, H, n_out, where the hidden units start, where the outputs start, and its length D."""
    n_in, H = x.shape[2], W_h.shape[0]
    return x.shape[0], n_in, H, W_y.shape[0], 1 + n_in, 1 + n_in + H, W_y.shape[1]


@njit(cache=True, inline="always")
def _output_layer(W_y, source, act_y, b, t, z_all, y_all):  # pragma: no cover - compiled
    """The outputs' net inputs and activations at step ``t`` of sequence ``b`` from the first
    ``W_y.shape[1]`` entries of ``source``, into ``z_all`` and ``y_all``."""
    for o in range(W_y.shape[0]):
        z = 0.0
        for d in range(W_y.shape[1]):
            z += W_y[o, d] * source[d]
        z_all[b, t, o] = z
        y_all[b, t, o] = activate(act_y, z)


@njit(cache=True)
def network_forward(W_h, W_y, x, lengths, act_h, act_y, h_all, y_all, z_all, alpha, leaky, f_all
                    ):  # pragma: no cover - compiled
    """Fill ``h_all`` (B, T, H), ``y_all`` and ``z_all`` (B, T, n_out) for every sequence.

    ``W_h`` is (H, D) and ``W_y`` (n_out, D) over the sources ``(bias, inputs, hidden,
    outputs, delayed outputs)``; ``x`` is (B, T, n_in).  The output arrays must be zero where
    ``t >= lengths[b]``.  With ``leaky``, ``alpha`` (H,) is ``1 / tau`` of the hidden units and
    ``f_all`` (B, T, H) receives their unleaked activations ``f_h(a_t)`` (which the backward
    pass differentiates); without, ``f_all`` is not written (it may be ``h_all``).
    """
    B, n_in, H, n_out, hid, out, D = _layout(W_h, W_y, x)
    taps = D - out - n_out  # (d - 1) * n_out delayed outputs
    source = np.empty(D)
    for b in range(B):
        source[:] = 0.0
        source[0] = 1.0
        for t in range(lengths[b]):
            for i in range(n_in):
                source[1 + i] = x[b, t, i]
            # Hidden units from (1, x_t, h_{t-1}, y_{t-1}, ...): written into h_all first, so
            # that the source vector keeps h_{t-1} until every hidden unit is computed.
            for j in range(H):
                a = 0.0
                for d in range(D):
                    a += W_h[j, d] * source[d]
                if leaky:
                    f = activate(act_h, a)
                    f_all[b, t, j] = f
                    h_all[b, t, j] = (1.0 - alpha[j]) * source[hid + j] + alpha[j] * f
                else:
                    h_all[b, t, j] = activate(act_h, a)
            for j in range(H):
                source[hid + j] = h_all[b, t, j]
            _output_layer(W_y, source, act_y, b, t, z_all, y_all)
            # Delay line: every tap moves one step back (last first), then y_t enters it.
            for k in range(taps - 1, -1, -1):
                source[out + n_out + k] = source[out + k]
            for o in range(n_out):
                source[out + o] = y_all[b, t, o]


@njit(cache=True)
def network_backward(W_h, W_y, x, lengths, h_all, y_all, error_z, act_h, act_y, window,
                     dW_h, dW_y, alpha, leaky, f_all, d_alpha):  # pragma: no cover - compiled
    """Add the gradient of the loss to ``dW_h`` and ``dW_y`` (full or truncated BPTT).

    ``error_z`` (B, T, n_out) is the loss's derivative with respect to the output net inputs.
    ``window`` 0 means full back-propagation through time; ``window = k >= 1`` keeps the error
    of each scored step in its own part, dropped after it has passed through ``k`` steps
    (see :func:`evorec.rnn.loss_and_grad`, ``truncate``).  With ``leaky`` (``alpha``, ``f_all``
    as in :func:`network_forward`), the gradient with respect to ``alpha`` is added to
    ``d_alpha`` (H,).  The error that reaches a delayed output ``y_{t-m}`` (m >= 2) at step ``t``
    waits in ``pending`` until the backward sweep reaches step ``t - m``, in the part it then
    belongs to (``k + m``), or is dropped if that part is past the window.
    """
    B, n_in, H, n_out, hid, out, D = _layout(W_h, W_y, x)
    K = 1 if window == 0 else window
    delays = (D - out) // n_out
    T = x.shape[1]
    pending = np.zeros((T, K, n_out)) if delays > 1 else np.zeros((1, K, n_out))
    g = np.zeros((K, H))
    carry_h = np.zeros((K, H))
    carry_y = np.zeros((K, n_out))
    dz = np.zeros((K, n_out))
    dh = np.zeros((K, H))
    dv = np.zeros((K, D))
    du = np.zeros((K, D))
    u = np.empty(D)
    v = np.empty(D)
    for b in range(B):
        carry_h[:, :] = 0.0
        carry_y[:, :] = 0.0
        if delays > 1:
            pending[:, :, :] = 0.0
        for t in range(lengths[b] - 1, -1, -1):
            # The sources of step t: u for the hidden units, v for the outputs.
            u[0] = 1.0
            for i in range(n_in):
                u[1 + i] = x[b, t, i]
            for j in range(H):
                u[hid + j] = h_all[b, t - 1, j] if t > 0 else 0.0
            for m in range(1, delays + 1):  # y_{t-m}, 0 before the sequence's start
                for o in range(n_out):
                    u[out + (m - 1) * n_out + o] = y_all[b, t - m, o] if t >= m else 0.0
            if delays > 1:  # error sent to y_t through the delay line by later steps
                for k in range(K):
                    for o in range(n_out):
                        carry_y[k, o] += pending[t, k, o]
            v[:] = u
            for j in range(H):
                v[hid + j] = h_all[b, t, j]
            # Output units: the carried error goes through f_y'; the new error is dL/dz already.
            for o in range(n_out):
                slope = derivative(act_y, y_all[b, t, o])
                total = 0.0
                for k in range(K):
                    dz[k, o] = carry_y[k, o] * slope
                dz[0, o] += error_z[b, t, o]
                for k in range(K):
                    total += dz[k, o]
                for d in range(D):
                    dW_y[o, d] += total * v[d]
            _rows_times(dz, W_y, dv)
            for j in range(H):
                total = 0.0
                if leaky:
                    # h_t = (1 - alpha) h_{t-1} + alpha f(a_t): the error g at h_t reaches a_t
                    # as g alpha f', alpha as g (f_t - h_{t-1}), h_{t-1} directly as g (1 - alpha).
                    f = f_all[b, t, j]
                    slope = alpha[j] * derivative(act_h, f)
                    for k in range(K):
                        g[k, j] = carry_h[k, j] + dv[k, hid + j]
                        dh[k, j] = g[k, j] * slope
                        total += dh[k, j]
                        d_alpha[j] += g[k, j] * (f - u[hid + j])
                else:
                    slope = derivative(act_h, h_all[b, t, j])
                    for k in range(K):
                        dh[k, j] = (carry_h[k, j] + dv[k, hid + j]) * slope
                        total += dh[k, j]
                for d in range(D):
                    dW_h[j, d] += total * u[d]
            _rows_times(dh, W_h, du)
            if delays > 1:
                shift = 0 if window == 0 else 1
                for k in range(K):
                    for m in range(2, delays + 1):
                        part = k + m * shift
                        if t - m < 0 or part >= K:
                            continue
                        for o in range(n_out):
                            at = out + (m - 1) * n_out + o
                            pending[t - m, part, o] += du[k, at] + dv[k, at]
            # Full BPTT: the one part carries on.  Truncated: part k started at step t + k; at
            # step t - 1 it becomes part k + 1, and the part that has gone through K steps
            # stops (its older state is a constant), while part 0 starts empty.
            shift = 0 if window == 0 else 1
            for k in range(K - 1, -1, -1):
                source = k - shift
                for j in range(H):
                    carry_h[k, j] = du[source, hid + j] if source >= 0 else 0.0
                    if leaky and source >= 0:
                        carry_h[k, j] += (1.0 - alpha[j]) * g[source, j]
                for o in range(n_out):
                    carry_y[k, o] = du[source, out + o] + dv[source, out + o] if source >= 0 else 0.0



@njit(cache=True)
def network_pseudo_newton(W_h, W_y, x, lengths, h_all, y_all, error_z, curvature_z, act_h, act_y, mu,
                          time_weighted, grad_h, grad_y, step_h, step_y):  # pragma: no cover - compiled
    """BPTT with a Gauss-Newton diagonal of the Hessian carried back alongside the gradient, and
    the pseudo-Newton steps it gives (Bengio and Frasconi 1993, eq. 3; Becker and Le Cun 1988).

    For today's units only (no time constants, no delay line; full BPTT).  ``error_z`` and
    ``curvature_z`` (B, T, n_out) are the loss's first and (Gauss-Newton) second derivatives
    with respect to the output net inputs.  The second derivative goes back as the first does,
    with squared weights and squared slopes and no ``f''`` terms, so it is never negative::

        s_z(t) = curvature_z(t) + f_y'(z_t)^2 c_y(t),    s_a(t) = f_h'(a_t)^2 c_h(t)
        c_h(t) = sum_o W_y[o, h]^2 s_z(t)   + sum_j W_h[j, h]^2 s_a(t+1)
        c_y(t) = sum_o W_y[o, y]^2 s_z(t+1) + sum_j W_h[j, y]^2 s_a(t+1)

    and the copy of a weight at step ``t`` has gradient ``e(t) src_t`` and curvature
    ``s(t) src_t^2`` (``e``, ``s`` its unit's net-input derivatives, ``src_t`` the source it
    reads).  Adds to ``grad_h``/``grad_y`` the plain gradient and to ``step_h``/``step_y``, per
    sequence ``p``, ``sum_t g_t / (|h_t| + mu)`` with ``time_weighted`` (the time-weighted rule)
    or ``(sum_t g_t) / (|sum_t h_t| + mu)`` without (plain pseudo-Newton on the shared weight):
    the update is ``-eta`` times it.  Nothing of size (T, weights) is stored.
    """
    B, n_in, H, n_out, hid, out, D = _layout(W_h, W_y, x)
    W_h2 = W_h * W_h
    W_y2 = W_y * W_y
    carry_h = np.zeros(H)  # first derivative reaching h_t from step t + 1, then c_h(t) below
    carry_y = np.zeros(n_out)
    curve_h = np.zeros(H)
    curve_y = np.zeros(n_out)
    dz = np.zeros(n_out)
    sz = np.zeros(n_out)
    da = np.zeros(H)
    sa = np.zeros(H)
    u = np.empty(D)
    v = np.empty(D)
    # Per sequence: the summed gradient and curvature (plain variant).
    g_h = np.zeros(W_h.shape)
    g_y = np.zeros(W_y.shape)
    c_h = np.zeros(W_h.shape)
    c_y = np.zeros(W_y.shape)
    for b in range(B):
        carry_h[:] = 0.0
        carry_y[:] = 0.0
        curve_h[:] = 0.0
        curve_y[:] = 0.0
        g_h[:, :] = 0.0
        g_y[:, :] = 0.0
        c_h[:, :] = 0.0
        c_y[:, :] = 0.0
        for t in range(lengths[b] - 1, -1, -1):
            u[0] = 1.0
            for i in range(n_in):
                u[1 + i] = x[b, t, i]
            for j in range(H):
                u[hid + j] = h_all[b, t - 1, j] if t > 0 else 0.0
            for o in range(n_out):
                u[out + o] = y_all[b, t - 1, o] if t > 0 else 0.0
            v[:] = u
            for j in range(H):
                v[hid + j] = h_all[b, t, j]
            for o in range(n_out):
                slope = derivative(act_y, y_all[b, t, o])
                dz[o] = error_z[b, t, o] + carry_y[o] * slope
                sz[o] = curvature_z[b, t, o] + curve_y[o] * slope * slope
                for d in range(D):
                    g = dz[o] * v[d]
                    c = sz[o] * v[d] * v[d]
                    g_y[o, d] += g
                    c_y[o, d] += c
                    if time_weighted:
                        step_y[o, d] += g / (abs(c) + mu)
            for j in range(H):
                back = carry_h[j]
                back2 = curve_h[j]
                for o in range(n_out):
                    back += dz[o] * W_y[o, hid + j]
                    back2 += sz[o] * W_y2[o, hid + j]
                slope = derivative(act_h, h_all[b, t, j])
                da[j] = back * slope
                sa[j] = back2 * slope * slope
                for d in range(D):
                    g = da[j] * u[d]
                    c = sa[j] * u[d] * u[d]
                    g_h[j, d] += g
                    c_h[j, d] += c
                    if time_weighted:
                        step_h[j, d] += g / (abs(c) + mu)
            # What reaches step t - 1's hidden units and outputs (the sources of step t).
            for j in range(H):
                back = 0.0
                back2 = 0.0
                for k in range(H):
                    back += da[k] * W_h[k, hid + j]
                    back2 += sa[k] * W_h2[k, hid + j]
                carry_h[j] = back
                curve_h[j] = back2
            for o in range(n_out):
                back = 0.0
                back2 = 0.0
                for k in range(H):
                    back += da[k] * W_h[k, out + o]
                    back2 += sa[k] * W_h2[k, out + o]
                for m in range(n_out):
                    back += dz[m] * W_y[m, out + o]
                    back2 += sz[m] * W_y2[m, out + o]
                carry_y[o] = back
                curve_y[o] = back2
        grad_h += g_h
        grad_y += g_y
        if not time_weighted:
            step_h += g_h / (np.abs(c_h) + mu)
            step_y += g_y / (np.abs(c_y) + mu)


# ---------------------------------------------------------------------------------- LSTM
#: Codes of the LSTM's squashing functions: the activations plus LSTM97's scaled sigmoids,
#: g = 4 sigmoid - 2 (range (-2, 2)) and h = 2 sigmoid - 1 (range (-1, 1)).
SQUASH_CODES = {**ACTIVATION_CODES, "lstm_g": 3, "lstm_h": 4}


@njit(cache=True, inline="always")
def _sigmoid(a: float) -> float:
    return 0.5 * (1.0 + np.tanh(0.5 * a))


@njit(cache=True, inline="always")
def _squash(code: int, a: float) -> float:
    if code == 3:
        return 4.0 * _sigmoid(a) - 2.0
    if code == 4:
        return 2.0 * _sigmoid(a) - 1.0
    return activate(code, a)


@njit(cache=True, inline="always")
def _squash_slope(code: int, a: float) -> float:
    """The squashing function's derivative, as a function of its net input ``a``."""
    if code == 0:
        f = np.tanh(a)
        return 1.0 - f * f
    if code == 2:
        return 1.0
    f = _sigmoid(a)
    scale = 4.0 if code == 3 else 2.0 if code == 4 else 1.0
    return scale * f * (1.0 - f)


@njit(cache=True, inline="always")
def _gate_sources(r, a_in, a_out, a_forget, b, t, start, n_blocks, output_gate, forget_gate):  # pragma: no cover
    """Write the step-``t`` gate activations into ``r`` from ``start`` on: input gates, then
    output gates (if any), then forget gates (if any), one per block; 0 before the first step."""
    j = start
    for k in range(n_blocks):
        r[j + k] = _sigmoid(a_in[b, t, k]) if t >= 0 else 0.0
    j += n_blocks
    if output_gate:
        for k in range(n_blocks):
            r[j + k] = _sigmoid(a_out[b, t, k]) if t >= 0 else 0.0
        j += n_blocks
    if forget_gate:
        for k in range(n_blocks):
            r[j + k] = _sigmoid(a_forget[b, t, k]) if t >= 0 else 0.0


@njit(cache=True, inline="always")
def _lstm_layout(W_in, W_cell, W_y, x):  # pragma: no cover - compiled
    """Sizes and the sources' layout: B, n_in, blocks, cells N, n_out, where the cells start in
    the sources, the outputs' source length ``1 + n_in + N``, the gates' and cells' source
    length R, and whether the gates are sources too (R longer than the outputs')."""
    n_in = x.shape[2]
    cells = 1 + n_in
    R_y = cells + W_cell.shape[0]
    R = W_in.shape[1]
    return x.shape[0], n_in, W_in.shape[0], W_cell.shape[0], W_y.shape[0], cells, R_y, R, R > R_y


@njit(cache=True, inline="always")
def _gate_net_inputs(W_in, W_out, W_forget, r, output_gate, forget_gate, a_in, a_out, a_forget, b,
                     t):  # pragma: no cover - compiled
    """The gates' net inputs from the sources ``r``, into ``a_in[b, t]``, ``a_out[b, t]`` and
    (with a forget gate) ``a_forget[b, t]``; 0 for an absent output gate."""
    for k in range(W_in.shape[0]):
        ai = 0.0
        ao = 0.0
        af = 0.0
        for d in range(W_in.shape[1]):
            ai += W_in[k, d] * r[d]
            if output_gate:
                ao += W_out[k, d] * r[d]
            if forget_gate:
                af += W_forget[k, d] * r[d]
        a_in[b, t, k] = ai
        a_out[b, t, k] = ao
        if forget_gate:
            a_forget[b, t, k] = af


@njit(cache=True)
def lstm_forward(W_in, W_out, W_forget, W_cell, W_y, x, lengths, n_cells, forget_gate, output_gate, code_g, code_h,
                 code_y, a_in, a_out, a_forget, a_cell, s_all, c_all, z_all, y_all):  # pragma: no cover - compiled
    """Run every sequence through the LSTM, recording what back-propagation needs.

    Gates and cell inputs see ``r_t = (1, x_t, c_{t-1})`` or, when their matrices are wider
    (``R = W_in.shape[1] > 1 + n_in + cells``), ``r_t = (1, x_t, c_{t-1}, gates_{t-1})``: the
    previous step's gate activations too (input gates, then output and forget gates where
    present), LSTM97's fully connected hidden layer.  The outputs see ``(1, x_t, c_t)``.
    Without ``output_gate`` the cells' outputs are ``h(s)`` (the gate is fixed open).  Cell
    ``n`` belongs to block ``n // n_cells``.  The record arrays (B, T, ·) must be zero beyond
    each sequence's length.
    """
    B, n_in, n_blocks, N, n_out, cells, R_y, R, gate_sources = _lstm_layout(W_in, W_cell, W_y, x)
    r = np.empty(R)
    state = np.empty(N)
    for b in range(B):
        r[:] = 0.0
        r[0] = 1.0
        state[:] = 0.0
        for t in range(lengths[b]):
            for i in range(n_in):
                r[1 + i] = x[b, t, i]
            _gate_net_inputs(W_in, W_out, W_forget, r, output_gate, forget_gate, a_in, a_out, a_forget, b, t)
            for n in range(N):
                a = 0.0
                for d in range(R):
                    a += W_cell[n, d] * r[d]
                a_cell[b, t, n] = a
                k = n // n_cells
                keep = _sigmoid(a_forget[b, t, k]) if forget_gate else 1.0
                state[n] = keep * state[n] + _sigmoid(a_in[b, t, k]) * _squash(code_g, a)
                s_all[b, t, n] = state[n]
                opening = _sigmoid(a_out[b, t, k]) if output_gate else 1.0
                c_all[b, t, n] = opening * _squash(code_h, state[n])
            # The new cell outputs (and gates) replace the old ones in r: the outputs read
            # (1, x_t, c_t), and step t + 1 reads them as its previous step.
            for n in range(N):
                r[cells + n] = c_all[b, t, n]
            if gate_sources:
                _gate_sources(r, a_in, a_out, a_forget, b, t, R_y, n_blocks, output_gate, forget_gate)
            _output_layer(W_y, r, code_y, b, t, z_all, y_all)


@njit(cache=True)
def lstm_backward(W_in, W_out, W_forget, W_cell, W_y, x, lengths, n_cells, forget_gate, output_gate, code_g, code_h,
                  a_in, a_out, a_forget, a_cell, s_all, c_all, error_z, truncated,
                  g_in, g_out, g_forget, g_cell, g_y):  # pragma: no cover - compiled
    """Add the gradient to ``g_in``, ``g_out``, ``g_forget``, ``g_cell`` and ``g_y``.

    Full BPTT, or with ``truncated`` LSTM97's truncated gradient: the error that reaches a gate's
    or a cell input's net input changes that unit's incoming weights but is not sent further
    back, so only the cell states carry error back in time (the exact gradient when every
    recurrent source that the step-t gates and cell inputs read, ``c_{t-1}`` and the gates of
    step t - 1, is taken as a constant).  The layout of the sources is :func:`lstm_forward`'s.

    ``error_z`` (B, T, n_out) is the loss's derivative with respect to the output net inputs.
    """
    B, n_in, n_blocks, N, n_out, cells, R_y, R, gate_sources = _lstm_layout(W_in, W_cell, W_y, x)
    out_start = R_y - cells + n_blocks  # where the output gates' errors sit in d_back
    forget_start = out_start + (n_blocks if output_gate else 0)
    r = np.empty(R)
    d_c = np.empty(N)
    d_s = np.empty(N)
    d_cell = np.empty(N)
    d_s_next = np.empty(N)
    # The error reaching each recurrent source (cells, then gates) of step t through step t+1.
    d_back = np.empty(R - cells)
    d_in = np.empty(n_blocks)
    d_out = np.empty(n_blocks)
    d_forget = np.empty(n_blocks)
    for b in range(B):
        d_back[:] = 0.0
        d_s_next[:] = 0.0
        for t in range(lengths[b] - 1, -1, -1):
            # The outputs' sources (1, x_t, c_t) first, then r_t = (1, x_t, c_{t-1}, gates_{t-1}).
            r[0] = 1.0
            for i in range(n_in):
                r[1 + i] = x[b, t, i]
            for n in range(N):
                r[cells + n] = c_all[b, t, n]
            for n in range(N):
                d_c[n] = d_back[n]
            for o in range(n_out):
                e = error_z[b, t, o]
                for d in range(R_y):
                    g_y[o, d] += e * r[d]
                for n in range(N):
                    d_c[n] += e * W_y[o, cells + n]
            for n in range(N):
                r[cells + n] = c_all[b, t - 1, n] if t > 0 else 0.0
            if gate_sources:
                _gate_sources(r, a_in, a_out, a_forget, b, t - 1, R_y, n_blocks, output_gate, forget_gate)
            for k in range(n_blocks):
                # The error on the gates' activations that step t+1 read, when they are sources.
                d_in[k] = d_back[R_y - cells + k] if gate_sources else 0.0
                d_out[k] = d_back[out_start + k] if gate_sources and output_gate else 0.0
                d_forget[k] = d_back[forget_start + k] if gate_sources and forget_gate else 0.0
            for n in range(N):
                k = n // n_cells
                o_gate = _sigmoid(a_out[b, t, k]) if output_gate else 1.0
                i_gate = _sigmoid(a_in[b, t, k])
                s = s_all[b, t, n]
                d_out[k] += d_c[n] * _squash(code_h, s)
                d_s[n] = d_c[n] * o_gate * _squash_slope(code_h, s) + d_s_next[n]
                d_in[k] += d_s[n] * _squash(code_g, a_cell[b, t, n])
                d_cell[n] = d_s[n] * i_gate * _squash_slope(code_g, a_cell[b, t, n])
                if forget_gate:
                    s_prev = s_all[b, t - 1, n] if t > 0 else 0.0
                    d_forget[k] += d_s[n] * s_prev
                    d_s_next[n] = d_s[n] * _sigmoid(a_forget[b, t, k])
                else:
                    d_s_next[n] = d_s[n]
            for k in range(n_blocks):
                o_gate = _sigmoid(a_out[b, t, k])
                i_gate = _sigmoid(a_in[b, t, k])
                d_out[k] *= (o_gate * (1.0 - o_gate)) if output_gate else 0.0
                d_in[k] *= i_gate * (1.0 - i_gate)
                if forget_gate:
                    f_gate = _sigmoid(a_forget[b, t, k])
                    d_forget[k] *= f_gate * (1.0 - f_gate)
            # Weight gradients, and the error reaching the recurrent sources of step t-1 through
            # every gate and cell input (none with the truncated gradient).
            d_back[:] = 0.0
            for k in range(n_blocks):
                for d in range(R):
                    g_in[k, d] += d_in[k] * r[d]
                    g_out[k, d] += d_out[k] * r[d]
                    if forget_gate:
                        g_forget[k, d] += d_forget[k] * r[d]
                if truncated:
                    continue
                for d in range(cells, R):
                    back = d_in[k] * W_in[k, d] + d_out[k] * W_out[k, d]
                    if forget_gate:
                        back += d_forget[k] * W_forget[k, d]
                    d_back[d - cells] += back
            for m in range(N):
                for d in range(R):
                    g_cell[m, d] += d_cell[m] * r[d]
                if truncated:
                    continue
                for d in range(cells, R):
                    d_back[d - cells] += d_cell[m] * W_cell[m, d]


@njit(cache=True)
def lstm_online(W_in, W_out, W_cell, W_y, M_in, M_out, M_cell, M_y, x, targets, target_mask, lengths, n_cells,
                output_gate, code_g, code_h, code_y, lr, y_all):  # pragma: no cover - compiled
    """LSTM97's learning: gradient descent on ``E = 1/2 sum (y - d)^2`` with the truncated
    gradient, the weights changed at every scored time step, sequence after sequence.

    The weights (layout of :func:`lstm_forward`, no forget gate) change in place; ``M_*`` are
    0/1 masks of the entries that are parameters (the others stay as they are).  As in the
    paper's appendix, the truncated gradient is computed forward in time: each cell keeps the
    partial derivatives of its state with respect to its own cell-input weights and its input
    gate's weights (the only paths the truncation leaves), ``O(W)`` per step.  Output units
    and output gates learn from the current step alone.  Summed over a sequence, the changes
    for a vanishing ``lr`` are ``-lr`` times :func:`lstm_backward`'s truncated gradient of
    ``E``.  ``y_all`` (B, T, n_out) receives the outputs as presented; returns each
    sequence's ``E`` (with the weights of the moment).
    """
    B, n_in, n_blocks, N, n_out, cells, R_y, R, gate_sources = _lstm_layout(W_in, W_cell, W_y, x)
    r = np.empty(R)  # what the gates and cell inputs read: (1, x_t, c_{t-1}, gates_{t-1})
    v = np.empty(R_y)  # what the outputs read: (1, x_t, c_t)
    state = np.empty(N)
    d_cell = np.empty((N, R))  # d s_n / d W_cell[n, :]
    d_gate = np.empty((N, R))  # d s_n / d W_in[block of n, :]
    a_in = np.empty((1, 1, n_blocks))
    a_out = np.empty((1, 1, n_blocks))
    no_forget = np.zeros((1, 1, n_blocks))
    c = np.empty(N)
    delta_y = np.empty(n_out)
    error_s = np.empty(N)
    delta_out = np.empty(n_blocks)
    losses = np.zeros(B)
    for b in range(B):
        r[:] = 0.0
        r[0] = 1.0
        state[:] = 0.0
        d_cell[:, :] = 0.0
        d_gate[:, :] = 0.0
        for t in range(lengths[b]):
            for i in range(n_in):
                r[1 + i] = x[b, t, i]
            _gate_net_inputs(W_in, W_out, W_in, r, output_gate, False, a_in, a_out, no_forget, 0, 0)
            for n in range(N):
                a = 0.0
                for d in range(R):
                    a += W_cell[n, d] * r[d]
                k = n // n_cells
                i_gate = _sigmoid(a_in[0, 0, k])
                squashed = _squash(code_g, a)
                along_cell = _squash_slope(code_g, a) * i_gate
                along_gate = squashed * i_gate * (1.0 - i_gate)
                for d in range(R):
                    d_cell[n, d] += along_cell * r[d]
                    d_gate[n, d] += along_gate * r[d]
                state[n] += i_gate * squashed
                opening = _sigmoid(a_out[0, 0, k]) if output_gate else 1.0
                c[n] = opening * _squash(code_h, state[n])
            for d in range(cells):
                v[d] = r[d]
            for n in range(N):
                v[cells + n] = c[n]
            scored = target_mask[b, t]
            for o in range(n_out):
                z = 0.0
                for d in range(R_y):
                    z += W_y[o, d] * v[d]
                y = activate(code_y, z)
                y_all[b, t, o] = y
                if scored:
                    diff = targets[b, t, o] - y
                    losses[b] += 0.5 * diff * diff
                    delta_y[o] = derivative(code_y, y) * diff
            if scored:
                # Every error signal first, from this step's weights; then every change.
                for k in range(n_blocks):
                    delta_out[k] = 0.0
                for n in range(N):
                    error_c = 0.0
                    for o in range(n_out):
                        error_c += W_y[o, cells + n] * delta_y[o]
                    k = n // n_cells
                    opening = _sigmoid(a_out[0, 0, k]) if output_gate else 1.0
                    delta_out[k] += _squash(code_h, state[n]) * error_c
                    error_s[n] = opening * _squash_slope(code_h, state[n]) * error_c
                for k in range(n_blocks):
                    o_gate = _sigmoid(a_out[0, 0, k])
                    delta_out[k] *= (o_gate * (1.0 - o_gate)) if output_gate else 0.0
                for o in range(n_out):
                    for d in range(R_y):
                        W_y[o, d] += lr * M_y[o, d] * delta_y[o] * v[d]
                for n in range(N):
                    k = n // n_cells
                    for d in range(R):
                        W_cell[n, d] += lr * M_cell[n, d] * error_s[n] * d_cell[n, d]
                        W_in[k, d] += lr * M_in[k, d] * error_s[n] * d_gate[n, d]
                for k in range(n_blocks):
                    for d in range(R):
                        W_out[k, d] += lr * M_out[k, d] * delta_out[k] * r[d]
            # Step t + 1 reads c_t and the gates of step t as its past.
            for n in range(N):
                r[cells + n] = c[n]
            if gate_sources:
                _gate_sources(r, a_in, a_out, no_forget, 0, 0, R_y, n_blocks, output_gate, False)
    return losses
