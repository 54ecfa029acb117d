"""The latch problem (Bengio, Simard & Frasconi 1994; RG)."""

from __future__ import annotations

import numpy as np

from evorec.network import Architecture
from evorec.task import check_nonnegative, end_target_batch

from .base import TwoClassTask


class Latch(TwoClassTask):
    """Latch: keep one bit, given at t = 0, in one tanh unit against Gaussian input noise.

    Variant I (BSF94's set-up): inputs ``[class-1 pulse, class-2 pulse, noise]``; the pulse of
    the sequence's class is 1 at t = 0, so the two pulse weights are the two class-specific
    initial inputs.  After t = 0 the noise channel carries Gaussian noise (frozen weight 1 in
    :meth:`Architecture.latch_i`).  Targets +0.8 / -0.8 at the last step.

    Variant II: one input, +1 / -1 (the class) at t = 0 and Gaussian noise afterwards;
    targets +1 / -1 at the last step; free bias, input and self weights.

    Parameters
    ----------
    variant : {"I", "II"}, default "II"
    lengths : int or (int, int), default (500, 600)
        Sequence length, or inclusive range to draw it from uniformly.  The default is RG's
        range; BSF94 varies the length as the experiment's variable.
    noise_var : float, default 0.2
        Variance of the Gaussian noise (mean 0), as BSF94 and RG.
    tolerance : float, default 0.1
        A sequence is right when the absolute error at its last step is below this (RG).

    Notes
    -----
    Class 0 is the positive class.  Training sets are balanced between the classes.
    """

    name = "latch"
    n_out = 1

    def __init__(self, variant: str = "II", lengths: int | tuple[int, int] = (500, 600),
                 noise_var: float = 0.2, tolerance: float = 0.1) -> None:
        if variant not in ("I", "II"):
            raise ValueError(f"variant must be 'I' or 'II'; got {variant!r}")
        super().__init__(lengths, tolerance)
        self.variant = variant
        self.noise_var = check_nonnegative(noise_var, "noise_var")
        self.n_in = 3 if variant == "I" else 1

    def default_architecture(self) -> Architecture:
        return Architecture.latch_i() if self.variant == "I" else Architecture.latch_ii()

    def sample(self, n: int, rng: np.random.Generator):
        labels, lengths, running = self._frame(n, rng)
        n, T = running.shape
        noise = rng.normal(0.0, np.sqrt(self.noise_var), size=(n, T))
        noise[:, 0] = 0.0
        noise[~running] = 0.0
        sign = np.where(labels == 0, 1.0, -1.0)
        if self.variant == "I":
            inputs = np.zeros((n, T, 3))
            inputs[np.arange(n), 0, labels] = 1.0
            inputs[:, :, 2] = noise
            target = 0.8 * sign
        else:
            inputs = noise[:, :, None].copy()
            inputs[:, 0, 0] = sign
            target = sign
        return end_target_batch(inputs, lengths, target[:, None], labels)
