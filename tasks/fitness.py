"""Reusable fitness functions and success criteria, nameable from YAML.

Every fitness function is a loss over the scored entries of a batch (lower is better, 0 is
perfect); see :mod:`evorec.scoring` for the shapes.  They are registered through the
``evorec.fitness`` entry-point group, so ``evorec.make_fitness("mse")`` finds them.
"""

from __future__ import annotations

import numpy as np

from evorec.scoring import Criterion, Fitness, per_sequence_all


def _check_tolerance(tol: float) -> float:
    if not isinstance(tol, (int, float)) or isinstance(tol, bool) or not tol > 0:
        raise ValueError(f"tol must be a positive number; got {tol!r}")
    return float(tol)


class WithinTolerance(Criterion):
    """An entry is right when every output is within ``tol`` of its target (absolute error).

    Parameters
    ----------
    tol : float
        Largest absolute error that still counts as right (strictly less than ``tol``).
    """

    def __init__(self, tol: float) -> None:
        self.tol = _check_tolerance(tol)

    def entry_correct(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        # NaN compares False, so non-finite outputs are wrong.
        return (np.abs(outputs - targets) < self.tol).all(axis=-1)

    def __repr__(self) -> str:
        return f"WithinTolerance(tol={self.tol})"


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
        self.criterion = WithinTolerance(tol)

    def __call__(self, outputs, targets, sequence, n_sequences):
        right = per_sequence_all(self.criterion.entry_correct(outputs, targets), sequence)
        return 1.0 - right.sum(axis=1) / n_sequences

    def __repr__(self) -> str:
        return f"FractionWrong(tol={self.criterion.tol})"
