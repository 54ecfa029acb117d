"""Figures of an experiment's results (``evorec report DIR --plots``), as PNG files.

Three kinds, each split into figures of at most :data:`MAX_PANELS` panels:

* **success rate against T**, one panel per task group, one line per strategy label with
  binomial 95 % (Wilson) intervals.  T of a cell is its task's ``T`` parameter, else the upper
  end of its ``lengths``; a task group is the task with its other parameters, the architecture
  and the cell's other grid values, so its cells differ only in T;
* **cost to solve** (evaluations, or sequences when a gradient strategy took part) of each
  solved run, one panel per task group, its cells side by side (groups of one cell share
  panels), runs as jittered points with their median, and "k/n" solved;
* **best training loss against cost**, median and interquartile band over the seeds, one
  panel per grid cell; a run without a finite loss yet counts as an infinite loss (drawn at
  a top tick "∞"), losses below :data:`LOSS_FLOOR` at a bottom tick "0".

Panel titles name the task with the parameters constant in the panel, the lengths included
(taken from the task itself when the experiment left them at their default), and the
architecture when it varies.  Cells a plot leaves out are named in its section's notes.

matplotlib (the ``plot`` extra) is imported inside the functions, and figures are drawn on
the Agg canvas without pyplot, so nothing here touches global matplotlib state.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .results import success_interval

#: Strategies whose cost is naturally counted in sequences presented.
GRADIENT_STRATEGIES = frozenset({"bptt", "lstm", "rtrl"})
UNITS = ("evaluations", "sequences")
MAX_PANELS = 6
PANEL_WIDTH = 4.8
#: Cells of one-cell task groups that may share a cost panel, and slots (cell x strategy) in a panel.
PACKED_CATEGORIES = 4
PACKED_SLOTS = 8
GROUP_SLOTS = 16
PLOT_PREFIXES = ("success_vs_T", "cost_to_solve", "best_loss")
UNIT_LABELS = {"evaluations": "networks evaluated", "sequences": "sequences presented"}
#: Losses below this count as zero: a log axis draws them at its bottom tick, labelled "0".
LOSS_FLOOR = 1e-12
#: Stands in for an infinite loss in percentiles, which interpolate ``inf - inf`` to NaN; any
#: interpolated value above :data:`_HUGE_LIMIT` involved it and is infinite again.
_HUGE = 1e300
_HUGE_LIMIT = 1e200
#: Task attributes that say which sequence lengths a cell used, when its parameters do not.
LENGTH_ATTRIBUTES = ("T", "lengths")
INFINITY = "∞"
MATPLOTLIB_MISSING = "--plots needs matplotlib (pip install evorec[plot])"
#: Names a cell's architecture in labels; nothing is said when the task's default architecture is used.
ARCHITECTURE_PREFIX = "A: "


class MatplotlibMissing(ValueError):
    """matplotlib, the ``plot`` extra, is not installed."""


@dataclass
class Cell:
    """The runs of one grid cell, with what the plots need to know about it."""

    key: str
    cell: dict[str, Any]
    task: dict[str, Any]
    architecture: Any
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def T(self) -> float | None:  # noqa: N802 (the papers' name)
        return task_T(self.task)

    def group(self) -> str:
        """Identity of the cell's task group: everything but T (or lengths)."""
        params = {k: v for k, v in self.task.get("params", {}).items() if k not in ("T", "lengths")}
        return json.dumps({"task": [self.task.get("name"), params], "architecture": self.architecture,
                           "other": _other_grid_values(self.cell)}, sort_keys=True)

    def t_label(self) -> str:
        params = self.task.get("params", {})
        if "T" in params:
            return f"T={params['T']}"
        lengths = params.get("lengths")
        if isinstance(lengths, (list, tuple)):
            return f"lengths {lengths[0]}..{lengths[-1]}"
        return f"length {lengths}" if lengths is not None else ""


@dataclass
class Section:
    """One kind of plot in the report: its PNG files, or why there are none, and notes."""

    title: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    caption: str = ""


# ------------------------------------------------------------------------------ data
def task_T(task: dict[str, Any] | None) -> float | None:
    """T of a task: its ``T`` parameter, else the upper end of ``lengths``, else None.

    Parameters
    ----------
    task : dict
        A run record's ``task``: ``{"name": ..., "params": {...}}`` (the parameters the
        experiment gave; a task's defaults are not known here).

    Returns
    -------
    number or None
        ``lengths`` may be one int or ``[min, max]``.
    """
    params = (task or {}).get("params") or {}
    value = params.get("T")
    if value is None:
        value = params.get("lengths")
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None


def default_unit(runs: list[dict[str, Any]]) -> str:
    """``sequences`` when a gradient strategy (``bptt``, ``lstm``) took part, else ``evaluations``."""
    return "sequences" if any(r.get("strategy_name") in GRADIENT_STRATEGIES for r in runs) else "evaluations"


def _other_grid_values(cell: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if k != "task" and not k.startswith("task.")}


def cells_of(runs: list[dict[str, Any]]) -> list[Cell]:
    """The runs grouped by grid cell, in order of first appearance; failed runs left out."""
    cells: dict[str, Cell] = {}
    for run in runs:
        if run.get("status") != "ok":
            continue
        key = json.dumps(run["cell"], sort_keys=True)
        if key not in cells:
            cells[key] = Cell(key, run["cell"], run.get("task") or {}, run.get("architecture"))
        cells[key].runs.append(run)
    return list(cells.values())


def _strategies(runs: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(r["strategy"] for r in runs))


def _value(value: Any) -> str:
    if isinstance(value, dict) and "name" in value:
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in value.get("params", {}).items())
        return f"{value['name']}({params})"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    return json.dumps(value)


def _architecture(architecture: Any) -> str:
    """An architecture as ``preset(params)``, e.g. ``fully_recurrent(n_hidden=1)``."""
    if isinstance(architecture, dict):
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in architecture.items() if k != "preset")
        return f"{architecture['preset']}({params})" if "preset" in architecture else params
    return architecture if isinstance(architecture, str) else json.dumps(architecture)


def _architecture_varies(cells: list[Cell]) -> bool:
    """Whether the cells use more than one architecture (then titles name it)."""
    return len({json.dumps(c.architecture, sort_keys=True) for c in cells}) > 1


def _group_title(cell: Cell, show_architecture: bool, with_t: bool = False) -> str:
    """The task (with its parameters), ``A: preset(params)`` unless the task's default architecture
    is used, and the cell's other grid values: each named once."""
    params = {k: v for k, v in cell.task.get("params", {}).items() if with_t or k not in ("T", "lengths")}
    return _describe(cell, params, show_architecture)


def _describe(cell: Cell, params: dict[str, Any], show_architecture: bool,
              others: dict[str, Any] | None = None) -> str:
    """``task(params)``, the architecture (when shown or swept) and ``others`` (default: the
    cell's other grid values), joined by commas."""
    parts = [_value({"name": cell.task.get("name", "?"), "params": params})]
    grid = _other_grid_values(cell.cell)
    swept = [k for k in grid if k == "architecture" or k.startswith("architecture.")]
    if cell.architecture is not None and (show_architecture or swept):
        parts.append(ARCHITECTURE_PREFIX + _architecture(cell.architecture))
    others = grid if others is None else others
    parts += [f"{k}={_value(v)}" for k, v in others.items() if k not in swept]
    return ", ".join(parts)


@lru_cache(maxsize=256)
def _task_lengths(name: str, params_json: str) -> tuple[tuple[str, Any], ...]:
    """``T`` and ``lengths`` of the task ``name`` built from its parameters (JSON), as far as it has them.

    A run record holds only the parameters the experiment gave, so a task left at its default
    lengths (``parity()``) would not say which it used; the task itself knows.  Only registered
    names are built: a ``module:Class`` path would import a module named by a results file.
    """
    from .registry import TASKS

    if ":" in name:
        return ()
    try:
        task = TASKS.create(name, **json.loads(params_json))
    except Exception:  # noqa: BLE001 (a title never fails: an unknown or unbuildable task just says less)
        return ()
    found = []
    for key in LENGTH_ATTRIBUTES:
        value = getattr(task, key, None)
        if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
            found.append((key, list(value)))
        elif isinstance(value, int) and not isinstance(value, bool):
            found.append((key, value))
    return tuple(found)


def _task_params(task: dict[str, Any]) -> dict[str, Any]:
    """A task's parameters as given, then its ``T`` and ``lengths`` where it was left at their defaults."""
    params = dict(task.get("params") or {})
    name = task.get("name")
    if isinstance(name, str) and name:
        for key, value in _task_lengths(name, json.dumps(params, sort_keys=True)):
            params.setdefault(key, value)
    return params


def _defaults(cell: Cell) -> dict[str, Any]:
    """The ``T`` and ``lengths`` a cell's task used that its parameters do not give."""
    given = cell.task.get("params") or {}
    return {k: v for k, v in _task_params(cell.task).items() if k not in given}


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _panel_title(cells: list[Cell], show_architecture: bool) -> str:
    """Title of a panel of ``cells`` of one task: the task with the parameters (lengths included,
    defaults resolved) that all of them share, the architecture when it varies, and the grid values
    they share."""
    first, *rest = cells
    params = {k: v for k, v in _task_params(first.task).items()
              if all(k in p and _same(p[k], v) for p in map(_task_params, (c.task for c in rest)))}
    others = {k: v for k, v in _other_grid_values(first.cell).items()
              if all(k in c.cell and _same(c.cell[k], v) for c in rest)}
    return _describe(first, params, show_architecture, others)


def _named(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in params.items())


def _cell_list(cells: list[Cell], show_architecture: bool) -> str:
    """"n cell(s): a; b." with each cell named as the experiment gave it."""
    return f"{len(cells)} cell(s): " + "; ".join(_group_title(c, show_architecture, with_t=True) for c in cells) + "."


def _groups(cells: list[Cell]) -> list[list[Cell]]:
    groups: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        groups[cell.group()].append(cell)
    out = []
    for members in groups.values():
        if all(c.T is not None for c in members):
            members = sorted(members, key=lambda c: c.T)  # stable: equal T keep their order
        out.append(members)
    return out


def _cost(run: dict[str, Any], unit: str) -> float:
    return float(run[unit])


def step_values(history: list[list[Any]], grid: np.ndarray, scale: float = 1.0, end: float = math.inf) -> np.ndarray:
    """A run's best loss so far at each grid point (a step function of its ``history``).

    Parameters
    ----------
    history : list of [evaluations, best_loss]
        ``best_loss`` None (stores written before :mod:`evorec.codec`) stands for an infinite loss.
    grid : ndarray
        Points of the cost axis.
    scale : float
        History costs are multiplied by it (sequences per evaluation, to plot in sequences).
    end : float
        The run's last cost: no value after it.

    Returns
    -------
    ndarray
        NaN before the first entry, after ``end``, and where the loss is None or infinite.
    """
    out = np.full(grid.shape, np.nan)
    if not history:
        return out
    costs = np.array([float(e) * scale for e, _ in history])
    losses = np.array([np.nan if v is None or not math.isfinite(v) else float(v) for _, v in history])
    index = np.searchsorted(costs, grid, side="right") - 1
    inside = (index >= 0) & (grid <= end * (1 + 1e-9))
    out[inside] = losses[index[inside]]
    return out


# ------------------------------------------------------------------------- drawing
def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MatplotlibMissing(MATPLOTLIB_MISSING) from None


def _colors(strategies: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors
    return {s: palette[i % len(palette)] for i, s in enumerate(strategies)}


def _layout(n_panels: int) -> int:
    """Columns of a figure of ``n_panels`` panels: 2 x 2 for four, else up to three in a row."""
    return 2 if n_panels == 4 else min(3, n_panels)


def _figure(n_panels: int, ncols: int, width: float = PANEL_WIDTH, height: float = 3.7):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nrows = math.ceil(n_panels / ncols)
    figure = Figure(figsize=(max(width * ncols, 7.0), height * nrows + 0.9), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return figure, list(axes[:n_panels])


def _save(figure, path: Path, title: str, handles: list, labels: list[str]) -> None:
    width = figure.get_figwidth()
    figure.suptitle(_wrap(title, int(width * 9)), fontsize=13)
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), max(int(width / 1.6), 2)),
                      fontsize=10, frameon=False)
    figure.savefig(path, dpi=100)


def _tick(value: float, _position: Any = None) -> str:
    """Compact tick label: plain from 0.001 to below 10^5, else 10^k or m×10^k (mathtext)."""
    if value <= 0:
        return ""
    if 1e-3 <= value < 1e5:
        return f"{value:g}"
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10 ** exponent
    if abs(mantissa - round(mantissa)) > 1e-6:
        return f"{value:.1e}"
    mantissa = round(mantissa)
    return f"$10^{{{exponent}}}$" if mantissa == 1 else f"${mantissa}{{\\times}}10^{{{exponent}}}$"


def _log_axis(axis, low: float, high: float) -> None:
    """Log-scale ticks that never crowd: 1-2-5 steps below 2 decades, decades above, no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    decades = math.log10(high / low) if low > 0 and high > 0 else 0.0
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 2.0 else (1.0,), numticks=8))
    axis.set_major_formatter(FuncFormatter(_tick))
    axis.set_minor_formatter(NullFormatter())


def _wrap(text: str, width: int = 48) -> str:
    """``text`` in lines of about ``width`` characters; ``A: preset(...)`` and ``[...]`` stay on one line."""
    glued = text.replace(ARCHITECTURE_PREFIX, ARCHITECTURE_PREFIX.replace(" ", "\xa0"))  # textwrap: not a space
    glued = re.sub(r"\[[^\[\]]*\]", lambda m: m.group().replace(" ", "\xa0"), glued)  # lengths=[5, 10] too
    lines = textwrap.wrap(glued, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines).replace("\xa0", " ") or text


def _file_names(stem: str, count: int) -> list[str]:
    return [f"{stem}.png"] if count == 1 else [f"{stem}_{i}.png" for i in range(1, count + 1)]


def _chunks(items: list, size: int = MAX_PANELS) -> list[list]:
    """``items`` in consecutive parts of at most ``size``, as even as possible."""
    if not items:
        return []
    parts = math.ceil(len(items) / size)
    size = math.ceil(len(items) / parts)
    return [items[i:i + size] for i in range(0, len(items), size)]


def plot_success_vs_T(cells: list[Cell], strategies: list[str], folder: Path, title: str) -> Section:  # noqa: N802
    """Success rate against T, one panel per task group with two or more T values.

    The cells it cannot place on such a line (a task group with one value of T, or a cell whose
    task gives neither ``T`` nor ``lengths``) are named in the section's notes, and so are cells
    drawn at the same T as another of their panel (their points overlap).
    """
    section = Section("Success rate against T", caption=(
        "Runs solved per grid cell and strategy against T (the task's `T`, or the upper end of its `lengths`), "
        "one panel per task group (the task with its other parameters) with cells at two or more values of T; "
        "bars: binomial 95 % Wilson intervals."))
    show_architecture = _architecture_varies(cells)
    groups, lone, without_t, overlapping = [], [], [], []
    for group in _groups(cells):
        placed = [c for c in group if c.T is not None]
        ts = [c.T for c in placed]
        if len(set(ts)) < 2:
            lone += placed
            without_t += [c for c in group if c.T is None]
            continue
        groups.append(placed)
        without_t += [c for c in group if c.T is None]
        overlapping += [c for c in placed if ts.count(c.T) > 1]
    if not groups:
        section.notes.append("Not drawn: no task has cells at two or more values of T (its `T` parameter or "
                             "the upper end of `lengths`).")
        return section
    section.caption += (" Cells not shown are listed below the figure." if lone or without_t
                        else " Every grid cell is shown.")
    if lone:
        section.notes.append("Not shown, the only value of T in their task group (no line to draw): "
                             + _cell_list(lone, show_architecture))
    if without_t:
        section.notes.append("Not shown, their task gives neither `T` nor `lengths` (no T to place them at): "
                             + _cell_list(without_t, show_architecture))
    if overlapping:
        section.notes.append("Drawn at the same T as another cell of their panel (their points overlap): "
                             + _cell_list(overlapping, show_architecture))
    colors = _colors(strategies)
    handles: dict[str, Any] = {}
    chunks = _chunks(groups)
    ncols = _layout(len(chunks[0]))
    for chunk, name in zip(chunks, _file_names("success_vs_T", len(chunks)), strict=True):
        figure, axes = _figure(len(chunk), ncols)
        for ax, group in zip(axes, chunk, strict=True):
            ts = np.array([c.T for c in group], dtype=float)
            log = ts.min() > 0 and ts.max() / ts.min() >= 10
            present = [s for s in strategies if any(r["strategy"] == s for c in group for r in c.runs)]
            for i, strategy in enumerate(present):
                offset = (i - (len(present) - 1) / 2) * 0.025  # dodge: a fraction of a decade or of the span
                xs, rates, low, high = [], [], [], []
                for cell, t in zip(group, ts, strict=True):
                    mine = [r for r in cell.runs if r["strategy"] == strategy]
                    if not mine:
                        continue
                    k = sum(bool(r["solved"]) for r in mine)
                    lo, hi = success_interval(k, len(mine))
                    xs.append(t * 10 ** offset if log else t + offset * (ts.max() - ts.min()))
                    rates.append(100 * k / len(mine))
                    low.append(100 * lo)
                    high.append(100 * hi)
                rates_arr = np.array(rates)
                errors = np.array([rates_arr - np.array(low), np.array(high) - rates_arr])
                drawn = ax.errorbar(xs, rates, yerr=errors, color=colors[strategy], marker="o", markersize=5,
                                    capsize=3, linewidth=1.5, elinewidth=1, label=strategy)
                handles.setdefault(strategy, drawn)
            if log:
                ax.set_xscale("log")
            ax.set_xticks(sorted(set(ts.tolist())), [f"{t:g}" for t in sorted(set(ts.tolist()))])
            ax.minorticks_off()
            ax.set_ylim(-4, 104)
            ax.set_xlabel("T (time steps: the task's T, or its longest sequence)")
            ax.set_ylabel("runs solved (%)")
            ax.set_title(_wrap(_panel_title(group, show_architecture)), fontsize=10)
            ax.grid(True, alpha=0.3)
        _save(figure, folder / name, f"{title}: success rate against T (bars: 95% Wilson intervals)",
              list(handles.values()), list(handles))
        section.files.append(folder / name)
    return section


def _cost_panels(cells: list[Cell], n_strategies: int) -> list[tuple[str, list[tuple[str, Cell]]]]:
    """Panels of the cost plot: (title, [(category label, cell), ...]).

    A task group's cells share a panel (at most ``GROUP_SLOTS`` cell-strategy slots, at least
    two cells), titled by what its cells share; cells alone in their group are packed together,
    at most ``PACKED_CATEGORIES`` and ``PACKED_SLOTS`` to a panel (one cell per panel with many
    strategies), title ``""``.  Packed cells share a panel only with cells whose tasks left the
    same lengths at their defaults, so the panel can name them (:func:`_packed_title`).
    """
    show_architecture = _architecture_varies(cells)
    panels: list[tuple[str, list[tuple[str, Cell]]]] = []
    singles: dict[str, list[tuple[str, Cell]]] = defaultdict(list)
    for group in _groups(cells):
        if len(group) == 1:
            singles[json.dumps(_defaults(group[0]), sort_keys=True)].append(
                (_group_title(group[0], show_architecture, with_t=True), group[0]))
            continue
        labels = [c.t_label() or _value(c.cell) for c in group]
        size = max(2, min(8, GROUP_SLOTS // n_strategies))
        for part in _chunks(list(zip(labels, group, strict=True)), size):
            # A part of one cell gets its T label added to the title when drawn: title it by its group.
            shared = group if len(part) == 1 else [c for _, c in part]
            panels.append((_panel_title(shared, show_architecture), part))
    for same in singles.values():
        for part in _chunks(same, max(1, min(PACKED_CATEGORIES, PACKED_SLOTS // n_strategies))):
            panels.append(("", part))
    return panels


def _packed_title(categories: list[tuple[str, Cell]], show_architecture: bool) -> str:
    """Title of a panel of cells alone in their task groups: their labels name the tasks as given,
    so the title adds the lengths their tasks left at the default (the same for all of them); a
    panel of one cell is titled by it."""
    if len(categories) == 1:
        return _panel_title([categories[0][1]], show_architecture)
    defaults = _named(_defaults(categories[0][1]))
    return "tasks with one cell each" + (f" (all {defaults})" if defaults else "")


def _category_ticks(labels: list[str], fontsize: int) -> tuple[list[str], int, int, float]:
    """Category tick labels of a cost panel: (labels wrapped at ~22 characters, rotation, font size,
    depth below the axis in inches); horizontal when the widest line fits its category, else at 30 degrees."""
    wrapped = [_wrap(label, 22) for label in labels]
    lines = [line for label in wrapped for line in label.split("\n")] or [""]
    char, line = 0.6 * fontsize / 72, 1.25 * fontsize / 72  # inches; ~0.6 em a character
    widest, height = max(len(text) for text in lines) * char, max(label.count("\n") + 1 for label in wrapped) * line
    category = (PANEL_WIDTH - 1.0) / max(len(labels), 1)  # the axes: the panel less its y labels
    if len(labels) < 2 or widest <= 0.92 * category:
        return wrapped, 0, fontsize, height
    angle = math.radians(30)
    return wrapped, 30, fontsize, widest * math.sin(angle) + height * math.cos(angle)


def plot_cost_to_solve(cells: list[Cell], strategies: list[str], unit: str, folder: Path, title: str) -> Section:
    """Cost to solve of every solved run (log scale), with medians and "k/n" solved."""
    from matplotlib.lines import Line2D

    section = Section(f"{unit.capitalize()} to solve", caption=(
        f"{UNIT_LABELS[unit].capitalize()} up to the first solution, one point per solved run (jittered "
        "sideways), black bars at the medians; k/n above: runs solved of runs (failed runs left out)."))
    colors = _colors(strategies)
    show_architecture = _architecture_varies(cells)
    rng = np.random.default_rng(0)  # jitter only; the same picture every time
    panels = _cost_panels(cells, len(strategies))
    chunks = _chunks(panels)
    ncols = _layout(len(chunks[0]))
    for chunk, name in zip(chunks, _file_names("cost_to_solve", len(chunks)), strict=True):
        ticks = [_category_ticks([label for label, _ in categories], 8 if not panel_title else 9)
                 for panel_title, categories in chunk]
        depth = max((tick[3] for tick in ticks), default=0.0)
        figure, axes = _figure(len(chunk), ncols, height=3.7 + max(0.0, depth - 0.45))
        for ax, (panel_title, categories), tick in zip(axes, chunk, ticks, strict=True):
            present = [s for s in strategies if any(r["strategy"] == s for _, c in categories for r in c.runs)]
            slot = 0.8 / max(len(present), 1)
            costs_all = [_cost(r, unit) for _, c in categories for r in c.runs if r["solved"] and _cost(r, unit) > 0]
            annotations = []
            for j, (_, cell) in enumerate(categories):
                for i, strategy in enumerate(present):
                    mine = [r for r in cell.runs if r["strategy"] == strategy]
                    if not mine:
                        continue
                    x = j - 0.4 + slot * (i + 0.5)
                    costs = np.array([_cost(r, unit) for r in mine if r["solved"] and _cost(r, unit) > 0])
                    if costs.size:
                        jitter = rng.uniform(-0.3, 0.3, costs.size) * slot
                        ax.scatter(x + jitter, costs, s=16, color=colors[strategy], alpha=0.75, linewidths=0,
                                   zorder=3)
                        ax.hlines(np.median(costs), x - 0.42 * slot, x + 0.42 * slot, color="black", linewidth=2,
                                  zorder=4)
                    annotations.append((x, f"{sum(bool(r['solved']) for r in mine)}/{len(mine)}"))
            ax.set_yscale("log")
            if costs_all:
                low, high = math.log10(min(costs_all)), math.log10(max(costs_all))
                span = max(high - low, 1.0)
                ax.set_ylim(10 ** (low - 0.1 * span), 10 ** (high + 0.35 * span))
                _log_axis(ax.yaxis, *ax.get_ylim())
            else:
                ax.set_ylim(1, 10)
                ax.set_yticks([])
                ax.set_yticks([], minor=True)
                ax.text(0.5, 0.45, "no run solved", transform=ax.transAxes, ha="center", va="center",
                        color="0.4", fontsize=11)
            slot_inches = PANEL_WIDTH * 0.8 * slot / len(categories)
            for x, text in annotations:
                rotate = len(text) * 8 * 0.6 / 72 > 0.9 * slot_inches  # 8 pt characters ~0.6 em wide
                ax.annotate(text, (x, 0.97), xycoords=("data", "axes fraction"), ha="center", va="top",
                            fontsize=8, rotation=90 if rotate else 0, color="0.2")
            ax.set_xlim(-0.5, len(categories) - 0.5)
            if len(categories) == 1:  # one cell: name it above, and the strategies below
                ax.set_xticks([-0.4 + slot * (i + 0.5) for i in range(len(present))], present, fontsize=9,
                              rotation=0 if len(present) < 4 else 30, ha="center" if len(present) < 4 else "right")
                if panel_title:
                    panel_title = ", ".join(part for part in (panel_title, categories[0][0]) if part)
            else:
                labels, rotation, fontsize, _ = tick
                ax.set_xticks(range(len(categories)), labels, fontsize=fontsize, rotation=rotation,
                              ha="right" if rotation else "center", rotation_mode="anchor" if rotation else "default",
                              multialignment="right" if rotation else "center")
            ax.set_ylabel(f"{UNIT_LABELS[unit]} to solve")
            ax.set_title(_wrap(panel_title or _packed_title(categories, show_architecture)), fontsize=10)
            ax.grid(True, axis="y", which="major", alpha=0.3)
        handles = [Line2D([], [], marker="o", linestyle="", color=colors[s], label=s) for s in strategies]
        handles.append(Line2D([], [], color="black", linewidth=2, label="median"))
        _save(figure, folder / name, f"{title}: {unit} to solve, solved runs (k/n: runs solved)", handles,
              [h.get_label() for h in handles])
        section.files.append(folder / name)
    return section


def plot_best_loss(cells: list[Cell], strategies: list[str], unit: str, folder: Path, title: str) -> Section:
    """Best training loss against cost: median and interquartile band over seeds, one panel per cell."""
    section = Section(f"Best training loss against {unit}", caption=(
        "Best training loss so far of each run, as a step function of its history: median (line) and "
        "quartiles (band) over the runs still going at that point, a run without a finite loss yet (before "
        "its first record; early-exit guessing records none before it solves) counting as an infinite loss. "
        f"Where fewer than half the runs have a finite loss the median is infinite: dotted at the top tick "
        f"\"{INFINITY}\", joined to the line where the median becomes finite (a band reaching \"{INFINITY}\": the "
        f"upper quartile is infinite). Losses below {LOSS_FLOOR:.0e} are drawn at the bottom tick \"0\" "
        f"(\"≤{LOSS_FLOOR:.0e}\" when not all of them are exactly 0). A solved run keeps its final loss to the "
        "end of its strategy's longest run."))
    colors = _colors(strategies)
    show_architecture = _architecture_varies(cells)
    drawable, empty = [], []
    for cell in cells:
        finite = any(v is not None and math.isfinite(v) for r in cell.runs for _, v in r.get("history") or [])
        (drawable if finite else empty).append(cell)
    if empty:
        section.notes.append(f"{len(empty)} cell(s) without a finite best loss in any run's history left out: "
                             + "; ".join(_group_title(c, show_architecture, with_t=True) for c in empty) + ".")
    if not drawable:
        return section
    if unit == "sequences":
        section.notes.append("Histories are recorded in evaluations; each run's are scaled by its sequences per "
                             "evaluation (exact when every evaluation presents the same number of sequences).")
    handles: dict[str, Any] = {}
    chunks = _chunks(drawable)
    ncols = _layout(len(chunks[0]))
    for chunk, name in zip(chunks, _file_names("best_loss", len(chunks)), strict=True):
        figure, axes = _figure(len(chunk), ncols)
        for ax, cell in zip(axes, chunk, strict=True):
            _draw_loss_panel(ax, cell, strategies, unit, colors, handles)
            ax.set_title(_wrap(_panel_title([cell], show_architecture)), fontsize=10)
        # Strategies in their order, then the key to the dotted line: whichever panel drew them first.
        order = [s for s in strategies if s in handles] + [k for k in handles if k not in strategies]
        _save(figure, folder / name, f"{title}: best training loss so far, median and quartiles over seeds "
              f"({INFINITY}: most runs have no finite loss yet)", [handles[k] for k in order],
              [handles[k].get_label() for k in order])
        section.files.append(folder / name)
    return section


def loss_quantiles(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and quartiles of runs' best losses at each point, a run without a finite loss counting as infinite.

    Parameters
    ----------
    values : ndarray, shape (runs, points)
        Best loss so far of each run: ``inf`` where the run has no finite loss yet, NaN where it
        is not counted (it has ended).

    Returns
    -------
    median, q1, q3 : ndarray, shape (points,)
        NaN where no run is counted, ``inf`` where the quantile falls on (or between a finite loss
        and) an infinite one: the median is finite only where more than half the runs have a
        finite loss, so it is never the median of the few that have one.
    """
    out = tuple(np.full(values.shape[1], np.nan) for _ in range(3))
    counted = (~np.isnan(values)).any(axis=0)
    if counted.any():
        stand_in = np.where(np.isinf(values[:, counted]), _HUGE, values[:, counted])
        for result, q in zip(out, (50, 25, 75), strict=True):
            got = np.nanpercentile(stand_in, q, axis=0)
            result[counted] = np.where(got > _HUGE_LIMIT, np.inf, got)
    return out


@dataclass
class _LossAxis:
    """How a loss panel's y axis places values: log or linear, the "0" and "∞" levels if needed."""

    log: bool
    low: float | None  # smallest and largest value drawn at its own height
    high: float | None
    zero: float | None = None  # where losses below LOSS_FLOOR are drawn ("0")
    zero_label: str = "0"
    ceiling: float | None = None  # where infinite losses are drawn

    @classmethod
    def fit(cls, stats: list[np.ndarray]) -> _LossAxis:
        """The axis for the drawn curves ``stats`` (NaN: nothing drawn, ``inf``: no finite loss)."""
        values = np.concatenate([s[~np.isnan(s)] for s in stats]) if stats else np.array([])
        finite = values[np.isfinite(values)]
        infinite = bool(np.isinf(values).any())
        tiny = finite[finite < LOSS_FLOOR]
        positive = finite[finite >= LOSS_FLOOR]
        # Log scale when losses span two decades or get tiny (a solved net's loss is often ~1e-10, or 0);
        # never with negative values, which a log axis cannot show.
        log = bool((finite >= 0).all() and (tiny.size or positive.size and (
            positive.max() / positive.min() >= 100 or positive.min() < 1e-3)))
        shown = positive if log else finite
        axis = cls(log, float(shown.min()) if shown.size else None, float(shown.max()) if shown.size else None)
        if log and tiny.size:
            # A decade below the smallest loss drawn at its height, so "0" stands apart from it.
            axis.zero = LOSS_FLOOR if axis.low is None else 10.0 ** (math.floor(math.log10(axis.low)) - 1)
            axis.zero_label = "0" if (tiny == 0).all() else f"≤{LOSS_FLOOR:.0e}"
        if infinite:
            top = axis.high if axis.high is not None else axis.zero
            bottom = axis.zero if axis.zero is not None else axis.low
            if top is None:  # every quantile drawn is infinite: "∞" alone, on a plain axis
                axis.log = False
                axis.ceiling = 1.0
            elif axis.log:
                axis.ceiling = top * 10 ** max(0.5, 0.12 * math.log10(top / bottom))
            else:
                axis.ceiling = top + max(0.12 * (top - bottom), 0.05 * abs(top), 1e-9)
        return axis

    def place(self, values: np.ndarray) -> np.ndarray:
        """Heights to draw ``values`` at: infinite ones at the ceiling, those below LOSS_FLOOR at zero."""
        out = np.where(np.isinf(values), np.nan if self.ceiling is None else self.ceiling, values)
        if self.zero is not None:
            out = np.where(out < LOSS_FLOOR, self.zero, out)
        return out

    def apply(self, ax) -> None:
        """Scale, limits and ticks: the data's (1-2-5 or decades), "0" at ``zero``, "∞" at ``ceiling``."""
        from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

        levels = [v for v in (self.zero, self.low, self.high, self.ceiling) if v is not None] or [0.0, 1.0]
        bottom, top = min(levels), max(levels)
        if self.log:
            ax.set_yscale("log")
            pad = max(0.05 * math.log10(top / bottom), 0.3)
            limits = (bottom / 10 ** pad, top * 10 ** pad)
        else:
            pad = 0.05 * (top - bottom) or max(0.05 * abs(top), 0.5)
            limits = (bottom - pad, top + pad)
        ticks: list[float] = []
        if self.low is not None:
            if self.log:
                decades = math.log10(self.high / self.low)
                locator = LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 2.0 else (1.0,), numticks=8)
                ticks = self._keep(locator.tick_values(self.low, self.high), limits)
            if len(ticks) < 2:  # a linear axis, or a log one spanning too little for 1-2-5 ticks
                locator = MaxNLocator(nbins=3 if self.log else 6)
                ticks = self._keep(locator.tick_values(self.low, self.high), limits)
        labels = [_tick(t) if self.log else f"{t:g}" for t in ticks]
        for level, label in ((self.zero, self.zero_label), (self.ceiling, INFINITY)):
            if level is not None:
                ticks.append(level)
                labels.append(label)
        ax.set_ylim(*limits)
        ax.set_yticks(ticks, labels)
        ax.yaxis.set_minor_locator(NullLocator())  # minor ticks would run on between "0", the data and "∞"

    def _keep(self, candidates: np.ndarray, limits: tuple[float, float]) -> list[float]:
        """The ``candidates`` inside ``limits``, between "0" and "∞", not crowding them or each other."""
        def height(v: float) -> float:
            return math.log10(v) if self.log else v

        gap = 0.07 * (height(limits[1]) - height(limits[0]))
        kept = []
        for t in map(float, candidates):
            if (self.log and t <= 0) or not limits[0] <= t <= limits[1]:
                continue
            # "≤1e-12" at the zero level already says where 1e-12 is; a tick of its own there would crowd it.
            if self.zero is not None and (height(t) < height(self.zero) + gap or t <= LOSS_FLOOR):
                continue
            if self.ceiling is not None and height(t) > height(self.ceiling) - gap:
                continue
            # Log locators fall back to linear steps within a decade, which crowd on a log axis.
            if kept and height(t) - height(kept[-1]) < 0.8 * gap:
                continue
            kept.append(t)
        return kept


def _draw_loss_panel(ax, cell: Cell, strategies: list[str], unit: str, colors: dict[str, Any],
                     handles: dict[str, Any]) -> None:
    """Draw one cell's best loss against cost on ``ax``: per strategy its median (solid where finite,
    dotted at "∞" where not), its quartile band; ``handles`` collects legend entries by label."""
    from matplotlib.lines import Line2D

    runs = []  # (strategy, history, scale, end, solved)
    for run in cell.runs:
        scale = run["sequences"] / run["evaluations"] if unit == "sequences" and run["evaluations"] else 1.0
        runs.append((run["strategy"], run.get("history") or [], scale, float(run[unit]), bool(run["solved"])))
    starts = [e * scale for _, history, scale, _, _ in runs for e, _ in history[:1] if e * scale > 0]
    ends = [end for *_, end, _ in runs if end > 0]
    if not starts:
        return
    first, last = min(starts), max(max(ends, default=0), max(starts))
    log_x = last / first >= 10
    grid = np.geomspace(first, last, 300) if log_x else np.linspace(first, last, 300)
    stats: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for strategy in strategies:
        mine = [r for r in runs if r[0] == strategy]
        if not mine:
            continue
        reach = max(end for *_, end, _ in mine)
        rows = []
        for _, history, scale, end, solved in mine:
            stop = reach if solved else end
            row = step_values(history, grid, scale, stop)
            # Still going but no finite loss yet (before its first record, or a None one): infinite, so
            # the median is not that of the few runs that already have one (often those that solved).
            rows.append(np.where(np.isnan(row) & (grid <= stop * (1 + 1e-9)), np.inf, row))
        values = np.array(rows)
        known = np.isfinite(values).any(axis=0)  # nothing is drawn before any run has a finite loss
        if known.any():
            stats[strategy] = tuple(np.where(known, s, np.nan) for s in loss_quantiles(values))
    axis = _LossAxis.fit([s for triple in stats.values() for s in triple])
    for strategy, (median, q1, q3) in stats.items():
        color = colors[strategy]
        solid, partial = np.isfinite(median), np.isinf(median)
        # The dotted part at "∞" takes in the points of the line next to it, so the two join.
        joined = partial | solid & (np.r_[False, partial[:-1]] | np.r_[partial[1:], False])
        (line,) = ax.step(grid, axis.place(np.where(solid, median, np.nan)), where="post", color=color,
                          linewidth=1.8, label=strategy)
        if partial.any():
            ax.step(grid, axis.place(np.where(joined, median, np.nan)), where="post", color=color, linewidth=1.2,
                    linestyle=":")
            handles.setdefault(INFINITY, Line2D([], [], color="0.3", linewidth=1.2, linestyle=":",
                                                label=f"dotted at {INFINITY}: fewer than half the runs have a "
                                                      "finite loss yet"))
        band = np.isfinite(q1)  # no band where even the lower quartile is infinite
        ax.fill_between(grid, axis.place(np.where(band, q1, np.nan)), axis.place(np.where(band, q3, np.nan)),
                        step="post", color=color, alpha=0.2, linewidth=0)
        handles.setdefault(strategy, line)
    ax.set_xlim(first, last)  # the panel's common grid: where the first history starts to the longest run's end
    if log_x:
        ax.set_xscale("log")
        _log_axis(ax.xaxis, first, last)
    axis.apply(ax)
    ax.set_xlabel(UNIT_LABELS[unit] + (" (log scale)" if log_x else ""))
    fitness = cell.runs[0].get("fitness")
    name = fitness.get("name") if isinstance(fitness, dict) else fitness
    ylabel = "best training loss" + (f" ({name})" if name else "")
    if axis.zero is not None:
        ylabel += f"\n(bottom tick: loss < {LOSS_FLOOR:.0e}, in effect 0)"
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)


# ----------------------------------------------------------------------------- entry
def make_plots(runs: list[dict[str, Any]], folder: str | Path, unit: str | None = None,
               title: str = "experiment") -> list[Section]:
    """Draw every plot of an experiment's runs into ``folder`` (PNG files).

    Parameters
    ----------
    runs : list of dict
        Run records, the latest of each run (failed runs are left out of the plots).
    folder : str or Path
        Where the PNG files go (created; earlier PNGs of these plots there are removed first).
    unit : {"evaluations", "sequences"}, optional
        Cost unit of the cost and loss plots; default :func:`default_unit`.
    title : str
        The experiment's name, for the figure titles.

    Returns
    -------
    list of Section
        Success rate against T, cost to solve, best loss: the files of each and notes.

    Raises
    ------
    MatplotlibMissing
        Without matplotlib (the ``plot`` extra); a ValueError with a one-line message.
    """
    _require_matplotlib()
    if unit is None:
        unit = default_unit(runs)
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}; got {unit!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix in PLOT_PREFIXES:
        for old in folder.glob(f"{prefix}*.png"):
            old.unlink()
    cells = cells_of(runs)
    strategies = _strategies([r for c in cells for r in c.runs])
    if not cells:
        return [Section("Plots", notes=["No finished run to plot."])]
    sections = [plot_success_vs_T(cells, strategies, folder, title),
                plot_cost_to_solve(cells, strategies, unit, folder, title),
                plot_best_loss(cells, strategies, unit, folder, title)]
    # A cell whose runs all failed is in no plot; say so once, under the first.
    drawn = {c.key for c in cells}
    failed = cells_of([r | {"status": "ok"} for r in runs if json.dumps(r["cell"], sort_keys=True) not in drawn])
    if failed:
        sections[0].notes.append("In no plot, every run of them failed: "
                                 + _cell_list(failed, _architecture_varies(cells + failed)))
    return sections
