"""Any nevergrad optimiser (Rapin & Teytaud, Facebook Research) through evorec's evaluator."""

from __future__ import annotations

import difflib
import warnings
from typing import Any

import numpy as np

from evorec.checks import InvalidParameter, array_size, integer, positive_number
from evorec.network import Architecture
from evorec.problem import Problem

from .library import LibraryOptimizer, import_extra


def _nevergrad() -> Any:
    return import_extra("nevergrad", "nevergrad", "nevergrad")


class NevergradSearch(LibraryOptimizer):
    """A nevergrad optimiser, chosen by name, asked for a population at a time.

    Each :meth:`ask` takes ``population`` candidates from the optimiser (built with
    ``num_workers=population``, so it expects that many pending at once), the evaluator scores
    them together, and :meth:`tell` gives the optimiser their losses.  The optimiser's
    ``budget`` is the run's (see Notes); its parametrization is a flat array of the network's
    free parameters, seeded from the run's generator.

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    optimizer : str, default "NGOpt"
        A name in ``nevergrad.optimizers.registry`` (``NGOpt``, nevergrad's own choice of
        algorithm for the dimension, budget and batch size; ``TwoPointsDE``, ``OnePlusOne``,
        ``CMA``, ``PSO``, ...).
    population : int, default 10
        Candidates asked for, and evaluated, together (nevergrad's ``num_workers``).  Ours: a
        batch the evaluator handles well that leaves the optimisers most of their sequential
        behaviour.
    bounds : float, optional
        Search in ``[-bounds, bounds]`` per parameter (nevergrad's ``set_bounds``, its default
        method); None (the default) leaves the space unbounded, as nevergrad's own default.
    sigma : float, default 10.0
        The parametrization's initial scale (nevergrad's ``Array`` mutation sigma).  Ours:
        solutions of the guessing tasks have weights of tens; with nevergrad's default of 1,
        NGOpt solved latch II (lengths 500..600) in 1 of 5 seeds within 5,000 networks, with
        10 in 5 of 5.  Networks start at 0, nevergrad's initial value.

    Notes
    -----
    *Budget.*  nevergrad plans by a number of evaluations: the run's ``evaluations`` budget, or
    failing that its ``sequences`` budget divided by the training set's size (each network
    costs that many sequences); with only a steps or seconds budget the optimiser gets none.

    *Same seed, same result.*  The parametrization's random state is a ``RandomState`` seeded
    from the run's generator, and what nevergrad draws from numpy's *global* random state comes
    from a global state of the strategy's own (see
    :class:`~evorec.strategies.library.LibraryOptimizer`).  nevergrad's MetaModel optimisers
    give their inner surrogate search 20 s of wall time; at this scale that search takes
    milliseconds, but a search cut short by that timer would depend on the machine.

    nevergrad's own warnings (about settings it finds inefficient, say) are silenced inside
    the strategy: they would repeat in every run of an experiment.  Stop and resume replay the
    asks and tells (:class:`~evorec.strategies.library.LibraryOptimizer`).
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, optimizer: str = "NGOpt",
                 population: int = 10, bounds: float | None = None, sigma: float = 10.0) -> None:
        super().__init__(space, rng)
        ng = _nevergrad()
        if not isinstance(optimizer, str) or optimizer not in ng.optimizers.registry:
            close = difflib.get_close_matches(str(optimizer), list(ng.optimizers.registry), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else " (nevergrad.optimizers.registry)"
            raise InvalidParameter("optimizer", f"must name a nevergrad optimiser, e.g. NGOpt, TwoPointsDE, "
                                                f"OnePlusOne; got {optimizer!r}{hint}")
        self.optimizer = optimizer
        self.population = integer(population, "population")
        array_size(self.population * space.n_params, "population", "population x free parameters")
        self.bounds = None if bounds is None else positive_number(bounds, "bounds")
        self.sigma = positive_number(sigma, "sigma")
        self._optimizer: Any = None   # made at the first ask, so __init__ draws nothing
        self._pending: list[Any] = []
        self.train_size: int | None = None

    def bind(self, problem: Problem) -> None:
        """Also keep the training set's size: a sequences budget in networks is that many times fewer."""
        super().bind(problem)
        self.train_size = problem.train.n_sequences

    def _planned_evaluations(self) -> int | None:
        budget = self.budget
        if budget is None:
            return None
        if budget.evaluations is not None:
            return int(budget.evaluations)
        if budget.sequences is not None and self.train_size:
            return max(1, int(budget.sequences) // self.train_size)
        return None

    def _make_optimizer(self) -> Any:
        ng = _nevergrad()
        parametrization = ng.p.Array(shape=(self.space.n_params,)).set_mutation(sigma=self.sigma)
        if self.bounds is not None:
            parametrization.set_bounds(-self.bounds, self.bounds)
        # A RandomState of its own, seeded from the run's generator: nevergrad wants that type.
        parametrization.random_state = np.random.RandomState(int(self.rng.integers(2 ** 32)))
        return ng.optimizers.registry[self.optimizer](parametrization=parametrization,
                                                       budget=self._planned_evaluations(),
                                                       num_workers=self.population)

    def _ask_library(self) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self._optimizer is None:
                self._optimizer = self._make_optimizer()
            try:
                self._pending = [self._optimizer.ask() for _ in range(self.population)]
            except AssertionError:
                if self._optimizer.budget is not None:
                    raise
                raise ValueError(f"nevergrad's {self.optimizer} needs a budget of evaluations or sequences; "
                                 f"this run's budget is {self.budget}") from None
        return np.array([candidate.value for candidate in self._pending], dtype=float)

    def _tell_library(self, candidates: np.ndarray, losses: np.ndarray) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for candidate, loss in zip(self._pending, losses, strict=False):
                self._optimizer.tell(candidate, float(loss))
        self._pending = []
