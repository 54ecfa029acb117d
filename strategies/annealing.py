"""Simulated annealing with adaptive step sizes (Corana, Marchesi, Martini & Ridella 1987).

BSF94 used this algorithm on the latch and parity problems.  It searches the flat vector of
an architecture's free parameters.  Several independent chains run side by side in lock-step,
so that every :meth:`SimulatedAnnealing.ask` is one batch for the shared evaluator.
"""

from __future__ import annotations

import math

import numpy as np

from evorec.checks import InvalidParameter, array_size, integer, nonnegative_number, number_in, positive_number
from evorec.network import Architecture
from evorec.strategy import Strategy, clean_losses

#: Corana's acceptance-ratio band: steps grow above it and shrink below it.
HIGH_RATIO, LOW_RATIO = 0.6, 0.4


def corana_step_update(steps: np.ndarray, ratios: np.ndarray, c: float) -> np.ndarray:
    """Corana et al.'s step-size adjustment from the acceptance ratios of the last N_s cycles.

    ``v * (1 + c (a - 0.6) / 0.4)`` where ``a > 0.6``, ``v / (1 + c (0.4 - a) / 0.4)`` where
    ``a < 0.4``, and ``v`` unchanged in between: a step that is accepted too often is too
    timid, one that is rejected too often overshoots.

    Parameters
    ----------
    steps : ndarray
        Step sizes ``v``.
    ratios : ndarray
        Acceptance ratios ``a`` (accepted moves / N_s), same shape as ``steps``.
    c : float
        Corana's ``c`` (2 in the paper).

    Returns
    -------
    ndarray
        The new step sizes.
    """
    steps, ratios = np.asarray(steps, dtype=float), np.asarray(ratios, dtype=float)
    grow = np.where(ratios > HIGH_RATIO, 1 + c * (ratios - HIGH_RATIO) / LOW_RATIO, 1.0)
    shrink = np.where(ratios < LOW_RATIO, 1 + c * (LOW_RATIO - ratios) / LOW_RATIO, 1.0)
    return steps * grow / shrink


def metropolis_accept(current: np.ndarray, proposed: np.ndarray, T: float, uniform: np.ndarray) -> np.ndarray:
    """Which proposals the Metropolis rule accepts.

    A proposal is accepted if its loss does not grow, else with probability
    ``exp(-(proposed - current) / T)``.  Infinite losses (NaN is cleaned to ``+inf`` first)
    follow from this without special cases: an infinite loss is never accepted from a finite
    point (``exp(-inf) = 0``), and is accepted from an infinite point (the loss does not
    grow), so a chain that starts where every network diverges random-walks out of it.

    Parameters
    ----------
    current, proposed : ndarray
        Losses of the current points and of the proposals.
    T : float
        Temperature (> 0).
    uniform : ndarray
        Uniform draws in [0, 1), one per proposal.

    Returns
    -------
    ndarray of bool
    """
    current, proposed = np.asarray(current, dtype=float), np.asarray(proposed, dtype=float)
    downhill = proposed <= current
    # Only uphill differences are exponentiated; they are positive (or +inf), never NaN.
    with np.errstate(invalid="ignore"):  # inf - inf, where both are infinite (downhill anyway)
        rise = np.where(downhill, 0.0, proposed - current)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # T may underflow to 0 after
        return downhill | (uniform < np.exp(-rise / T))                # thousands of stages


class SimulatedAnnealing(Strategy):
    """Simulated annealing with Corana et al.'s adaptive step sizes, in independent chains.

    Each chain holds a point ``x``, its loss, one step size per coordinate and the best point
    it has found.  A *cycle* moves along every coordinate ``h`` in turn:
    ``x' = x + r v_h e_h`` with ``r ~ U(-1, 1)``, accepted by the Metropolis rule.  After
    ``N_s`` cycles each ``v_h`` is adjusted from its acceptance ratio (:func:`corana_step_update`);
    after ``N_T`` adjustments the temperature falls, ``T <- r_T T``, and every chain restarts
    from its best point.  The chains run in lock-step: every :meth:`ask` holds one proposal
    per running chain, all along the same coordinate, so the chains share the temperature
    schedule but nothing else (each has its own points, steps and acceptance counts).

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    T0 : float, default 0.03
        Initial temperature (ours; Corana leaves it to the user).  The tasks' losses are mean
        squared errors: about 0.25 for a net that guesses, below 0.01 for one that solves.  At
        0.03 an uphill move of 0.03 is accepted with probability 1/e, so a chain climbs out of
        shallow basins but still drifts downhill.  Measured on parity (lengths 25..50, A1 with
        one hidden unit, 20 seeds, the other defaults): T0 = 0.1 solves every run in a mean of
        10,900 evaluations, 0.03 in 5,600 (40 seeds), 0.01 in 25,700, and 0.001 solves only 2
        runs in 20 within 100,000 (the chains freeze in poor basins).
    step0 : float, default 30.0
        Initial step size of every coordinate (ours).  The steps adapt after the first ``N_s``
        cycles anyway; a large start lets the first moves reach the large weights that latch
        a bit in a saturated unit.  Measured as above: step0 = 1 needs a mean of 9,500
        evaluations on parity, 10 needs 6,000, 30 needs 5,600; on latch II step0 = 1 needs
        about 15 times more than 30.
    N_s : int, default 20
        Cycles between step adjustments (Corana's value).
    N_T : int, optional
        Step adjustments per temperature.  Default ``max(100, 5 n)`` with ``n`` free parameters
        (Corana's rule).
    r_T : float, default 0.85
        Temperature reduction factor, in (0, 1) (Corana's value).
    c : float, default 2.0
        Step-adjustment factor (Corana's value).
    eps : float, default 1e-6
        Termination tolerance on the loss (ours; Corana et al. leave it to the user).
    N_eps : int, default 4
        Number of temperatures over which the best loss must have settled (Corana's value).
    chains : int, default 8
        Independent chains run side by side (ours; BSF94 ran one).  Fewer chains give each
        more of the budget, more chains make larger batches, which the evaluator runs at a
        lower cost per network.  Measured on parity (lengths 25..50, 40 seeds, the other
        defaults): 4 chains solve in a mean of 4,500 evaluations, 8 in 5,600, 16 in 7,100,
        64 in 17,500; 8 takes about half the wall time of 4 for 25% more evaluations.
    init_range : float, default 1.0
        Starting points are uniform in ``[-init_range, init_range]`` per coordinate (ours).
    bound : float, default 100.0
        The search box ``[-bound, bound]`` per coordinate (ours; RG's weight range).  Corana's
        algorithm works on a box: a proposal outside it is drawn again, which we do exactly by
        drawing ``r`` uniformly from the part of (-1, 1) that stays inside.  The box also keeps
        the steps finite on the flat plateaus of saturated networks, where every move is
        accepted and the steps would otherwise grow without limit; steps are capped at the
        box's width, beyond which they would propose the same points.

    Notes
    -----
    Termination (per chain).  At the end of every temperature stage we record the chain's
    best loss; the chain stops when that best loss has changed by at most ``eps`` over the
    last ``N_eps`` temperatures (so at least ``N_eps + 1`` stages have been run) *and* its
    current loss at the end of the stage is within ``eps`` of its best, as Corana requires.
    (Corana compares the current losses at the ends of the stages; as docs/literature.md states
    the rule, we compare the best losses.)  :attr:`done` is true when every chain has
    stopped; stopped chains are no longer proposed, so :meth:`ask` returns one row per
    *running* chain.

    Order of calls.  The first :meth:`ask` returns the starting points, so that their losses
    are known before the first move; every later one returns one move per running chain.
    Each :meth:`ask` must be followed by one :meth:`tell` with the losses of those rows, in
    order.  If fewer losses come back (the search loop cuts the last batch to the budget),
    the missing ones count as ``+inf``: those moves are rejected.

    Losses.  NaN counts as ``+inf`` (worse than anything); see :func:`metropolis_accept`.

    Budgets.  With Corana's ``N_s`` and ``N_T`` a temperature stage costs ``N_T N_s n``
    evaluations per chain: 14,000 for the 7 weights of parity's A1, so 112,000 for 8 chains.  Within
    the 100,000 evaluations in which random guessing solves parity and the latch, the
    temperature never falls, and what solves those tasks is Metropolis search at ``T0`` with
    Corana's step adaptation.  Smaller ``N_s``/``N_T`` make the schedule itself matter.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, T0: float = 0.03, step0: float = 30.0,
                 N_s: int = 20, N_T: int | None = None, r_T: float = 0.85, c: float = 2.0, eps: float = 1e-6,
                 N_eps: int = 4, chains: int = 8, init_range: float = 1.0, bound: float = 100.0) -> None:
        super().__init__(space, rng)
        n = space.n_params
        if n < 1:
            raise ValueError("simulated annealing needs an architecture with at least one free parameter")
        self.T0 = positive_number(T0, "T0")
        self.step0 = positive_number(step0, "step0")
        self.N_s = integer(N_s, "N_s")
        self.N_T = max(100, 5 * n) if N_T is None else integer(N_T, "N_T")
        self.r_T = number_in(r_T, "r_T", 0.0, 1.0, low_open=True, high_open=True)
        self.c = positive_number(c, "c")
        self.eps = nonnegative_number(eps, "eps")
        self.N_eps = integer(N_eps, "N_eps")
        self.chains = integer(chains, "chains")
        array_size(self.chains * max(space.n_params, 1), "chains", "chains x free parameters")
        self.bound = positive_number(bound, "bound")
        self.init_range = positive_number(init_range, "init_range")
        if self.init_range > self.bound:
            raise InvalidParameter("init_range", f"must not exceed bound={self.bound}; got {init_range!r}")
        self._reset(n)

    def _reset(self, n: int) -> None:
        """The state before the first ask: starting points drawn, their losses unknown."""
        K = self.chains
        self.x = self.rng.uniform(-self.init_range, self.init_range, size=(K, n))
        self.f = np.full(K, math.inf)
        self.v = np.full((K, n), self.step0)
        self.x_best, self.f_best = self.x.copy(), np.full(K, math.inf)
        self.T = self.T0
        self.accepted = np.zeros((K, n), dtype=int)  # accepted moves per coordinate since the last adjustment
        self.coordinate = self.cycle = self.adjustment = 0  # position within the stage
        self.temperatures = 0  # temperature stages completed
        self.record = np.full((self.N_eps + 1, K), math.inf)  # best losses at the ends of the last stages
        self.running = np.ones(K, dtype=bool)
        self.started = False  # whether the starting points have been told
        self.pending: np.ndarray | None = None  # rows asked for and not yet told

    # ------------------------------------------------------------------ ask / tell
    @property
    def done(self) -> bool:
        """True when every chain has met the termination rule."""
        return not self.running.any()

    def ask(self) -> np.ndarray:
        """The starting points (first call), then one move per running chain.

        Returns
        -------
        ndarray, shape ``(running chains, n_params)``
        """
        if self.pending is not None:
            raise RuntimeError("ask() was called twice without tell(); tell the losses of the last batch first")
        self.pending = self._propose() if self.started else self.x[self.running].copy()
        return self.pending.copy()

    def tell(self, candidates: np.ndarray, losses: np.ndarray) -> None:
        """Learn the losses of the rows last asked for (see the class notes on their order)."""
        if self.pending is None:
            raise RuntimeError("tell() was called without a pending ask()")
        super().tell(candidates, losses)
        losses = self._pad(losses)
        if self.started:
            self._move(losses)
        else:
            self._start(losses)
        self.pending = None

    def _pad(self, losses: np.ndarray) -> np.ndarray:
        """Cleaned losses, one per pending row; rows left unevaluated count as ``+inf``."""
        losses = clean_losses(np.ravel(losses))
        expected = len(self.pending)
        if len(losses) > expected:
            raise ValueError(f"tell() got {len(losses)} losses for {expected} candidates")
        return np.concatenate([losses, np.full(expected - len(losses), math.inf)])

    def _start(self, losses: np.ndarray) -> None:
        self.f[:] = losses
        self.f_best[:] = losses
        self.started = True

    def _propose(self) -> np.ndarray:
        """Move each running chain along the current coordinate, staying inside the box."""
        h = self.coordinate
        proposals = self.x[self.running].copy()
        xh, v = proposals[:, h], self.v[self.running, h]
        # r ~ U(-1, 1) conditioned on x_h + r v_h in the box (Corana redraws until it is):
        # that is r uniform on the intersection, drawn at once.  fmax/fmin skip the NaN of 0/0.
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.fmax(-1.0, (-self.bound - xh) / v)
            high = np.fmin(1.0, (self.bound - xh) / v)
        r = self.rng.uniform(low, high)
        proposals[:, h] = np.clip(xh + r * v, -self.bound, self.bound)  # clip only rounding errors
        return proposals

    def _move(self, losses: np.ndarray) -> None:
        """Metropolis step for every running chain, then advance the schedule."""
        idx = np.flatnonzero(self.running)
        accept = metropolis_accept(self.f[idx], losses, self.T, self.rng.random(len(idx)))
        moved = idx[accept]
        self.x[moved] = self.pending[accept]
        self.f[moved] = losses[accept]
        self.accepted[moved, self.coordinate] += 1
        better = losses < self.f_best[idx]
        self.x_best[idx[better]] = self.pending[better]
        self.f_best[idx[better]] = losses[better]
        self._advance()

    def _advance(self) -> None:
        """Next coordinate; after a cycle, N_s cycles, N_T adjustments: the schedule's events."""
        self.coordinate += 1
        if self.coordinate < self.space.n_params:
            return
        self.coordinate, self.cycle = 0, self.cycle + 1
        if self.cycle < self.N_s:
            return
        self.cycle = 0
        self._adjust_steps()
        self.adjustment += 1
        if self.adjustment < self.N_T:
            return
        self.adjustment = 0
        self._cool()

    def _adjust_steps(self) -> None:
        steps = corana_step_update(self.v, self.accepted / self.N_s, self.c)
        # Steps wider than the box propose the same points (uniform over the box); the cap
        # keeps them finite on plateaus where every move is accepted.
        self.v = np.minimum(steps, 2 * self.bound)
        self.accepted[:] = 0

    def _cool(self) -> None:
        """End of a temperature stage: termination test, T <- r_T T, restart from the best."""
        self.record = np.roll(self.record, 1, axis=0)
        self.record[0] = self.f_best
        self.temperatures += 1
        self.running &= ~self._settled()
        self.T *= self.r_T
        self.x, self.f = self.x_best.copy(), self.f_best.copy()

    def _settled(self) -> np.ndarray:
        """Chains whose best loss moved by at most eps over N_eps stages, and that sit near it."""
        if self.temperatures <= self.N_eps:
            return np.zeros(self.chains, dtype=bool)
        # The best only falls, so its change over the stages is oldest minus newest; equal
        # values (infinite ones included) have not changed.
        oldest, newest = self.record[-1], self.record[0]
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, and NaN <= eps is False
            unchanged = (oldest == newest) | (oldest - newest <= self.eps)
            near = (self.f == self.f_best) | (self.f - self.f_best <= self.eps)
        return unchanged & near

    # ------------------------------------------------------------------ state
    saved = ("x", "f", "v", "x_best", "f_best", "accepted", "record", "running", "pending", "T", "coordinate",
             "cycle", "adjustment", "temperatures", "started")
