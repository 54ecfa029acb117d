"""Search strategies, one module each, registered with evorec by name (entry points)."""
from .annealing import SimulatedAnnealing
from .cmaes import CMAES
from .gnarl import GNARL
from .gradient import BPTT
from .guessing import RandomGuessing
from .multigrid import MultiGridSearch

__all__ = ["BPTT", "CMAES", "GNARL", "MultiGridSearch", "RandomGuessing", "SimulatedAnnealing"]
