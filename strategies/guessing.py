"""Random weight guessing (Schmidhuber, Hochreiter & Bengio; Hochreiter & Schmidhuber 1997)."""

from __future__ import annotations

import numpy as np

from evorec.checks import array_size, boolean, integer, positive_number
from evorec.network import Architecture
from evorec.strategy import Strategy


class RandomGuessing(Strategy):
    """Random weight guessing: draw every free weight uniformly from [-r, r] until a net solves.

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    r : float, default 100.0
        Half-width of the weight range (RG's value).
    batch_size : int, default 1000
        Networks drawn and evaluated together (our choice; it changes speed, not results:
        the draws are the same sequence whatever the batch size, and a solution is counted
        at its position in that sequence).
    early_exit : bool, default False
        Stop evaluating a network at its first wrong training sequence, as RG allows.  Much
        faster on hard tasks, but the losses of the networks that fail are then unknown, so
        the best loss and history only reflect networks evaluated in full.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, r: float = 100.0,
                 batch_size: int = 1000, early_exit: bool = False) -> None:
        super().__init__(space, rng)
        self.r = positive_number(r, "r")
        self.batch_size = integer(batch_size, "batch_size")
        array_size(self.batch_size * max(space.n_params, 1), "batch_size", "batch_size x free parameters")
        self.early_exit = boolean(early_exit, "early_exit")

    def ask(self) -> np.ndarray:
        # Draw row by row in one call: the stream of networks does not depend on batch_size.
        return self.rng.uniform(-self.r, self.r, size=(self.batch_size, self.space.n_params))
