"""The adding and multiplication problems (LSTM97, Section 5, experiments 4 and 5)."""

from __future__ import annotations

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import boolean, integer, positive_number
from evorec.network import Architecture
from evorec.task import Task, check_positive_count, end_target_batch, running_mask

from .fitness import WithinTolerance


class _MarkedPairs(Task):
    """Sequences of (value, marker) pairs with two marked values, X1 and X2; the target at the
    end is a symmetric function of them.  Subclasses set the value range, the value a marked
    first pair counts as, and the target."""

    n_in = 2
    n_out = 1
    low: float = 0.0
    high: float = 1.0
    first_pair_value: float = 0.0

    def __init__(self, T: int = 100, tolerance: float = 0.04, replace_first_value: bool = True) -> None:
        self.T = integer(T, "T", 10)
        self.tolerance = positive_number(tolerance, "tolerance")
        self.replace_first_value = boolean(replace_first_value, "replace_first_value")

    @property
    def lengths(self) -> tuple[int, int]:
        """Inclusive range of sequence lengths, ``[T, T + T // 10]``."""
        return self.T, self.T + self.T // 10

    def default_architecture(self) -> Architecture:
        """Fully recurrent, all non-input units biased; 4 sigmoid hidden units and a sigmoid output
        (ours; LSTM97 used LSTM)."""
        return Architecture.fully_recurrent(2, 4, 1, hidden="sigmoid", output="sigmoid")

    def criterion(self) -> WithinTolerance:
        return WithinTolerance(self.tolerance)

    def sample_steps(self, n: int) -> int:
        return self.lengths[1]

    def target(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> SequenceBatch:
        n = check_positive_count(n)
        T, rows = self.T, np.arange(n)
        lo, hi = self.lengths
        lengths = rng.integers(lo, hi + 1, size=n)
        steps = int(lengths.max())
        values = rng.uniform(self.low, self.high, size=(n, steps))
        first = rng.integers(0, 10, size=n)                # X1: one of the first 10 pairs
        # X2: one of the first T//2 - 1 pairs not yet marked (the r-th of the unmarked ones).
        r = rng.integers(0, T // 2 - 1, size=n)
        second = r + (r >= first)
        markers = np.zeros((n, steps))
        markers[:, 0] = markers[rows, lengths - 1] = -1.0  # first and last pair, unless marked
        markers[rows, first] = markers[rows, second] = 1.0
        # A marked first pair counts as X1 = first_pair_value.  X2 can land on the first pair
        # too (when X1 is elsewhere); the targets are symmetric in X1 and X2, so the marked
        # first pair is then taken as "X1" and the other as "X2".
        x1, x2 = values[rows, first], values[rows, second]
        x1[first == 0] = x2[second == 0] = self.first_pair_value
        if self.replace_first_value:
            values[(first == 0) | (second == 0), 0] = self.first_pair_value
        target = self.target(x1, x2)
        running = running_mask(lengths, steps)
        inputs = np.stack([values, markers], axis=2) * running[:, :, None]
        return end_target_batch(inputs, lengths, target[:, None], None)


class Adding(_MarkedPairs):
    """The adding problem: output a scaled sum of the two marked values at the end.

    LSTM97, Section 5, experiment 4.  Each step is a pair (value uniform in [-1, 1],
    marker).  One of the first 10 pairs is marked 1 (its value is X1), then one of the first
    ``T // 2 - 1`` pairs not yet marked (X2); every other marker is 0, except the first and
    last pairs, which carry -1 unless marked.  If the first pair is marked, its value counts
    as X1 = 0 (whichever mark it got: the target is symmetric in X1 and X2).  The
    target, at the last step only, is ``0.5 + (X1 + X2) / 4``, in [0, 1]; a sequence is
    right when the absolute error there is below 0.04.

    Parameters
    ----------
    T : int, default 100
        Sequence lengths are uniform in ``[T, T + T // 10]`` (LSTM97's ``T/10``, rounded
        down); X2 is among the first ``T // 2 - 1`` unmarked pairs.  LSTM97 reports
        T = 100, 500, 1000.  At least 10 (X1 needs 10 pairs).
    tolerance : float, default 0.04
        A sequence is right when the absolute error at its last step is below this (LSTM97).
    replace_first_value : bool, default True
        When the first pair is marked, its value counts as 0 (LSTM97: "X1 is set to zero").
        True (our reading): the value the net sees in that pair is set to 0 too, so the
        target is the plain scaled sum of the marked values it sees.  False: the pair keeps
        its random value and only the target counts it as 0.

    Notes
    -----
    "One of the first T/2 - 1 not yet marked pairs" is read as: of the unmarked pairs, in
    order, the first ``T // 2 - 1``, one chosen uniformly.  ``labels`` is None (no classes).
    Our choices: the default fitness ``mse``, and an RNN as the default architecture (LSTM97
    used LSTM).
    """

    name = "adding"
    low, high = -1.0, 1.0
    first_pair_value = 0.0

    def target(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        return 0.5 + (x1 + x2) / 4.0


class Multiplication(_MarkedPairs):
    """The multiplication problem: output the product of the two marked values at the end.

    LSTM97, Section 5, experiment 5: as the adding problem (:class:`Adding`), but the values
    are uniform in [0, 1], a marked first pair counts as X1 = 1.0, and the target is
    ``X1 * X2``.

    Parameters
    ----------
    T : int, default 100
        Sequence lengths are uniform in ``[T, T + T // 10]``; X2 is among the first
        ``T // 2 - 1`` unmarked pairs.  At least 10.
    tolerance : float, default 0.04
        A sequence is right when the absolute error at its last step is below this: LSTM97's
        experiment 5 counts a sequence with an absolute error above 0.04 as wrong.
    replace_first_value : bool, default True
        When the first pair is marked, its value counts as 1.0.  True (our reading): the
        value the net sees in that pair is set to 1.0 too.  False: the pair keeps its random
        value and only the target counts it as 1.0.

    Notes
    -----
    As for :class:`Adding`.
    """

    name = "multiplication"
    low, high = 0.0, 1.0
    first_pair_value = 1.0

    def target(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        return x1 * x2
