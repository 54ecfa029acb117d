"""What the two-class, end-of-sequence tasks of BSF94 and RG have in common."""

from __future__ import annotations

import numpy as np

from evorec.checks import positive_number
from evorec.task import Task, balanced_labels, check_lengths, check_positive_count, running_mask

from .fitness import WithinTolerance


class TwoClassTask(Task):
    """A task with two balanced classes, scored at the last step of each sequence.

    Parameters
    ----------
    lengths : int or (int, int)
        Fixed length, or inclusive range to draw each sequence's length from uniformly.
    tolerance : float
        A sequence is right when the absolute error at its last step is below this
        (RG's criterion uses 0.1).
    min_length : int
        Shortest length the task allows.
    """

    def __init__(self, lengths: int | tuple[int, int], tolerance: float, min_length: int = 1) -> None:
        self.lengths = check_lengths(lengths, minimum=min_length)
        self.tolerance = positive_number(tolerance, "tolerance")

    def criterion(self) -> WithinTolerance:
        return WithinTolerance(self.tolerance)

    def sample_steps(self, n: int) -> int:
        return self.lengths[1]

    def _frame(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw the classes and lengths of ``n`` sequences.

        Returns
        -------
        labels : ndarray of int, shape (n,)
            Balanced between classes 0 and 1, in random order.
        lengths : ndarray of int, shape (n,)
        running : ndarray of bool, shape (n, T)
            True at the steps within each sequence's length (T is the longest length).
        """
        n = check_positive_count(n)
        labels = balanced_labels(n, 2, rng)
        lengths = rng.integers(self.lengths[0], self.lengths[1] + 1, size=n)
        running = running_mask(lengths)
        return labels, lengths, running
