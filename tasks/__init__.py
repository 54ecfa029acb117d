"""Sequence tasks and the reusable fitness functions, registered by name with evorec."""
from evorec.batch import SequenceBatch
from evorec.task import Task

from .fitness import FractionWrong, MaxAbsError, MeanSquaredError, WithinTolerance
from .latch import Latch
from .parity import Parity
from .two_sequence import TwoSequence

__all__ = ["FractionWrong", "Latch", "MaxAbsError", "MeanSquaredError", "Parity", "SequenceBatch",
           "Task", "TwoSequence", "WithinTolerance"]
