"""pycma's CMA-ES (Hansen's reference implementation) with IPOP or BIPOP restarts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from evorec.checks import array_size, one_of, optional_integer, positive_number
from evorec.network import Architecture

from .library import LibraryOptimizer, import_extra

RESTARTS = ("none", "ipop", "bipop")


class PycmaSearch(LibraryOptimizer):
    """CMA-ES from pycma (``cma.CMAEvolutionStrategy``), with restarts.

    Each :meth:`ask` is one generation of the current run, :meth:`tell` its losses.  A run ends
    when pycma's own termination criteria hold (``es.stop()``: tolfun, tolx, tolstagnation,
    conditioning and the rest, at pycma's default values); then, with restarts, a new run
    starts from a new random point.  pycma draws its samples through the ``randn`` option,
    here the run's generator, and never touches numpy's global random state (``seed=nan``).

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    sigma0 : float, default 30.0
        Initial step size of every run (of a large-population run under BIPOP).  Ours, as for
        :class:`~evorec.strategies.cmaes.CMAES`: solutions of the guessing tasks have weights of
        tens.
    popsize : int, optional
        The first run's population; default pycma's ``4 + 3 ln n`` for ``n`` free parameters.
    restarts : {"none", "ipop", "bipop"}, default "bipop"
        ``"ipop"``: each restart doubles the population (Auger & Hansen 2005).  ``"bipop"``
        (Hansen 2009): restarts alternate between that regime and runs with a small
        population ``floor(popsize * (lambda_large / (2 popsize)) ** (u ** 2))`` and step
        size ``sigma0 * 10 ** (-2 u)``, ``u`` uniform in [0, 1], choosing the regime that has
        spent fewer evaluations so far (the first restart is a large one).  Ours: BIPOP, since
        a single run mostly ends in a local minimum on these tasks.
    max_restarts : int, optional
        At most this many restarts; default None, as many as the budget allows.
    init_range : float, default 30.0
        Each run starts at a point drawn uniformly from ``[-init_range, init_range]``.
    bounds : float, optional
        Search in ``[-bounds, bounds]`` per parameter (pycma's ``bounds`` option); default
        unbounded.

    Notes
    -----
    pycma writes no files (``verb_log=0``) and prints nothing (``verbose=-9``).  Stop and
    resume replay the asks and tells (:class:`~evorec.strategies.library.LibraryOptimizer`).
    A :meth:`tell` with fewer candidates than the generation (the search loop cuts the last
    batch at the evaluation budget) only updates the best, as pycma needs a whole generation.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, sigma0: float = 30.0,
                 popsize: int | None = None, restarts: str = "bipop", max_restarts: int | None = None,
                 init_range: float = 30.0, bounds: float | None = None) -> None:
        super().__init__(space, rng)
        import_extra("cma", "pycma", "pycma")
        n = space.n_params
        self.sigma0 = positive_number(sigma0, "sigma0")
        self.popsize = optional_integer(popsize, "popsize", 2)
        self.restarts = one_of(restarts, "restarts", RESTARTS)
        self.max_restarts = optional_integer(max_restarts, "max_restarts", 0)
        self.init_range = positive_number(init_range, "init_range")
        self.bounds = None if bounds is None else positive_number(bounds, "bounds")
        self.default_popsize = self.popsize or int(4 + 3 * math.log(n))
        array_size(self.default_popsize * 2 ** 10 * n, "popsize", "popsize x 1024 (ten doublings) x free parameters")
        self._es: Any = None   # made at the first ask, so __init__ draws nothing
        self.restarts_done = 0
        self.large_runs = 0                 # BIPOP: large-population runs so far (the first counts)
        self.evaluations_in = {"large": 0, "small": 0}
        self._regime = "large"
        self._finished = False

    # ------------------------------------------------------------------ runs
    def _standard_normal(self, *shape: int) -> np.ndarray:
        return self.rng.standard_normal(shape)

    def _new_run(self) -> None:
        popsize, sigma = self.default_popsize, self.sigma0
        if self.restarts_done > 0 and self.restarts == "ipop":
            popsize = self.default_popsize * 2 ** self.restarts_done
        elif self.restarts_done > 0 and self.restarts == "bipop":
            large = self.evaluations_in["large"] <= self.evaluations_in["small"] or self.restarts_done == 1
            if large:
                self._regime, popsize = "large", self.default_popsize * 2 ** self.large_runs
                self.large_runs += 1
            else:
                u = self.rng.uniform()
                largest = self.default_popsize * 2 ** (self.large_runs - 1)
                popsize = max(2, int(self.default_popsize * (largest / (2 * self.default_popsize)) ** (u ** 2)))
                self._regime, sigma = "small", self.sigma0 * 10 ** (-2 * u)
        else:
            self.large_runs = 1
        x0 = self.rng.uniform(-self.init_range, self.init_range, size=self.space.n_params)
        options = {"popsize": popsize, "seed": math.nan, "randn": self._standard_normal, "verbose": -9,
                   "verb_log": 0, "verb_disp": 0}
        if self.bounds is not None:
            options["bounds"] = [-self.bounds, self.bounds]
        cma = import_extra("cma", "pycma", "pycma")
        self._es = cma.CMAEvolutionStrategy(x0, sigma, options)

    def _ask_library(self) -> np.ndarray:
        if self._es is None:
            self._new_run()
        return np.array(self._es.ask(), dtype=float)

    def _tell_library(self, candidates: np.ndarray, losses: np.ndarray) -> None:
        if len(losses) != self._es.popsize:
            return
        # pycma wants finite values; it only ranks them, so +-inf become the largest floats.
        biggest = np.finfo(float).max
        finite = np.nan_to_num(losses, posinf=biggest, neginf=-biggest)
        self._es.tell(list(candidates), finite.tolist())
        self.evaluations_in[self._regime] += len(losses)
        if self._es.stop():
            if self.restarts != "none" and (self.max_restarts is None or self.restarts_done < self.max_restarts):
                self.restarts_done += 1
                self._new_run()
            else:
                self._finished = True

    @property
    def done(self) -> bool:
        """True when a run ended and no restart is left."""
        return self._finished

    def describe(self, best: np.ndarray) -> dict[str, Any]:
        return {"restarts_done": self.restarts_done}

