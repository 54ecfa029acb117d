"""Reusable fitness functions and success criteria, nameable from YAML.

Every fitness function is a loss over the scored entries of a batch (lower is better, 0 is
perfect); see :mod:`evorec.scoring` for the shapes.  They are registered through the
``evorec.fitness`` entry-point group, so ``evorec.make_fitness("mse")`` finds them.
"""

from __future__ import annotations

import numpy as np

from evorec.checks import number_in, positive_number
from evorec.scoring import Criterion, Fitness, per_sequence_all


class WithinTolerance(Criterion):
    """An entry is right when every output is within ``tol`` of its target (absolute error).

    Parameters
    ----------
    tol : float
        Largest absolute error that still counts as right (strictly less than ``tol``).
    """

    def __init__(self, tol: float) -> None:
        self.tol = positive_number(tol, "tol")

    def entry_correct(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        # NaN compares False, so non-finite outputs are wrong.
        return (np.abs(outputs - targets) < self.tol).all(axis=-1)

    def __repr__(self) -> str:
        return f"WithinTolerance(tol={self.tol})"


class SameSign(Criterion):
    """An entry is right when every output has its target's sign (0 has no sign: never right).

    BSF94 scores the latch by classification, and RG's account of its latch I result (6 trials:
    "it almost suffices to get the parameter signs right") holds only under this reading.
    """

    def entry_correct(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        # NaN has no sign (np.sign gives NaN), so non-finite outputs are wrong.
        return ((np.sign(outputs) == np.sign(targets)) & (targets != 0)).all(axis=-1)

    def __repr__(self) -> str:
        return "SameSign()"


class MeanSquaredError(Fitness):
    """Mean squared error over every scored (sequence, step, output) entry."""

    name = "mse"

    def __call__(self, outputs, targets, sequence, n_sequences):
        return np.mean((outputs - targets) ** 2, axis=(1, 2))

    def worst_for(self, targets, low, high):
        with np.errstate(over="ignore", invalid="ignore"):
            worst = np.maximum((low - targets) ** 2, (high - targets) ** 2)
        return float(np.mean(worst))


class MaxAbsError(Fitness):
    """Largest absolute error over every scored entry."""

    name = "max_abs_error"

    def __call__(self, outputs, targets, sequence, n_sequences):
        return np.max(np.abs(outputs - targets), axis=(1, 2))

    def worst_for(self, targets, low, high):
        return float(np.max(np.maximum(np.abs(low - targets), np.abs(high - targets))))


def _fraction_of_sequences_wrong(entry_ok: np.ndarray, sequence: np.ndarray, n_sequences: int) -> np.ndarray:
    right = per_sequence_all(entry_ok, sequence)
    return 1.0 - right.sum(axis=1) / n_sequences


class FractionWrong(Fitness):
    """Fraction of sequences with an output ``tol`` or more away from its target.

    Parameters
    ----------
    tol : float, default 0.1
        Tolerance on the absolute error (RG's criterion uses 0.1).
    """

    name = "fraction_wrong"
    worst = 1.0

    def __init__(self, tol: float = 0.1) -> None:
        self.tol = positive_number(tol, "tol")
        self.criterion = WithinTolerance(self.tol)

    def __call__(self, outputs, targets, sequence, n_sequences):
        return _fraction_of_sequences_wrong(self.criterion.entry_correct(outputs, targets), sequence, n_sequences)

    def __repr__(self) -> str:
        return f"FractionWrong(tol={self.criterion.tol})"



class SumSquaredError(Fitness):
    """Sum of squared errors over every scored (sequence, step, output) entry."""

    name = "sse"

    def __call__(self, outputs, targets, sequence, n_sequences):
        return np.sum((outputs - targets) ** 2, axis=(1, 2))

    def worst_for(self, targets, low, high):
        with np.errstate(over="ignore", invalid="ignore"):
            worst = np.maximum((low - targets) ** 2, (high - targets) ** 2)
        return float(np.sum(worst))


class AllWithin(Fitness):
    """0 when every output of every scored entry is within ``tol`` of its target, else 1.

    LSTM97's success test for the noise-free long-lag tasks (2a/2b: maximal absolute output
    error below 0.25) as a loss.  It gives a search no gradient of improvement; use it to
    score, or pair a smooth loss with it as the criterion.

    Parameters
    ----------
    tol : float, default 0.25
        Largest absolute error that still counts as right (strictly less than ``tol``).
    """

    name = "all_within"
    worst = 1.0

    def __init__(self, tol: float = 0.25) -> None:
        self.tol = positive_number(tol, "tol")
        self.criterion = WithinTolerance(self.tol)

    def __call__(self, outputs, targets, sequence, n_sequences):
        return (~self.criterion.entry_correct(outputs, targets).all(axis=1)).astype(float)

    def __repr__(self) -> str:
        return f"AllWithin(tol={self.criterion.tol})"


class ArgmaxCorrect(Criterion):
    """An entry is right when its most active output is the target's most active (one-hot)."""

    def entry_correct(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        finite = np.isfinite(outputs).all(axis=-1)
        chosen = np.argmax(np.where(np.isfinite(outputs), outputs, -np.inf), axis=-1)
        return finite & (chosen == np.argmax(targets, axis=-1))

    def __repr__(self) -> str:
        return "ArgmaxCorrect()"


class ArgmaxWrong(Fitness):
    """Fraction of sequences with a scored entry whose most active output is not the target class.

    For one-hot classification targets (temporal order, the ant's actions).  Ties go to the
    lowest output index (``numpy.argmax``).
    """

    name = "argmax_wrong"
    worst = 1.0

    def __init__(self) -> None:
        self.criterion = ArgmaxCorrect()

    def __call__(self, outputs, targets, sequence, n_sequences):
        return _fraction_of_sequences_wrong(self.criterion.entry_correct(outputs, targets), sequence, n_sequences)


class NextSymbolCorrect(Criterion):
    """An entry is right when the possible next symbols are the most active outputs.

    The target marks the possible next symbols with values above 0.5 (multi-hot); the entry is
    right when every marked output is strictly more active than every unmarked one -- LSTM97's
    test for the embedded Reber grammar.
    """

    def entry_correct(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        possible = targets > 0.5
        lowest_possible = np.where(possible, outputs, np.inf).min(axis=-1)
        highest_other = np.where(possible, -np.inf, outputs).max(axis=-1)
        return np.isfinite(outputs).all(axis=-1) & (lowest_possible > highest_other)

    def __repr__(self) -> str:
        return "NextSymbolCorrect()"


class NextSymbolWrong(Fitness):
    """Fraction of sequences with a step where the possible next symbols are not the most active.

    The possible next symbols are the target's entries above 0.5 (embedded Reber, LSTM97
    exp. 1); see :class:`NextSymbolCorrect`.
    """

    name = "next_symbol_wrong"
    worst = 1.0

    def __init__(self) -> None:
        self.criterion = NextSymbolCorrect()

    def __call__(self, outputs, targets, sequence, n_sequences):
        return _fraction_of_sequences_wrong(self.criterion.entry_correct(outputs, targets), sequence, n_sequences)


class CrossEntropy(Fitness):
    """Mean binary cross-entropy over every scored (sequence, step, output) entry.

    ``-(t log o + (1 - t) log(1 - o))`` for targets ``t`` in [0, 1]; outputs are clipped into
    ``[eps, 1 - eps]`` first, so outputs at (or beyond) 0 and 1 give a large finite loss and
    the loss is bounded.  Meant for sigmoid outputs.

    Parameters
    ----------
    eps : float, default 1e-7
        Clipping margin (our choice; it bounds the loss at about ``-log(eps)`` = 16.1 per entry).
    """

    name = "cross_entropy"

    def __init__(self, eps: float = 1e-7) -> None:
        self.eps = number_in(eps, "eps", 0.0, 0.5, low_open=True, high_open=True)

    def _entries(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        o = np.clip(outputs, self.eps, 1.0 - self.eps)
        return -(targets * np.log(o) + (1.0 - targets) * np.log1p(-o))

    def __call__(self, outputs, targets, sequence, n_sequences):
        return np.mean(self._entries(outputs, targets), axis=(1, 2))

    def worst_for(self, targets, low, high):
        at_low = self._entries(np.full_like(targets, low, dtype=float), targets)
        at_high = self._entries(np.full_like(targets, high, dtype=float), targets)
        return float(np.mean(np.maximum(at_low, at_high)))

    def __repr__(self) -> str:
        return f"CrossEntropy(eps={self.eps})"


class FoodMissed(Fitness):
    """Mean shortfall of the scored outputs below their targets: for the ant, food not eaten.

    The ant task scores one entry per episode whose "output" is the food eaten and whose
    target is the food on the trail, so the loss is the food left (worst: all of it, 89 on
    the Santa Fe trail).  Outputs above the target count as no shortfall.
    """

    name = "food_missed"

    def __call__(self, outputs, targets, sequence, n_sequences):
        shortfall = np.clip(targets - outputs, 0.0, None).sum(axis=2)
        return shortfall.mean(axis=1)

    def worst_for(self, targets, low, high):
        """Nothing eaten: the targets themselves.

        The "outputs" are food counts, never negative, so the network's output range
        (``low``, ``high``) does not bound them and is not used.
        """
        return float(np.clip(targets, 0.0, None).sum(axis=1).mean())
