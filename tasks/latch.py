"""The latch problem (Bengio, Simard & Frasconi 1994; RG)."""

from __future__ import annotations

import numpy as np

from evorec.checks import InvalidParameter, boolean, one_of
from evorec.network import Architecture
from evorec.scoring import Criterion
from evorec.task import check_nonnegative, end_target_batch

from .base import TwoClassTask
from .fitness import SameSign, WithinTolerance

#: How a sequence is judged right: the output's sign, or its absolute error below ``tolerance``.
SUCCESS = ("sign", "error")


class Latch(TwoClassTask):
    """Latch: keep one bit, given at t = 0, in one tanh unit against Gaussian input noise.

    Variant I (BSF94's set-up): inputs ``[class-1 pulse, class-2 pulse, noise]``; the pulse of
    the sequence's class is 1 at t = 0, so the two pulse weights are the two class-specific
    initial inputs.  After t = 0 the noise channel carries Gaussian noise (frozen weight 1 in
    :meth:`Architecture.latch_i`).  Targets +0.8 / -0.8 at the last step.

    Variant II: one input, +1 / -1 (the class) at t = 0 and Gaussian noise afterwards, added to
    the sequence elements so that it reaches the unit through the input weight (the literal
    reading of BSF94); targets +1 / -1 at the last step; free bias, input and self weights.

    Parameters
    ----------
    variant : {"I", "II"}, default "II"
    lengths : int or (int, int), default (500, 600)
        Sequence length, or inclusive range to draw it from uniformly.  The default is RG's
        range; BSF94 varies the length as the experiment's variable.
    noise_var : float, default 0.2
        Variance of the Gaussian noise (mean 0), as BSF94 and RG ("variance 0.2": standard
        deviation about 0.447; ``noise_var=0.04`` is the standard deviation 0.2 reading).
    tolerance : float, default 0.1
        With ``success="error"``: a sequence is right when the absolute error at its last step
        is below this (RG's criterion for its other tasks).
    success : {"sign", "error"}, optional
        How a sequence is judged right.  Default: ``"sign"`` for variant I (the output has the
        target's sign), ``"error"`` for variant II.  Variant I's targets are +-0.8 while a
        latched tanh unit saturates near +-1, 0.2 away, and the noise enters with weight 1 at
        the last step, so |error| < 0.1 is almost never met; BSF94 scores the latch by
        classification, and RG explains its 6 trials for variant I by "it almost suffices to
        get the parameter signs right (there are only 8 sign combinations)", which holds only
        for the sign.  (docs/literature.md, "BSF94 / RG tasks".)
    noise_line : bool, default False
        Variant II only: give the noise its own input line with the fixed weight 1 (as variant
        I does) instead of adding it to the sequence elements.  A reading RG leaves open.

    Notes
    -----
    Class 0 is the positive class.  Training sets are balanced between the classes.
    """

    name = "latch"
    n_out = 1

    def __init__(self, variant: str = "II", lengths: int | tuple[int, int] = (500, 600),
                 noise_var: float = 0.2, tolerance: float = 0.1, success: str | None = None,
                 noise_line: bool = False) -> None:
        one_of(variant, "variant", ("I", "II"))
        super().__init__(lengths, tolerance)
        self.variant = variant
        self.noise_var = check_nonnegative(noise_var, "noise_var")
        self.success = None if success is None else one_of(success, "success", SUCCESS)
        #: The criterion in force: ``success``, or the variant's default when it is None.
        self.success_rule = ("sign" if variant == "I" else "error") if success is None else success
        self.noise_line = boolean(noise_line, "noise_line")
        if self.noise_line and variant == "I":
            raise InvalidParameter("noise_line", "applies to variant II only (variant I always has its own noise "
                                   "line)")
        self.n_in = 3 if variant == "I" else 2 if self.noise_line else 1

    def default_architecture(self) -> Architecture:
        return Architecture.latch_i() if self.variant == "I" else Architecture.latch_ii(self.noise_line)

    def criterion(self) -> Criterion:
        return SameSign() if self.success_rule == "sign" else WithinTolerance(self.tolerance)

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
        elif self.noise_line:
            inputs = np.zeros((n, T, 2))
            inputs[:, 0, 0] = sign
            inputs[:, :, 1] = noise
            target = sign
        else:
            inputs = noise[:, :, None].copy()
            inputs[:, 0, 0] = sign
            target = sign
        return end_target_batch(inputs, lengths, target[:, None], labels)
