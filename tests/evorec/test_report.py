import csv
import gzip
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from evorec import plots
from evorec.cli import main
from evorec.config import ConfigError, load
from evorec.plots import MATPLOTLIB_MISSING, Cell, cells_of, default_unit, step_values, task_T
from evorec.published import PublishedFigure, load_published
from tests.extras import needs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXPERIMENT = {
    "name": "synthetic",
    "seed": 0,
    "seeds": 4,
    "budget": {"evaluations": 1000},
    "task": {"name": "parity", "params": {"lengths": [5, 10]}},
    "data": {"train_size": 10, "test_size": 10},
    "strategies": [{"name": "guessing"}, {"name": "annealing"}],
    "grid": {"task.params.lengths": [[5, 10], [10, 20], [50, 100]]},
}


def _record(spec, index: int, gradient: bool = False) -> dict:
    """A made-up finished run of ``spec``: short sequences solve more often, the second strategy faster."""
    rng = np.random.default_rng(index)
    longest = spec.task["params"]["lengths"][-1]
    solved = bool(rng.random() < (0.9 if longest <= 10 else 0.5 if longest <= 20 else 0.1))
    evaluations = int(rng.integers(10, 900)) if solved else 1000
    if spec.label != "guessing":
        evaluations = max(evaluations // 4, 5)
    per_evaluation = 1000 if gradient and spec.label != "guessing" else 10
    history = [[max(evaluations // 8, 1), None], [max(evaluations // 2, 2), 0.4], [evaluations, 0.0 if solved else 0.2]]
    if spec.label == "guessing" and index % 2:
        history = [[evaluations, None]]  # early-exit guessing records no finite loss
    return {
        "run_id": spec.run_id, "cell": spec.cell, "strategy": spec.label,
        "strategy_name": "bptt" if gradient and spec.label != "guessing" else spec.strategy["name"],
        "seed": spec.seed, "task": spec.task, "architecture": spec.architecture, "fitness": None,
        "budget": spec.budget, "solved": solved, "evaluations": evaluations,
        "sequences": evaluations * per_evaluation, "steps": evaluations * 100, "best_loss": history[-1][1],
        "history": history, "test_error": 0.0 if solved else 0.5, "train_error": 0.0 if solved else 0.5,
        "wall_seconds": 0.01, "seconds": 0.01, "status": "ok", "error": None,
    }


def _folder(tmp_path: Path, doc: dict | None = None, gradient: bool = False, name: str = "out") -> Path:
    """An experiment's output folder with experiment.yaml and made-up runs (nothing is run)."""
    doc = doc or EXPERIMENT
    folder = tmp_path / name
    folder.mkdir()
    (folder / "experiment.yaml").write_text(yaml.safe_dump(doc))
    runs = load(folder / "experiment.yaml").runs
    lines = [json.dumps(_record(spec, i, gradient)) for i, spec in enumerate(runs)]
    (folder / "runs.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _pngs(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "plots").glob("*.png"))


# ------------------------------------------------------------------------------ plots
@pytest.mark.parametrize(("params", "expected"), [
    ({"T": 100, "lengths": [5, 10]}, 100),
    ({"lengths": [50, 100]}, 100),
    ({"lengths": 30}, 30),
    ({"variant": "II"}, None),
    ({}, None),
    ({"T": True}, None),
])
def test_T_is_the_task_parameter_else_the_upper_end_of_lengths(params, expected):  # noqa: N802
    assert task_T({"name": "x", "params": params}) == expected
    assert task_T({"name": "x"}) is None


def test_report_plots_writes_pngs_and_a_report_that_shows_each(tmp_path, capsys):
    folder = _folder(tmp_path)
    assert main(["report", str(folder), "--plots"]) == 0
    assert _pngs(folder) == ["best_loss.png", "cost_to_solve.png", "success_vs_T.png"]
    for name in _pngs(folder):
        data = (folder / "plots" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    report = (folder / "report.md").read_text()
    shown = re.findall(r"!\[[^\]]*\]\((plots/[^)]+)\)", report)
    assert sorted(Path(p).name for p in shown) == _pngs(folder)
    assert "## Evaluations to solve" in report  # no gradient strategy: costs in evaluations
    assert "| guessing |" in report and "| annealing |" in report  # the summary table
    assert "report.md" in capsys.readouterr().out
    # The same runs draw the same pictures (jitter from its own seeded generator), and a rerun
    # leaves no stale files behind.
    first = {name: (folder / "plots" / name).read_bytes() for name in _pngs(folder)}
    (folder / "plots" / "cost_to_solve_3.png").write_bytes(b"stale")
    assert main(["report", str(folder), "--plots"]) == 0
    assert {name: (folder / "plots" / name).read_bytes() for name in _pngs(folder)} == first


def test_success_plot_is_skipped_with_a_note_without_two_values_of_T(tmp_path):
    doc = dict(EXPERIMENT, grid={}, seeds=2)
    folder = _folder(tmp_path, doc)
    assert main(["report", str(folder), "--plots", "--unit", "sequences"]) == 0
    assert _pngs(folder) == ["best_loss.png", "cost_to_solve.png"]
    report = (folder / "report.md").read_text()
    assert "Not drawn: no task has cells at two or more values of T" in report
    assert "## Sequences to solve" in report and "## Best training loss against sequences" in report


def test_many_cells_make_several_figures_of_at_most_six_panels(tmp_path):
    lengths = [[5, 10], [10, 20], [20, 30], [30, 40], [40, 50], [50, 60], [60, 70]]
    doc = dict(EXPERIMENT, seeds=2, strategies=[{"name": "guessing"}], grid={"task.params.lengths": lengths})
    folder = _folder(tmp_path, doc)
    assert main(["report", str(folder), "--plots"]) == 0
    assert "best_loss_1.png" in _pngs(folder) and "best_loss_2.png" in _pngs(folder)
    assert "best_loss.png" not in _pngs(folder)
    report = (folder / "report.md").read_text()
    assert all(f"plots/{name}" in report for name in _pngs(folder))


def test_costs_are_in_sequences_when_a_gradient_strategy_took_part():
    guessing = {"strategy_name": "guessing"}
    assert default_unit([guessing]) == "evaluations"
    assert default_unit([guessing, {"strategy_name": "lstm"}]) == "sequences"
    assert default_unit([guessing, {"strategy_name": "bptt"}]) == "sequences"
    assert default_unit([guessing, {"strategy_name": "rtrl"}]) == "sequences"


def test_report_unit_follows_the_strategies_unless_forced(tmp_path):
    folder = _folder(tmp_path, dict(EXPERIMENT, grid={}, seeds=2), gradient=True)
    assert main(["report", str(folder), "--plots"]) == 0
    assert "## Sequences to solve" in (folder / "report.md").read_text()
    assert main(["report", str(folder), "--unit", "evaluations"]) == 2  # --unit only with --plots


def test_step_values_follow_the_history():
    grid = np.array([1.0, 5.0, 10.0, 20.0, 40.0, 80.0])
    values = step_values([[5, None], [10, 0.5], [30, 0.25]], grid, end=40)
    expected = [math.nan, math.nan, 0.5, 0.5, 0.25, math.nan]
    np.testing.assert_array_equal(values, expected)
    np.testing.assert_array_equal(step_values([[5, 0.5]], grid, scale=2.0), [math.nan, math.nan, 0.5, 0.5, 0.5, 0.5])
    assert np.isnan(step_values([], grid)).all()
    assert np.isnan(step_values([[1, None], [50, None]], grid)).all()


def test_without_matplotlib_plots_fail_in_one_line_and_the_summary_is_still_written(tmp_path, monkeypatch, capsys):
    folder = _folder(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    assert main(["report", str(folder), "--plots"]) == 2
    assert capsys.readouterr().err.splitlines() == [f"evorec: error: {MATPLOTLIB_MISSING}"]
    assert MATPLOTLIB_MISSING == "--plots needs matplotlib (pip install evorec[plot])"
    assert (folder / "summary.csv").exists() and (folder / "summary.md").exists()
    assert not (folder / "report.md").exists()


def _run(cell: dict, architecture, history=None, **extra) -> dict:
    task = cell["task"]
    return {"status": "ok", "cell": cell, "task": task, "architecture": architecture, "strategy": "guessing",
            "solved": True, "evaluations": 10, "sequences": 10, "history": history or [[1, 0.5]], **extra}


def test_plot_labels_name_the_architecture_once_and_omit_the_task_default():
    parity = {"name": "parity"}
    runs = [_run({"task": {"name": "latch", "params": {"variant": "I"}}}, None),
            _run({"task": parity, "architecture": {"preset": "fully_recurrent", "n_hidden": 1}},
                 {"n_hidden": 1, "preset": "fully_recurrent"}),
            _run({"task": parity, "architecture": {"preset": "rg_a2", "self_links": True}},
                 {"preset": "rg_a2", "self_links": True})]
    cells = cells_of(runs)
    titles = [plots._group_title(c, show_architecture=True, with_t=True) for c in cells]
    assert titles == ['latch(variant="I")', "parity(), A: fully_recurrent(n_hidden=1)",
                      "parity(), A: rg_a2(self_links=true)"]
    labels = [label for _, categories in plots._cost_panels(cells, 1) for label, _ in categories]
    assert labels == titles
    for label in labels:
        assert "task default" not in label and "architecture" not in label
        assert label.count("fully_recurrent") + label.count("rg_a2") <= 1
    # An architecture swept by a dotted grid key is named once too, even when it is the only one.
    swept = Cell("k", {"task": parity, "architecture.n_hidden": 2}, {"name": "parity"},
                 {"preset": "fully_recurrent", "n_hidden": 2})
    assert plots._group_title(swept, show_architecture=False) == "parity(), A: fully_recurrent(n_hidden=2)"


def test_a_loss_panel_of_zeros_has_a_log_axis_at_the_floor():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    [cell] = cells_of([_run({"task": {"name": "latch"}}, None, history=[[1, 0.0], [5, 0.0]]) for _ in range(3)])
    figure = Figure()
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    plots._draw_loss_panel(ax, cell, ["guessing"], "evaluations", {"guessing": "C0"}, {})
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "log" and low < 1e-12 < high and "1e-12" in ax.get_ylabel()


# -------------------------------------------------------------------------- published
def _figure(match: dict, experiment: str = "synthetic") -> PublishedFigure:
    return PublishedFigure(experiment, match, "evaluations_mean", 100, "Someone 1999, A Journal 1(2)", "Sec. 2")


RECORD = {"strategy": "guessing", "task": {"name": "parity", "params": {"lengths": [25, 50], "noise": 0.2}},
          "architecture": {"preset": "fully_recurrent", "n_hidden": 1}, "cell": {"task.params.lengths": [25, 50]}}


@pytest.mark.parametrize(("match", "expected"), [
    ({"strategy": "guessing"}, True),
    ({"task": {"name": "parity"}}, True),  # a mapping is a subset
    ({"task": {"params": {"noise": 0.2}}, "strategy": "guessing"}, True),
    ({"task": {"params": {"lengths": [25, 50.0]}}}, True),  # int equals float
    ({"architecture": {"n_hidden": 1}}, True),
    ({"strategy": "annealing"}, False),
    ({"task": {"params": {"lengths": [25]}}}, False),  # lists compare exactly
    ({"task": {"params": {"T": 100}}}, False),  # a key the record lacks
    ({"architecture": {"n_hidden": True}}, False),  # a bool is not the number 1
    ({"architecture": None}, False),
    ({"seed": 0}, False),
])
def test_published_match_is_a_recursive_subset(match, expected):
    assert _figure(match).matches(RECORD) is expected


def test_published_short_citation():
    figure = PublishedFigure("lstm97", {"strategy": "lstm"}, "sequences_mean", 74000,
                             "Hochreiter & Schmidhuber 1997, Neural Computation 9(8)", "Sec. 5.4, Table 7")
    assert figure.short() == "74000 seqs (mean) [Hochreiter & Schmidhuber 1997, Sec. 5.4]"
    rate = PublishedFigure("x", {"strategy": "lstm"}, "success_rate", 0.85, "Someone, Other & Third 2001, T", "Fig. 3")
    assert rate.short() == "85% success [Someone, Other & Third 2001, Fig. 3]"


def test_published_figure_of_another_method_and_of_training_sequences():
    rtrl = PublishedFigure("lstm97", {"strategy": "lstm97"}, "success_rate", 0.0, "Hochreiter & Schmidhuber 1997, N",
                           "Sec. 5.2", method="RTRL")
    assert rtrl.short() == "RTRL: 0% success [Hochreiter & Schmidhuber 1997, Sec. 5.2]"
    lstm = PublishedFigure("lstm97", {"strategy": "lstm97"}, "training_sequences_mean", 5040, "H & S 1997, N", "5.2")
    assert lstm.shown() == "5040 training seqs (mean)"


GOOD_ENTRY = {"experiment": "synthetic", "match": {"strategy": "guessing"}, "metric": "evaluations_mean",
              "value": 100, "source": "Someone 1999, A Journal 1(2)", "section": "Sec. 2"}


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"sourse": "x"}, "figures[1].sourse", "unknown key (did you mean 'source'?)"),
    ({"source": None}, "figures[1].source", "must be a non-empty string"),
    ({"section": ""}, "figures[1].section", "must be a non-empty string"),
    ({"metric": "evaluations_mean_"}, "figures[1].metric", "must be one of"),
    ({"value": "100"}, "figures[1].value", "must be a finite number"),
    ({"value": 1.5, "metric": "success_rate"}, "figures[1].value", "a success rate is a fraction in [0, 1]"),
    ({"match": ["strategy"]}, "figures[1].match", "must be a non-empty mapping"),
    ({"note": 3}, "figures[1].note", "must be a string"),
    ({"method": ["RTRL"]}, "figures[1].method", "must be a string"),
])
def test_published_file_errors_are_one_line_naming_file_entry_and_field(tmp_path, change, field, message):
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump({"figures": [GOOD_ENTRY, GOOD_ENTRY | change]}))
    with pytest.raises(ConfigError) as raised:
        load_published(path)
    lines = str(raised.value).splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith(f"{path}:") and f": {field}: " in line and message in line


def test_published_file_missing_field_and_good_file(tmp_path):
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump({"figures": [{k: v for k, v in GOOD_ENTRY.items() if k != "source"}]}))
    with pytest.raises(ConfigError, match=r"published\.yaml:\d+:\d+: figures\[0\]\.source: is required$"):
        load_published(path)
    path.write_text(yaml.safe_dump({"figures": [GOOD_ENTRY]}))
    [figure] = load_published(path)
    assert figure.value == 100 and figure.matches({"strategy": "guessing"})


def test_report_shows_published_figures_beside_ours(tmp_path, capsys, monkeypatch):
    folder = _folder(tmp_path, dict(EXPERIMENT, seeds=2))
    entry = GOOD_ENTRY | {"match": {"task": {"params": {"lengths": [10, 20]}}, "strategy": "guessing"}}
    other = GOOD_ENTRY | {"experiment": "another", "value": 7}
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump({"figures": [entry, other]}))
    assert main(["report", str(folder), "--published", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].rstrip().endswith("published")
    cited = "100 evals (mean) [Someone 1999, Sec. 2]"
    marked = [line for line in lines[2:] if cited in line]
    assert len(marked) == 1 and "lengths=[10, 20]" in marked[0] and "guessing" in marked[0]
    with open(folder / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["published"] for row in rows].count(cited) == 1
    assert [row["published"] for row in rows].count("-") == len(rows) - 1
    summary = (folder / "summary.md").read_text()
    assert "| published |" in summary and "Someone 1999, A Journal 1(2), Sec. 2" in summary
    assert "7 evals" not in summary  # another experiment's figure
    # The default file is the one shipped in the package, whatever the current directory.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("evorec.published.DEFAULT_FILE", path)
    assert main(["report", str(folder)]) == 0
    assert cited in capsys.readouterr().out
    path.write_text("figures: [{experiment: synthetic}]\n")
    assert main(["report", str(folder)]) == 2
    assert "figures[0].match: is required" in capsys.readouterr().err


def test_report_without_published_figures_keeps_its_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the shipped figures concern other experiments
    folder = _folder(tmp_path, dict(EXPERIMENT, seeds=2))
    assert main(["report", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "published" not in printed.splitlines()[0]
    with open(folder / "summary.csv") as handle:
        assert "published" not in next(csv.reader(handle))
    # An archived folder (runs.jsonl.gz only) reports the same.
    (folder / "runs.jsonl.gz").write_bytes(gzip.compress((folder / "runs.jsonl").read_bytes()))
    (folder / "runs.jsonl").unlink()
    assert main(["report", str(folder)]) == 0
    assert capsys.readouterr().out == printed


def test_the_committed_results_regenerate_their_report_and_plots(tmp_path, capsys):
    # docs/results holds each reproduction's compressed runs; `evorec report --plots` must
    # rebuild the PNGs and report.md from them (issue: paper reproductions).
    needs("matplotlib", "plot")
    import shutil

    source = Path(__file__).resolve().parents[2] / "docs" / "results" / "gnarl_ant"
    folder = tmp_path / "gnarl_ant"
    folder.mkdir()
    for name in ("experiment.yaml", "runs.jsonl.gz"):
        shutil.copy(source / name, folder / name)
    assert main(["report", str(folder), "--plots"]) == 0
    pngs = sorted(p.name for p in (folder / "plots").glob("*.png"))
    assert pngs == sorted(p.name for p in (source / "plots").glob("*.png")) and pngs
    report = (folder / "report.md").read_text()
    assert all(f"plots/{name}" in report for name in pngs)
    assert "| 10 |" in (folder / "summary.md").read_text()  # all ten runs read from the archive
