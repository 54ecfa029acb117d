"""The strategy protocol (ask / tell), budgets, and the search loop every strategy runs in."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .codec import decode, encode
from .evaluate import Evaluation
from .model import Model
from .network import Architecture, Population
from .params import HasParams
from .problem import Problem
from .registry import STRATEGIES
from .task import Task


class Strategy(HasParams):
    """Base class of search strategies.

    A strategy proposes candidates with :meth:`ask` (flat free-parameter vectors of shape
    ``(n, space.n_params)``, or a :class:`Population` for strategies that change structure)
    and learns from their losses with :meth:`tell`; a strategy whose candidates parameterise
    another model (the LSTM baseline) names it in :attr:`model`, and the problem scores them
    with it.  No strategy scores candidates itself: the search loop owns the scoring, the
    budget, the stop rules and the bookkeeping.  Subclasses that override :meth:`tell`, :attr:`state` or
    :meth:`load_state` call the base version too.  A subclass lists the attributes a stopped
    search must save to resume exactly in :attr:`saved`; the base class saves and restores
    them (see :attr:`state`).

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
    worst_loss : float
        The largest loss possible on the problem (``inf`` when unbounded); set by
        :meth:`bind` before the first :meth:`ask`.
    model : Model or None
        The model the candidates parameterise; None (the default) for evorec networks of
        ``space``.
    budget : Budget or None
        The run's budget, set by :func:`search` before :meth:`bind`, for strategies that plan
        by it (nevergrad's optimisers); None outside a search.
    """

    early_exit: bool = False
    context_parameters = ("space", "rng")
    #: Names of the attributes that :attr:`state` saves and :meth:`load_state` restores as they
    #: are; their values must be what :func:`evorec.codec.encode` takes (numbers, ``-inf`` and
    #: NaN included, strings, numpy arrays, and lists and dicts of them).  A subclass of a
    #: strategy that saves more extends its parent's tuple.
    saved: tuple[str, ...] = ()
    model: Model | None = None
    budget: Budget | None = None

    def __init__(self, space: Architecture, rng: np.random.Generator) -> None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        self.space = space
        self.rng = rng
        self.worst_loss = math.inf
        self.best_candidate: np.ndarray | Population | None = None
        self.best_loss = math.inf
        self._searched = False  # a strategy runs one search: its state is that search's

    def ask(self) -> np.ndarray | Population:
        raise NotImplementedError

    def tell(self, candidates: np.ndarray | Population, losses: np.ndarray) -> None:
        """Learn from the losses of the candidates last asked for (the base keeps the best).

        ``candidates`` may be the first rows only of what :meth:`ask` returned: the search loop
        cuts the last batch at the evaluation budget.  Losses may be NaN or infinite.
        """
        losses = clean_losses(losses)
        i = int(np.argmin(losses))
        if self.best_candidate is None or losses[i] < self.best_loss:
            self.best_candidate, self.best_loss = candidates[i: i + 1].copy() \
                if isinstance(candidates, np.ndarray) else candidates[i], float(losses[i])

    @property
    def done(self) -> bool:
        """True when the strategy has nothing more to propose (its own stop rule)."""
        return False

    def check_task(self, task: Task) -> None:
        """Refuse, with a one-line error (an ``InvalidParameter`` when a parameter is to blame),
        a task these settings cannot run on.  Called when an experiment file is validated, so
        the mistake shows before any run; :meth:`bind` calls it too.  The base accepts every
        task."""

    def bind(self, problem: Problem) -> None:
        """Called by :func:`search` once, before the first :meth:`ask`: take from the problem
        what the strategy needs (the base checks the task and takes the worst loss possible).

        Strategies that learn from the problem's data themselves (the gradient baselines) keep
        what they need here too, and call the base version.
        """
        self.check_task(problem.task)
        self.worst_loss = problem.worst_loss

    def solved(self, problem: Problem, candidates: np.ndarray | Population, evaluation: Evaluation) -> np.ndarray:
        """Which candidates solve the problem, given their ``evaluation`` on the training set.

        The default: those that get every training sequence right.  A strategy with a success
        test of its own (a paper's stopping rule on fresh sequences, say) overrides it and
        reports what that test cost through :meth:`take_costs`.
        """
        return evaluation.solved

    def describe(self, best: np.ndarray | Population) -> dict[str, Any]:
        """Extra facts about the best candidate for ``RunResult.info``; none by default."""
        return {}

    def take_costs(self) -> tuple[int, int]:
        """Sequence presentations and network time steps the strategy spent itself since the
        last call (training by BPTT, say), for the loop to add to the run's costs.

        Called after every :meth:`ask` and after every :meth:`solved`; the default spends nothing
        outside the evaluator.
        """
        return 0, 0

    @property
    def best(self) -> tuple[np.ndarray | Population | None, float]:
        """The best candidate told so far and its loss."""
        return self.best_candidate, self.best_loss

    @property
    def state(self) -> dict[str, Any]:
        """What :meth:`load_state` restores the strategy from exactly: the generator, the best
        candidate and loss, and the attributes named in :attr:`saved`.

        The values are as the strategy holds them (arrays, ``-inf`` and NaN included; arrays
        may be the strategy's own, not copies): :func:`search` turns them into JSON-ready data
        with :func:`evorec.codec.encode` at once, and :func:`evorec.codec.decode` gives them
        back before :meth:`load_state`.  Subclasses that keep more than :attr:`saved` can hold
        (objects of their own) add it to the base's dict.
        """
        return {"rng": self.rng.bit_generator.state, "best_loss": self.best_loss, "worst_loss": self.worst_loss,
                "best_candidate": candidates_state(self.best_candidate),
                "saved": {name: getattr(self, name) for name in self.saved}}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore the strategy from a (decoded) :attr:`state`."""
        self.rng.bit_generator.state = state["rng"]
        self.best_loss, self.worst_loss = state["best_loss"], state["worst_loss"]
        self.best_candidate = candidates_from_state(state["best_candidate"], self.space)
        for name in self.saved:
            setattr(self, name, state["saved"][name])


def clean_losses(losses: np.ndarray) -> np.ndarray:
    """Losses with NaN replaced by +inf, so that they sort last."""
    losses = np.asarray(losses, dtype=float)
    return np.where(np.isnan(losses), np.inf, losses)


def candidates_state(candidates: np.ndarray | Population | None) -> np.ndarray | dict[str, np.ndarray] | None:
    """Flat parameter vectors as they are, a Population as its four arrays (for a strategy's state)."""
    if isinstance(candidates, Population):
        names = ("W_h", "W_y", "mask_h", "mask_y") + (() if candidates.tau is None else ("tau",))
        return {name: getattr(candidates, name) for name in names}
    return candidates


def candidates_from_state(data: np.ndarray | dict[str, np.ndarray] | None,
                          space: Architecture) -> np.ndarray | Population | None:
    """The candidates of :func:`candidates_state`; a Population gets the architecture ``space``."""
    if isinstance(data, dict):
        return Population(space, data["W_h"], data["W_y"], data["mask_h"], data["mask_y"], data.get("tau"))
    return data


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
    ``info`` holds what a strategy reports of its own (GNARL: the best network's structure).
    ``best_W_h``, ``best_W_y``, the masks and ``best_tau`` are the best network's; they are empty when the
    strategy's candidates are not evorec networks (``lstm``: the best model is in ``info``).
    A search interrupted by ``stop_after`` has ``stopped`` set and a ``state`` (JSON-ready data,
    written by :func:`evorec.codec.encode`) that ``search(..., resume=state)`` continues from,
    to the same end as an uninterrupted search.
    """

    strategy: str
    seed: int | None
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
    stopped: bool = False
    state: dict[str, Any] | None = None
    #: The best network's hidden time constants, for a leaky architecture (else None).
    best_tau: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready data (arrays as nested lists)."""
        return {key: value.tolist() if isinstance(value, np.ndarray) else value
                for key, value in asdict(self).items()}


Callback = Callable[[int, Evaluation, float], None]


def search(strategy: str | Strategy, problem: Problem, budget: Budget, seed: int | None = None, *,
           callbacks: Sequence[Callback] = (), stop_after: int | None = None,
           resume: dict[str, Any] | None = None, **params: Any) -> RunResult:
    """Run a strategy on a problem until it solves it, stops by its own rule, or the budget is spent.

    Parameters
    ----------
    strategy : str or Strategy
        A registered strategy name (built with ``params``, ``problem.architecture`` and a
        generator from ``SeedSequence(seed)``) or a ready Strategy that has not searched yet
        (a strategy's state belongs to one search: it cannot carry a best into another).
    problem : Problem
    budget : Budget
    seed : int, optional
        Seed of the strategy's generator, for a strategy given by name (default 0).  A ready
        Strategy brings its own generator, so a seed cannot be given with one; the result's
        ``seed`` is then None.
    callbacks : sequence of callables
        Each is called after every batch as ``callback(evaluations, evaluation, best_loss)``.
    stop_after : int, optional
        Stop after this many batches (ask/evaluate/tell rounds) in all, and return a result
        with ``stopped`` set and the ``state`` to resume from.
    resume : dict, optional
        The ``state`` of a stopped result: continue that search (same strategy, parameters,
        seed and problem) exactly where it stopped.
    **params
        Strategy parameters (only with a name).

    Returns
    -------
    RunResult
    """
    if not isinstance(budget, Budget):
        raise ValueError(f"budget must be an evorec.Budget; got {type(budget).__name__}")
    if isinstance(strategy, str):
        name, seed = strategy, 0 if seed is None else seed
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        strategy = STRATEGIES.create(name, problem.architecture, rng, **params)
    elif params:
        raise ValueError("strategy parameters can only be given with a strategy name")
    elif seed is not None:
        raise ValueError("seed applies to a strategy given by name; a ready Strategy brings its own generator")
    else:
        name = STRATEGIES.name_of(type(strategy)) or type(strategy).__name__
    if strategy._searched:
        raise ValueError(f"this {name} strategy has already run a search; build a new one (a stopped search "
                         f"continues with search(..., resume=result.state))")
    strategy._searched = True
    strategy.budget = budget
    strategy.bind(problem)
    loop = _Loop()
    if resume is not None:
        resume = decode(resume)
        strategy.load_state(resume["strategy"])
        loop.load(resume["loop"], strategy.space)  # GNARL pads networks beyond the problem's size
    start = time.perf_counter() - loop.seconds
    solved, solver = False, None
    while not (budget.spent(loop.evaluations, loop.sequences, loop.steps, time.perf_counter() - start)
               or strategy.done):
        if stop_after is not None and loop.batches >= stop_after:
            loop.seconds = time.perf_counter() - start
            return _result(name, seed, problem, loop, False, None, strategy,
                           state=encode({"strategy": strategy.state, "loop": loop.dump()}))
        candidates = strategy.ask()
        loop.charge(*strategy.take_costs())  # what training (or the like) cost the strategy
        if budget.evaluations is not None:
            candidates = candidates[: budget.evaluations - loop.evaluations]
        result = problem.evaluate(candidates, early_exit=strategy.early_exit, model=strategy.model)
        solved_now = np.asarray(strategy.solved(problem, candidates, result), dtype=bool)
        loop.charge(*strategy.take_costs())  # what the strategy's own success test cost
        counted = len(candidates)
        if solved_now.any():
            counted = int(np.argmax(solved_now)) + 1
            solved, solver = True, candidates[counted - 1: counted]
        loop.evaluations += counted
        loop.sequences += int(result.sequences[:counted].sum())
        loop.steps += int(result.steps[:counted].sum())
        loop.batches += 1
        losses = clean_losses(result.loss)
        best = int(np.argmin(losses))
        if loop.best is None or losses[best] < loop.best_loss:
            loop.best, loop.best_loss = candidates[best: best + 1], float(losses[best])
            loop.history.append((loop.evaluations, loop.best_loss))
        strategy.tell(candidates, result.loss)
        for callback in callbacks:
            callback(loop.evaluations, result, loop.best_loss)
        if solved:
            break
    loop.seconds = time.perf_counter() - start
    return _result(name, seed, problem, loop, solved, solver, strategy)


@dataclass
class _Loop:
    """The search loop's own bookkeeping, saved with the strategy's state to resume a search."""

    evaluations: int = 0
    sequences: int = 0
    steps: int = 0
    batches: int = 0
    seconds: float = 0.0
    best_loss: float = math.inf
    best: np.ndarray | Population | None = None  # the best candidate's row, as the strategy proposed it
    history: list[tuple[int, float]] = field(default_factory=list)

    def charge(self, sequences: int, steps: int) -> None:
        """Add costs the strategy spent outside the loop's own evaluations."""
        self.sequences += sequences
        self.steps += steps

    def dump(self) -> dict[str, Any]:
        """The bookkeeping as values :func:`evorec.codec.encode` takes."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"best": candidates_state(self.best)}

    def load(self, data: dict[str, Any], space: Architecture) -> None:
        """Restore the bookkeeping from a (decoded) :meth:`dump`."""
        for f in fields(self):
            setattr(self, f.name, data[f.name])
        self.best = candidates_from_state(data["best"], space)
        self.history = [tuple(entry) for entry in data["history"]]  # JSON has lists only


def _result(name: str, seed: int, problem: Problem, loop: _Loop, solved: bool,
            solver: np.ndarray | Population | None, strategy: Strategy,
            state: dict[str, Any] | None = None) -> RunResult:
    best = solver if solved else loop.best
    if best is None:  # stopped before the first batch: report the all-zero evorec network
        best = problem.population(np.zeros((1, problem.architecture.n_params)))
        on_train, on_test = problem.evaluate(best, "train"), problem.evaluate(best, "test")
        networks = best
    else:
        on_train, on_test = (problem.evaluate(best, data, model=strategy.model) for data in ("train", "test"))
        networks = problem.population(best) if strategy.model is None else None
    info = strategy.describe(best)
    best_tau = None
    if networks is not None:
        weights = networks.W_h[0], networks.W_y[0], networks.mask_h[0], networks.mask_y[0]
        best_tau = None if networks.tau is None else networks.tau[0]
    else:  # not an evorec network: the strategy's describe() reports it in info
        weights = np.empty(0), np.empty(0), np.empty(0, dtype=bool), np.empty(0, dtype=bool)
    seed = None if seed is None else int(seed)
    return RunResult(name, seed, solved, loop.evaluations, loop.sequences, loop.steps, loop.seconds,
                     float(on_train.loss[0]), float(on_train.fraction_wrong[0]),
                     float(on_test.fraction_wrong[0]), *weights, list(loop.history), info,
                     stopped=state is not None, state=state, best_tau=best_tau)
