"""Real-time recurrent learning (RTRL) on evorec networks: the gradient carried forward in time.

Williams and Zipser (1989), "A learning algorithm for continually running fully recurrent
neural networks": every unit ``k`` keeps the sensitivities ``p^k_w(t) = d y_k(t) / d w`` of
its activation to every weight ``w``, updated at each step from the previous step's, so the
gradient of the error at step ``t`` is known at step ``t`` and the weights can change at once,
while the network runs (no backward pass, no stored history).

The network is :mod:`evorec.rnn`'s (docs/design.md, "Network semantics", hidden-first order;
Williams and Zipser update every unit from the previous step, but the recursion is the same
chain rule).  With ``q`` the sensitivities of the net inputs, for every free parameter ``w``::

    q^h_j(t) = [w = W_h[j, c]] u_t[c] + sum_k W_h[j, hid+k] p^h_k(t-1) + sum_o W_h[j, out+o] p^y_o(t-1)
    p^h_j(t) = f_h'(a_j(t)) q^h_j(t)
    q^y_o(t) = [w = W_y[o, c]] v_t[c] + sum_k W_y[o, hid+k] p^h_k(t)   + sum_m W_y[o, out+m] p^y_m(t-1)
    p^y_o(t) = f_y'(z_o(t)) q^y_o(t)

(``u_t`` and ``v_t`` are the hidden units' and outputs' source vectors, all ``p`` start at 0),
and the gradient of the loss is ``sum_t sum_o dL/dz_o(t) q^y_o(t)``: over a whole sequence with
fixed weights exactly BPTT's (:func:`evorec.rnn.loss_and_grad`, up to rounding).  The cost is
``O((H + n_out)^2 n_params)`` per step, against BPTT's ``O(n_params)``, which is why BPTT is the
usual choice offline; RTRL's point is the online form (:func:`train_online`).

The loop runs compiled (numba), like :mod:`evorec.rnn_kernels`, for the same reason: the nets
are tiny and numpy's per-call overhead would dominate.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evorec.batch import SequenceBatch
from evorec.checks import positive_number
from evorec.network import Architecture
from evorec.rnn import SGD, Adam, check_loss
from evorec.rnn_kernels import ACTIVATION_CODES, activate, derivative

#: Codes of the losses in the kernel (:func:`evorec.rnn.loss_and_grad` defines them).
LOSS_CODES = {"mse": 0, "sse": 1, "cross_entropy": 2}


@njit(cache=True, inline="always")
def _softplus(z: float) -> float:
    # log(1 + exp(z)) without overflow, as evorec.rnn computes the cross-entropy.
    return max(z, 0.0) + np.log1p(np.exp(-abs(z)))


@njit(cache=True)
def _optimizer_step(theta, grad, opt, lr, momentum, beta1, beta2, eps, clip, first, second,
                    count):  # pragma: no cover - compiled
    """One update of ``theta`` in place, as :class:`evorec.rnn.SGD` (``opt`` 0) or
    :class:`evorec.rnn.Adam` (``opt`` 1) with the state ``first`` (velocity, or first moment),
    ``second`` (second moment) and ``count[0]`` (Adam's step count); as the ``bptt`` strategy
    does, a non-finite gradient is replaced by 0 and ``clip > 0`` caps its norm first."""
    n = grad.shape[0]
    finite = True
    for i in range(n):
        if not np.isfinite(grad[i]):
            finite = False
    if not finite:
        grad[:] = 0.0
    if clip > 0.0:
        norm = np.sqrt(np.sum(grad * grad))
        if norm > clip:
            grad *= clip / norm
    if opt == 0:
        for i in range(n):
            first[i] = momentum * first[i] - lr * grad[i]
            theta[i] += first[i]
        return
    count[0] += 1
    t = count[0]
    for i in range(n):
        first[i] = beta1 * first[i] + (1.0 - beta1) * grad[i]
        second[i] = beta2 * second[i] + (1.0 - beta2) * grad[i] * grad[i]
        m_hat = first[i] / (1.0 - beta1**t)
        v_hat = second[i] / (1.0 - beta2**t)
        theta[i] -= lr * m_hat / (np.sqrt(v_hat) + eps)


@njit(cache=True)
def rtrl_run(W_h, W_y, theta, unit, column, x, targets, target_mask, lengths, act_h, act_y, loss, scale, online,
             opt, lr, momentum, beta1, beta2, eps, clip, first, second, count, grad, y_all,
             sums):  # pragma: no cover - compiled
    """Run the sequences one after another, carrying the sensitivities forward.

    ``theta`` are the free parameters; parameter ``i`` is the weight of unit ``unit[i]`` (a
    hidden unit below ``H``, else output ``unit[i] - H``) from source ``column[i]``, and
    ``W_h``, ``W_y`` hold ``theta`` there (and the fixed weights elsewhere).  ``loss`` is a
    :data:`LOSS_CODES` code and ``scale`` what each entry's loss is multiplied by (1 over the
    batch's scored entries for the means, 1 for ``"sse"``).  The gradient of every scored step is
    added to ``grad``; with ``online`` it also updates ``theta`` (and ``W_h``, ``W_y``) at once by
    :func:`_optimizer_step`, so the next step runs with the new weights while the sensitivities
    carry on (Williams and Zipser's real-time approximation).  ``y_all`` (B, T, n_out) receives
    the outputs as presented, ``sums[b]`` sequence ``b``'s share of the loss.  Sensitivities
    start at 0 with every sequence, as the states do.
    """
    B, n_in, H, n_out = x.shape[0], x.shape[2], W_h.shape[0], W_y.shape[0]
    hid, out, D = 1 + n_in, 1 + n_in + H, W_h.shape[1]
    n_p = theta.shape[0]
    source = np.empty(D)
    h_new = np.empty(H)
    p_h = np.empty((H, n_p))
    p_y = np.empty((n_out, n_p))
    p_h_new = np.empty((H, n_p))
    q_y = np.empty((n_out, n_p))
    error_z = np.empty(n_out)
    step_grad = np.empty(n_p)
    for b in range(B):
        source[:] = 0.0
        source[0] = 1.0
        p_h[:, :] = 0.0
        p_y[:, :] = 0.0
        for t in range(lengths[b]):
            for i in range(n_in):
                source[1 + i] = x[b, t, i]
            # Hidden units and their sensitivities from step t-1 (source still holds h, y of t-1).
            for j in range(H):
                a = 0.0
                for d in range(D):
                    a += W_h[j, d] * source[d]
                h_new[j] = activate(act_h, a)
                slope = derivative(act_h, h_new[j])
                for i in range(n_p):
                    q = source[column[i]] if unit[i] == j else 0.0
                    for k in range(H):
                        q += W_h[j, hid + k] * p_h[k, i]
                    for m in range(n_out):
                        q += W_h[j, out + m] * p_y[m, i]
                    p_h_new[j, i] = slope * q
            for j in range(H):
                source[hid + j] = h_new[j]
            # Outputs from (1, x_t, h_t, y_{t-1}): the current hidden sensitivities, the old output ones.
            scored = target_mask[b, t]
            for o in range(n_out):
                z = 0.0
                for d in range(D):
                    z += W_y[o, d] * source[d]
                y = activate(act_y, z)
                y_all[b, t, o] = y
                for i in range(n_p):
                    q = source[column[i]] if unit[i] == H + o else 0.0
                    for k in range(H):
                        q += W_y[o, hid + k] * p_h_new[k, i]
                    for m in range(n_out):
                        q += W_y[o, out + m] * p_y[m, i]
                    q_y[o, i] = q
                error_z[o] = 0.0
                if scored:
                    d_o = targets[b, t, o]
                    diff = y - d_o
                    if loss == 0:
                        sums[b] += diff * diff * scale
                        error_z[o] = 2.0 * diff * scale * derivative(act_y, y)
                    elif loss == 1:
                        sums[b] += 0.5 * diff * diff
                        error_z[o] = diff * derivative(act_y, y)
                    else:  # from z, so that saturated outputs stay finite
                        sums[b] += (d_o * _softplus(-z) + (1.0 - d_o) * _softplus(z)) * scale
                        error_z[o] = diff * scale
            for o in range(n_out):
                slope = derivative(act_y, y_all[b, t, o])
                for i in range(n_p):
                    p_y[o, i] = slope * q_y[o, i]
                source[out + o] = y_all[b, t, o]
            for j in range(H):
                for i in range(n_p):
                    p_h[j, i] = p_h_new[j, i]
            if not scored:
                continue
            for i in range(n_p):
                g = 0.0
                for o in range(n_out):
                    g += error_z[o] * q_y[o, i]
                step_grad[i] = g
                grad[i] += g
            if online:
                _optimizer_step(theta, step_grad, opt, lr, momentum, beta1, beta2, eps, clip, first, second, count)
                for i in range(n_p):
                    if unit[i] < H:
                        W_h[unit[i], column[i]] = theta[i]
                    else:
                        W_y[unit[i] - H, column[i]] = theta[i]


# ------------------------------------------------------------------------------ wrappers
def _prepare(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, loss: str) -> dict:
    """Checked inputs and the kernel's arrays: weight matrices, parameter positions, padding as 0."""
    check_loss(loss, architecture.output)
    if architecture.update != "hidden_first":
        # The recursion follows the hidden-first order, as BPTT's backward pass does.
        raise ValueError(f"gradients are implemented for update='hidden_first' only; got "
                         f"update={architecture.update!r}")
    if architecture.leaky or architecture.delays > 1:
        # The sensitivities follow today's one-step recurrence; a leaky unit carries its own
        # state and a delay line older outputs, which the recursion would silently miss.
        raise ValueError("rtrl's recursion is for networks without time constants or delay lines; got "
                         + architecture.describe())
    if batch.n_in != architecture.n_in or batch.n_out != architecture.n_out:
        raise ValueError(f"batch has {batch.n_in} inputs and {batch.n_out} outputs; the architecture "
                         f"{architecture.n_in} and {architecture.n_out}")
    theta = np.array(theta, dtype=float)  # a copy: the online kernel changes it
    if theta.shape != (architecture.n_params,):
        raise ValueError(f"theta must have shape ({architecture.n_params},); got {theta.shape}")
    H, n_out, D = architecture.n_hidden, architecture.n_out, architecture.n_units
    # Where each free parameter sits, by packing the positions themselves (Architecture.pack's
    # order, whatever it is).
    flat = architecture.pack(np.arange(H * D, dtype=float).reshape(H, D),
                             np.arange(H * D, (H + n_out) * D, dtype=float).reshape(n_out, D)).astype(np.int64)
    W_h, W_y = architecture.unpack(theta)
    alive = np.arange(batch.n_steps)[None, :] < batch.lengths[:, None]
    n_entries = int(batch.target_mask.sum()) * batch.n_out
    return {
        "W_h": np.ascontiguousarray(W_h), "W_y": np.ascontiguousarray(W_y), "theta": theta,
        "unit": flat // D, "column": flat % D,
        # Padding (and unscored targets) may hold anything, NaN included: never read as such.
        "x": np.ascontiguousarray(np.where(alive[:, :, None], batch.inputs, 0.0)),
        "targets": np.ascontiguousarray(np.where(batch.target_mask[:, :, None], batch.targets, 0.0)),
        "mask": np.ascontiguousarray(batch.target_mask & alive), "lengths": batch.lengths.astype(np.int64),
        "act_h": ACTIVATION_CODES[architecture.hidden], "act_y": ACTIVATION_CODES[architecture.output],
        "loss": LOSS_CODES[loss], "scale": 1.0 if loss == "sse" else 1.0 / max(n_entries, 1),
        "outputs": np.zeros((batch.n_sequences, batch.n_steps, batch.n_out)), "sums": np.zeros(batch.n_sequences),
        "grad": np.zeros(theta.size),
    }


def _run(k: dict, online: bool, opt: int = 0, lr: float = 0.0, momentum: float = 0.0, beta1: float = 0.0,
         beta2: float = 0.0, eps: float = 0.0, clip: float = 0.0, first: np.ndarray | None = None,
         second: np.ndarray | None = None, count: np.ndarray | None = None) -> None:
    n = k["theta"].size
    first = np.zeros(n) if first is None else first
    second = np.zeros(n) if second is None else second
    count = np.zeros(1, dtype=np.int64) if count is None else count
    rtrl_run(k["W_h"], k["W_y"], k["theta"], k["unit"], k["column"], k["x"], k["targets"], k["mask"], k["lengths"],
             k["act_h"], k["act_y"], k["loss"], k["scale"], online, opt, lr, momentum, beta1, beta2, eps, clip,
             first, second, count, k["grad"], k["outputs"], k["sums"])


def loss_and_grad(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, loss: str = "mse",
                  with_outputs: bool = False) -> tuple:
    """Loss on a batch and its gradient with respect to the free parameters, by RTRL.

    The same loss and (to rounding) the same gradient as full BPTT,
    :func:`evorec.rnn.loss_and_grad`, computed forward in time with the weights held fixed.

    Parameters
    ----------
    architecture : Architecture
    theta : array_like, shape (n_params,)
        Free parameters, in :meth:`Architecture.pack` order.
    batch : SequenceBatch
        Sequences of possibly different lengths; padding is ignored.
    loss : {"mse", "cross_entropy", "sse"}
        As in :func:`evorec.rnn.loss_and_grad` (the means are over the batch's scored entries).
    with_outputs : bool, default False
        Also return the outputs, shape (B, T, n_out), 0 beyond a sequence's length.

    Returns
    -------
    loss : float
    grad : ndarray, shape (n_params,)
    outputs : ndarray, shape (B, T, n_out)
        Only with ``with_outputs``.
    """
    k = _prepare(architecture, theta, batch, loss)
    _run(k, online=False)
    value = float(k["sums"].sum())
    return (value, k["grad"], k["outputs"]) if with_outputs else (value, k["grad"])


def train_online(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, update_rule: SGD | Adam,
                 loss: str = "sse", clip: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Williams and Zipser's online learning: the weights change at every scored time step.

    The batch's sequences run one after another (the sensitivities, like the states, start at 0
    with each).  At every step with targets the gradient of that step's loss, from the carried
    sensitivities, goes to ``update_rule`` at once (after the ``bptt`` strategy's treatment: a
    non-finite gradient becomes 0, ``clip`` caps its norm), and the next step runs with the new
    weights; the sensitivities are not recomputed for them (the paper's approximation, good when
    the rate is small).  As the rate vanishes, with :class:`evorec.rnn.SGD` and no momentum the
    change over the batch is ``-lr`` times :func:`loss_and_grad`'s gradient for the batch.

    Parameters
    ----------
    architecture : Architecture
    theta : array_like, shape (n_params,)
    batch : SequenceBatch
    update_rule : SGD or Adam
        Its ``state`` (momentum, moments) is carried through and updated.
    loss : {"mse", "cross_entropy", "sse"}, default "sse"
        ``"sse"`` is the paper's ``J(t) = 1/2 sum_k e_k(t)^2``; the means divide by the scored
        entries of the whole batch, so that the changes add up to the batch's gradient.
    clip : float, optional
        Cap the norm of each step's gradient.

    Returns
    -------
    theta : ndarray, shape (n_params,)
        The weights after the last step.
    losses : ndarray, shape (B,)
        Each sequence's loss as presented (with the weights of each moment), as the loss of that
        sequence alone (the means over its own scored entries).
    outputs : ndarray, shape (B, T, n_out)
        The outputs as presented (0 beyond a sequence's length).
    """
    limit = 0.0 if clip is None else positive_number(clip, "clip")  # 0: no clipping, in the kernel
    k = _prepare(architecture, theta, batch, loss)
    n = k["theta"].size
    if isinstance(update_rule, Adam):
        state = update_rule.state
        first = np.zeros(n) if state["m"] is None else np.array(state["m"], dtype=float)
        second = np.zeros(n) if state["v"] is None else np.array(state["v"], dtype=float)
        count = np.array([int(state["t"])], dtype=np.int64)
        _run(k, True, 1, update_rule.lr, 0.0, update_rule.beta1, update_rule.beta2, update_rule.eps,
             limit, first, second, count)
        update_rule.state = {"t": int(count[0]), "m": first, "v": second}
    elif isinstance(update_rule, SGD):
        velocity = update_rule.state["velocity"]
        first = np.zeros(n) if velocity is None else np.array(velocity, dtype=float)
        _run(k, True, 0, update_rule.lr, update_rule.momentum, clip=limit, first=first)
        update_rule.state = {"velocity": first}
    else:
        raise TypeError(f"update_rule must be evorec.rnn.SGD or Adam; got {type(update_rule).__name__}")
    losses = k["sums"]
    if loss != "sse":  # each sequence's share of the batch's mean, as the mean over its own entries
        per_sequence = batch.target_mask.sum(axis=1) * batch.n_out
        losses = np.where(per_sequence > 0, losses / k["scale"] / np.maximum(per_sequence, 1), 0.0)
    return k["theta"], losses, k["outputs"]
