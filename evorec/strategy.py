"""The strategy protocol (ask / tell), budgets, and the search loop every strategy runs in."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .evaluate import Evaluation
from .network import Architecture, Population
from .problem import Problem
from .registry import STRATEGIES


class Strategy:
    """Base class of search strategies.

    A strategy proposes candidates with :meth:`ask` (flat free-parameter vectors of shape
    ``(n, space.n_params)``, or a :class:`Population`) and learns from their losses with
    :meth:`tell`.  The search loop owns the budget, stop rules and bookkeeping.

    Parameters
    ----------
    space : Architecture
        The search space.
    rng : numpy.random.Generator
        The strategy's only source of randomness.

    Attributes
    ----------
    early_exit : bool
        Whether the loop may stop evaluating a candidate at its first wrong sequence (the
        strategy then only learns whether candidates solved, not their losses).
    """

    early_exit: bool = False

    def __init__(self, space: Architecture, rng: np.random.Generator) -> None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        self.space = space
        self.rng = rng
        self.best_candidate: np.ndarray | Population | None = None
        self.best_loss = math.inf

    def ask(self) -> np.ndarray | Population:
        raise NotImplementedError

    def tell(self, candidates: np.ndarray | Population, losses: np.ndarray) -> None:
        """Learn from the losses of the candidates last asked for (default: keep the best)."""
        losses = np.where(np.isnan(losses), np.inf, losses)
        i = int(np.argmin(losses))
        if self.best_candidate is None or losses[i] < self.best_loss:
            self.best_candidate, self.best_loss = candidates[i: i + 1].copy() \
                if isinstance(candidates, np.ndarray) else candidates[i], float(losses[i])

    @property
    def best(self) -> tuple[np.ndarray | Population | None, float]:
        """The best candidate told so far and its loss."""
        return self.best_candidate, self.best_loss

    @property
    def state(self) -> dict[str, Any]:
        """Plain data from which :meth:`load_state` restores the strategy."""
        return {"rng": self.rng.bit_generator.state, "best_loss": self.best_loss,
                "best_candidate": None if self.best_candidate is None else np.asarray(self.best_candidate).tolist()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.best_loss = float(state["best_loss"])
        best = state["best_candidate"]
        self.best_candidate = None if best is None else np.asarray(best, dtype=float)


@dataclass(frozen=True)
class Budget:
    """Limits on a search; it stops at the first one reached.  At least one is required.

    Parameters
    ----------
    evaluations : int, optional
        Networks evaluated on the training set (RG's "trials").
    sequences : int, optional
        Sequence presentations.
    steps : int, optional
        Network time steps.
    seconds : float, optional
        Wall time, checked between batches.
    """

    evaluations: int | None = None
    sequences: int | None = None
    steps: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("evaluations", "sequences", "steps", "seconds"):
            value = getattr(self, name)
            if value is None:
                continue
            integral = name != "seconds"
            if isinstance(value, bool) or not isinstance(value, (int, np.integer) if integral else (int, float)) \
                    or not value > 0:
                kind = "a positive integer" if integral else "a positive number"
                raise ValueError(f"budget.{name} must be {kind} or None; got {value!r}")
        if all(getattr(self, n) is None for n in ("evaluations", "sequences", "steps", "seconds")):
            raise ValueError("budget needs at least one limit: evaluations, sequences, steps or seconds")

    def spent(self, evaluations: int, sequences: int, steps: int, seconds: float) -> bool:
        return any(limit is not None and used >= limit for limit, used in (
            (self.evaluations, evaluations), (self.sequences, sequences), (self.steps, steps),
            (self.seconds, seconds)))


@dataclass
class RunResult:
    """The outcome of one search.

    ``evaluations``, ``sequences`` and ``steps`` are the costs spent; when the search solved
    the problem they are counted up to and including the first network that solved it, in
    draw order (not rounded up to the end of its batch).  ``train_error`` and ``test_error``
    are the fractions of wrong sequences of the best network (evaluating them is not charged
    to the budget).  ``history`` lists ``(evaluations, best_loss)`` each time the best loss fell.
    """

    strategy: str
    seed: int
    solved: bool
    evaluations: int
    sequences: int
    steps: int
    seconds: float
    best_loss: float
    train_error: float
    test_error: float
    best_W_h: np.ndarray
    best_W_y: np.ndarray
    best_mask_h: np.ndarray
    best_mask_y: np.ndarray
    history: list[tuple[int, float]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready data (arrays as nested lists)."""
        return {key: value.tolist() if isinstance(value, np.ndarray) else value
                for key, value in asdict(self).items()}


Callback = Callable[[int, Evaluation, float], None]


def search(strategy: str | Strategy, problem: Problem, budget: Budget, seed: int = 0, *,
           callbacks: Sequence[Callback] = (), **params: Any) -> RunResult:
    """Run a strategy on a problem until it solves it or the budget is spent.

    Parameters
    ----------
    strategy : str or Strategy
        A registered strategy name (built with ``params``, ``problem.architecture`` and a
        generator from ``SeedSequence(seed)``) or a ready Strategy.
    problem : Problem
    budget : Budget
    seed : int, default 0
        Seed of the strategy's generator (when it is given by name).
    callbacks : sequence of callables
        Each is called after every batch as ``callback(evaluations, evaluation, best_loss)``.
    **params
        Strategy parameters (only with a name).

    Returns
    -------
    RunResult
    """
    if not isinstance(budget, Budget):
        raise ValueError(f"budget must be an evorec.Budget; got {type(budget).__name__}")
    if isinstance(strategy, str):
        name = strategy
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        strategy = STRATEGIES.create(name, problem.architecture, rng, **params)
    elif params:
        raise ValueError("strategy parameters can only be given with a strategy name")
    else:
        name = type(strategy).__name__
    start = time.perf_counter()
    evaluations = sequences = steps = 0
    solved, solver = False, None
    history: list[tuple[int, float]] = []
    best_loss = math.inf
    while not budget.spent(evaluations, sequences, steps, time.perf_counter() - start):
        candidates = strategy.ask()
        if budget.evaluations is not None:
            candidates = candidates[: budget.evaluations - evaluations]
        result = problem.evaluate(candidates, early_exit=strategy.early_exit)
        if result.solved.any():
            first = int(np.argmax(result.solved))
            solved, solver = True, problem.population(candidates)[first]
            evaluations += first + 1
            sequences += int(result.sequences[: first + 1].sum())
            steps += int(result.steps[: first + 1].sum())
        else:
            evaluations += result.evaluations
            sequences += int(result.sequences.sum())
            steps += int(result.steps.sum())
        strategy.tell(candidates, result.loss)
        if strategy.best_loss < best_loss:
            best_loss = strategy.best_loss
            history.append((evaluations, best_loss))
        for callback in callbacks:
            callback(evaluations, result, best_loss)
        if solved:
            break
    seconds = time.perf_counter() - start
    best = solver if solved else problem.population(strategy.best_candidate)
    on_train = problem.evaluate(best, "train")
    on_test = problem.evaluate(best, "test")
    return RunResult(name, int(seed), solved, evaluations, sequences, steps, seconds,
                     float(on_train.loss[0]), float(on_train.fraction_wrong[0]),
                     float(on_test.fraction_wrong[0]), best.W_h[0], best.W_y[0], best.mask_h[0],
                     best.mask_y[0], history)
