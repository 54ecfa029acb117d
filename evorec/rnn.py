"""Gradient training of evorec networks: losses, back-propagation through time, optimisers.

The network is exactly the one of docs/design.md ("Network semantics") and
:class:`evorec.network.Architecture`: with ``D = 1 + n_in + n_hidden + n_out`` source units,
all activations 0 at the start of each sequence and, at every step ``t``::

    a_t = W_h @ u_t,   u_t = [1, x_t, h_{t-1}, y_{t-1}],   h_t = f_h(a_t)
    z_t = W_y @ v_t,   v_t = [1, x_t, h_t,     y_{t-1}],   y_t = f_y(z_t)

Absent links are 0 and frozen links carry their frozen values (both come from
:meth:`Architecture.unpack`); the gradient is taken with respect to the free parameters only,
in :meth:`Architecture.pack` order (:func:`loss_and_grad`, full or truncated BPTT).  Leaky
hidden units (``time_constants``) compute ``h_t = (1 - 1/tau) h_{t-1} + (1/tau) f_h(a_t)``, and
a NARX delay line (``delays = d``) extends both sources with ``y_{t-2} .. y_{t-d}``; free time
constants get their gradient too (through :meth:`Architecture.tau_from_params`).

Also here: an LSTM97-style network with optional forget gate (:class:`LSTM`), the optimisers
:class:`SGD` (with momentum) and :class:`Adam`, and :func:`clip_norm`.  Everything is pure
numpy and vectorised over the sequences of a :class:`~evorec.batch.SequenceBatch`; the only
randomness is :meth:`LSTM.init`, which takes a ``numpy.random.Generator``.  Online training
(one sequence at a time, as LSTM97) is a batch of one: ``batch[np.array([b])]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import (
    InvalidParameter,
    array_size,
    boolean,
    integer,
    number_in,
    one_of,
    optional_integer,
    positive_number,
)
from evorec.evaluate import DEFAULT_MEMORY_BUDGET, Evaluation, score_outputs
from evorec.network import Architecture
from evorec.rnn_kernels import (
    ACTIVATION_CODES,
    SQUASH_CODES,
    lstm_backward,
    lstm_forward,
    lstm_online,
    network_backward,
    network_forward,
    network_pseudo_newton,
)
from evorec.scoring import Criterion, Fitness
from evorec.task import running_mask

LOSSES = ("mse", "cross_entropy", "sse")
#: ``alpha`` and its gradient for today's units: the kernels never read or write them then.
_NO_ALPHA = np.empty(0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-z))``, elementwise."""
    # The tanh form never overflows, unlike 1 / (1 + exp(-z)) for large negative z.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _softplus(z: np.ndarray) -> np.ndarray:
    # log(1 + exp(z)) without overflow.
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def activation_derivative(name: str, f: np.ndarray) -> np.ndarray:
    """Derivative of the activation, written in terms of its value ``f``."""
    if name == "tanh":
        return 1.0 - f * f
    if name == "sigmoid":
        return f * (1.0 - f)
    return np.ones_like(f)


def check_loss(loss: str, output: str) -> None:
    """Refuse, naming ``loss``, a loss that is not one of :data:`LOSSES` or that the output
    activation cannot take (cross-entropy needs sigmoid outputs)."""
    one_of(loss, "loss", LOSSES)
    if loss == "cross_entropy" and output != "sigmoid":
        raise InvalidParameter("loss", f"'cross_entropy' needs sigmoid outputs; the output activation is {output!r}")


def forward_record(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray,
                   batch: SequenceBatch, tau: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Run the batch forward, keeping what back-propagation needs.

    Returns the inputs ``x`` (B, T, n_in), hidden and output activations ``h``, ``y`` and the
    output net inputs ``z`` (B, T, ·) at every step, the ``alive`` mask (B, T) of steps
    within each sequence and the ``lengths`` (B,), as int64.  For leaky units (``tau``, shape
    (n_hidden,), required when :attr:`Architecture.leaky`) also ``f`` (B, T, n_hidden), the
    unleaked activations ``f_h(a_t)``, and ``alpha = 1 / tau``; else ``f`` is ``h``.

    States at padded steps (``t >= lengths[b]``) are set to 0 and padded inputs are read as 0,
    so padding (which may hold anything, even NaN) can never leak into the loss or gradient.
    """
    if arch.update != "hidden_first":
        # The backward pass follows the hidden-first order; a synchronous net would need its own.
        raise ValueError(f"gradients are implemented for update='hidden_first' only; got update={arch.update!r}")
    B, T = batch.n_sequences, batch.n_steps
    H, n_out = arch.n_hidden, arch.n_out
    alive = running_mask(batch.lengths, T)  # (B, T)
    x = np.ascontiguousarray(np.where(alive[:, :, None], batch.inputs, 0.0))
    h_all = np.zeros((B, T, H))
    y_all = np.zeros((B, T, n_out))
    z_all = np.zeros((B, T, n_out))
    lengths = batch.lengths.astype(np.int64)
    leaky = arch.leaky
    if leaky and tau is None:
        raise ValueError("forward_record needs tau for an architecture with time constants")
    alpha = 1.0 / np.asarray(tau, dtype=float) if leaky else _NO_ALPHA
    f_all = np.zeros((B, T, H)) if leaky else h_all
    network_forward(np.ascontiguousarray(W_h, dtype=float), np.ascontiguousarray(W_y, dtype=float), x, lengths,
                    ACTIVATION_CODES[arch.hidden], ACTIVATION_CODES[arch.output], h_all, y_all, z_all,
                    alpha, leaky, f_all)
    return {"x": x, "h": h_all, "y": y_all, "z": z_all, "alive": alive, "lengths": lengths, "f": f_all,
            "alpha": alpha}


def loss_and_output_error(output: str, batch: SequenceBatch, y: np.ndarray, z: np.ndarray,
                           loss: str) -> tuple[float, np.ndarray]:
    """The loss and its derivative with respect to the output net inputs ``z`` (B, T, n_out):
    the first step of back-propagation, shared by the networks' and the LSTM's passes.

    ``output`` names the output activation ``y = f(z)``; padded and unscored entries get 0.
    """
    mask = batch.target_mask[:, :, None]
    n_entries = int(batch.target_mask.sum()) * batch.n_out
    targets = np.where(mask, batch.targets, 0.0)
    if loss in ("mse", "sse"):
        diff = np.where(mask, y - targets, 0.0)
        if loss == "mse":
            value = float(np.sum(diff * diff) / n_entries)
            error_z = 2.0 * diff / n_entries * activation_derivative(output, y)
        else:
            value = float(0.5 * np.sum(diff * diff))
            error_z = diff * activation_derivative(output, y)
    else:  # cross_entropy, sigmoid outputs: computed from z so that saturated units stay finite
        terms = targets * _softplus(-z) + (1.0 - targets) * _softplus(z)
        value = float(np.sum(np.where(mask, terms, 0.0)) / n_entries)
        error_z = np.where(mask, y - targets, 0.0) / n_entries
    return value, error_z


def loss_and_grad(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, loss: str = "mse",
                  truncate: int | None = None, with_outputs: bool = False) -> tuple:
    """Loss of an evorec network on a batch and its gradient with respect to the free parameters.

    Parameters
    ----------
    architecture : Architecture
        Sizes, structure mask, frozen weights and activations of the network.
    theta : array_like, shape (n_params,)
        Free parameters, in :meth:`Architecture.pack` order.
    batch : SequenceBatch
        Sequences of possibly different lengths; padding is ignored.
    loss : {"mse", "cross_entropy", "sse"}
        ``"mse"``: the plain mean of squared errors over every scored (sequence, step, output)
        entry, exactly the ``mse`` fitness (:class:`evorec.tasks.fitness.MeanSquaredError`).
        ``"cross_entropy"``: binary cross-entropy
        ``-[d log y + (1 - d) log(1 - y)]`` averaged over the same entries; only for sigmoid
        outputs, targets ``d`` in ``[0, 1]`` (it is computed from the net input, so it stays
        finite when outputs saturate).  ``"sse"``: half the *sum* of squared errors over the
        same entries, ``E = 1/2 sum (y - d)^2``, LSTM97's objective: its gradient at an output
        unit is the paper's error signal ``f'(z) (y - d)``, so a learning rate means what the
        paper's α means (with ``"mse"`` the step would shrink with the number of entries).
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
    with_outputs : bool, default False
        Also return the outputs of the forward pass, shape (B, T, n_out) (0 beyond a
        sequence's length), for a training loop that judges the sequences it learns from.

    Returns
    -------
    loss : float
    grad : ndarray, shape (n_params,)
    outputs : ndarray, shape (B, T, n_out)
        Only with ``with_outputs``.
    """
    check_loss(loss, architecture.output)
    optional_integer(truncate, "truncate", 1)
    if batch.n_in != architecture.n_in or batch.n_out != architecture.n_out:
        raise ValueError(f"batch has {batch.n_in} inputs and {batch.n_out} outputs; the architecture "
                         f"{architecture.n_in} and {architecture.n_out}")
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (architecture.n_params,):
        raise ValueError(f"theta must have shape ({architecture.n_params},); got {theta.shape}")

    W_h, W_y = architecture.unpack(theta)
    tau = architecture.time_constants_of(theta)
    fwd = forward_record(architecture, W_h, W_y, batch, tau)
    value, error_z = loss_and_output_error(architecture.output, batch, fwd["y"], fwd["z"], loss)
    dW_h, dW_y, d_alpha = _backward(architecture, W_h, W_y, fwd, error_z, truncate)
    grad = architecture.pack_weights(dW_h, dW_y)
    if architecture.time_constants == "free":
        # alpha = 1 / tau and tau = low (high / low) ** sigmoid(s), so
        # d alpha / d s = -ln(high / low) sigmoid(s) (1 - sigmoid(s)) / tau.
        low, high = architecture.tau_range
        sig = sigmoid(theta[architecture.n_weights:])
        grad = np.concatenate([grad, -d_alpha * math.log(high / low) * sig * (1.0 - sig) / tau])
    return (value, grad, fwd["y"]) if with_outputs else (value, grad)


def output_curvature(output: str, batch: SequenceBatch, y: np.ndarray, loss: str) -> np.ndarray:
    """The Gauss-Newton second derivative of the loss with respect to the output net inputs
    ``z`` (B, T, n_out), 0 at padded and unscored entries: the loss's second derivative in ``y``
    times ``f'(z)^2`` (the ``f''`` term dropped), so never negative.

    ``"sse"`` gives ``f'^2``, ``"mse"`` ``2 f'^2 / n`` (``n`` the scored entries of the batch);
    ``"cross_entropy"`` on sigmoid outputs ``y (1 - y) / n``, its exact second derivative in ``z``.
    """
    mask = batch.target_mask[:, :, None]
    n_entries = int(batch.target_mask.sum()) * batch.n_out
    if loss == "cross_entropy":
        curvature = y * (1.0 - y) / n_entries
    else:
        slope = activation_derivative(output, y)
        curvature = slope * slope * (2.0 / n_entries if loss == "mse" else 1.0)
    return np.where(mask, curvature, 0.0)


def pseudo_newton_step(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, mu: float,
                       time_weighted: bool = True, loss: str = "sse") -> tuple[float, np.ndarray, np.ndarray,
                                                                                np.ndarray]:
    """The loss, its gradient, the pseudo-Newton direction and the outputs of one batch.

    The direction is, summed over the batch's sequences ``p``, Bengio and Frasconi's (1993,
    eq. 3) time-weighted ``sum_t g_it(p) / (|h_it(p)| + mu)`` (``time_weighted``) or the plain
    pseudo-Newton ``g_i(p) / (|h_i(p)| + mu)`` (Becker and Le Cun 1988, on the shared weight:
    ``g_i = sum_t g_it``, ``h_i = sum_t h_it``); ``g_it`` is BPTT's contribution of the copy of
    weight ``i`` at step ``t`` to the gradient and ``h_it`` its diagonal Gauss-Newton second
    derivative (:func:`evorec.rnn_kernels.network_pseudo_newton`).  The update is ``-eta``
    times the direction.  ``loss`` as :func:`loss_and_grad`; ``"sse"`` is the cost ``C(p)`` of
    a sequence, summed over its scored entries.  Today's units only (no time constants or
    delay lines) and full BPTT.

    Returns
    -------
    loss : float
    grad : ndarray, shape (n_params,)
        The gradient, exactly :func:`loss_and_grad`'s.
    direction : ndarray, shape (n_params,)
    outputs : ndarray, shape (B, T, n_out)
    """
    check_loss(loss, architecture.output)
    if architecture.leaky or architecture.delays > 1:
        raise ValueError("the pseudo-Newton pass runs networks without time constants or delay lines; got "
                         + architecture.describe())
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (architecture.n_params,):
        raise ValueError(f"theta must have shape ({architecture.n_params},); got {theta.shape}")
    W_h, W_y = architecture.unpack(theta)
    fwd = forward_record(architecture, W_h, W_y, batch)
    value, error_z = loss_and_output_error(architecture.output, batch, fwd["y"], fwd["z"], loss)
    curvature_z = output_curvature(architecture.output, batch, fwd["y"], loss)
    W_h, W_y = np.ascontiguousarray(W_h, dtype=float), np.ascontiguousarray(W_y, dtype=float)
    grad_h, grad_y = np.zeros(W_h.shape), np.zeros(W_y.shape)
    step_h, step_y = np.zeros(W_h.shape), np.zeros(W_y.shape)
    network_pseudo_newton(W_h, W_y, fwd["x"], fwd["lengths"], fwd["h"], fwd["y"], np.ascontiguousarray(error_z),
                          np.ascontiguousarray(curvature_z), ACTIVATION_CODES[architecture.hidden],
                          ACTIVATION_CODES[architecture.output], float(mu), bool(time_weighted),
                          grad_h, grad_y, step_h, step_y)
    return (value, architecture.pack_weights(grad_h, grad_y), architecture.pack_weights(step_h, step_y), fwd["y"])


def _backward(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray, fwd: dict[str, np.ndarray],
              error_z: np.ndarray, truncate: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Back-propagation through time, full or truncated (:func:`evorec.rnn_kernels.network_backward`).

    For truncation the error is kept in a window of ``K = truncate`` separate parts, part ``j``
    at step ``t`` holding the error that started at scored step ``t + j``; each part is dropped
    once it has passed through ``K`` steps.  This keeps the cost at ``O(T K)`` steps instead of
    one backward sweep per scored step.  Full BPTT is the same with a single part that is never
    dropped.  Returns the gradients with respect to ``W_h``, ``W_y`` and the hidden units'
    ``alpha = 1 / tau`` (an empty array for today's units).
    """
    x, h_all, y_all = fwd["x"], fwd["h"], fwd["y"]
    window = 0 if truncate is None else min(int(truncate), x.shape[1])
    dW_h, dW_y = np.zeros(W_h.shape), np.zeros(W_y.shape)
    d_alpha = np.zeros(arch.n_hidden) if arch.leaky else _NO_ALPHA
    network_backward(np.ascontiguousarray(W_h, dtype=float), np.ascontiguousarray(W_y, dtype=float), x, fwd["lengths"],
                     h_all, y_all, np.ascontiguousarray(error_z), ACTIVATION_CODES[arch.hidden],
                     ACTIVATION_CODES[arch.output], window, dW_h, dW_y, fwd["alpha"], arch.leaky, fwd["f"], d_alpha)
    return dW_h, dW_y, d_alpha


# ---------------------------------------------------------------------------------- LSTM
#: Squashing functions with their derivatives as functions of the net input.  "lstm_g" and
#: "lstm_h" are LSTM97's scaled sigmoids: g (cell input) has range (-2, 2), h (cell output)
#: has range (-1, 1).
SQUASH = {
    "sigmoid": (sigmoid, lambda a: sigmoid(a) * (1.0 - sigmoid(a))),
    "tanh": (np.tanh, lambda a: 1.0 - np.tanh(a) ** 2),
    "linear": (lambda a: a.copy(), np.ones_like),
    "lstm_g": (lambda a: 4.0 * sigmoid(a) - 2.0, lambda a: 4.0 * sigmoid(a) * (1.0 - sigmoid(a))),
    "lstm_h": (lambda a: 2.0 * sigmoid(a) - 1.0, lambda a: 2.0 * sigmoid(a) * (1.0 - sigmoid(a))),
}
_GATES = ("in", "out", "forget")
#: What the gates and cell inputs see of the previous step (:class:`LSTM`'s ``recurrence``).
RECURRENCE = ("cells", "cells_and_gates", "none")


class LSTM:
    """An LSTM network in the style of LSTM97, with an optional forget gate (Gers et al. 2000).

    ``n_blocks`` memory blocks of ``n_cells`` cells each; the cells of a block share one input
    gate, one output gate (unless ``output_gate`` is False) and (with ``forget_gate``) one
    forget gate.  Gates and cell inputs see the source vector ``r_t = [1, x_t, c_{t-1}]`` (bias,
    inputs, all cell outputs of the previous step; ``recurrence`` adds the previous step's gate
    activations or removes the cells); the output layer sees ``[1, x_t, c_t]`` (inputs only
    with ``input_to_output``).  With cell states ``s`` and all states 0 at the start of a
    sequence::

        i_t = sigmoid(W_in r_t),  o_t = sigmoid(W_out r_t),  f_t = sigmoid(W_forget r_t) or 1
        s_t = f_t * s_{t-1} + i_t * g(W_cell r_t)
        c_t = o_t * h(s_t)
        y_t = f_y(W_y [1, x_t, c_t])

    The gates act on every cell of their block.  Without ``forget_gate`` this is LSTM97's
    constant error carousel (``f_t = 1``); without ``output_gate``, ``o_t = 1``.  Gradients
    (:meth:`loss_and_grad`) are full BPTT through every path, or LSTM97's truncated gradient.

    Parameters
    ----------
    n_in, n_out : int
        Numbers of input and output units.
    n_blocks, n_cells : int
        Memory blocks, and cells per block.
    forget_gate : bool, default False
        Add a forget gate per block.
    gate_bias : bool, default True
        Give the gates bias weights.  Without them the gates' bias links are absent (0, and not
        parameters).
    cell_bias, output_bias : bool, default True
        Give the cell inputs, and the output units, bias weights (LSTM97 varies this per
        experiment: 2a has no biases at all, 3a no output bias).
    output : {"linear", "sigmoid", "tanh"}
        Activation of the output units.
    cell_input, cell_output : str
        The squashing functions ``g`` and ``h``: ``"lstm_g"`` (``4 sigmoid - 2``, LSTM97's
        default for g), ``"lstm_h"`` (``2 sigmoid - 1``, LSTM97's h), ``"tanh"``, ``"sigmoid"``
        or ``"linear"``.
    input_to_output : bool, default False
        Link the inputs directly to the output units.
    output_gate : bool, default True
        Give each block an output gate; without one the cells' outputs are ``h(s_t)`` (LSTM97's
        experiments 2a and 2b).
    recurrence : {"cells", "cells_and_gates", "none"}, default "cells"
        What the gates and cell inputs see of step ``t - 1``: the cell outputs; the cell outputs
        and the gate activations, ``r_t = [1, x_t, c_{t-1}, i_{t-1}, o_{t-1}, f_{t-1}]``
        (LSTM97's fully connected hidden layer: its weight counts, e.g. 93 for the adding
        net, include these links); or nothing (LSTM97's 2a net: gates and cells see the
        inputs only).

    Notes
    -----
    Parameters are one flat vector: the present entries, row-major, of ``W_in``, ``W_out``,
    (``W_forget``), ``W_cell`` (shapes ``(n_blocks, R)``, ``(n_blocks, R)``,
    ``(n_blocks, R)``, ``(n_blocks * n_cells, R)`` with ``R = 1 + n_in + n_blocks * n_cells``)
    and then ``W_y`` (shape ``(n_out, 1 + n_in + n_blocks * n_cells)``).
    """

    def __init__(self, n_in: int, n_out: int, n_blocks: int = 1, n_cells: int = 1, forget_gate: bool = False,
                 gate_bias: bool = True, output: str = "linear", cell_input: str = "lstm_g",
                 cell_output: str = "lstm_h", input_to_output: bool = False, cell_bias: bool = True,
                 output_bias: bool = True, output_gate: bool = True, recurrence: str = "cells") -> None:
        for name, value, minimum in (("n_in", n_in, 0), ("n_out", n_out, 1), ("n_blocks", n_blocks, 1),
                                     ("n_cells", n_cells, 1)):
            integer(value, name, minimum)
        one_of(output, "output", ("linear", "sigmoid", "tanh"))
        for name, value in (("cell_input", cell_input), ("cell_output", cell_output)):
            one_of(value, name, tuple(SQUASH))
        self.n_in, self.n_out, self.n_blocks, self.n_cells = int(n_in), int(n_out), int(n_blocks), int(n_cells)
        self.forget_gate, self.gate_bias = bool(forget_gate), bool(gate_bias)
        self.input_to_output = boolean(input_to_output, "input_to_output")
        self.cell_bias, self.output_bias = boolean(cell_bias, "cell_bias"), boolean(output_bias, "output_bias")
        self.output_gate = boolean(output_gate, "output_gate")
        self.recurrence = one_of(recurrence, "recurrence", RECURRENCE)
        self.output, self.cell_input, self.cell_output = output, cell_input, cell_output
        N, R = self.n_cells_total, self.n_source
        array_size((N + 3 * self.n_blocks) * R, "n_blocks", "the LSTM's weights: cells and gates x sources")
        gates = _GATES if self.forget_gate else _GATES[:2]
        self._shapes: dict[str, tuple[int, int]] = {f"W_{g}": (self.n_blocks, R) for g in gates}
        self._shapes["W_cell"] = (N, R)
        self._shapes["W_y"] = (self.n_out, 1 + self.n_in + N)
        # Which entries of each matrix are parameters (the rest are fixed at 0).
        self._masks: dict[str, np.ndarray] = {}
        for name, shape in self._shapes.items():
            mask = np.ones(shape, dtype=bool)
            if name[2:] in _GATES and not self.gate_bias:
                mask[:, 0] = False
            if name == "W_out" and not self.output_gate:
                mask[:] = False
            if name != "W_y" and self.recurrence == "none":
                mask[:, 1 + self.n_in:] = False
            if name == "W_y" and not self.input_to_output:
                mask[:, 1:1 + self.n_in] = False
            if (name == "W_cell" and not self.cell_bias) or (name == "W_y" and not self.output_bias):
                mask[:, 0] = False
            self._masks[name] = mask

    @property
    def shapes(self) -> dict[str, tuple[int, int]]:
        """Shapes of the weight matrices, in parameter order."""
        return dict(self._shapes)

    @property
    def n_cells_total(self) -> int:
        return self.n_blocks * self.n_cells

    @property
    def n_gate_units(self) -> int:
        """Gate units: input gates, and output and forget gates where present, one per block."""
        return self.n_blocks * (1 + self.output_gate + self.forget_gate)

    @property
    def n_source(self) -> int:
        """``R``, the length of the gates' source vector: ``1 + n_in + n_blocks * n_cells``, plus
        the gate units with ``recurrence="cells_and_gates"``."""
        gates = self.n_gate_units if self.recurrence == "cells_and_gates" else 0
        return 1 + self.n_in + self.n_cells_total + gates

    @property
    def n_params(self) -> int:
        return int(sum(mask.sum() for mask in self._masks.values()))

    def unpack(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """Weight matrices (``W_in``, ``W_out``, [``W_forget``], ``W_cell``, ``W_y``) from ``params``."""
        params = np.asarray(params, dtype=float)
        if params.shape != (self.n_params,):
            raise ValueError(f"params must have shape ({self.n_params},); got {params.shape}")
        weights, start = {}, 0
        for name, mask in self._masks.items():
            W = np.zeros(mask.shape)
            n = int(mask.sum())
            W[mask] = params[start:start + n]
            weights[name], start = W, start + n
        return weights

    def pack(self, weights: dict[str, np.ndarray]) -> np.ndarray:
        """The inverse of :meth:`unpack` (entries that are not parameters are dropped)."""
        return np.concatenate([np.asarray(weights[name], float)[mask] for name, mask in self._masks.items()])

    def init(self, rng: np.random.Generator, scale: float = 0.1, gate_bias: tuple[float, ...] | None = None,
             output_gate_bias: tuple[float, ...] | str | None = "same") -> np.ndarray:
        """Random parameters, uniform in ``[-scale, scale]``.

        Parameters
        ----------
        rng : numpy.random.Generator
        scale : float
        gate_bias : sequence of float, optional
            LSTM97 initialised gate biases of successive blocks to increasingly negative values
            (e.g. -1, -2, -3, ...) so that blocks start idle; one value per block sets the input
            gates' biases.  None leaves them random.
        output_gate_bias : sequence of float, "same" or None, default "same"
            The output gates' biases: ``"same"`` as the input gates' (``gate_bias``), one value
            per block for the output gates alone (LSTM97's experiment 3a: input gates -1, -3,
            -5, output gates -2, -4, -6), or None to leave them random (LSTM97's adding).
            Without an output gate, ``"same"`` sets nothing and values are refused.
        """
        same = isinstance(output_gate_bias, str) and output_gate_bias == "same"
        if isinstance(output_gate_bias, str) and not same:
            raise ValueError(f"output_gate_bias must be 'same', None or one value per block; got {output_gate_bias!r}")
        weights = {name: rng.uniform(-scale, scale, size=shape) for name, shape in self._shapes.items()}
        for gates, biases in (("W_in", gate_bias), ("W_out", gate_bias if same else output_gate_bias)):
            if biases is None:
                continue
            if not self.gate_bias or len(biases) != self.n_blocks:
                raise ValueError("gate biases need the gates' bias weights and one value per block")
            if gates == "W_out" and not self.output_gate:
                if not same:
                    raise ValueError("output gate biases need an output gate")
                continue
            weights[gates][:, 0] = np.asarray(biases, float)
        return self.pack(weights)

    # -------------------------------------------------------------- forward and backward
    def record(self, w: dict[str, np.ndarray], batch: SequenceBatch) -> dict[str, np.ndarray]:
        """Run the batch forward (:func:`evorec.rnn_kernels.lstm_forward`), keeping every net input
        and state: ``a_in``, ``a_out``, ``a_forget`` (zeros without a forget gate), ``a_cell``,
        ``s``, ``c``, ``z``, ``y`` (each (B, T, ·), zero beyond a sequence's length), the inputs
        ``x`` (padding read as 0), the ``alive`` mask (B, T) and the ``lengths`` (B,), as int64."""
        B, T = batch.n_sequences, batch.n_steps
        N, nb = self.n_cells_total, self.n_blocks
        alive = running_mask(batch.lengths, T)
        x = np.ascontiguousarray(np.where(alive[:, :, None], batch.inputs, 0.0))  # padding may hold anything
        sizes = {"a_in": nb, "a_out": nb, "a_forget": nb, "a_cell": N, "s": N, "c": N, "z": self.n_out,
                 "y": self.n_out}
        rec = {k: np.zeros((B, T, size)) for k, size in sizes.items()}
        lengths = batch.lengths.astype(np.int64)
        lstm_forward(*self._kernel_weights(w), x, lengths, self.n_cells, self.forget_gate, self.output_gate,
                     SQUASH_CODES[self.cell_input], SQUASH_CODES[self.cell_output], ACTIVATION_CODES[self.output],
                     rec["a_in"], rec["a_out"], rec["a_forget"], rec["a_cell"], rec["s"], rec["c"], rec["z"],
                     rec["y"])
        rec["x"], rec["alive"], rec["lengths"] = x, alive, lengths
        return rec

    def _kernel_weights(self, w: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """The weight matrices in the kernels' order; a zero forget matrix without a forget gate."""
        forget = w["W_forget"] if self.forget_gate else np.zeros_like(w["W_in"])
        return tuple(np.ascontiguousarray(m, dtype=float) for m in (w["W_in"], w["W_out"], forget, w["W_cell"],
                                                                     w["W_y"]))

    def forward(self, params: np.ndarray, inputs: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """Outputs, shape ``(B, T, n_out)``; NaN at steps beyond a sequence's length."""
        inputs = np.asarray(inputs, dtype=float)
        B, T = inputs.shape[:2]
        lengths = np.full(B, T, dtype=np.int64) if lengths is None else np.asarray(lengths, dtype=np.int64)
        alive = running_mask(lengths, T)
        batch = SequenceBatch(inputs, np.zeros((B, T, self.n_out)), alive, lengths)
        y = self.record(self.unpack(params), batch)["y"]
        return np.where(alive[:, :, None], y, np.nan)

    def evaluate(self, candidates: np.ndarray, batch: SequenceBatch, fitness: Fitness, criterion: Criterion, *,
                 early_exit: bool = False, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                 n_jobs: int = 1) -> Evaluation:
        """Score parameter vectors (rows of ``candidates``) on ``batch`` as the evaluator scores
        networks (:class:`evorec.model.Model`).

        Every candidate runs every sequence (``early_exit``, ``memory_budget`` and ``n_jobs``
        are not used), so each costs the batch's sequences and the sum of its lengths in steps.
        """
        params = np.asarray(candidates, dtype=float).reshape(-1, self.n_params)
        targets, sequence, step = batch.scored_targets()
        with np.errstate(over="ignore", invalid="ignore"):
            outputs = np.stack([self.forward(p, batch.inputs, batch.lengths)[sequence, step] for p in params])
        P, B = len(params), batch.n_sequences
        seen, complete = np.ones(outputs.shape[:2], dtype=bool), np.ones(P, dtype=bool)
        loss, wrong, solved, complete = score_outputs(outputs, seen, complete, targets, sequence, B, fitness,
                                                      criterion, batch.scored_criterion_targets())
        return Evaluation(loss, wrong, solved, complete, np.full(P, B, dtype=np.int64),
                          np.full(P, int(batch.lengths.sum()), dtype=np.int64), B)

    def loss_and_grad(self, params: np.ndarray, batch: SequenceBatch, loss: str = "mse",
                      truncated: bool = False, with_outputs: bool = False) -> tuple:
        """Loss on a batch and its gradient with respect to ``params``: full BPTT, or LSTM97's
        truncated gradient.

        Parameters
        ----------
        params : array_like, shape (n_params,)
        batch : SequenceBatch
        loss : {"mse", "cross_entropy", "sse"}
            As in :func:`loss_and_grad`: the mean over scored (sequence, step, output) entries
            of the squared error, or of the binary cross-entropy (sigmoid outputs only), or
            half their summed squared error (LSTM97's objective).
        truncated : bool, default False
            LSTM97's truncated gradient: error that reaches a gate's or a cell input's net input
            changes its incoming weights but is not sent further back; only the cell states
            carry error back in time.  Exactly the gradient with every recurrent source that
            the step-``t`` gates and cell inputs read (``c_{t-1}``, and the gates of step
            ``t - 1`` with ``recurrence="cells_and_gates"``) held constant.
        with_outputs : bool, default False
            Also return the outputs, as :func:`loss_and_grad` does.

        Returns
        -------
        loss : float
        grad : ndarray, shape (n_params,)
        """
        check_loss(loss, self.output)
        if batch.n_in != self.n_in or batch.n_out != self.n_out:
            raise ValueError(f"batch has {batch.n_in} inputs and {batch.n_out} outputs; the LSTM "
                             f"{self.n_in} and {self.n_out}")
        w = self.unpack(params)
        rec = self.record(w, batch)
        value, error_z = loss_and_output_error(self.output, batch, rec["y"], rec["z"], loss)
        grad = self.pack(self._backward(w, rec, error_z, boolean(truncated, "truncated")))
        return (value, grad, rec["y"]) if with_outputs else (value, grad)

    def train_online(self, params: np.ndarray, batch: SequenceBatch, lr: float) -> tuple[np.ndarray, np.ndarray,
                                                                                         np.ndarray]:
        """LSTM97's own learning on the batch's sequences, one after another: plain gradient
        descent on ``E = 1/2 sum (y - d)^2`` with the truncated gradient, the weights changed at
        every scored time step (:func:`evorec.rnn_kernels.lstm_online`).

        Only for LSTM97's nets: no forget gate.  As ``lr`` vanishes, the change over a sequence
        is ``-lr`` times :meth:`loss_and_grad`'s ``"sse"`` truncated gradient.

        Returns
        -------
        params : ndarray, shape (n_params,)
            The weights after the last sequence.
        losses : ndarray, shape (B,)
            Each sequence's ``E``, as presented (with the weights of each moment).
        outputs : ndarray, shape (B, T, n_out)
            The outputs as presented (0 beyond a sequence's length).
        """
        if self.forget_gate:
            raise ValueError("per-step online learning is LSTM97's and has no forget gate")
        positive_number(lr, "lr")
        if batch.n_in != self.n_in or batch.n_out != self.n_out:
            raise ValueError(f"batch has {batch.n_in} inputs and {batch.n_out} outputs; the LSTM "
                             f"{self.n_in} and {self.n_out}")
        w = self.unpack(params)
        masks = {name: mask.astype(float) for name, mask in self._masks.items()}
        outputs = np.zeros((batch.n_sequences, batch.n_steps, self.n_out))
        losses = lstm_online(w["W_in"], w["W_out"], w["W_cell"], w["W_y"], masks["W_in"], masks["W_out"],
                             masks["W_cell"], masks["W_y"], np.ascontiguousarray(batch.inputs, dtype=float),
                             np.ascontiguousarray(batch.targets, dtype=float), np.ascontiguousarray(batch.target_mask),
                             batch.lengths.astype(np.int64), self.n_cells, self.output_gate,
                             SQUASH_CODES[self.cell_input], SQUASH_CODES[self.cell_output],
                             ACTIVATION_CODES[self.output], float(lr), outputs)
        return self.pack(w), losses, outputs

    def _backward(self, w: dict[str, np.ndarray], rec: dict[str, np.ndarray],
                  error_z: np.ndarray, truncated: bool = False) -> dict[str, np.ndarray]:
        """BPTT through the recorded run, full or truncated (:func:`evorec.rnn_kernels.lstm_backward`)."""
        grads = {name: np.zeros(W.shape) for name, W in w.items()}
        forget = grads["W_forget"] if self.forget_gate else np.zeros(w["W_in"].shape)
        lstm_backward(*self._kernel_weights(w), rec["x"], rec["lengths"], self.n_cells, self.forget_gate,
                      self.output_gate, SQUASH_CODES[self.cell_input], SQUASH_CODES[self.cell_output], rec["a_in"],
                      rec["a_out"], rec["a_forget"], rec["a_cell"], rec["s"], rec["c"], np.ascontiguousarray(error_z),
                      truncated, grads["W_in"], grads["W_out"], forget, grads["W_cell"], grads["W_y"])
        return grads


# ---------------------------------------------------------------------------- optimisers
def clip_norm(grad: np.ndarray, max_norm: float) -> np.ndarray:
    """``grad`` scaled down so that its Euclidean norm is at most ``max_norm`` (a new array).

    A gradient whose norm is already within the bound is returned unchanged (as a copy).
    """
    positive_number(max_norm, "max_norm")
    grad = np.asarray(grad, dtype=float)
    norm = float(np.linalg.norm(grad))
    if norm > max_norm:
        return grad * (max_norm / norm)
    return grad.copy()


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``velocity <- momentum * velocity - lr * grad``, ``theta <- theta + velocity``.

    Parameters
    ----------
    lr : float
        Learning rate.
    momentum : float, default 0.0
        In ``[0, 1)``; 0 is plain gradient descent.

    Attributes
    ----------
    state : dict
        Plain data: ``{"velocity": ndarray or None}``; assign a saved one to resume.
    """

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        positive_number(lr, "lr")
        number_in(momentum, "momentum", 0.0, 1.0, high_open=True)
        self.lr, self.momentum = float(lr), float(momentum)
        self.state: dict[str, Any] = {"velocity": None}

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """One update; returns the new parameters (``theta`` is not modified)."""
        theta, grad = np.asarray(theta, dtype=float), np.asarray(grad, dtype=float)
        velocity = self.state["velocity"]
        if velocity is None:
            velocity = np.zeros_like(theta)
        velocity = self.momentum * velocity - self.lr * grad
        self.state = {"velocity": velocity}
        return theta + velocity


class Adam:
    """Adam (Kingma and Ba 2015), with bias-corrected moment estimates.

    Parameters
    ----------
    lr : float
        Step size.
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    eps : float
        Added to the root of the second moment to avoid division by 0.

    Attributes
    ----------
    state : dict
        Plain data: ``{"t": int, "m": ndarray or None, "v": ndarray or None}``.
    """

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        positive_number(lr, "lr")
        number_in(beta1, "beta1", 0.0, 1.0, high_open=True)
        number_in(beta2, "beta2", 0.0, 1.0, high_open=True)
        positive_number(eps, "eps")
        self.lr, self.beta1, self.beta2, self.eps = float(lr), float(beta1), float(beta2), float(eps)
        self.state: dict[str, Any] = {"t": 0, "m": None, "v": None}

    def step(self, theta: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """One update; returns the new parameters (``theta`` is not modified)."""
        theta, grad = np.asarray(theta, dtype=float), np.asarray(grad, dtype=float)
        m, v = self.state["m"], self.state["v"]
        if m is None:
            m, v = np.zeros_like(theta), np.zeros_like(theta)
        t = int(self.state["t"]) + 1
        m = self.beta1 * m + (1.0 - self.beta1) * grad
        v = self.beta2 * v + (1.0 - self.beta2) * grad * grad
        m_hat = m / (1.0 - self.beta1**t)
        v_hat = v / (1.0 - self.beta2**t)
        self.state = {"t": t, "m": m, "v": v}
        return theta - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
