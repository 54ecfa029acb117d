"""Parameter checks shared by strategies and tasks: each raises a ValueError naming the parameter."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Most elements of an array a parameter may make a strategy or model hold: 1 GiB of float64,
#: the evaluator's default memory budget (guessing on long_lag, 1000 nets of 21,735 weights,
#: holds 2.2e7).  It keeps a mistyped or hostile parameter (``chains: 1e8``) from exhausting
#: memory when a file is only validated.
MAX_ELEMENTS = 2**27


def array_size(count: int, what: str) -> int:
    """``count`` if an array of that many elements is allowed, else a ValueError naming ``what``."""
    if count > MAX_ELEMENTS:
        raise ValueError(f"{what} = {count} elements, more than the limit of {MAX_ELEMENTS} (checks.MAX_ELEMENTS)")
    return count


def positive_number(value: Any, name: str) -> float:
    """A finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or not value > 0:
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return float(value)


def nonnegative_number(value: Any, name: str) -> float:
    """A finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or not value >= 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)


def integer(value: Any, name: str, minimum: int = 1) -> int:
    """An integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def optional_integer(value: Any, name: str, minimum: int = 1) -> int | None:
    """None, or an integer >= ``minimum``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} or None; got {value!r}")
    return int(value)


def boolean(value: Any, name: str) -> bool:
    """True or False (numpy bools too), nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false; got {value!r}")
    return bool(value)
