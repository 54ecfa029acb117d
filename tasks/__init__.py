"""Sequence tasks and the reusable fitness functions, registered by name with evorec."""
from evorec.batch import SequenceBatch
from evorec.task import Task

from .adding import Adding, Multiplication
from .ant import Ant
from .fitness import (
    AllWithin,
    ArgmaxCorrect,
    ArgmaxWrong,
    CrossEntropy,
    FoodMissed,
    FractionWrong,
    MaxAbsError,
    MeanSquaredError,
    NextSymbolCorrect,
    NextSymbolWrong,
    SameSign,
    SumSquaredError,
    WithinTolerance,
)
from .latch import Latch
from .long_lag import LongLag
from .parity import Parity
from .reber import EmbeddedReber
from .temporal_order import TemporalOrder
from .tomita import Tomita
from .two_sequence import TwoSequence

__all__ = ["Adding", "AllWithin", "Ant", "ArgmaxCorrect", "ArgmaxWrong", "CrossEntropy", "EmbeddedReber",
           "FoodMissed", "FractionWrong", "LongLag", "MaxAbsError", "MeanSquaredError", "Multiplication",
           "NextSymbolCorrect", "NextSymbolWrong", "Parity", "SameSign", "SequenceBatch", "SumSquaredError", "Task",
           "TemporalOrder", "Tomita", "TwoSequence", "WithinTolerance", "Latch"]
