"""Real-time recurrent learning as a gradient baseline (``rtrl``): the problem's own network
trained by Williams and Zipser's (1989) forward-in-time gradient, online by default.

It is ``bptt`` (:class:`evorec.strategies.gradient.BPTT`) with another way to the gradient and
another moment to use it: the training data, ``check_every``, the success tests, the costs and
the resume are bptt's own.
"""

from __future__ import annotations

import numpy as np

from evorec import rtrl
from evorec.batch import SequenceBatch
from evorec.checks import one_of
from evorec.network import Architecture

from .gradient import BPTT, refuse_memories

#: When the weights change: at every scored step (the paper's online form), or once per batch.
UPDATES = ("step", "sequence")


class RTRL(BPTT):
    """Real-time recurrent learning (Williams and Zipser 1989) on the problem's architecture.

    Each :meth:`ask` first trains for ``check_every`` sequences, then proposes the current
    weights for the loop's success test on the whole training set, exactly as ``bptt`` does
    (the first proposal is the untrained initial network).  The gradient is RTRL's
    (:mod:`evorec.rtrl`): each unit's sensitivities to every weight are carried forward in time,
    so the error of a step is turned into a weight change at that step.

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    update : {"step", "sequence"}, default "step"
        ``"step"`` (the paper's): the weights change at every scored time step, while the
        network runs (:func:`evorec.rtrl.train_online`); the sensitivities carry on across the
        change, the paper's approximation.  ``"sequence"``: once per batch of ``batch_size``
        sequences, from the whole batch's gradient: the same update as ``bptt`` (RTRL's
        gradient equals BPTT's), at RTRL's higher cost per step.  The two coincide where only
        a sequence's last step is scored (parity, two-sequence, latch).
    optimizer : {"sgd", "adam"}, default "sgd"
        ``"sgd"`` is the paper's plain gradient descent, ``Δw = -lr ∂J(t)/∂w``.  It is the default
        (``bptt``'s is Adam) because of the per-step form: Adam normalises each update to about
        ``lr`` per weight whatever the size of the error, so every scored step of a sequence
        would move every weight by a full step, which is not the small-rate online descent the
        paper's approximation relies on.
    lr : float, default 0.3
        Learning rate, the paper's α (our value, from a short sweep of 0.03, 0.1, 0.3 and 1 over
        seeds 0..3, 5,000 sequences, per-step SGD on ``"sse"``: on tomita's defaults 0.3 and 1
        solved every seed and 0.1 none; at 1 no seed of latch II (lengths 25..50) bettered its
        initial loss).
    momentum : float, default 0.0
        For ``"sgd"`` only (the paper has none).
    batch_size : int, default 1
        Sequences per call: with ``"sequence"`` the batch of one update; with ``"step"`` the
        sequences run one after another and only the normalisation of a mean loss depends on it
        (the entries of the whole batch, so that the per-step changes add up to the batch's
        gradient).
    check_every : int, default 100
        Sequences presented between two success tests (as ``bptt``).
    loss : {"sse", "mse", "cross_entropy"}, default "sse"
        ``"sse"`` is the paper's objective, ``J(t) = 1/2 sum_k e_k(t)^2`` at each scored step,
        summed over the steps (:func:`evorec.rnn.loss_and_grad`): ``lr`` then means the
        paper's α.  ``"mse"`` (bptt's default) divides by the number of scored entries.
    clip : float, optional
        Clip each gradient (per step with ``"step"``) to this norm before the update; default none.
    init_range : float, default 0.2
        Initial weights uniform in ``[-init_range, init_range]`` (ours, as bptt's; the paper
        draws small random weights).
    training_data, success, success_sequences, success_window, success_error, success_max_wrong, success_mae
        As for ``bptt`` (:class:`~evorec.strategies.gradient.BPTT`), with the same defaults.

    Notes
    -----
    Costs as for ``bptt``: every presented training sequence counts as one sequence and its
    length as the network steps, and every success test counts what it presents.  RTRL's work
    per step grows as ``(H + n_out)^2 n_params``, against BPTT's ``n_params``: the same cost in
    the run's currency, more wall time on larger nets.  The network is evorec's (hidden units
    first, then the outputs from the current hidden state), not the paper's lock-step update;
    the algorithm is the same chain rule.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, update: str = "step",
                 optimizer: str = "sgd", lr: float = 0.3, momentum: float = 0.0, batch_size: int = 1,
                 check_every: int = 100, loss: str = "sse", clip: float | None = None, init_range: float = 0.2,
                 training_data: str = "train", success: str = "train", success_sequences: int = 256,
                 success_window: int = 2000, success_error: float | None = None, success_max_wrong: int = 0,
                 success_mae: float | None = None) -> None:
        refuse_memories(space, "rtrl", "its sensitivity recursion")
        self._start_training(space, rng, momentum, batch_size, check_every, clip)
        self.update = one_of(update, "update", UPDATES)
        given = {"optimizer": optimizer, "lr": lr, "loss": loss, "init_range": init_range,
                 "training_data": training_data, "success": success, "success_sequences": success_sequences,
                 "success_window": success_window, "success_error": success_error,
                 "success_max_wrong": success_max_wrong, "success_mae": success_mae}
        self._take_settings(given)

    def _learn(self, batch: SequenceBatch) -> tuple[np.ndarray, np.ndarray]:
        if self.update == "sequence":  # bptt's update, from RTRL's gradient (_gradient)
            return super()._learn(batch)
        self.theta, losses, outputs = rtrl.train_online(self.space, self.theta, batch, self.update_rule,
                                                        loss=self.setup["loss"], clip=self.clip)
        return losses, outputs

    def _gradient(self, batch: SequenceBatch) -> tuple[float, np.ndarray, np.ndarray]:
        return rtrl.loss_and_grad(self.space, self.theta, batch, loss=self.setup["loss"], with_outputs=True)
