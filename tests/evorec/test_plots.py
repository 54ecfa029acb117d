"""Plots of ``evorec report --plots``: panel titles, loss panels' axes and dotted parts, left-out cells."""

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from evorec import plots  # noqa: E402
from evorec.plots import cells_of, make_plots  # noqa: E402
from evorec.report import REPORT_FILE, Summary, write_report  # noqa: E402

FULLY_RECURRENT = {"preset": "fully_recurrent", "n_hidden": 1}
RG_A2 = {"preset": "rg_a2", "self_links": True}


def _run(task: dict, history=((1, 0.5), (8, 0.2)), *, strategy: str = "guessing", solved: bool = True,
         evaluations: int = 10, architecture: dict | None = None, status: str = "ok") -> dict:
    """A made-up run record with what the plots read; the cell is the task (and the architecture, if any)."""
    cell = {"task": task} | ({"architecture": architecture} if architecture else {})
    return {"status": status, "cell": cell, "task": task, "architecture": architecture, "strategy": strategy,
            "strategy_name": strategy, "solved": solved, "evaluations": evaluations, "sequences": evaluations,
            "history": [list(entry) for entry in history], "fitness": None}


@pytest.fixture
def figures(monkeypatch) -> dict[str, Figure]:
    """The figures make_plots draws, by file name, kept instead of written (faster, and inspectable)."""
    kept: dict[str, Figure] = {}
    monkeypatch.setattr(Figure, "savefig", lambda figure, path, **_: kept.__setitem__(Path(path).name, figure))
    return kept


def _titles(figure: Figure) -> list[str]:
    return [ax.get_title().replace("\n", " ") for ax in figure.axes if ax.get_visible()]


def _panel(runs: list[dict]):
    """The one loss panel of ``runs`` (one cell, strategy guessing), drawn."""
    [cell] = cells_of(runs)
    figure = Figure()
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    handles: dict = {}
    plots._draw_loss_panel(ax, cell, ["guessing"], "evaluations", {"guessing": "C0"}, handles)
    figure.canvas.draw()
    return ax, handles


def _ticks(ax) -> dict[str, float]:
    return {label.get_text(): value for value, label in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)}


# ------------------------------------------------------------------------------ titles
def test_panel_titles_name_the_lengths_even_when_the_task_default_is_used(tmp_path, figures):
    noisy = [{"name": "parity", "params": {"lengths": lengths, "noise": 0.2}} for lengths in ([5, 10], [10, 20])]
    default = [{"name": "parity", "params": {}}, {"name": "latch", "params": {"variant": "I"}}]
    make_plots([_run(task) for task in noisy + default], tmp_path, title="t")
    # One panel per cell: every parameter is constant in it, the lengths included (parity's and
    # latch's default is 500..600, which their parameters do not say).
    assert _titles(figures["best_loss.png"]) == [
        "parity(lengths=[5, 10], noise=0.2)", "parity(lengths=[10, 20], noise=0.2)",
        "parity(lengths=[500, 600])", 'latch(variant="I", lengths=[500, 600])']
    # Lengths vary within a T panel and within a group's cost panel: not in their titles.
    assert _titles(figures["success_vs_T.png"]) == ["parity(noise=0.2)"]
    cost = _titles(figures["cost_to_solve.png"])
    assert cost == ["parity(noise=0.2)", "tasks with one cell each (all lengths=[500, 600])"]
    wrapped = [ax.get_title() for ax in figures["cost_to_solve.png"].axes]
    assert not any("[500,\n" in title for title in wrapped)  # a list stays on one line


def test_panel_titles_name_the_architecture_when_it_varies(tmp_path, figures):
    task = {"name": "parity", "params": {}}
    make_plots([_run(task, architecture=a) for a in (FULLY_RECURRENT, RG_A2)], tmp_path, title="t")
    assert _titles(figures["best_loss.png"]) == ["parity(lengths=[500, 600]), A: fully_recurrent(n_hidden=1)",
                                                 "parity(lengths=[500, 600]), A: rg_a2(self_links=true)"]


# --------------------------------------------------------------------------- loss panels
def test_an_all_zero_loss_panel_is_logarithmic_with_its_floor_labelled_zero():
    task = {"name": "latch", "params": {"variant": "II"}}
    ax, _ = _panel([_run(task, history=[[1, 0.0], [5, 0.0]]) for _ in range(3)])
    ticks = _ticks(ax)
    assert ax.get_yscale() == "log"
    assert min(ticks, key=ticks.get) == "0" and ticks["0"] == plots.LOSS_FLOOR
    assert "1e-12" in ax.get_ylabel()
    # Tiny losses that are not exactly 0 are drawn there too, labelled as at most the floor.
    ax, _ = _panel([_run(task, history=[[1, 0.0]]), _run(task, history=[[1, 1e-20]]), _run(task, history=[[1, 0.3]])])
    ticks = _ticks(ax)
    assert ax.get_yscale() == "log" and min(ticks, key=ticks.get) == "≤1e-12" and len(ticks) >= 2


def test_runs_without_a_finite_loss_yet_count_as_infinite_in_the_median():
    inf, nan = math.inf, math.nan
    values = np.array([[0.0, 0.0, 0.0], [inf, 0.5, nan], [inf, 0.5, 0.7], [inf, 0.5, 0.7]])
    median, q1, q3 = plots.loss_quantiles(values)
    # One run of four has a loss at the first point: the median is not its 0 but infinite.
    assert median[0] == inf and q1[0] == inf and q3[0] == inf
    assert median[1] == 0.5 and 0 < q1[1] < 0.5 and q3[1] == 0.5
    assert median[2] == 0.7  # an ended run (NaN) is not counted
    assert np.isnan(plots.loss_quantiles(np.full((2, 1), nan))).all()


def test_the_dotted_part_of_a_median_lies_above_the_line_it_joins():
    # One run solves at 10 (loss 0); the other three first record a loss at 100. Between 10 and
    # 100 fewer than half have a finite loss: the median is infinite, not the solver's 0.
    task = {"name": "latch", "params": {"variant": "II", "lengths": [5, 10]}}
    runs = [_run(task, history=[[10, 0.0]], evaluations=10)]
    runs += [_run(task, history=[[100, 0.5], [400, 0.4]], solved=False, evaluations=1000) for _ in range(3)]
    ax, handles = _panel(runs)
    [solid] = [line for line in ax.lines if line.get_linestyle() == "-"]
    [dotted] = [line for line in ax.lines if line.get_linestyle() == ":"]
    x, y = np.asarray(dotted.get_xdata()), np.asarray(dotted.get_ydata(), dtype=float)
    line = np.asarray(solid.get_ydata(), dtype=float)
    median = line[np.isfinite(line)]
    assert median.size and median.min() >= 0.4 and median.max() <= 0.5
    early = y[(x < 100) & np.isfinite(y)]
    assert early.size and early.min() > median.max()
    assert (early == _ticks(ax)["∞"]).all()  # drawn at the tick that says what it is
    # Its only other points join it to the line: they lie on the median.
    joins = y[(x >= 100) & np.isfinite(y)]
    assert joins.size and np.isin(joins, median).all()
    assert "fewer than half the runs have a finite loss" in handles["∞"].get_label()


# ------------------------------------------------------------------------- left-out cells
def test_cells_left_out_of_the_success_plot_are_named_in_the_report(tmp_path, figures):
    parity = [{"name": "parity", "params": {"lengths": lengths}} for lengths in ([5, 10], [10, 20])]
    no_t = {"name": "parity", "params": {}}  # same task group, but no T to place it at
    lone = {"name": "latch", "params": {"variant": "I", "lengths": [5, 10]}}  # the only T of its group
    runs = [_run(task) for task in [*parity, no_t, lone]]
    sections = make_plots(runs, tmp_path / "plots", title="t")
    assert sections[0].files and "Cells not shown are listed below" in sections[0].caption
    notes = " ".join(sections[0].notes)
    assert 'only value of T in their task group (no line to draw): 1 cell(s): latch(variant="I", lengths=[5, 10])' \
        in notes
    assert "neither `T` nor `lengths` (no T to place them at): 1 cell(s): parity()." in notes
    summary = Summary(tmp_path, "t", [], runs, [])
    text = write_report(summary).read_text()
    assert (tmp_path / REPORT_FILE).exists()
    assert 'latch(variant="I", lengths=[5, 10])' in text and "cell(s): parity()." in text
    # Nothing left out: the caption says so.
    sections = make_plots(runs[:2], tmp_path / "plots", title="t")
    assert "Every grid cell is shown." in sections[0].caption and not sections[0].notes


def test_cells_whose_runs_all_failed_are_named(tmp_path, figures):
    parity = [{"name": "parity", "params": {"lengths": lengths}} for lengths in ([5, 10], [10, 20], [20, 40])]
    runs = [_run(parity[0]), _run(parity[1]), _run(parity[2], status="failed")]
    notes = " ".join(make_plots(runs, tmp_path, title="t")[0].notes)
    assert "every run of them failed: 1 cell(s): parity(lengths=[20, 40])." in notes
