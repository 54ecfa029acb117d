"""The two-sequence problem: BSF94 / RG flavour, and LSTM97's noisy variants 3a, 3b, 3c."""

from __future__ import annotations

import numpy as np

from evorec.checks import InvalidParameter, boolean, integer, one_of
from evorec.network import Architecture
from evorec.task import check_lengths, check_nonnegative, check_positive_count, end_target_batch

from .base import TwoClassTask

#: The variants as plain presets: the values their parameters take when left at None.
VARIANTS = {
    "bsf94": {"N": 1, "targets": (1.0, 0.0), "tolerance": 0.1, "length_rule": "bsf94",
              "informative_noise": False, "target_noise_var": 0.0},
    "3a": {"N": 3, "targets": (1.0, 0.0), "tolerance": 0.2, "length_rule": "lstm97",
           "informative_noise": False, "target_noise_var": 0.0},
    "3b": {"N": 3, "targets": (1.0, 0.0), "tolerance": 0.2, "length_rule": "lstm97",
           "informative_noise": True, "target_noise_var": 0.0},
    "3c": {"N": 3, "targets": (0.2, 0.8), "tolerance": 0.1, "length_rule": "lstm97",
           "informative_noise": True, "target_noise_var": 0.1},
}
LENGTH_RULES = ("bsf94", "lstm97")
#: Lengths of the BSF94 / RG flavour when neither ``lengths`` nor ``T`` is given (RG).
RG_LENGTHS = (500, 600)
#: ``T`` of the LSTM97 variants when neither ``lengths`` nor ``T`` is given (our choice).
LSTM97_T = 100


def lengths_for(T: int, rule: str) -> tuple[int, int]:
    """The inclusive length range a length rule gives for ``T``: BSF94 ``[T // 2, T]``,
    LSTM97 ``[T, T + T // 10]``."""
    return (T // 2, T) if rule == "bsf94" else (T, T + T // 10)


class TwoSequence(TwoClassTask):
    """Two-sequence: the class is given by the first N elements; the rest is Gaussian noise.

    The first ``N`` elements are +1 (class 0) or -1 (class 1); the others are Gaussian noise
    with mean 0 and variance ``noise_var`` (standard deviation ``sqrt(noise_var)``).  The
    target, at the last step only, is ``targets[0]`` for class 0 and ``targets[1]`` for
    class 1; a sequence is right when the absolute error there is below ``tolerance``.

    Variants (``variant``):

    - ``"bsf94"``: BSF94 / RG (docs/literature.md, "BSF94 / RG tasks"): N = 1, targets 1 / 0
      (our choice, marked as a default there), tolerance 0.1 (RG), lengths 500..600 (RG) or,
      with ``T``, BSF94's ``[T // 2, T]``.
    - ``"3a"``: LSTM97, Section 5, experiment 3a: lengths ``[T, T + T // 10]``, targets
      1.0 / 0.0, right if the absolute error is below 0.2.
    - ``"3b"``: as 3a, and the informative elements carry the same noise too (+-1 plus
      Gaussian noise of variance ``noise_var``).
    - ``"3c"``: targets 0.2 / 0.8 with Gaussian target noise of variance 0.1; right if
      ``|output - noise-free target| < 0.1``.  The informative elements are noisy as in 3b
      (our choice: docs/literature.md does not say; as we recall it, LSTM97 describes 3c as a
      modification of 3b).  The batch's ``targets`` carry the target noise (what a fitness
      and training see) and its ``criterion_targets`` the noise-free targets (what the
      success criterion compares with).

    Every parameter whose default is None takes the variant's value (``VARIANTS``) when left
    at None.

    Parameters
    ----------
    lengths : int or (int, int), default: the variant's
        Sequence length or inclusive range.  When given it wins: the lengths are exactly
        these.  If ``T`` is given as well, ``lengths`` must equal what ``T`` and
        ``length_rule`` give (else a ValueError: the two would disagree).  When neither is
        given: 500..600 (RG) for ``"bsf94"``, and ``T = 100`` for 3a/3b/3c.
    N : int, default 1 for ``"bsf94"``, 3 for 3a/3b/3c
        Number of informative elements at the start.  3 for the LSTM97 variants is our
        choice (LSTM97 reports N = 1 and N = 3 for 3a, N = 3 first).
    noise_var : float, default 0.2
        Variance of the Gaussian noise (BSF94, RG, LSTM97).
    targets : (float, float), default (1.0, 0.0); (0.2, 0.8) for 3c
        Noise-free targets of classes 0 and 1.
    tolerance : float, default 0.1 for ``"bsf94"`` and 3c, 0.2 for 3a/3b
    variant : {"bsf94", "3a", "3b", "3c"}, default "bsf94"
    T : int, optional
        Length scale; the lengths follow from it by ``length_rule``.  Default: none for
        ``"bsf94"`` (use ``lengths``), 100 for 3a/3b/3c (our choice; LSTM97 reports T = 100
        and 1000).
    length_rule : {"bsf94", "lstm97"}, default "bsf94" for ``"bsf94"``, "lstm97" otherwise
        How ``T`` gives the lengths: ``"bsf94"`` uniform in ``[T // 2, T]``, ``"lstm97"``
        uniform in ``[T, T + T // 10]`` (LSTM97's T/10, rounded down).  Only with ``T``.
    informative_noise : bool, default True for 3b/3c, False otherwise
        Add the Gaussian noise to the first N elements too.
    target_noise_var : float, default 0.1 for 3c, 0 otherwise
        Variance of the Gaussian noise LSTM97 adds to the target (mean 0).

    Notes
    -----
    Class 0 is the +1 class.  Training sets are balanced between the classes, in random
    order.  Sampling with the default variant draws exactly as before the LSTM97 variants
    were added (same random stream for the same seed).
    """

    name = "two_sequence"
    n_in = 1
    n_out = 1

    def __init__(self, lengths: int | tuple[int, int] | None = None, N: int | None = None, noise_var: float = 0.2,
                 targets: tuple[float, float] | None = None, tolerance: float | None = None,
                 variant: str = "bsf94", T: int | None = None, length_rule: str | None = None,
                 informative_noise: bool | None = None, target_noise_var: float | None = None) -> None:
        self.variant = one_of(variant, "variant", tuple(VARIANTS))
        default = VARIANTS[variant]

        def pick(name: str, value):
            return default[name] if value is None else value

        self.N = check_positive_count(pick("N", N), "N")
        self.T, self.length_rule, lengths = self._resolve_lengths(lengths, T, length_rule, default)
        super().__init__(lengths, pick("tolerance", tolerance), min_length=self.N + 1)
        self.noise_var = check_nonnegative(noise_var, "noise_var")
        targets = pick("targets", targets)
        if not (isinstance(targets, (tuple, list)) and len(targets) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in targets)):
            raise InvalidParameter("targets", f"must be a pair of numbers; got {targets!r}")
        self.targets = (float(targets[0]), float(targets[1]))
        self.informative_noise = boolean(pick("informative_noise", informative_noise), "informative_noise")
        self.target_noise_var = check_nonnegative(pick("target_noise_var", target_noise_var), "target_noise_var")

    def _resolve_lengths(self, lengths, T, length_rule, default) -> tuple[int | None, str | None, object]:
        """``(T, length_rule, lengths)`` after the precedence rules (see the class docstring)."""
        given_lengths, given_T = lengths is not None, T is not None
        rule = default["length_rule"] if length_rule is None else length_rule
        one_of(rule, "length_rule", LENGTH_RULES)
        if given_lengths:
            lengths = check_lengths(lengths, minimum=self.N + 1)
        if not given_T and (given_lengths or self.variant == "bsf94"):
            if length_rule is not None:
                raise InvalidParameter("length_rule", f"applies only with T; give T, or leave length_rule out "
                                       f"(got length_rule={length_rule!r} without T)")
            return None, None, lengths if given_lengths else RG_LENGTHS
        T = integer(LSTM97_T if not given_T else T, "T", 1)
        from_T = lengths_for(T, rule)
        if from_T[0] < self.N + 1:
            raise InvalidParameter("T", f"must give lengths of at least N + 1 = {self.N + 1}; T={T} with "
                                   f"length_rule {rule!r} gives {from_T[0]}..{from_T[1]}")
        if given_lengths and lengths != from_T:
            raise InvalidParameter("lengths", f"must agree with T when both are given: lengths={lengths} but "
                                   f"T={T} with length_rule {rule!r} gives {from_T}; give one of them")
        return T, rule, from_T

    def default_architecture(self) -> Architecture:
        """RG's A1 with one hidden unit (output unbiased), sigmoid units (our choice for targets in [0, 1])."""
        return Architecture.rg_a1(1, hidden="sigmoid", output="sigmoid")

    def sample(self, n: int, rng: np.random.Generator):
        labels, lengths, running = self._frame(n, rng)
        inputs = rng.normal(0.0, np.sqrt(self.noise_var), size=running.shape)
        sign = np.where(labels == 0, 1.0, -1.0)[:, None]
        if self.informative_noise:
            inputs[:, : self.N] += sign
        else:
            inputs[:, : self.N] = sign
        inputs[~running] = 0.0
        clean = np.asarray(self.targets)[labels]
        if not self.target_noise_var:
            return end_target_batch(inputs[:, :, None], lengths, clean[:, None], labels)
        noisy = clean + rng.normal(0.0, np.sqrt(self.target_noise_var), size=clean.shape)
        return end_target_batch(inputs[:, :, None], lengths, noisy[:, None], labels, clean[:, None])
