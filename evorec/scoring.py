"""The contracts between the evaluator and the scoring functions tasks provide.

The evaluator collects each network's outputs at the scored entries of a batch (the
``(sequence, step)`` pairs its ``target_mask`` marks, in sequence order then time order) and
hands them, as ``outputs`` of shape ``(P, N, n_out)``, to a :class:`Fitness` (one loss per
network, lower is better, 0 perfect) and to a :class:`Criterion` (which entries are right).
Concrete fitness functions and criteria live in ``tasks/fitness.py``.
"""

from __future__ import annotations

import numpy as np

from .params import HasParams


class Fitness(HasParams):
    """A loss over the scored entries; lower is better and 0 is perfect.

    Attributes
    ----------
    name : str
        Registered name.
    worst : float
        The largest loss possible (``inf`` when unbounded).  Networks whose outputs are not
        finite get this loss.
    """

    name: str = ""
    worst: float = float("inf")

    def __call__(self, outputs: np.ndarray, targets: np.ndarray, sequence: np.ndarray,
                 n_sequences: int) -> np.ndarray:
        """Loss per network.

        Parameters
        ----------
        outputs : ndarray, shape (P, N, n_out)
        targets : ndarray, shape (N, n_out)
        sequence : ndarray of int, shape (N,)
            The sequence each entry belongs to, non-decreasing, covering ``0..n_sequences-1``.
        n_sequences : int

        Returns
        -------
        ndarray, shape (P,)
        """
        raise NotImplementedError

    def worst_for(self, targets: np.ndarray, low: float, high: float) -> float:
        """The worst loss possible for these targets when outputs lie in ``[low, high]``.

        The default is :attr:`worst`; losses that depend on the output range refine it.
        """
        return self.worst

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class Criterion:
    """Decides which scored entries are right; a sequence is right when all its entries are."""

    def entry_correct(self, outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Boolean array of shape ``(P, N)``: entry ``n`` of network ``p`` is right.

        Non-finite outputs must count as wrong.
        """
        raise NotImplementedError


def sequence_starts(sequence: np.ndarray) -> np.ndarray:
    """Index of the first scored entry of each sequence (``sequence`` is non-decreasing)."""
    return np.flatnonzero(np.r_[True, sequence[1:] != sequence[:-1]])


def per_sequence_all(entry_ok: np.ndarray, sequence: np.ndarray) -> np.ndarray:
    """Reduce ``(P, N)`` entry flags to ``(P, B)`` sequence flags: all entries right."""
    return np.logical_and.reduceat(entry_ok, sequence_starts(sequence), axis=1)
