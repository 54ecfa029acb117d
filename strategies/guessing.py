"""Random weight guessing (Schmidhuber, Hochreiter & Bengio; Hochreiter & Schmidhuber 1997)."""

from __future__ import annotations

import numpy as np

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
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0:
            raise ValueError(f"r must be a positive number; got {r!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        if not isinstance(early_exit, bool):
            raise ValueError(f"early_exit must be true or false; got {early_exit!r}")
        self.r = float(r)
        self.batch_size = int(batch_size)
        self.early_exit = early_exit

    def ask(self) -> np.ndarray:
        # Draw row by row in one call: the stream of networks does not depend on batch_size.
        return self.rng.uniform(-self.r, self.r, size=(self.batch_size, self.space.n_params))
