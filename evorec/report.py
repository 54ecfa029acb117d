"""Summary tables of an experiment: aligned text, CSV and Markdown."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any

from .config import load
from .results import CONFIG_FILE, SUMMARY_COLUMNS, ResultsStore, summarize

HEADERS = ("cell", "strategy", "runs", "solved", "success", "evals to solve: mean", "median", "95% CI",
           "seqs to solve: mean", "median", "95% CI", "wall s", "test err")


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 1e5:
        return f"{value:.3g}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _value(value: Any) -> str:
    if isinstance(value, dict) and "name" in value:  # a whole task, fitness or strategy
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in value.get("params", {}).items())
        return f"{value['name']}({params})"
    return json.dumps(value)


def _cell(cell: str) -> str:
    values = json.loads(cell)
    return ", ".join(f"{k}={_value(v)}" for k, v in values.items()) or "-"


def _cells(row: dict[str, Any]) -> list[str]:
    failed = f" ({row['failed']} failed)" if row["failed"] else ""
    return [
        _cell(row["cell"]), row["strategy"], f"{row['runs']}{failed}", str(row["solved"]),
        "-" if math.isnan(row["success_rate"]) else f"{100 * row['success_rate']:.0f}%",
        _number(row["evaluations_mean"]), _number(row["evaluations_median"]),
        f"{_number(row['evaluations_ci_low'])}-{_number(row['evaluations_ci_high'])}",
        _number(row["sequences_mean"]), _number(row["sequences_median"]),
        f"{_number(row['sequences_ci_low'])}-{_number(row['sequences_ci_high'])}",
        _number(row["wall_seconds_mean"]), _number(row["test_error_mean"]),
    ]


def text_table(rows: list[dict[str, Any]]) -> str:
    """An aligned plain-text table."""
    body = [_cells(row) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(HEADERS)]
    line = "  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(out)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table with the same columns."""
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "|".join("---" for _ in HEADERS) + "|"]
    out += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(out)


def write_summary(folder: str | os.PathLike, run_ids: list[str] | None = None,
                  title: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Summarise ``folder/runs.jsonl`` into ``summary.csv`` and ``summary.md``.

    Returns the summary rows and the problems met while reading the store.
    """
    folder = Path(folder)
    records, problems = ResultsStore(folder).read()
    if run_ids is None and (folder / CONFIG_FILE).exists():
        run_ids = [spec.run_id for spec in load(folder / CONFIG_FILE).runs]
    rows = summarize(records, run_ids)
    with open(folder / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    heading = f"# {title}\n\n" if title else ""
    note = ("Costs to solve are over solved runs: mean, median and a 95 % bootstrap interval of "
            "the mean. Test error is the mean fraction of wrong test sequences of the solutions.\n")
    (folder / "summary.md").write_text(f"{heading}{markdown_table(rows)}\n\n{note}")
    return rows, problems
