"""Multi-grid random search (Bengio, Simard & Frasconi 1994, as docs/literature.md describes it)."""

from __future__ import annotations

import math

import numpy as np

from evorec.checks import InvalidParameter, array_size, boolean, integer, nonnegative_number, positive_number
from evorec.network import Architecture
from evorec.strategy import Strategy, clean_losses


class MultiGridSearch(Strategy):
    """Multi-grid random search: sample a box around the best point, shrink it after K misses.

    The search keeps one point, the *center* (the best it has found since its last start).
    Each :meth:`ask` draws candidates uniformly in the box of half-width ``s`` around the
    center; :meth:`tell` moves the center to the best candidate of the batch if that one is
    strictly better.  After ``K`` consecutive failed *candidates* the box shrinks,
    ``s <- s / rho`` (a finer "grid").  When ``s`` falls below ``s_min`` the search stops
    (:attr:`done`), or, with ``restart``, starts again from a new random point at the
    coarsest level ``s0``.

    BSF94 give the scheme, not the values: every default below is ours, chosen on parity
    (lengths 25..50, A1 with one hidden unit) and latch II with 20 seeds each (see
    ``tests/strategies/test_multigrid.py``); the box and start range match the weight scale
    at which random guessing finds solutions of these tasks.

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    s0 : float, default 30.0
        Initial (coarsest) half-width of the box.  Solutions of these tasks have weights of
        tens: with s0 = init_range = 10 parity was solved in 7 of 10 seeds, with 30 in 20/20.
    rho : float, default 2.0
        Shrink factor, > 1 (docs/literature.md's default; 4 needed more evaluations on parity).
    K : int, default 64
        Consecutive failed candidates (not batches) before the box shrinks.  A batch is cut
        short so that a level ends after exactly ``K`` failures: :meth:`ask` returns
        ``min(batch_size, K - failures)`` candidates.  32 and 128 also solved 20/20.
    s_min : float, default 1e-3
        The search ends (or restarts) when ``s`` falls below this; it must be below ``s0``.
    batch_size : int, default 32
        Candidates per :meth:`ask` (fewer at the end of a level, see ``K``).  Larger batches
        move less often per evaluation (64: parity median 21,000 evaluations instead of 6,000).
    restart : bool, default True
        On reaching ``s_min``, draw a new start point and go back to ``s0`` instead of
        stopping.  A *new random point*, not the best point with the coarse box: from the
        best point the search mostly falls back into the basin it has just exhausted (13/20
        seeds on parity and on latch II, against 20/20), while a fresh point makes every
        restart an independent try.  The best network so far is kept either way.
    init_range : float, default 30.0
        Start points are drawn uniformly from ``[-init_range, init_range]`` per parameter.
    min_gain : float, default 1e-3
        A batch whose best candidate lowers the center's loss by no more than this (in loss
        units) still moves the center but counts as failed.  Without it (``min_gain=0``) the
        search can crawl down a nearly flat slope of saturated networks at a fine level until
        the budget is spent, since about half of a tiny box is downhill: so 5 of 10 parity
        seeds failed with s0 = 10, and 2 of 10 latch II seeds with s0 = 100.

    Notes
    -----
    A start (the first and every restart) costs no extra batch: the first batch after it
    holds the start point itself in row 0 and box samples around it in the other rows, and
    the center moves to the best of them whatever their losses.  Failures are counted only
    after that.  A batch with an improvement resets the failure count to 0, whatever its
    other candidates did (unless its gain is below ``min_gain``).  NaN and infinite losses
    never count as improvements.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, s0: float = 30.0, rho: float = 2.0,
                 K: int = 64, s_min: float = 1e-3, batch_size: int = 32, restart: bool = True,
                 init_range: float = 30.0, min_gain: float = 1e-3) -> None:
        super().__init__(space, rng)
        self.s0 = positive_number(s0, "s0")
        self.rho = positive_number(rho, "rho")
        if not self.rho > 1:
            raise InvalidParameter("rho", f"must be greater than 1 (the box shrinks by it); got {rho!r}")
        self.K = integer(K, "K")
        self.s_min = positive_number(s_min, "s_min")
        if not self.s_min < self.s0:
            raise InvalidParameter("s_min", f"must be smaller than s0={self.s0}; got {s_min!r}")
        self.batch_size = integer(batch_size, "batch_size")
        array_size(self.batch_size * max(space.n_params, 1), "batch_size", "batch_size x free parameters")
        self.restart = boolean(restart, "restart")
        self.init_range = positive_number(init_range, "init_range")
        self.min_gain = nonnegative_number(min_gain, "min_gain")
        self._center: np.ndarray | None = None  # None: draw a new start point at the next ask
        self._center_loss = math.inf
        self._started = False  # whether the batch holding the start point has been told
        self.s = self.s0
        self.failures = 0
        self.restarts = 0
        self._finished = False

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> np.ndarray:
        """Candidates uniform in the box of half-width ``s`` around the center.

        Returns
        -------
        ndarray, shape ``(min(batch_size, K - failures), n_params)``
            Row 0 is the start point itself in the first batch after a (re)start.
        """
        n = self.space.n_params
        if self._center is None:
            self._center = self.rng.uniform(-self.init_range, self.init_range, size=n)
            self._started = False
        rows = min(self.batch_size, self.K - self.failures)
        candidates = self._center + self.rng.uniform(-self.s, self.s, size=(rows, n))
        if not self._started:
            candidates[0] = self._center  # evaluate the start point with its first neighbours
        return candidates

    def tell(self, candidates: np.ndarray, losses: np.ndarray) -> None:
        """Move to the batch's best candidate if it improves on the center; else count failures."""
        super().tell(candidates, losses)
        losses = clean_losses(losses)
        best = int(np.argmin(losses))
        gain = self._center_loss - losses[best]
        if not self._started or gain > 0:
            self._center = np.array(candidates[best], dtype=float)
            self._center_loss = float(losses[best])
        if not self._started or gain > self.min_gain:
            self._started = True
            self.failures = 0
            return
        # A batch without a real gain fails as a whole, even when it crept a little downhill.
        self.failures += len(losses)
        if self.failures >= self.K:
            self._shrink()

    def _shrink(self) -> None:
        """Go one level finer; below s_min, stop or restart at the coarsest level."""
        self.failures = 0
        self.s /= self.rho
        if self.s >= self.s_min:
            return
        if not self.restart:
            self._finished = True
            return
        self.restarts += 1
        self.s = self.s0
        self._center, self._center_loss, self._started = None, math.inf, False

    @property
    def done(self) -> bool:
        """True once ``s`` fell below ``s_min`` without ``restart``."""
        return self._finished

    @property
    def center(self) -> tuple[np.ndarray | None, float]:
        """The current center and its loss (``None`` before the first ask; ``inf`` until its batch is told)."""
        return self._center, self._center_loss

    # ------------------------------------------------------------------ state
    saved = ("_center", "_center_loss", "_started", "s", "failures", "restarts", "_finished")
