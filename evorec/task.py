"""The task contract: what a sequence task tells the rest of evorec."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .batch import SequenceBatch
from .checks import InvalidParameter, integer, nonnegative_number
from .evaluate import DEFAULT_MEMORY_BUDGET, Evaluation
from .network import Architecture, Population
from .params import HasParams
from .scoring import Criterion, Fitness


class Task(HasParams):
    """A sequence task: sizes, data generator, and the paper's defaults for scoring it.

    Subclasses set ``name``, ``n_in`` and ``n_out`` and implement :meth:`sample`,
    :meth:`default_architecture` and :meth:`criterion`.

    A *closed-loop* task (an agent whose outputs decide its next inputs, like the ant) derives
    from :class:`ClosedLoopTask` instead.
    """

    name: str = ""
    n_in: int = 0
    n_out: int = 0
    #: Registered name of the fitness function used when an experiment names none.
    default_fitness: str = "mse"
    #: True for tasks whose inputs depend on the networks' outputs (:class:`ClosedLoopTask`).
    closed_loop: ClassVar[bool] = False

    def sample(self, n: int, rng: np.random.Generator) -> SequenceBatch:
        """Draw ``n`` sequences as the source paper defines them."""
        raise NotImplementedError

    def default_architecture(self) -> Architecture:
        """The architecture the source paper uses for this task."""
        raise NotImplementedError

    def criterion(self) -> Criterion:
        """The paper's test of whether one sequence is handled correctly."""
        raise NotImplementedError

    def sample_steps(self, n: int) -> int | None:
        """Steps of a batch of ``n`` sequences (its longest sequence), known before drawing it.

        Experiment files are checked with it, so that a file asking for sequences that do not
        fit in memory is refused before anything is drawn.  Where lengths are drawn from an
        unbounded distribution it is a high quantile for ``n`` draws.  The default, None,
        means unknown (tasks whose lengths do not depend on their parameters).
        """
        return None

    def sample_bytes(self, n: int) -> int:
        """About the bytes of ``sample(n)``: float64 inputs, targets and criterion targets, two masks.

        Where :meth:`sample_steps` is unknown it counts one step per sequence: a lower bound,
        which still refuses absurd numbers of sequences.
        """
        steps = self.sample_steps(n) or 1
        return int(n) * int(steps) * (8 * (int(self.n_in) + 2 * int(self.n_out)) + 2)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class ClosedLoopTask(Task):
    """A task whose inputs depend on the networks' outputs: an agent in an environment.

    The sequence evaluator cannot run it, since the inputs are not known in advance: the task
    drives the networks itself (with :class:`evorec.stepper.Stepper`, one step per call) in
    :meth:`evaluate`, which :meth:`evorec.problem.Problem.evaluate` calls instead of the
    sequence evaluator.  Its :meth:`sample` still returns a SequenceBatch describing the
    episodes: their lengths and the scored targets (what an episode's score is compared with,
    so the targets' last axis is the score's, not the networks' outputs).
    """

    closed_loop: ClassVar[bool] = True

    def evaluate(self, population: Population, batch: SequenceBatch, fitness: Fitness, criterion: Criterion,
                 *, early_exit: bool = False, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                 n_jobs: int = 1) -> Evaluation:
        """Run every network of ``population`` through ``batch``'s episodes and score them.

        The arguments and the returned Evaluation are those of :func:`evorec.evaluate`.
        """
        raise NotImplementedError


def check_lengths(lengths: int | tuple[int, int] | list[int], minimum: int = 1) -> tuple[int, int]:
    """Normalise a ``lengths`` parameter: an int (fixed) or an inclusive ``(min, max)`` pair."""
    if isinstance(lengths, (int, np.integer)) and not isinstance(lengths, bool):
        lengths = (int(lengths), int(lengths))
    ok = (isinstance(lengths, (tuple, list)) and len(lengths) == 2
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in lengths))
    if not ok or not minimum <= lengths[0] <= lengths[1]:
        raise InvalidParameter("lengths", f"must be an integer or a pair (min, max) with {minimum} <= min <= max; "
                         f"got {lengths!r}")
    return int(lengths[0]), int(lengths[1])


def check_positive_count(n: int, name: str = "n") -> int:
    """A count of at least 1 (a ValueError naming ``name`` otherwise)."""
    return integer(n, name, 1)


def check_nonnegative(value: float, name: str) -> float:
    """A finite number >= 0 (a ValueError naming ``name`` otherwise)."""
    return nonnegative_number(value, name)


def balanced_labels(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` class labels, as equal in number as ``n`` allows, in random order.

    When ``n`` is not a multiple of ``n_classes``, the classes that get one sequence more are
    drawn at random, so every class stays equally likely.
    """
    return rng.permutation((np.arange(n) + rng.integers(n_classes)) % n_classes)


def running_mask(lengths: np.ndarray, steps: int | None = None) -> np.ndarray:
    """``(B, steps)`` flags: step ``t`` lies within sequence ``b``'s length (default steps: the longest)."""
    steps = int(lengths.max()) if steps is None else steps
    return np.arange(steps)[None, :] < lengths[:, None]


def end_target_batch(inputs: np.ndarray, lengths: np.ndarray, final_targets: np.ndarray,
                     labels: np.ndarray, final_criterion_targets: np.ndarray | None = None) -> SequenceBatch:
    """A batch whose only scored step is the last step of each sequence.

    ``final_criterion_targets`` (optional, shape of ``final_targets``) become the batch's
    ``criterion_targets`` at those steps.
    """
    B, T = inputs.shape[:2]
    last = lengths - 1

    def at_last(values: np.ndarray) -> np.ndarray:
        full = np.zeros((B, T, values.shape[1]))
        full[np.arange(B), last] = values
        return full

    mask = np.zeros((B, T), dtype=bool)
    mask[np.arange(B), last] = True
    clean = None if final_criterion_targets is None else at_last(final_criterion_targets)
    return SequenceBatch(inputs, at_last(final_targets), mask, lengths, labels, clean)
