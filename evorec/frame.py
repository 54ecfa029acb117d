"""The runs of a results folder as a pandas DataFrame, one row per run, for analyses of one's own.

The summary tables answer the questions the papers ask (success rate, cost to solve); a
DataFrame answers the others (cost against a task parameter, one strategy's seeds, the runs
that failed).  The records are read by :class:`evorec.results.ResultsStore`, the reader
``evorec report`` uses, so a folder gives the same runs, warnings and errors here as there.
pandas is the optional ``pandas`` extra, imported only when a frame is asked for.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .results import ResultsStore, latest

if TYPE_CHECKING:  # pandas is optional: only type checkers import it here
    import pandas

PANDAS_MISSING = 'evorec.load_runs needs pandas: pip install "evorec[pandas]"'
#: What identifies a run: its id, its grid cell as the summary tables key it, its strategy, its seed.
RUN_COLUMNS = ("run_id", "cell", "strategy", "strategy_name", "seed")
#: What a run did, after the settings' columns.  ``training_sequences`` comes from the record's
#: ``info`` (the gradient strategies report it); the others are the record's own fields.
OUTCOME_COLUMNS = ("status", "solved", "evaluations", "sequences", "steps", "training_sequences", "best_loss",
                   "train_error", "test_error", "seconds", "wall_seconds", "error")
#: The record's settings: field -> (column prefix, the key that names it).  They are the run's
#: whole settings (its cell holds only what the grid changed), with a strategy's own budget
#: where it has one.  A setting's name is the bare column (``task``; an architecture's preset)
#: and its parameters follow the dot (``task.T``), as the report writes ``task=adding(T=100)``.
SETTINGS = {"task": ("task", "name"), "architecture": ("architecture", "preset"), "fitness": ("fitness", "name"),
            "data": ("data", None), "budget": ("budget", None), "strategy_params": ("strategy", None)}
_NUMBERS = ("evaluations", "sequences", "steps", "training_sequences", "best_loss", "train_error", "test_error",
            "seconds", "wall_seconds")


def load_runs(folder: str | os.PathLike) -> pandas.DataFrame:
    """The runs of an experiment's output folder, one row per run.

    Parameters
    ----------
    folder : str or path-like
        An experiment's output folder (``runs.jsonl``, or ``runs.jsonl.gz`` as in
        ``docs/results``).

    Returns
    -------
    pandas.DataFrame
        One row per run, the latest record of each (a failed run that was done again counts as
        done again), in the order the store first lists them.  Columns: ``run_id``, ``cell``
        (the grid cell as JSON, the key of the summary tables: grouping by ``cell`` and
        ``strategy`` gives their rows), ``strategy`` (the label), ``strategy_name``, ``seed``;
        then the run's settings: ``task``, ``task.<param>``, ``architecture`` (the preset),
        ``architecture.<param>``, ``fitness``, ``fitness.<param>``, ``data.train_size``,
        ``data.test_size``, ``budget.<unit>``, ``strategy.<param>`` (NaN where a run lacks
        one: a parameter left at its default, or the task's own architecture or fitness;
        nested mappings are joined with dots, lists of plain values become tuples, anything
        else nested its JSON text); then ``status`` (``ok`` or ``failed``), ``solved``
        (nullable boolean, missing for a failed run),
        ``evaluations``, ``sequences``, ``steps``, ``training_sequences``, ``best_loss``,
        ``train_error``, ``test_error`` (fractions of wrong sequences), ``seconds`` (the
        search's) and ``wall_seconds`` (the whole run's), and ``error`` (a failed run's).
        Numbers are NaN where a record lacks them or holds something else (stores written
        before :mod:`evorec.codec` hold null for a non-finite loss, which also reads as NaN).

    Raises
    ------
    ImportError
        Without pandas (one line naming ``pip install "evorec[pandas]"``).
    ValueError
        One line, when ``folder`` holds no ``runs.jsonl`` or it cannot be read at all.

    Warns
    -----
    UserWarning
        Once, when lines of the store are not run records (a line a crash cut short); they
        are left out, as ``evorec report`` leaves them out.

    Notes
    -----
    Only the store is read: not ``experiment.yaml``, whose plugin paths would import modules,
    so a folder from someone else is data and nothing in it runs.

    Examples
    --------
    Success rates of the committed BSF94 reproduction by sequence lengths and strategy:

    >>> import evorec
    >>> runs = evorec.load_runs("docs/results/bsf94")
    >>> runs.pivot_table(index="task.lengths", columns="strategy", values="solved", sort=False)
    strategy      guessing  annealing  multigrid  gnarl  cmaes  bptt
    task.lengths
    (5, 10)            1.0        1.0        1.0    1.0    1.0  0.15
    (12, 25)           1.0        1.0      0.975  0.975  0.975   0.0
    (25, 50)           1.0        1.0      0.975   0.95  0.975   0.0
    (50, 100)          1.0        1.0        1.0   0.95  0.975   0.0
    """
    try:
        import pandas
    except ImportError:
        raise ImportError(PANDAS_MISSING) from None
    records, problems = ResultsStore(folder).require().read()
    if problems:
        more = f" (and {len(problems) - 1} more such lines)" if len(problems) > 1 else ""
        warnings.warn(problems[0] + more, UserWarning, stacklevel=2)
    rows = [_row(record) for record in latest(records).values()]
    settings = list(dict.fromkeys(key for row in rows for key in row
                                  if key not in RUN_COLUMNS and key not in OUTCOME_COLUMNS))
    # Each setting's columns together (task.* then architecture.* ...), in order of appearance.
    prefixes = [prefix for prefix, _ in SETTINGS.values()]
    settings.sort(key=lambda column: prefixes.index(column.split(".")[0]))
    frame = pandas.DataFrame.from_records(rows, columns=[*RUN_COLUMNS, *settings, *OUTCOME_COLUMNS])
    # A failed run has no outcome: the nullable boolean keeps `solved` a boolean column (not
    # objects), and its mean the success rate over finished runs, as the summary counts it.
    frame["solved"] = frame["solved"].astype("boolean")
    for column in _NUMBERS:  # numbers even where every run lacks one (training_sequences)
        frame[column] = pandas.to_numeric(frame[column])
    return frame


def _row(record: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": record["run_id"], "strategy": record["strategy"],
                           # the summary's key for the cell, so that the two can be matched
                           "cell": _json(record["cell"]),
                           "strategy_name": _plain(record.get("strategy_name")),
                           "seed": _plain(record.get("seed"))}
    for field, (prefix, name) in SETTINGS.items():
        _setting(prefix, name, record.get(field), row)
    info = record.get("info")
    outcome = record | {"training_sequences": info.get("training_sequences") if isinstance(info, dict) else None}
    for column in OUTCOME_COLUMNS:
        value = outcome.get(column)
        # A record evorec did not write may hold anything: a value of the wrong kind is missing
        # rather than a column of mixed objects that breaks arithmetic later.
        if column in _NUMBERS:
            value = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        elif column == "solved":
            value = value if isinstance(value, bool) else None
        else:
            value = value if isinstance(value, str) else None
        row[column] = value
    return row


def _setting(prefix: str, name: str | None, value: Any, row: dict[str, Any]) -> None:
    """``value`` (a task, architecture, budget, ...) into ``row`` under ``prefix``."""
    if not isinstance(value, dict):
        if value is not None:  # not a mapping: not evorec's; never in place of the strategy's label
            row.setdefault(prefix, _plain(value))
        return
    rest = dict(value)
    if name in rest:
        row[prefix] = _plain(rest.pop(name))
    params = rest.pop("params", None)
    _flatten(prefix, params if isinstance(params, dict) else {}, row)
    _flatten(prefix, rest, row)


def _flatten(prefix: str, mapping: dict[str, Any], row: dict[str, Any]) -> None:
    """Nested mappings as dotted columns; without recursion, as a record may nest deeply."""
    stack = [(f"{prefix}.{key}", value) for key, value in reversed(mapping.items())]
    while stack:
        column, value = stack.pop()
        if isinstance(value, dict) and value:
            stack.extend((f"{column}.{key}", item) for key, item in reversed(value.items()))
        else:
            row.setdefault(column, _plain(value))  # the first of two spellings of one column wins


def _plain(value: Any) -> Any:
    """A value a column can hold and compare: lists (and arrays) of scalars become tuples, which
    group, sort and deduplicate; anything else that is not a scalar becomes its JSON text."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list) and all(item is None or isinstance(item, (bool, int, float, str)) for item in value):
        return tuple(value)
    return _json(value)


def _json(value: Any) -> str:
    """``value`` as JSON text with sorted keys (the summary tables' spelling of a cell)."""
    try:
        return json.dumps(value, sort_keys=True, default=_jsonable)
    except (TypeError, ValueError, RecursionError):  # absurd nesting: say so, and read the rest of the folder
        return "(too deeply nested)"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not plain data")
