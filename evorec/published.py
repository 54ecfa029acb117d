"""Published figures to set beside an experiment's results (``evorec/data/published.yaml``).

The file lists numbers from the papers, each tied to the runs it describes::

    figures:
      - experiment: lstm97                      # the experiment's ``name``
        match: {task: {name: adding, params: {T: 100}}, strategy: lstm}
        metric: sequences_mean                  # see METRICS
        value: 74000
        source: "Hochreiter & Schmidhuber 1997, Neural Computation 9(8)"
        section: "Sec. 5.4, Table 7"
        note: "optional free text"
        method: "optional: the method the figure is for, when not the row's own (e.g. RTRL)"

``match`` is compared with the fields of each run record (``task``, ``architecture``,
``strategy`` (the label), ``strategy_name``, ``cell``, ...): every key given must be in the
record with an equal value; mappings are compared as subsets, recursively, lists element by
element and exactly, and an int equals the float of the same value (a bool is not a number).
Task parameters in a record are the ones the experiment file gave, not the task's defaults.
A summary row (a grid cell and a strategy) gets a figure when every one of its runs matches.
Loading is strict: an unknown key, a missing field or a wrong type is an error naming the
file, line, column, entry and field.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .fielderrors import ConfigError, FieldErrors, Locator, check_unknown_keys, suggest
from .safeyaml import YAMLFileError, read_yaml

#: The figures shipped with evorec (the papers' tables that the shipped experiments repeat).
DEFAULT_FILE = Path(__file__).parent / "data" / "published.yaml"
#: What a published value measures, and how it is shown: (unit, statistic).
METRICS = {
    "success_rate": ("success", None),
    "evaluations_mean": ("evals", "mean"),
    "evaluations_median": ("evals", "median"),
    "sequences_mean": ("seqs", "mean"),
    "sequences_median": ("seqs", "median"),
    "training_sequences_mean": ("training seqs", "mean"),
}
REQUIRED = ("experiment", "match", "metric", "value", "source", "section")
KEYS = (*REQUIRED, "note", "method")


@dataclass(frozen=True)
class PublishedFigure:
    """One published number and where it comes from."""

    experiment: str
    match: dict[str, Any]
    metric: str
    value: float
    source: str
    section: str
    note: str = ""
    #: The method the figure describes when it is not the row's own (e.g. ``RTRL`` beside an
    #: LSTM row); shown before the value.
    method: str = ""
    where: str = field(default="", compare=False)  # FILE:LINE of the entry

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a run record has every field of ``match`` with an equal value."""
        return _subset(self.match, record)

    def short(self) -> str:
        """The value and a short citation, e.g. ``74000 seqs (mean) [Hochreiter & Schmidhuber 1997, Sec. 5.4]``.

        The citation is ``source`` up to its first year (``Schmidhuber, Hochreiter & Bengio
        2001``; without parentheses; when there is one within 60 characters), or else up to its
        first comma outside parentheses, and ``section`` up to its first comma outside
        parentheses without parenthesised remarks.
        """
        year = re.search(r"\b(?:1[89]|20)\d\d[a-z]?\b", self.source)
        source = re.sub(r"\s+", " ", re.sub(r"[()]", "", self.source[:year.end()])).strip() if year else ""
        if not source or len(source) > 60:
            source = _short(self.source)
        return f"{self.shown()} [{source}, {_short(self.section)}]"

    def shown(self) -> str:
        """The value with its unit and statistic, e.g. ``74000 seqs (mean)`` or ``85% success``."""
        unit, statistic = METRICS[self.metric]
        method = f"{self.method}: " if self.method else ""
        if self.metric == "success_rate":
            return f"{method}{_format(100 * self.value)}% success"
        return f"{method}{_format(self.value)} {unit} ({statistic})"

    def full(self) -> str:
        """The value with its full source, section and note (one line, Markdown)."""
        note = f" — {self.note}" if self.note else ""
        return f"{self.shown()}: {self.source}, {self.section}{note}"


def _short(text: str) -> str:
    """``text`` up to its first comma outside parentheses, without parenthesised parts."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth <= 0:
            text = text[:i]
            break
    return re.sub(r"\s*\([^()]*\)", "", text).strip() or text.strip()


def _format(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e7:
        return str(int(value))
    return f"{value:.3g}"


def _numeric_text(value: Any) -> bool:
    try:
        return isinstance(value, str) and math.isfinite(float(value))
    except ValueError:
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(expected: Any, actual: Any) -> bool:
    """Exact equality, except that an int equals the float of the same value."""
    if _is_number(expected) or _is_number(actual):
        return _is_number(expected) and _is_number(actual) and expected == actual
    if isinstance(expected, dict) or isinstance(actual, dict):
        return (isinstance(expected, dict) and isinstance(actual, dict) and expected.keys() == actual.keys()
                and all(_equal(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list) or isinstance(actual, list):
        return (isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual)
                and all(_equal(e, a) for e, a in zip(expected, actual, strict=True)))
    return type(expected) is type(actual) and expected == actual


def _subset(expected: Any, actual: Any) -> bool:
    """``expected`` as a recursive subset of ``actual``: mappings by their given keys, the rest exactly."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _subset(v, actual[k]) for k, v in expected.items())
    return _equal(expected, actual)


def load_published(path: str | os.PathLike) -> list[PublishedFigure]:
    """Read and check a published-figures file.

    Parameters
    ----------
    path : str or path-like
        A YAML file with a ``figures`` list (see the module docstring).

    Returns
    -------
    list of PublishedFigure

    Raises
    ------
    ConfigError
        One line per problem: ``FILE:LINE:COLUMN: figures[i].field: message``.
    """
    filename = str(path)
    try:
        document, node = read_yaml(path)
    except YAMLFileError as error:
        raise ConfigError([str(error)]) from None
    locator = Locator(node)
    errors = FieldErrors(filename, locator)
    if document is None:
        document = {"figures": []}
    if not isinstance(document, dict):
        errors.add((), "a published-figures file must be a mapping with one key, figures")
        errors.raise_if_any()
    check_unknown_keys(document, (), ("figures",), errors)
    entries = document.get("figures", [])
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        errors.add(("figures",), f"must be a list of entries; got {type(entries).__name__}")
        errors.raise_if_any()
    figures = []
    for i, entry in enumerate(entries):
        figure = _entry(entry, ("figures", i), errors)
        if figure is not None:
            line, _ = locator.where(("figures", i))
            figures.append(PublishedFigure(**figure, where=f"{filename}:{line}"))
    errors.raise_if_any()
    return figures


def _entry(entry: Any, path: tuple[str | int, ...], errors: FieldErrors) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        errors.add(path, f"must be a mapping with keys {', '.join(REQUIRED)} (and optionally note, method); "
                         f"got {type(entry).__name__}")
        return None
    before = len(errors.lines)
    check_unknown_keys(entry, path, KEYS, errors)
    for key in REQUIRED:
        if key not in entry:
            errors.add(path + (key,), "is required", at=path)
    for key in ("experiment", "source", "section"):
        value = entry.get(key)
        if key in entry and (not isinstance(value, str) or not value.strip()):
            errors.add(path + (key,), f"must be a non-empty string; got {value!r}")
    for key in ("note", "method"):
        if key in entry and not isinstance(entry[key], str):
            errors.add(path + (key,), f"must be a string; got {entry[key]!r}")
    if "match" in entry and (not isinstance(entry["match"], dict) or not entry["match"]):
        errors.add(path + ("match",), "must be a non-empty mapping of run-record fields to values, "
                                      f"e.g. {{strategy: lstm}}; got {entry['match']!r}")
    metric = entry.get("metric")
    if "metric" in entry and metric not in METRICS:
        errors.add(path + ("metric",), f"must be one of {', '.join(METRICS)}; got {metric!r}"
                                       f"{suggest(str(metric), list(METRICS))}")
    value = entry.get("value")
    if "value" in entry:
        if not _is_number(value) or not math.isfinite(value):
            hint = " (YAML reads 1.5e3 as text: write 1.5e+3 or 1500)" if _numeric_text(value) else ""
            errors.add(path + ("value",), f"must be a finite number; got {value!r}{hint}")
        elif metric == "success_rate" and not 0 <= value <= 1:
            errors.add(path + ("value",), f"a success rate is a fraction in [0, 1]; got {value!r}")
        elif metric in METRICS and metric != "success_rate" and value <= 0:
            errors.add(path + ("value",), f"a cost must be positive; got {value!r}")
    if len(errors.lines) > before:
        return None
    return {key: entry[key] for key in KEYS if key in entry}


def figures_for(figures: list[PublishedFigure], experiment: str | None,
                runs: list[dict[str, Any]]) -> list[PublishedFigure]:
    """The figures of ``experiment`` that match every one of ``runs`` (none when there are no runs)."""
    if experiment is None or not runs:
        return []
    return [f for f in figures if f.experiment == experiment and all(f.matches(run) for run in runs)]
