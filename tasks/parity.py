"""The parity problem (BSF94; RG)."""

from __future__ import annotations

import numpy as np

from evorec.checks import one_of
from evorec.network import Architecture
from evorec.task import check_nonnegative, end_target_batch

from .base import TwoClassTask

NOISE_DISTRIBUTIONS = ("uniform", "gaussian")


class Parity(TwoClassTask):
    """Parity: is the number of +1's in a sequence of +1 / -1 values odd?

    Target 1 if the count of +1's is odd, else 0, at the last step.  BSF94 adds uniform noise
    in ``[-noise, noise]`` to every element and uses lengths 25..50; RG uses lengths 500..600,
    with and without noise.

    Parameters
    ----------
    lengths : int or (int, int), default (500, 600)
        Sequence length or inclusive range (RG's default).
    noise : float, default 0.0
        Size of the noise added to each element: the half-width of the uniform noise
        (BSF94: 0.2), or the standard deviation of the Gaussian noise.
    noise_distribution : {"uniform", "gaussian"}, default "uniform"
        The noise's distribution.  BSF94 adds uniform noise in ``[-0.2, 0.2]``; RG's noisy
        parity refers to BSF94's set-up without restating the noise, so uniform is the literal
        reading.  ``"gaussian"`` (zero mean, standard deviation ``noise``) is the noise RG
        uses in its other tasks, there for the study of readings
        (``experiments/rg_definitions.yaml``).
    tolerance : float, default 0.1
        A sequence is right when the absolute error at its last step is below this (RG).

    Notes
    -----
    Sequences are drawn uniformly among those of the required parity (the class), so the
    training set is balanced: the elements are drawn uniformly and the last one is set to
    give the class's parity.
    """

    name = "parity"
    n_in = 1
    n_out = 1

    def __init__(self, lengths: int | tuple[int, int] = (500, 600), noise: float = 0.0,
                 tolerance: float = 0.1, noise_distribution: str = "uniform") -> None:
        super().__init__(lengths, tolerance)
        self.noise = check_nonnegative(noise, "noise")
        self.noise_distribution = one_of(noise_distribution, "noise_distribution", NOISE_DISTRIBUTIONS)

    def default_architecture(self) -> Architecture:
        """RG's A1 with one hidden unit (the hidden unit biased, the output not), sigmoid units."""
        return Architecture.rg_a1(1, hidden="sigmoid", output="sigmoid")

    def sample(self, n: int, rng: np.random.Generator):
        labels, lengths, running = self._frame(n, rng)  # label 1 = odd number of +1's
        n, T = running.shape
        ones = rng.integers(0, 2, size=(n, T)).astype(bool) & running
        last = lengths - 1
        # Set the last element so that the parity matches the class.
        before = (ones.sum(axis=1) - ones[np.arange(n), last]) % 2
        ones[np.arange(n), last] = before != labels
        inputs = np.where(ones, 1.0, -1.0)
        if self.noise and self.noise_distribution == "uniform":
            inputs += rng.uniform(-self.noise, self.noise, size=(n, T))
        elif self.noise:
            inputs += rng.normal(0.0, self.noise, size=(n, T))
        inputs[~running] = 0.0
        return end_target_batch(inputs[:, :, None], lengths, labels[:, None].astype(float), labels)
