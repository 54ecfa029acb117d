"""Bengio and Frasconi's (1993) time-weighted pseudo-Newton as a gradient baseline
(``pseudo_newton``): the problem's own network, each shared weight's per-step contributions to
BPTT's gradient divided by their own diagonal curvature before they are summed.

It is ``bptt`` (:class:`evorec.strategies.gradient.BPTT`) with another update: the training
data, ``check_every``, the success tests, the costs and the resume are bptt's own.
"""

from __future__ import annotations

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import one_of, positive_number
from evorec.network import Architecture
from evorec.rnn import pseudo_newton_step

from .gradient import BPTT, refuse_memories

#: ``"time_weighted"``: NIPS 6's eq. (3), one curvature per copy of a weight and time step;
#: ``"plain"``: Becker and Le Cun's pseudo-Newton on the shared weight (the tables' "p-n").
VARIANTS = ("time_weighted", "plain")


class PseudoNewton(BPTT):
    """Time-weighted pseudo-Newton (Bengio and Frasconi 1993, eq. 3) on the problem's architecture.

    For one sequence ``p`` with cost ``C(p)``, weight ``w_i`` changes by::

        Δw_i(p) = - sum_t eta / (|∂²C(p)/∂w_it²| + mu) ∂C(p)/∂w_it

    where ``w_it`` is the copy of the shared weight ``w_i`` at step ``t``: ``∂C(p)/∂w_it`` is
    BPTT's contribution of step ``t`` to the gradient of ``w_i`` and ``∂²C(p)/∂w_it²`` a
    diagonal approximation of the Hessian after Becker and Le Cun (1988).  The paper does not say
    how the second derivatives are carried back through time; ours is the Gauss-Newton diagonal
    (no ``f''`` terms, so never negative), back-propagated beside the gradient with squared
    weights and slopes (:func:`evorec.rnn.pseudo_newton_step`,
    :func:`evorec.rnn_kernels.network_pseudo_newton`).  Each :meth:`ask` trains for
    ``check_every`` sequences, then proposes the weights for the loop's success test, exactly
    as ``bptt`` does (the first proposal is the untrained initial network).

    Parameters
    ----------
    space : Architecture
        No time constants, no delay lines, ``update="hidden_first"``.
    rng : numpy.random.Generator
    eta : float, default 0.03
        The paper's global learning rate η (no value given; ours, from the sweep under ``mu``).
    mu : float, default 0.001
        The paper's μ, which keeps a step finite where the curvature is small: a copy's step is
        at most ``eta / mu`` times its gradient (no value given; ours).  With ``mu`` far above
        every curvature the update is ``-(eta / mu)`` times BPTT's gradient.  Our values are
        from a sweep on latch II, lengths 5..10 (the 3-weight net, 20,000 sequences, seeds
        0..4 over η in {0.003, 0.01, 0.03, 0.1, 0.3} × μ in {0.001, 0.01, 0.1, 1}, then seeds
        0..9 at seven pairs): what matters is ``eta / mu`` between about 3 and 30; μ >= 0.1
        with η <= 0.1 solved no run, like ``bptt``; (0.03, 0.001) solved 10 of 10, median 900
        sequences (``"plain"``: 10 of 10, 700).  On two-sequence, lengths 5..10, no pair solved
        a run (nor did ``bptt``).
    variant : {"time_weighted", "plain"}, default "time_weighted"
        ``"time_weighted"``: the paper's rule, above.  ``"plain"``: the "regular" pseudo-Newton
        the paper compares with (its tables' "p-n"), read as Becker and Le Cun's rule on the
        shared weight, ``Δw_i(p) = -eta / (|sum_t ∂²C/∂w_it²| + mu) sum_t ∂C/∂w_it`` (our reading;
        the paper does not define it).
    batch_size : int, default 1
        Sequences per update; 1 is the paper's ``Δw_i(p)``, one sequence at a time.  With more,
        the sequences' ``Δw_i(p)`` (all from the same weights) are added.
    check_every : int, default 100
        Sequences presented between two success tests (as ``bptt``).
    loss : {"sse", "mse", "cross_entropy"}, default "sse"
        ``C(p)``: ``"sse"`` is half the summed squared error of the sequence's scored outputs
        (ours; the paper's cost is not given), whose Gauss-Newton second derivative at an
        output's net input is ``f'(z)^2``.  ``"mse"`` divides both derivatives by the batch's
        scored entries; ``"cross_entropy"`` (sigmoid outputs) has ``y (1 - y) / n``.
    init_range : float, default 0.2
        Initial weights uniform in ``[-init_range, init_range]`` (ours, as bptt's).
    training_data, success, success_sequences, success_window, success_error, success_max_wrong, success_mae
        As for ``bptt`` (:class:`~evorec.strategies.gradient.BPTT`), with the same defaults.

    Notes
    -----
    Costs as for ``bptt``: every presented training sequence counts as one sequence and its
    length as the network steps, and every success test counts what it presents.  The second
    derivatives roughly double the backward pass's work.  A non-finite update is skipped, as
    ``bptt`` skips a non-finite gradient.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, eta: float = 0.03, mu: float = 0.001,
                 variant: str = "time_weighted", batch_size: int = 1, check_every: int = 100, loss: str = "sse",
                 init_range: float = 0.2, training_data: str = "train", success: str = "train",
                 success_sequences: int = 256, success_window: int = 2000, success_error: float | None = None,
                 success_max_wrong: int = 0, success_mae: float | None = None) -> None:
        refuse_memories(space, "pseudo_newton", "its curvature recursion")
        if isinstance(space, Architecture) and space.update != "hidden_first":
            raise ValueError(f"pseudo_newton trains networks with update='hidden_first' only; got {space.update!r}")
        self._start_training(space, rng, 0.0, batch_size, check_every, None)
        self.eta = positive_number(eta, "eta")
        self.mu = positive_number(mu, "mu")
        self.variant = one_of(variant, "variant", VARIANTS)
        given = {"loss": loss, "init_range": init_range, "training_data": training_data, "success": success,
                 "success_sequences": success_sequences, "success_window": success_window,
                 "success_error": success_error, "success_max_wrong": success_max_wrong, "success_mae": success_mae}
        # bptt's machinery wants an optimiser; plain SGD at eta, never used to update.
        self._take_settings(given, {"optimizer": "sgd", "lr": self.eta})

    def _learn(self, batch: SequenceBatch) -> tuple[np.ndarray, np.ndarray]:
        value, _, direction, outputs = pseudo_newton_step(self.space, self.theta, batch, self.mu,
                                                          time_weighted=self.variant == "time_weighted",
                                                          loss=self.setup["loss"])
        if np.all(np.isfinite(direction)):  # an exploding update: skip it, keep going
            self.theta = self.theta - self.eta * direction
        return np.full(batch.n_sequences, value), outputs
