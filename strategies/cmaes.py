"""CMA-ES (Hansen & Ostermeier 2001) through DEAP, with optional IPOP restarts (Auger & Hansen 2005).

DEAP's ``cma.Strategy`` does the algorithm; this module only changes where its randomness
comes from.  ``Strategy.generate`` draws from numpy's *global* random state, which evorec
forbids (runs would not be reproducible from their seed, nor independent in workers), so
:class:`_SeededStrategy` overrides it to draw from the strategy's own generator with the same
formula.  ``Strategy.update`` is used unchanged.  No ``deap.creator`` classes: the fitness and
individual types are ordinary module-level classes, so they pickle and never clash.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from deap import base, cma

from evorec.checks import InvalidParameter, array_size, optional_integer, positive_number
from evorec.network import Architecture
from evorec.strategy import Strategy, clean_losses


class LossFitness(base.Fitness):
    """A DEAP fitness for one loss to minimise (evorec's convention: lower is better)."""

    weights = (-1.0,)


class Individual(np.ndarray):
    """A flat parameter vector carrying a DEAP :class:`LossFitness`, as ``cma.Strategy.update`` wants."""

    def __new__(cls, values: np.ndarray, loss: float | None = None) -> Individual:
        ind = np.array(values, dtype=float).view(cls)
        if loss is not None:
            ind.fitness.values = (loss,)
        return ind

    def __array_finalize__(self, obj: np.ndarray | None) -> None:
        # Every array numpy derives from an Individual gets its own (empty) fitness.
        self.fitness = LossFitness()

    def __reduce__(self) -> tuple:
        # ndarray's own pickling would drop the fitness attribute.
        loss = self.fitness.values[0] if self.fitness.valid else None
        return (Individual, (np.asarray(self), loss))


class _SeededStrategy(cma.Strategy):
    """DEAP's CMA-ES with sampling from an explicit generator instead of numpy's global state."""

    def __init__(self, centroid: np.ndarray, sigma: float, rng: np.random.Generator, **params: Any) -> None:
        super().__init__(centroid, sigma, **params)
        self.rng = rng

    def generate(self, ind_init: Any = np.asarray) -> list:
        # The formula of cma.Strategy.generate, with self.rng for numpy.random.
        arz = self.rng.standard_normal((self.lambda_, self.dim))
        arz = self.centroid + self.sigma * np.dot(arz, self.BD.T)
        return [ind_init(a) for a in arz]


#: The DEAP strategy's attributes that change or are derived: a stopped search saves them.  The
#: codec keeps each array's memory layout too: numpy's dot takes a different BLAS path (and
#: rounds differently) for a Fortran-ordered matrix, such as the eigenvectors B and BD.
_CMA_SAVED = ("centroid", "pc", "ps", "C", "diagD", "B", "BD", "weights", "sigma", "chiN", "cond", "mueff", "cc",
              "cs", "ccov1", "ccovmu", "damps", "dim", "lambda_", "mu", "update_count")


def _restart_limit(restarts: Any) -> float:
    """The largest number of restarts: ``True`` is unlimited, ``False`` none, an int that many."""
    if isinstance(restarts, bool):
        return math.inf if restarts else 0
    if isinstance(restarts, (int, np.integer)) and restarts >= 0:
        return int(restarts)
    raise InvalidParameter("restarts", f"must be true, false or a non-negative integer; got {restarts!r}")


class CMAES(Strategy):
    """CMA-ES (DEAP's implementation) with optional IPOP restarts.

    Each :meth:`ask` samples one generation of ``lambda`` candidates from the search
    distribution ``N(centroid, sigma^2 C)``; :meth:`tell` passes them with their losses to
    DEAP's ``update`` (weighted recombination of the best half, cumulative step-size
    adaptation, rank-one and rank-mu covariance updates, DEAP's default constants).

    When the run *stalls* (see Notes) it ends (:attr:`done`), or, with ``restarts``, starts a
    new run IPOP-style: a new random centroid, ``sigma0`` again, and twice the population.

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    sigma0 : float, default 30.0
        Initial step size of every run.  Ours, like every default here that is not DEAP's:
        solutions of the guessing tasks have weights of tens, and a broad first sample finds
        their basins.  On parity (lengths 25..50, A1 with one hidden unit) and latch II,
        20 seeds each, sigma0 = init_range = 30 solved 20/20 and 20/20; sigma0 = 20 solved
        parity 19/20; sigma0 = 5 with init_range = 10 solved parity in 1 of 10.
    population_size : int, optional
        ``lambda`` of the first run.  Default: DEAP's ``int(4 + 3 ln n)`` for ``n`` free
        parameters (at least 2, so that ``mu >= 1``).
    init_range : float, default 30.0
        The centroid of every run is drawn uniformly from ``[-init_range, init_range]``.
    restarts : bool or int, default True
        IPOP restarts: ``True`` without limit, ``False`` (or 0) none, an int at most that many.
        They are what solves these tasks: a single run mostly converges to a local minimum
        (without restarts, 1 of 20 seeds solved parity, 1 of 20 latch II).
    patience : int, optional
        Generations without a real improvement of the run's best loss after which the run has
        stalled.  Default ``10 + ceil(30 n / lambda)`` (Hansen's window for TolHistFun).
    tol_sigma : float, default 1e-12
        The run has collapsed when ``sigma * max(sqrt(eig(C))) < tol_sigma * sigma0`` (Hansen's
        TolX, relative to the start).

    Notes
    -----
    A run stalls (our criterion, after Hansen's stopping rules) when one of these holds after
    an update:

    * *no progress*: its best loss has not dropped by more than ``1e-12`` (relative to
      ``max(1, |best|)``) for ``patience`` generations;
    * *collapse*: the largest standard deviation of the distribution is below
      ``tol_sigma * sigma0``;
    * *ill-conditioning*: the condition number of ``C`` exceeds ``1e14``, or the
      distribution has a non-finite value.

    NaN losses count as ``+inf``; DEAP ranks only, so infinite losses are simply the worst.
    A :meth:`tell` with fewer candidates than ``lambda`` (the search loop cuts the last batch
    at the end of the budget) only updates the best; the distribution is left as it is, since
    selecting the best half of a smaller sample would bias the update.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, sigma0: float = 30.0,
                 population_size: int | None = None, init_range: float = 30.0,
                 restarts: bool | int = True, patience: int | None = None, tol_sigma: float = 1e-12) -> None:
        super().__init__(space, rng)
        self.sigma0 = positive_number(sigma0, "sigma0")
        n = space.n_params
        if n < 1:
            raise ValueError("CMA-ES needs at least one free parameter")
        self.population_size = optional_integer(population_size, "population_size", 2) \
            or max(2, int(4 + 3 * math.log(n)))
        array_size(max(self.population_size, n) * n, "population_size",
                   "max(population_size, free parameters) x free parameters")
        self.init_range = positive_number(init_range, "init_range")
        self.restarts = restarts
        self.max_restarts = _restart_limit(restarts)
        self.patience = optional_integer(patience, "patience", 1)
        self.tol_sigma = positive_number(tol_sigma, "tol_sigma")
        self._cma: _SeededStrategy | None = None  # made at the first ask, so __init__ draws nothing
        self.restarts_done = 0
        self._run_best = math.inf
        self._stalled_for = 0
        self._finished = False

    # ------------------------------------------------------------------ runs
    @property
    def lambda_(self) -> int:
        """The population size of the current run (doubled at each restart)."""
        return self.population_size * 2 ** self.restarts_done

    def _new_run(self) -> None:
        centroid = self.rng.uniform(-self.init_range, self.init_range, size=self.space.n_params)
        self._cma = _SeededStrategy(centroid, self.sigma0, self.rng, lambda_=self.lambda_)
        self._run_best = math.inf
        self._stalled_for = 0

    def _window(self) -> int:
        if self.patience is not None:
            return self.patience
        return 10 + math.ceil(30 * self.space.n_params / self.lambda_)

    def _stalled(self) -> bool:
        cma_ = self._cma
        values = (cma_.centroid, cma_.C, cma_.BD, np.array([cma_.sigma, cma_.cond]))
        if not all(np.isfinite(v).all() for v in values) or cma_.cond > 1e14:
            return True
        if cma_.sigma * float(np.max(cma_.diagD)) < self.tol_sigma * self.sigma0:
            return True
        return self._stalled_for >= self._window()

    def _note_progress(self, losses: np.ndarray) -> None:
        best = float(np.min(losses))
        # The first finite loss of a run is progress; after that, only a drop beyond round-off.
        margin = 1e-12 * max(1.0, abs(self._run_best)) if math.isfinite(self._run_best) else 0.0
        if best < self._run_best - margin:
            self._run_best, self._stalled_for = best, 0
        else:
            self._stalled_for += 1

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> np.ndarray:
        """One generation: ``(lambda, n_params)`` samples of ``N(centroid, sigma^2 C)``."""
        if self._cma is None:
            self._new_run()
        return np.array(self._cma.generate(np.asarray), dtype=float)

    def tell(self, candidates: np.ndarray, losses: np.ndarray) -> None:
        """Update the best, then (for a whole generation) the distribution and the restart rule."""
        super().tell(candidates, losses)
        losses = clean_losses(losses)
        candidates = np.asarray(candidates, dtype=float)
        if self._cma is None or len(losses) != self._cma.lambda_:
            return
        self._cma.update([Individual(x, loss) for x, loss in zip(candidates, losses, strict=True)])
        self._note_progress(losses)
        if self._stalled():
            if self.restarts_done < self.max_restarts:
                self.restarts_done += 1
                self._new_run()
            else:
                self._finished = True

    @property
    def done(self) -> bool:
        """True when a run stalled and no restart is left."""
        return self._finished

    @property
    def distribution(self) -> tuple[np.ndarray, float, np.ndarray] | None:
        """The current run's centroid, sigma and covariance matrix (``None`` before the first ask)."""
        if self._cma is None:
            return None
        return np.array(self._cma.centroid, dtype=float), float(self._cma.sigma), np.array(self._cma.C)

    # ------------------------------------------------------------------ state
    saved = ("restarts_done", "_run_best", "_stalled_for", "_finished")

    @property
    def state(self) -> dict[str, Any]:
        cma_ = None if self._cma is None else {name: getattr(self._cma, name) for name in (*_CMA_SAVED, "params")}
        return super().state | {"cma": cma_}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        data, self._cma = state["cma"], None
        if data is not None:
            self._cma = _SeededStrategy(data["centroid"], data["sigma"], self.rng, **data["params"])
            for name in _CMA_SAVED:
                setattr(self._cma, name, data[name])
