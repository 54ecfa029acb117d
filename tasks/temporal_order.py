"""The temporal order problem (LSTM97, Section 5, experiment 6: tasks 6a and 6b)."""

from __future__ import annotations

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import one_of, positive_number
from evorec.network import Architecture
from evorec.task import Task, balanced_labels, check_positive_count, end_target_batch, running_mask

from .fitness import WithinTolerance

#: The eight symbols, in the order of the input units.
SYMBOLS = ("E", "B", "a", "b", "c", "d", "X", "Y")
E, B, X = 0, 1, 6  # Y is X + 1; the distractors a, b, c, d are units 2..5

#: Inclusive ranges of the positions of the X/Y symbols, per variant (LSTM97).
POSITIONS = {"6a": ((10, 20), (50, 60)), "6b": ((10, 20), (33, 43), (66, 76))}
#: Inclusive range of the sequence lengths (LSTM97).
LENGTHS = (100, 110)


class TemporalOrder(Task):
    """Temporal order: classify a sequence by the order of the X's and Y's far apart in it.

    LSTM97, Section 5, experiment 6.  Eight one-hot inputs E, B, a, b, c, d, X, Y.  A
    sequence is 100 to 110 symbols long (uniform), starts with E and ends with B; the other
    symbols are a, b, c or d, except at 2 (6a) or 3 (6b) positions that hold X or Y: 6a at
    t1 in [10, 20] and t2 in [50, 60]; 6b at t1 in [10, 20], t2 in [33, 43], t3 in [66, 76]
    (each uniform).  The class is the ordered X/Y pattern: 4 classes for 6a (XX, XY, YX, YY),
    8 for 6b (XXX, XXY, ..., YYY), numbered in that order (X = 0, Y = 1, the first symbol
    most significant).  The target, at the last step only, is the class one-hot; a sequence
    is right when every output is within 0.3 of its target.

    Parameters
    ----------
    variant : {"6a", "6b"}, default "6a"
    tolerance : float, default 0.3
        A sequence is right when every output is within this of its target (LSTM97).

    Notes
    -----
    Our choices where LSTM97 is silent: positions are counted from 0, with the E at 0 (a
    count from 1 would put every X/Y one step earlier relative to E); the distractors are
    uniform and independent; the classes are balanced within a sample and in random order
    (every class equally likely, as when each X/Y is a fair coin); the default fitness is
    ``mse``; the default architecture is an RNN, not LSTM97's LSTM net.
    """

    name = "temporal_order"
    n_in = 8

    def __init__(self, variant: str = "6a", tolerance: float = 0.3) -> None:
        self.variant = one_of(variant, "variant", tuple(POSITIONS))
        self.tolerance = positive_number(tolerance, "tolerance")
        self.n_out = 2 ** len(POSITIONS[variant])

    def default_architecture(self) -> Architecture:
        """Fully recurrent, all non-input units biased; 4 sigmoid hidden units and sigmoid outputs
        (ours; LSTM97 used LSTM)."""
        return Architecture.fully_recurrent(self.n_in, 4, self.n_out, hidden="sigmoid", output="sigmoid")

    def criterion(self) -> WithinTolerance:
        return WithinTolerance(self.tolerance)

    def sample_steps(self, n: int) -> int:
        return LENGTHS[1]

    def sample(self, n: int, rng: np.random.Generator) -> SequenceBatch:
        n = check_positive_count(n)
        labels = balanced_labels(n, self.n_out, rng)
        lengths = rng.integers(LENGTHS[0], LENGTHS[1] + 1, size=n)
        steps = int(lengths.max())
        symbol = rng.integers(2, 6, size=(n, steps))  # a, b, c, d
        rows = np.arange(n)
        symbol[:, 0], symbol[rows, lengths - 1] = E, B
        k = len(POSITIONS[self.variant])
        for i, (lo, hi) in enumerate(POSITIONS[self.variant]):
            bit = (labels >> (k - 1 - i)) & 1  # 0: X, 1: Y
            symbol[rows, rng.integers(lo, hi + 1, size=n)] = X + bit
        running = running_mask(lengths, steps)
        inputs = np.eye(8)[symbol] * running[:, :, None]
        return end_target_batch(inputs, lengths, np.eye(self.n_out)[labels], labels)
