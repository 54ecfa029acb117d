"""The two-sequence problem, BSF94 / RG flavour."""

from __future__ import annotations

import numpy as np

from evorec.network import Architecture
from evorec.task import check_nonnegative, check_positive_count, end_target_batch

from .base import TwoClassTask


class TwoSequence(TwoClassTask):
    """Two-sequence: the class is given by the first N elements; the rest is Gaussian noise.

    The first ``N`` elements are +1 (class 0) or -1 (class 1); the others are Gaussian noise
    with mean 0 and variance ``noise_var``.  The target, at the last step, is ``targets[0]``
    for class 0 and ``targets[1]`` for class 1.

    Parameters
    ----------
    lengths : int or (int, int), default (500, 600)
        Sequence length or inclusive range (RG's default; BSF94 draws from [T/2, T]).
    N : int, default 1
        Number of informative elements at the start.
    noise_var : float, default 0.2
    targets : (float, float), default (1.0, 0.0)
        Targets of the two classes -- our choice, LITERATURE.md marks it as a default.
    tolerance : float, default 0.1
        A sequence is right when the absolute error at its last step is below this (RG).
    """

    name = "two_sequence"
    n_in = 1
    n_out = 1

    def __init__(self, lengths: int | tuple[int, int] = (500, 600), N: int = 1,
                 noise_var: float = 0.2, targets: tuple[float, float] = (1.0, 0.0),
                 tolerance: float = 0.1) -> None:
        self.N = check_positive_count(N, "N")
        super().__init__(lengths, tolerance, min_length=self.N + 1)
        self.noise_var = check_nonnegative(noise_var, "noise_var")
        if not (isinstance(targets, (tuple, list)) and len(targets) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in targets)):
            raise ValueError(f"targets must be a pair of numbers; got {targets!r}")
        self.targets = (float(targets[0]), float(targets[1]))

    def default_architecture(self) -> Architecture:
        """A1 with one hidden unit, sigmoid units (our choice for targets in [0, 1])."""
        return Architecture.fully_recurrent(1, 1, 1, hidden="sigmoid", output="sigmoid")

    def sample(self, n: int, rng: np.random.Generator):
        labels, lengths, running = self._frame(n, rng)
        inputs = rng.normal(0.0, np.sqrt(self.noise_var), size=running.shape)
        inputs[:, : self.N] = np.where(labels == 0, 1.0, -1.0)[:, None]
        inputs[~running] = 0.0
        target = np.asarray(self.targets)[labels]
        return end_target_batch(inputs[:, :, None], lengths, target[:, None], labels)
