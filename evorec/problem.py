"""A problem: a task, an architecture, fixed training and test sets, and how to score them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .batch import SequenceBatch
from .checks import integer
from .evaluate import DEFAULT_MEMORY_BUDGET, Evaluation, evaluate
from .model import Model
from .network import Architecture, Population
from .registry import make_fitness, make_task
from .scoring import Criterion, Fitness
from .task import ClosedLoopTask, Task, check_positive_count


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything a strategy is scored on.

    Attributes
    ----------
    task : Task
    architecture : Architecture
        The search space: fixed-topology strategies search its free parameters.
    train, test : SequenceBatch
        Fixed training set (searched on) and separate test set (reported only).
    fitness : Fitness
    criterion : Criterion
        The task's per-sequence success test; a network that gets every training sequence
        right solves the problem.
    seed : int
        Seed the data sets were drawn from.
    memory_budget, n_jobs : int
        Passed to the evaluator.
    """

    task: Task
    architecture: Architecture
    train: SequenceBatch
    test: SequenceBatch
    fitness: Fitness
    criterion: Criterion
    seed: int
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    n_jobs: int = 1

    @property
    def worst_loss(self) -> float:
        """The worst loss possible on the training set (``inf`` when the fitness is unbounded)."""
        targets, _, _ = self.train.scored_targets()
        return self.fitness.worst_for(targets, *self.architecture.output_range)

    def population(self, candidates: np.ndarray | Population) -> Population:
        """A Population from flat free-parameter vectors (or a Population, unchanged)."""
        if isinstance(candidates, Population):
            return candidates
        return Population.from_params(self.architecture, candidates)

    def evaluate(self, candidates: np.ndarray | Population, data: str = "train",
                 early_exit: bool = False, model: Model | None = None) -> Evaluation:
        """Score candidates on the training set (``data="train"``) or the test set.

        Parameters
        ----------
        candidates : ndarray or Population
            Networks of :attr:`architecture` (flat free-parameter rows or a Population), or,
            with ``model``, rows of that model's parameters.
        data : {"train", "test"}
        early_exit : bool
            Stop computing a candidate at its first wrong sequence (see :func:`evorec.evaluate`).
        model : Model, optional
            The model the candidates parameterise, when they are not evorec networks.
        """
        if data not in ("train", "test"):
            raise ValueError(f"data must be 'train' or 'test'; got {data!r}")
        return self.evaluate_batch(candidates, getattr(self, data), early_exit, model)

    def loss(self, theta: np.ndarray, data: str = "train") -> float:
        """The loss of one network, for code that scores one candidate at a time.

        A convenience over :meth:`evaluate` (the same evaluator, fitness and non-finite
        handling), so that an optimiser of another library can take evorec's problems as plain
        objective functions. Scoring a whole population with one :meth:`evaluate` call is much
        faster where the optimiser allows it: the evaluator runs the networks side by side.

        Parameters
        ----------
        theta : array_like, shape (n_params,)
            The network's free parameters, in :attr:`architecture`'s order
            (``problem.architecture.n_params`` values; see :meth:`Architecture.pack`).
        data : {"train", "test"}, default "train"
            The set to score the network on.

        Returns
        -------
        float
            The fitness of the network on that set (lower is better, 0 perfect).  Networks
            with non-finite outputs get the fitness's worst value, as in :meth:`evaluate`.

        Raises
        ------
        ValueError
            If ``theta`` is not a vector of ``n_params`` values, or ``data`` is neither set.

        Examples
        --------
        >>> import numpy as np
        >>> import evorec
        >>> problem = evorec.make_problem("latch", task_params={"variant": "II", "lengths": (5, 10)})
        >>> problem.architecture.n_params  # the bias, input and self weights of one tanh unit
        3
        >>> problem.loss(np.zeros(3))  # output 0 against targets +-1: mean squared error 1
        1.0
        """
        n_params = self.architecture.n_params
        values = np.asarray(theta, dtype=float)
        # One vector only: given a 2-D array of several rows, returning the first row's loss
        # would hide a mix-up of one network with a population (evaluate is for those).
        if values.shape != (n_params,):
            raise ValueError(f"theta must have problem.architecture.n_params = {n_params} values; "
                             f"got an array of shape {values.shape}")
        return float(self.evaluate(values[None, :], data=data).loss[0])

    def evaluate_batch(self, candidates: np.ndarray | Population, batch: SequenceBatch, early_exit: bool = False,
                       model: Model | None = None) -> Evaluation:
        """Score candidates on another batch of the task (a fresh test set, say), with the
        problem's fitness, criterion and evaluator settings; arguments as :meth:`evaluate`."""
        if model is not None:
            rows = np.asarray(candidates, dtype=float).reshape(-1, model.n_params)
            return model.evaluate(rows, batch, self.fitness, self.criterion, early_exit=early_exit,
                                  memory_budget=self.memory_budget, n_jobs=self.n_jobs)
        if isinstance(self.task, ClosedLoopTask):
            return self.task.evaluate(self.population(candidates), batch, self.fitness, self.criterion,
                                      early_exit=early_exit, memory_budget=self.memory_budget, n_jobs=self.n_jobs)
        return evaluate(self.population(candidates), batch, self.fitness, self.criterion,
                        early_exit=early_exit, memory_budget=self.memory_budget, n_jobs=self.n_jobs)


def make_problem(task: str | Task, architecture: Architecture | None = None, train_size: int = 100,
                 test_size: int = 100, fitness: str | Fitness | None = None, seed: int = 0,
                 task_params: dict[str, Any] | None = None, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                 n_jobs: int = 1) -> Problem:
    """Draw a fixed training set and a separate test set for a task.

    Parameters
    ----------
    task : str or Task
        A registered task name (built with ``task_params``) or a Task.
    architecture : Architecture, optional
        Default: the task's own (``task.default_architecture()``).
    train_size, test_size : int, default 100
        Numbers of sequences (RG: 100 each, balanced between classes).
    fitness : str or Fitness, optional
        Default: the task's ``default_fitness``.
    seed : int, default 0
        The training and test sets come from two generators spawned from
        ``SeedSequence(seed)``, so they are independent and reproducible.
    task_params : dict, optional
        Parameters for a task given by name.
    memory_budget, n_jobs : int
        Evaluator settings (see :func:`evorec.evaluate`).
    """
    if isinstance(task, str):
        task = make_task(task, **(task_params or {}))
    elif task_params:
        raise ValueError("task_params can only be given with a task name")
    if not isinstance(task, Task):
        raise ValueError(f"task must be a task name or a Task; got {type(task).__name__}")
    architecture = task.default_architecture() if architecture is None else architecture
    if not isinstance(architecture, Architecture):
        raise ValueError(f"architecture must be an Architecture; got {type(architecture).__name__}")
    if (architecture.n_in, architecture.n_out) != (task.n_in, task.n_out):
        raise ValueError(f"architecture has n_in={architecture.n_in}, n_out={architecture.n_out} but "
                         f"task {task.name!r} needs n_in={task.n_in}, n_out={task.n_out}")
    train_size = check_positive_count(train_size, "train_size")
    test_size = check_positive_count(test_size, "test_size")
    if isinstance(fitness, str) or fitness is None:
        fitness = make_fitness(fitness or task.default_fitness)
    seed = integer(seed, "seed", 0)
    train_seq, test_seq = np.random.SeedSequence(int(seed)).spawn(2)
    train = task.sample(train_size, np.random.default_rng(train_seq))
    test = task.sample(test_size, np.random.default_rng(test_seq))
    return Problem(task, architecture, train, test, fitness, task.criterion(), int(seed),
                   memory_budget, n_jobs)
