"""Noise-free sequences with long time lags (LSTM97, Section 5, experiment 2: tasks 2a, 2b, 2c)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import InvalidParameter, integer, number_in, one_of, positive_number
from evorec.network import Architecture
from evorec.task import Task, balanced_labels, check_positive_count, end_target_batch, running_mask

from .fitness import WithinTolerance

VARIANTS = ("2a", "2b", "2c")
SCORE_STEPS = ("all", "final")


class LongLag(Task):
    """Long time lags without noise: remember the first symbol until the end (LSTM97 exp. 2).

    **2a** (p + 1 one-hot symbols a1 ... a(p-1), x, y): only two sequences,
    ``(x, a1, a2, ..., a(p-1), x)`` and ``(y, a1, ..., a(p-1), y)``, each with probability
    0.5.  The net predicts the next symbol at every step: the input at step t is element t,
    the target is element t + 1, one-hot; the last element is only a target, so a sequence
    is ``p`` steps long.  Right when every output is within 0.25 of its target (LSTM97:
    maximal absolute output error below 0.25).
    **2b**: as 2a, but the ``p - 1`` middle elements are random distractors from a1 ... a(p-1).
    **2c** (p + 4 one-hot inputs a1 ... ap, e, b, x, y; 2 outputs): b, then x or y, then
    ``q`` random distractors from a1 ... ap, then further elements, each the trigger e with
    probability ``trigger_prob`` and a distractor otherwise, up to and including the first e.
    After e comes the x or y to predict: the only target, at the step whose input is e (the
    final x or y is not fed).  Right when both outputs are within 0.2 of their targets.

    Symbols are numbered as listed: for 2a/2b a1 ... a(p-1) are units 0 ... p-2, x is p-1
    and y is p; for 2c a1 ... ap are units 0 ... p-1, then e, b, x, y.  ``labels`` are 0 for
    x and 1 for y.

    Parameters
    ----------
    variant : {"2a", "2b", "2c"}, default "2a"
    p : int, default 100
        2a/2b: p + 1 symbols, p - 1 of them a's; 2c: p distractors.  100 is LSTM97's (2a, 2b
        and the first 2c set-up).  At least 2 for 2a/2b and 1 for 2c.
    q : int, optional
        2c only: number of distractors before the trigger may come; default 100 (LSTM97's
        first 2c set-up, q = p = 100).
    trigger_prob : float, optional
        2c only: probability that an element after the first ``q`` distractors is the trigger
        e; default 0.1 (LSTM97).
    distractor_probs : sequence of float, optional
        2b and 2c: the probabilities of the distractors (p - 1 of them for 2b, p for 2c),
        drawn independently at each position.  Default: uniform (our choice; LSTM97 says
        only "random").
    score_steps : {"all", "final"}, optional
        2a and 2b: which steps carry targets.  ``"all"``: every step, as LSTM97 trains (the
        default for 2a).  ``"final"``: only the last step, the prediction of the final x or y
        (the default for 2b, our choice).  In 2b the middle elements are random, so no net
        can predict them within 0.25; as the fitness and the success test read the same
        targets, 2b with ``"all"`` can never be solved: LSTM97's 0.25 test can only be
        passed on the final prediction.
    end_targets : ((float, float), (float, float)), optional
        2c only: the two outputs' targets when the answer is x and when it is y; default
        ``((1.0, 0.0), (0.0, 1.0))`` (our choice: one output per answer).
    tolerance : float, optional
        A scored step is right when every output is within ``tolerance`` of its target;
        default 0.25 for 2a/2b and 0.2 for 2c (LSTM97).

    Notes
    -----
    Our choices where LSTM97 is silent: the classes (x or y) are balanced within a sample
    and in random order, as in the other two-class tasks; the default fitness is ``mse``;
    the default architecture is an RNN, not LSTM97's LSTM net.  LSTM97 declares success after
    10,000 successive random sequences; here the test is the criterion on whatever sets are
    drawn.
    """

    name = "long_lag"

    def __init__(self, variant: str = "2a", p: int = 100, q: int | None = None,
                 trigger_prob: float | None = None, distractor_probs: Sequence[float] | None = None,
                 score_steps: str | None = None, end_targets: Sequence[Sequence[float]] | None = None,
                 tolerance: float | None = None) -> None:
        self.variant = one_of(variant, "variant", tuple(VARIANTS))
        two_c = variant == "2c"
        self.p = integer(p, "p", 1 if two_c else 2)
        self.q = self.trigger_prob = self.end_targets = self.score_steps = None  # set where they apply
        for param, value, needs in (("q", q, two_c), ("trigger_prob", trigger_prob, two_c),
                                    ("end_targets", end_targets, two_c),
                                    ("score_steps", score_steps, not two_c),
                                    ("distractor_probs", distractor_probs, variant != "2a")):
            if value is not None and not needs:
                raise InvalidParameter(param, f"does not apply to variant {variant!r}; leave it out")
        if two_c:
            self.q = integer(100 if q is None else q, "q", 0)
            self.trigger_prob = number_in(0.1 if trigger_prob is None else trigger_prob, "trigger_prob", 0.0, 1.0,
                                          low_open=True)
            self.end_targets = _check_end_targets(((1.0, 0.0), (0.0, 1.0)) if end_targets is None else end_targets)
            self.n_in, self.n_out = self.p + 4, 2
        else:
            self.score_steps = one_of({"2a": "all", "2b": "final"}[variant] if score_steps is None else score_steps,
                                      "score_steps", SCORE_STEPS)
            self.n_in = self.n_out = self.p + 1
        self._n_distractors = self.p if two_c else self.p - 1
        self.distractor_probs = (None if distractor_probs is None
                                 else _check_probs(distractor_probs, self._n_distractors))
        default_tol = 0.2 if two_c else 0.25
        self.tolerance = positive_number(default_tol if tolerance is None else tolerance, "tolerance")

    def default_architecture(self) -> Architecture:
        """Fully recurrent, all non-input units biased; 4 sigmoid hidden units and sigmoid outputs
        (ours; LSTM97 used LSTM)."""
        return Architecture.fully_recurrent(self.n_in, 4, self.n_out, hidden="sigmoid", output="sigmoid")

    def criterion(self) -> WithinTolerance:
        return WithinTolerance(self.tolerance)

    def sample_steps(self, n: int) -> int:
        if self.variant != "2c":
            return self.p
        # 2 + q + a geometric number of elements: its 1 - 1/(100 n) quantile, which n draws
        # exceed with probability about 1 %.
        tail = math.log(100 * max(int(n), 1)) / -math.log1p(-self.trigger_prob) if self.trigger_prob < 1 else 0
        return 2 + self.q + 1 + math.ceil(tail)

    def _distractors(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        if self.distractor_probs is None:
            return rng.integers(0, self._n_distractors, size=shape)
        return rng.choice(self._n_distractors, size=shape, p=self.distractor_probs)

    def sample(self, n: int, rng: np.random.Generator) -> SequenceBatch:
        n = check_positive_count(n)
        labels = balanced_labels(n, 2, rng)  # 0: x, 1: y
        if self.variant == "2c":
            return self._sample_2c(labels, rng)
        p = self.p
        x = p - 1  # unit of x; y is p
        elements = np.empty((n, p + 1), dtype=np.int64)
        elements[:, 0] = elements[:, p] = x + labels
        if self.variant == "2a":
            elements[:, 1:p] = np.arange(p - 1)
        else:
            elements[:, 1:p] = self._distractors((n, p - 1), rng)
        eye = np.eye(p + 1)
        inputs, targets = eye[elements[:, :p]], eye[elements[:, 1:]]
        lengths = np.full(n, p, dtype=np.int64)
        mask = np.ones((n, p), dtype=bool)
        if self.score_steps == "final":
            mask[:, :-1] = False
            targets[:, :-1] = 0.0
        return SequenceBatch(inputs, targets, mask, lengths, labels)

    def _sample_2c(self, labels: np.ndarray, rng: np.random.Generator) -> SequenceBatch:
        n, p, q = labels.size, self.p, self.q
        e, b, x = p, p + 1, p + 2  # units of e, b, x (y is p + 3)
        after_q = rng.geometric(self.trigger_prob, size=n)  # elements after the q distractors, e included
        lengths = 2 + q + after_q
        steps = int(lengths.max())
        symbol = np.empty((n, steps), dtype=np.int64)
        symbol[:, 0], symbol[:, 1] = b, x + labels
        symbol[:, 2:] = self._distractors((n, steps - 2), rng)
        symbol[np.arange(n), lengths - 1] = e
        running = running_mask(lengths, steps)
        inputs = np.eye(p + 4)[symbol] * running[:, :, None]
        return end_target_batch(inputs, lengths, np.asarray(self.end_targets)[labels], labels)


def _check_probs(probs: Sequence[float], k: int) -> tuple[float, ...]:
    ok = (isinstance(probs, (tuple, list, np.ndarray)) and len(probs) == k
          and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                  and math.isfinite(v) and v >= 0 for v in probs))
    if not ok or not math.isclose(sum(probs), 1.0, rel_tol=0, abs_tol=1e-9):
        raise InvalidParameter("distractor_probs", f"must be {k} non-negative numbers summing to 1 (one per "
                               f"distractor); got {probs!r}")
    return tuple(float(v) for v in probs)


def _check_end_targets(value: Sequence[Sequence[float]]) -> tuple[tuple[float, float], tuple[float, float]]:
    ok = (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(pair, (tuple, list)) and len(pair) == 2
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                          for v in pair) for pair in value))
    if not ok:
        raise InvalidParameter("end_targets", f"must be two pairs of numbers (the outputs' targets for x, then "
                               f"for y); got {value!r}")
    return tuple((float(pair[0]), float(pair[1])) for pair in value)
