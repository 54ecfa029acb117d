"""Gradient baselines as strategies: BPTT training of the problem's own architecture.

The chapter's subject is that these fail on long time lags; evorec runs them through the
same loop as the gradient-free strategies, so "sequences to solve" means the same in every
row of a table: the training sequences presented count, and so do the success tests, which
go through the shared evaluator on the whole training set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evorec.checks import integer, optional_integer, positive_number
from evorec.network import Architecture
from evorec.problem import Problem
from evorec.rnn import SGD, Adam, clip_norm, loss_and_grad
from evorec.strategy import Strategy

OPTIMISERS = ("adam", "sgd")
LOSSES = ("mse", "cross_entropy")


class BPTT(Strategy):
    """Backpropagation through time on the problem's architecture (the nets guessing draws).

    Each :meth:`ask` first trains for ``check_every`` sequences (drawn at random from the
    training set, ``batch_size`` per update), then proposes the current weights, which the
    search loop tests on the whole training set with the task's criterion.  The first
    :meth:`ask` proposes the initial weights untrained.

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    optimizer : {"adam", "sgd"}, default "adam"
        Our choice; LSTM97 used plain gradient descent (``"sgd"``).
    lr : float, default 0.01
        Learning rate (our choice).
    momentum : float, default 0.0
        For ``"sgd"`` only.
    batch_size : int, default 1
        Sequences per update; 1 is online learning as in LSTM97.
    check_every : int, default 100
        Sequences presented between two success tests (our choice: a test presents the whole
        training set, 100 sequences by default, so testing costs about as much as training).
    truncate : int, optional
        Truncated BPTT: error flows back at most this many steps (see
        :func:`evorec.rnn.loss_and_grad`); default full BPTT.
    loss : {"mse", "cross_entropy"}, default "mse"
    clip : float, optional
        Clip the gradient to this norm before each update; default none.
    init_range : float, default 0.2
        Initial weights uniform in ``[-init_range, init_range]`` (LSTM97 used 0.1 or 0.2).

    Notes
    -----
    Costs: every presented training sequence counts as one sequence, and its length as the
    network steps (the forward pass; the backward pass is not counted separately).
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, optimizer: str = "adam",
                 lr: float = 0.01, momentum: float = 0.0, batch_size: int = 1, check_every: int = 100,
                 truncate: int | None = None, loss: str = "mse", clip: float | None = None,
                 init_range: float = 0.2) -> None:
        super().__init__(space, rng)
        if optimizer not in OPTIMISERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMISERS)}; got {optimizer!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}; got {loss!r}")
        self.optimizer_name, self.loss = optimizer, loss
        self.lr = positive_number(lr, "lr")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
            raise ValueError(f"momentum must be a number in [0, 1); got {momentum!r}")
        self.momentum = float(momentum)
        self.batch_size = integer(batch_size, "batch_size")
        self.check_every = integer(check_every, "check_every")
        self.truncate = optional_integer(truncate, "truncate")
        self.clip = None if clip is None else positive_number(clip, "clip")
        self.init_range = positive_number(init_range, "init_range")
        self.optimizer = Adam(self.lr) if optimizer == "adam" else SGD(self.lr, self.momentum)
        self.theta: np.ndarray | None = None
        self._costs = (0, 0)
        self._problem: Problem | None = None

    def bind(self, problem: Problem) -> None:
        self._problem = problem

    def ask(self) -> np.ndarray:
        if self._problem is None:
            raise RuntimeError("BPTT needs the problem's training data: run it through evorec.search")
        if self.theta is None:
            self.theta = self.rng.uniform(-self.init_range, self.init_range, size=self.space.n_params)
        else:
            self._train()
        return self.theta[None, :].copy()

    def _train(self) -> None:
        train = self._problem.train
        sequences = steps = 0
        while sequences < self.check_every:
            size = min(self.batch_size, self.check_every - sequences)
            chosen = self.rng.integers(0, train.n_sequences, size=size)
            _, grad = loss_and_grad(self.space, self.theta, train[chosen], loss=self.loss, truncate=self.truncate)
            if not np.all(np.isfinite(grad)):  # an exploding gradient: skip the update, keep going
                grad = np.zeros_like(grad)
            if self.clip is not None:
                grad = clip_norm(grad, self.clip)
            self.theta = self.optimizer.step(self.theta, grad)
            sequences += size
            steps += int(train.lengths[chosen].sum())
        self._costs = (self._costs[0] + sequences, self._costs[1] + steps)

    def take_costs(self) -> tuple[int, int]:
        costs, self._costs = self._costs, (0, 0)
        return costs

    @property
    def state(self) -> dict[str, Any]:
        optimizer = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in self.optimizer.state.items()}
        return super().state | {"theta": None if self.theta is None else self.theta.tolist(),
                                "optimizer": optimizer}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.theta = None if state["theta"] is None else np.asarray(state["theta"], dtype=float)
        self.optimizer.state = {k: np.asarray(v, dtype=float) if isinstance(v, list) else v
                                for k, v in state["optimizer"].items()}


