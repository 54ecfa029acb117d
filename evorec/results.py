"""The results store (JSON Lines, one object per finished run) and its aggregation.

``runs.jsonl`` is appended to, one line per run, flushed and fsynced as each run finishes,
so a crash or a kill loses at most the line being written.  Reading reports a truncated or
unreadable line and ignores it; :meth:`ResultsStore.repair` (which ``evorec run`` calls
before it starts) moves such lines into ``runs.jsonl.unreadable-STAMP`` and rewrites the
store atomically without them, so their runs are done again and nothing is lost or repeated.

Records are written with :func:`evorec.codec.encode` and read with :func:`evorec.codec.decode`:
a NaN or infinite number (a best loss, a history entry) comes back as it was, and finite ones
are written as plain JSON numbers.  Stores written before the codec hold ``null`` for every
non-finite number; they read as they were written (``None``), and summaries treat ``None``
and non-finite values alike.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import zlib
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .codec import decode, encode

RUNS_FILE = "runs.jsonl"
CONFIG_FILE = "experiment.yaml"
#: Fields that hold wall-clock times: they differ between identical runs.
TIME_FIELDS = ("seconds", "wall_seconds")
#: The most a ``runs.jsonl.gz`` may expand to.  An archive is a file from others: one that
#: expands without end (a "gzip bomb") must not exhaust memory.  Run records compress about
#: tenfold, so the committed archives (a few MB) expand to tens of MB.
MAX_ARCHIVE_BYTES = 2 ** 30


class ResultsStore:
    """The ``runs.jsonl`` file of one output folder.

    A folder archived with ``gzip runs.jsonl`` (as the committed results in ``docs/results``
    are) is read from ``runs.jsonl.gz`` when there is no ``runs.jsonl``.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / RUNS_FILE

    def _archive(self) -> Path:
        return self.path.with_name(RUNS_FILE + ".gz")

    def require(self) -> ResultsStore:
        """This store, when its folder has one (``runs.jsonl`` or ``runs.jsonl.gz``).

        Raises
        ------
        ValueError
            One line, when the folder has neither: the user named another folder than an
            experiment's output folder.
        """
        if not any(_present(path) for path in (self.path, self._archive())):
            raise ValueError(f"{self.folder}: no runs.jsonl here; give the output folder of an experiment")
        return self

    def _content(self) -> bytes | None:
        path = self.path
        try:
            if path.exists():
                return path.read_bytes()
            path = self._archive()
            if not path.exists():
                return None
            with gzip.open(path) as archive:
                content = archive.read(MAX_ARCHIVE_BYTES + 1)   # never more than the limit in memory
            if len(content) > MAX_ARCHIVE_BYTES:
                raise ValueError(f"cannot read {path}: it expands beyond {MAX_ARCHIVE_BYTES:,} bytes (unpack it "
                                 f"yourself if you trust it)")
            return content
        # A folder, a file without read permission, a damaged or cut-short archive (BadGzipFile
        # is an OSError, a cut-short one an EOFError): a user's file, so one line, no traceback.
        except (OSError, EOFError, zlib.error) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise ValueError(f"cannot read {path}: {reason}") from None

    def read(self) -> tuple[list[dict[str, Any]], list[str]]:
        """All complete records, and a description of every line that could not be read.

        Raises
        ------
        ValueError
            One line, when the store is there but cannot be read at all (a damaged archive, a
            folder named ``runs.jsonl``, no permission).
        """
        content = self._content()
        if content is None:
            return [], []
        records, bad = _parse(content)
        return records, [f"{self.path}:{number}: {kind} ignored (the next evorec run moves it aside and does its "
                         f"run again)" for number, kind, _ in bad]

    def repair(self) -> list[str]:
        """Move unreadable lines aside and rewrite ``runs.jsonl`` without them, atomically.

        The lines go, byte for byte, to ``runs.jsonl.unreadable-STAMP`` beside the store; the
        store is written anew to a temporary file, fsynced and renamed over the old one, so
        a crash during the repair leaves either the old store or the new one.

        Returns
        -------
        list of str
            What was moved, one line per unreadable line (empty when all were readable).
        """
        if not self.path.exists():
            return []
        content = self.path.read_bytes()
        _, bad = _parse(content)
        if not bad:
            return []
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        aside = self.path.with_name(f"{RUNS_FILE}.unreadable-{stamp}")
        numbers = {number for number, _, _ in bad}
        good = [line for number, line in enumerate(content.split(b"\n"), start=1)
                if number not in numbers and line.strip()]
        _write_durably(aside, b"".join(line + b"\n" for _, _, line in bad))
        _write_durably(self.path, b"".join(line + b"\n" for line in good))
        return [f"{self.path}:{number}: {kind} moved to {aside.name}; its run is done again"
                for number, kind, _ in bad]

    def append(self, record: dict[str, Any]) -> None:
        """Add one record durably: written, flushed and fsynced before returning."""
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(encode(record), sort_keys=True, allow_nan=False) + "\n"
        with open(self.path, "ab+") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell():
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # seal a line a killed process left unfinished
                    text = "\n" + text
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())


def _parse(content: bytes) -> tuple[list[dict[str, Any]], list[tuple[int, str, bytes]]]:
    """Records, and ``(line number, what is wrong, the line)`` of each line that is not one."""
    records, bad = [], []
    lines = content.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = decode(json.loads(line))
            if not (isinstance(record, dict) and isinstance(record.get("run_id"), str)
                    and record.get("status") in ("ok", "failed") and isinstance(record.get("cell"), dict)
                    and isinstance(record.get("strategy"), str)):
                raise ValueError("not a run record")
            records.append(record)
        except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: absurd nesting
            last = number == len(lines)  # no newline after it: the write was cut short
            bad.append((number, "truncated last line" if last else "unreadable line", line))
    return records, bad


def _present(path: Path) -> bool:
    """Whether ``path`` exists; a path that cannot even be looked at counts as there, so that
    reading it says why in one line."""
    try:
        return path.exists()
    except OSError:
        return True


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file, fsynced, renamed over it, folder fsynced."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    if hasattr(os, "O_DIRECTORY"):  # the rename itself is durable once the folder is synced
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _finite(value: Any) -> bool:
    """A finite number (not None, which stores written before the codec hold for non-finite ones)."""
    return value is not None and math.isfinite(value)


def latest(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last record of each run id (a failed run that was redone counts as redone)."""
    return {record["run_id"]: record for record in records}


# -------------------------------------------------------------------------- summaries
SUMMARY_COLUMNS = (
    "cell", "strategy", "runs", "failed", "solved", "success_rate", "success_ci_low", "success_ci_high",
    "evaluations_mean", "evaluations_median", "evaluations_ci_low", "evaluations_ci_high",
    "sequences_mean", "sequences_median", "sequences_ci_low", "sequences_ci_high",
    "training_sequences_mean", "training_sequences_median", "training_sequences_ci_low",
    "training_sequences_ci_high", "wall_seconds_mean", "test_error_mean",
)
#: The costs summarised over solved runs: the run's own, and (for the gradient strategies, in
#: ``info``) the training sequences alone, the count LSTM97 reports.
COSTS = ("evaluations", "sequences", "training_sequences")


def mean_interval(values: list[float], confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (scipy), reproducible; NaN for fewer than 2 values."""
    from scipy import stats  # imported here: run workers never summarise, and it costs 0.4 s to import

    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return math.nan, math.nan
    if np.all(data == data[0]):
        return float(data[0]), float(data[0])
    result = stats.bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=2000,
                             method="percentile", rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def success_interval(solved: int, runs: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a success rate (scipy), as the tables and plots show it; NaN
    without runs."""
    from scipy import stats

    if runs == 0:
        return math.nan, math.nan
    interval = stats.binomtest(solved, runs).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def _cost(record: dict[str, Any], cost: str) -> float | None:
    if cost == "training_sequences":
        value = (record.get("info") or {}).get(cost)
        return None if value is None else float(value)
    return float(record[cost])


def summarize(records: list[dict[str, Any]], run_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per (grid cell, strategy): success rate and costs to solve.

    Parameters
    ----------
    records : list of dict
        Run records (the latest per run id is used).
    run_ids : list of str, optional
        Only these runs (the experiment's own), in this order for the rows.

    Returns
    -------
    list of dict with the keys of ``SUMMARY_COLUMNS``.  The success rate comes with its 95 %
    Wilson interval.  Costs to solve are over the solved runs only (mean, median,
    95 % bootstrap interval of the mean); NaN when none solved, and the training sequences NaN
    unless every solved run reports them.
    """
    by_id = latest(records)
    order = run_ids if run_ids is not None else list(by_id)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for run_id in order:
        if run_id in by_id:
            record = by_id[run_id]
            groups[(json.dumps(record["cell"], sort_keys=True), record["strategy"])].append(record)
    rows = []
    for (cell, strategy), group in groups.items():
        ok = [r for r in group if r["status"] == "ok"]
        solved = [r for r in ok if r["solved"]]
        row: dict[str, Any] = {"cell": cell, "strategy": strategy, "runs": len(group),
                               "failed": len(group) - len(ok), "solved": len(solved),
                               "success_rate": len(solved) / len(ok) if ok else math.nan}
        row["success_ci_low"], row["success_ci_high"] = success_interval(len(solved), len(ok))
        for cost in COSTS:
            values = [_cost(r, cost) for r in solved]
            values = [] if None in values else values
            low, high = mean_interval(values)
            row[f"{cost}_mean"] = float(np.mean(values)) if values else math.nan
            row[f"{cost}_median"] = float(np.median(values)) if values else math.nan
            row[f"{cost}_ci_low"], row[f"{cost}_ci_high"] = low, high
        row["wall_seconds_mean"] = float(np.mean([r["wall_seconds"] for r in ok])) if ok else math.nan
        errors = [r["test_error"] for r in solved if _finite(r.get("test_error"))]
        row["test_error_mean"] = float(np.mean(errors)) if errors else math.nan
        rows.append(row)
    return rows
