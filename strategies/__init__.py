"""Search strategies, one module each, registered with evorec by name (entry points)."""
from .guessing import RandomGuessing

__all__ = ["RandomGuessing"]
