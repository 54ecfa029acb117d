"""What a problem can score: evorec networks, or another model whose candidates are vectors.

Every strategy's candidates go through :meth:`evorec.problem.Problem.evaluate`, so costs and
scores are counted one way.  Candidates are evorec networks of the problem's architecture
unless the strategy names another :class:`Model` (its ``model`` attribute), such as the LSTM
baseline (:class:`evorec.rnn.LSTM`): then they are rows of free parameters of that model, and
the problem hands them to the model's own :meth:`Model.evaluate`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .batch import SequenceBatch
from .evaluate import Evaluation
from .scoring import Criterion, Fitness


@runtime_checkable
class Model(Protocol):
    """A parametric sequence model that can score many parameter vectors on a batch.

    Attributes
    ----------
    n_params : int
        Length of one candidate's parameter vector.
    """

    n_params: int

    def evaluate(self, candidates: np.ndarray, batch: SequenceBatch, fitness: Fitness, criterion: Criterion, *,
                 early_exit: bool = False, memory_budget: int = ..., n_jobs: int = 1) -> Evaluation:
        """Score each row of ``candidates`` (shape ``(P, n_params)``) on ``batch``.

        Returns an Evaluation as :func:`evorec.evaluate` does: loss, wrong sequences, solved,
        and the sequences and steps each candidate cost.  ``early_exit``, ``memory_budget`` and
        ``n_jobs`` are the evaluator's settings; a model may ignore those it cannot use.
        """
        ...
