"""Summary tables of an experiment (aligned text, CSV and Markdown) and its report with plots."""

from __future__ import annotations

import csv
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import load
from .published import PublishedFigure, figures_for
from .results import CONFIG_FILE, SUMMARY_COLUMNS, ResultsStore, latest, summarize

HEADERS = ("cell", "strategy", "runs", "solved", "success (95% CI)", "evals to solve: mean", "median", "95% CI",
           "seqs to solve: mean", "median", "95% CI", "wall s", "test err")
#: Columns added when a row reports training sequences (the gradient strategies).
TRAINING = ("training seqs to solve: mean", "median", "95% CI")
#: Column added when a row has published figures (``--published``).
PUBLISHED = "published"
REPORT_FILE = "report.md"
NOTE = ("The success rate's interval is the 95 % Wilson interval. Costs to solve are over solved "
        "runs: mean, median and a 95 % bootstrap interval of the mean; sequences count every sequence "
        "presented, success tests included, and training sequences (gradient strategies) only those "
        "trained on, as LSTM97 counts. Test error is the mean fraction of wrong test sequences of the "
        "solutions.\n")
PLOTS_FOLDER = "plots"


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


def _strategy_labels(value: Any) -> str | None:
    """A swept strategy list as its labels (the rows name each strategy; summary.csv keeps the
    parameters), or None when ``value`` is not such a list."""
    if not (isinstance(value, list) and value and all(isinstance(s, dict) and "name" in s for s in value)):
        return None
    return "[" + ", ".join(str(s.get("label", s["name"])) for s in value) + "]"


def _cell(cell: str) -> str:
    values = json.loads(cell)
    shown = []
    for key, value in values.items():
        labels = _strategy_labels(value) if key == "strategies" else None
        shown.append(f"{key}={labels or _value(value)}")
    return ", ".join(shown) or "-"


def _percent(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{100 * value:.0f}"


def _cells(row: dict[str, Any], training: bool = False) -> list[str]:
    failed = f" ({row['failed']} failed)" if row["failed"] else ""
    success = "-" if math.isnan(row["success_rate"]) else (
        f"{_percent(row['success_rate'])}% ({_percent(row['success_ci_low'])}-{_percent(row['success_ci_high'])})")
    extra = [_number(row["training_sequences_mean"]), _number(row["training_sequences_median"]),
             f"{_number(row['training_sequences_ci_low'])}-{_number(row['training_sequences_ci_high'])}"]
    return [
        _cell(row["cell"]), row["strategy"], f"{row['runs']}{failed}", str(row["solved"]), success,
        _number(row["evaluations_mean"]), _number(row["evaluations_median"]),
        f"{_number(row['evaluations_ci_low'])}-{_number(row['evaluations_ci_high'])}",
        _number(row["sequences_mean"]), _number(row["sequences_median"]),
        f"{_number(row['sequences_ci_low'])}-{_number(row['sequences_ci_high'])}",
        *(extra if training else []), _number(row["wall_seconds_mean"]), _number(row["test_error_mean"]),
    ]


def published_text(row: dict[str, Any]) -> str:
    """The published figures of a summary row, one short citation each, or ``-``."""
    return "; ".join(figure.short() for figure in row.get(PUBLISHED) or ()) or "-"


def _has_published(rows: list[dict[str, Any]]) -> bool:
    return any(row.get(PUBLISHED) for row in rows)


def _has_training(rows: list[dict[str, Any]]) -> bool:
    return any(not math.isnan(row.get("training_sequences_mean", math.nan)) for row in rows)


def _headers(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    training = TRAINING if _has_training(rows) else ()
    return HEADERS[:11] + training + HEADERS[11:] + ((PUBLISHED,) if _has_published(rows) else ())


def _body(rows: list[dict[str, Any]]) -> list[list[str]]:
    extra, training = _has_published(rows), _has_training(rows)
    return [_cells(row, training) + ([published_text(row)] if extra else []) for row in rows]


def text_table(rows: list[dict[str, Any]]) -> str:
    """An aligned plain-text table (with a ``published`` column when a row has published figures)."""
    headers, body = _headers(rows), _body(rows)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(out)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table with the same columns."""
    headers = _headers(rows)
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in _body(rows)]
    return "\n".join(out)


@dataclass
class Summary:
    """An experiment folder summarised: its name, rows, the runs behind them and read problems."""

    folder: Path
    name: str | None
    rows: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    problems: list[str]
    published: list[PublishedFigure] = field(default_factory=list)


def summarise(folder: str | os.PathLike, run_ids: list[str] | None = None, title: str | None = None,
              published: list[PublishedFigure] | None = None) -> Summary:
    """Summarise ``folder/runs.jsonl`` into ``summary.csv`` and ``summary.md``.

    Parameters
    ----------
    folder : str or path-like
        An experiment's output folder.
    run_ids : list of str, optional
        The experiment's runs, in order; default: those of ``folder/experiment.yaml`` if it is
        there, else every run in the store.
    title : str, optional
        Heading of ``summary.md``.
    published : list of PublishedFigure, optional
        Published figures (:func:`evorec.published.load_published`); a row whose runs all match
        one of the experiment's gets a ``published`` column in every table.

    Returns
    -------
    Summary
    """
    folder = Path(folder)
    records, problems = ResultsStore(folder).read()
    name = None
    if (folder / CONFIG_FILE).exists() and (run_ids is None or published):
        experiment = load(folder / CONFIG_FILE)
        name = experiment.name
        if run_ids is None:
            run_ids = [spec.run_id for spec in experiment.runs]
    by_id = latest(records)
    runs = [by_id[i] for i in (run_ids if run_ids is not None else list(by_id)) if i in by_id]
    rows = summarize(runs)
    used: list[PublishedFigure] = []
    if published:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for run in runs:
            groups[(json.dumps(run["cell"], sort_keys=True), run["strategy"])].append(run)
        for row in rows:
            row[PUBLISHED] = tuple(figures_for(published, name, groups[(row["cell"], row["strategy"])]))
            used += [figure for figure in row[PUBLISHED] if figure not in used]
    columns = list(SUMMARY_COLUMNS) + ([PUBLISHED] if _has_published(rows) else [])
    with open(folder / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows([row | ({PUBLISHED: published_text(row)} if PUBLISHED in columns else {}) for row in rows])
    heading = f"# {title}\n\n" if title else ""
    (folder / "summary.md").write_text(f"{heading}{markdown_table(rows)}\n\n{NOTE}{_sources(used)}")
    return Summary(folder, name, rows, runs, problems, used)


def _sources(figures: list[PublishedFigure]) -> str:
    if not figures:
        return ""
    return "\nPublished figures:\n\n" + "".join(f"- {figure.full()}\n" for figure in figures)


def write_report(summary: Summary, unit: str | None = None) -> Path:
    """Draw the plots into ``FOLDER/plots/`` and write ``FOLDER/report.md`` with them and the tables.

    Parameters
    ----------
    summary : Summary
        From :func:`summarise`.
    unit : {"evaluations", "sequences"}, optional
        Cost unit of the plots; default: sequences when a gradient strategy took part.

    Returns
    -------
    Path
        Of ``report.md``.

    Raises
    ------
    ValueError
        Without matplotlib (``evorec.plots.MatplotlibMissing``, one line).
    """
    from .plots import make_plots

    folder = summary.folder
    title = summary.name or folder.name
    sections = make_plots(summary.runs, folder / PLOTS_FOLDER, unit=unit, title=title)
    parts = [f"# {title}\n", "## Summary\n", markdown_table(summary.rows) + "\n", NOTE + _sources(summary.published)]
    for section in sections:
        parts.append(f"## {section.title}\n")
        if section.caption and (section.files or not section.notes):
            parts.append(section.caption + "\n")
        for path in section.files:
            relative = path.relative_to(folder).as_posix()
            parts.append(f"![{section.title}]({relative})\n")
        parts += [note + "\n" for note in section.notes]
    path = folder / REPORT_FILE
    path.write_text("\n".join(parts))
    return path
