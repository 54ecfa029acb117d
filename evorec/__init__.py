"""evorec: gradient-free search for recurrent neural networks on long-time-lag tasks.

The public names: :class:`Architecture` and :class:`Population` (the networks),
:func:`forward` and :func:`evaluate` (the shared evaluator), :func:`make_task`,
:func:`make_fitness` and :func:`make_problem` (what is searched), :class:`Budget`,
:func:`search` and :class:`RunResult` (the search loop), and :func:`load_runs` (a results
folder as a pandas DataFrame).
"""

from .batch import SequenceBatch
from .evaluate import Evaluation, evaluate, forward
from .frame import load_runs
from .network import Architecture, Population
from .problem import Problem, make_problem
from .registry import FITNESS, STRATEGIES, TASKS, make_fitness, make_task
from .strategy import Budget, RunResult, Strategy, search
from .task import Task

__all__ = [
    "FITNESS", "STRATEGIES", "TASKS", "Architecture", "Budget", "Evaluation", "Population",
    "Problem", "RunResult", "SequenceBatch", "Strategy", "Task", "evaluate", "forward",
    "load_runs", "make_fitness", "make_problem", "make_task", "search",
]
__version__ = "0.1.0"
