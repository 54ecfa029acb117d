"""Parameter checks shared by strategies, tasks, fitness functions and architectures.

Each check returns the value in its canonical form (a float, an int, a tuple) or raises
:class:`InvalidParameter`, a ValueError that carries the parameter's name, so that an
experiment file's error points at the parameter's own line without parsing the message.
Every parameter check in evorec goes through here, so one parameter is judged the same way
wherever it appears (a tolerance of ``inf`` is refused everywhere, say).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Most elements of an array a parameter may make a strategy or model hold: 1 GiB of float64,
#: the evaluator's default memory budget (guessing on long_lag, 1000 nets of 21,735 weights,
#: holds 2.2e7).  It keeps a mistyped or hostile parameter (``chains: 1e8``) from exhausting
#: memory when a file is only validated.
MAX_ELEMENTS = 2**27


class InvalidParameter(ValueError):
    """A parameter's value is not allowed.

    Parameters
    ----------
    name : str
        The parameter, as the constructor (and an experiment file) names it.
    message : str
        What is allowed and what was given, without the name: ``"must be ...; got ..."``.

    Attributes
    ----------
    name : str
        The parameter's name, for callers that locate the error (``evorec.config``).
    """

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name} {message}")
        self.name = name


def array_size(count: int, name: str, what: str) -> int:
    """``count`` if an array of that many elements is allowed, else an error naming ``name``.

    ``name`` is the parameter that sizes the array (``"chains"``), ``what`` says how
    (``"chains x free parameters"``).
    """
    if count > MAX_ELEMENTS:
        raise InvalidParameter(name, f"gives an array of {count} elements ({what}), more than the limit of "
                               f"{MAX_ELEMENTS} (checks.MAX_ELEMENTS)")
    return count


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))


def positive_number(value: Any, name: str) -> float:
    """A finite number > 0."""
    if not _is_number(value) or not math.isfinite(value) or not value > 0:
        raise InvalidParameter(name, f"must be a positive finite number; got {value!r}")
    return float(value)


def nonnegative_number(value: Any, name: str) -> float:
    """A finite number >= 0."""
    if not _is_number(value) or not math.isfinite(value) or not value >= 0:
        raise InvalidParameter(name, f"must be a finite number >= 0; got {value!r}")
    return float(value)


def integer(value: Any, name: str, minimum: int = 1) -> int:
    """An integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameter(name, f"must be an integer >= {minimum}; got {value!r}")
    return int(value)


def optional_integer(value: Any, name: str, minimum: int = 1) -> int | None:
    """None, or an integer >= ``minimum``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidParameter(name, f"must be an integer >= {minimum} or None; got {value!r}")
    return int(value)


def boolean(value: Any, name: str) -> bool:
    """True or False (numpy bools too), nothing else."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameter(name, f"must be true or false; got {value!r}")
    return bool(value)


def number_in(value: Any, name: str, low: float, high: float, *, low_open: bool = False,
              high_open: bool = False) -> float:
    """A finite number in the interval from ``low`` to ``high`` (open at either end on request)."""
    above = _is_number(value) and math.isfinite(value) and (value > low if low_open else value >= low)
    if not (above and (value < high if high_open else value <= high)):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise InvalidParameter(name, f"must be a number in {interval}; got {value!r}")
    return float(value)


def one_of(value: Any, name: str, choices: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``choices`` (compared by type and value: ``True`` is not ``1``)."""
    if not any(type(value) is type(choice) and value == choice for choice in choices):
        raise InvalidParameter(name, f"must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def integer_pair(value: Any, name: str, minimum: int = 0) -> tuple[int, int]:
    """A pair ``(lo, hi)`` of integers with ``minimum <= lo <= hi`` (a list is accepted too)."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(
        not isinstance(v, bool) and isinstance(v, (int, np.integer)) for v in value)
    if not ok or not minimum <= value[0] <= value[1]:
        raise InvalidParameter(name, f"must be a pair (lo, hi) of integers with {minimum} <= lo <= hi; got {value!r}")
    return int(value[0]), int(value[1])
