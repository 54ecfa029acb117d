"""evorec.load_runs: a results folder as a DataFrame, one row per run, read by the store's reader.

The expected values are the records' own, read here without evorec's reader (json and gzip);
nothing is copied from load_runs' output.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import sys
from pathlib import Path

import pytest

import evorec
from evorec.config import load
from evorec.frame import PANDAS_MISSING
from evorec.results import ResultsStore, summarize
from tests.extras import needs

pandas = needs("pandas", "pandas")

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"
COMMITTED = sorted(p.name for p in RESULTS.iterdir() if (p / "runs.jsonl.gz").exists())
OUTCOMES = ("solved", "evaluations", "sequences", "steps", "best_loss", "train_error", "test_error", "seconds",
            "wall_seconds")


def _record(run_id: str, task: dict | None = None, **fields) -> dict:
    """A record as evorec.experiment.execute writes one (without the network and versions)."""
    task = task or {"name": "parity", "params": {"lengths": [25, 50]}}
    record = {"run_id": run_id, "status": "ok", "error": None, "cell": {"task": task}, "strategy": "guessing",
              "strategy_name": "guessing", "strategy_params": {"r": 10}, "seed": 0, "task": task,
              "architecture": None, "fitness": None, "data": {"train_size": 100, "test_size": 100},
              "budget": {"evaluations": 1000}, "solved": True, "evaluations": 12, "sequences": 1200,
              "steps": 30000, "seconds": 0.25, "wall_seconds": 0.5, "best_loss": 0.125, "train_error": 0.0,
              "test_error": 0.01, "history": [[4, 0.5], [12, 0.125]], "info": {}, "stopped": False, "state": None}
    return record | fields


def _failed(run_id: str, **fields) -> dict:
    outcome = set(OUTCOMES) | {"history", "info", "stopped", "state"}
    record = {k: v for k, v in _record(run_id, **fields).items() if k not in outcome}
    return record | {"status": "failed", "error": "RuntimeError: out of memory", "wall_seconds": 0.1}


def _same(value, expected) -> bool:
    """A frame's value against a record's: None and NaN are missing, lists are tuples."""
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return pandas.isna(value)
    if isinstance(expected, list):
        expected = tuple(expected)
    return value == expected


def _settings(record: dict) -> dict:
    """What each setting's columns must hold, spelled from the record by hand."""
    expected = {}
    for field, prefix, name in (("task", "task", "name"), ("architecture", "architecture", "preset"),
                                ("fitness", "fitness", "name"), ("data", "data", None), ("budget", "budget", None),
                                ("strategy_params", "strategy", None)):
        setting = dict(record.get(field) or {})
        if name and name in setting:
            expected[prefix] = setting.pop(name)
        setting |= setting.pop("params", {})
        expected |= {f"{prefix}.{key}": value for key, value in setting.items()}
    return expected


def _check_row(row, record: dict) -> None:
    for column in ("run_id", "strategy", "strategy_name", "seed", "status"):
        assert row[column] == record[column], column
    for column in OUTCOMES:
        assert _same(row[column], record.get(column)), (column, row[column], record.get(column))
    assert _same(row["training_sequences"], (record.get("info") or {}).get("training_sequences"))
    expected = _settings(record)
    for column, value in expected.items():
        assert _same(row[column], value), (column, row[column], value)
    setting_columns = [c for c in row.index if c.split(".")[0] in ("task", "architecture", "fitness", "data",
                                                                   "budget", "strategy") and c != "strategy"]
    for column in set(setting_columns) - set(expected):  # another cell's parameter: missing here
        assert pandas.isna(row[column]), (column, row[column])


def test_one_row_per_run_from_its_latest_record(tmp_path):
    store = ResultsStore(tmp_path)
    latest = {"a": _record("a", evaluations=50, solved=False),  # failed first, then done again
              "b": _record("b", seed=1, evaluations=7),
              "c": _failed("c", seed=2)}  # solved first, then (say, by hand) marked failed
    for record in [_failed("a"), latest["b"], _record("c", seed=2), latest["a"], latest["c"]]:
        store.append(record)
    runs = evorec.load_runs(tmp_path)
    assert list(runs["run_id"]) == ["a", "b", "c"]  # in the order the store first lists them
    for (_, row), run_id in zip(runs.iterrows(), "abc", strict=True):
        _check_row(row, latest[run_id])
    assert runs["error"].tolist()[2] == latest["c"]["error"] and runs["error"][:2].isna().all()
    # `solved` stays boolean with a failed run; its mean is the summary's success rate (over
    # finished runs), grouped by the summary's own key.
    assert str(runs["solved"].dtype) == "boolean"
    [row] = summarize(list(latest.values()))
    rates = runs.groupby(["cell", "strategy"])["solved"].mean()
    assert rates[(row["cell"], row["strategy"])] == row["success_rate"] == 0.5


def test_the_parameters_of_different_cells_are_columns_missing_where_a_cell_lacks_them(tmp_path):
    records = [
        _record("adding", task={"name": "adding", "params": {"T": 100}}, strategy="lstm97", strategy_name="lstm",
                strategy_params={"preset": "lstm97", "check_every": 1000}, budget={"sequences": 30000},
                info={"training_sequences": 2500}),
        _record("parity", architecture={"preset": "rg_a1", "n_hidden": 1}, fitness={"name": "mse"},
                data={"train_size": 20, "test_size": 50}, budget={"evaluations": 100, "seconds": 5.0}),
        _record("reber", task={"name": "embedded_reber"}, fitness={"name": "fraction_wrong",
                                                                   "params": {"tolerance": 0.25}}),
    ]
    for record in records:
        ResultsStore(tmp_path).append(record)
    runs = evorec.load_runs(tmp_path)
    for (_, row), record in zip(runs.iterrows(), records, strict=True):
        _check_row(row, record)
    # Every parameter of every cell is a column (the check above finds them by these names).
    for column in ("task.T", "task.lengths", "architecture", "architecture.n_hidden", "fitness",
                   "fitness.tolerance", "budget.sequences", "budget.seconds", "strategy.preset", "strategy.r"):
        assert column in runs.columns
    assert runs["task.T"].notna().sum() == 1 and runs["training_sequences"].notna().sum() == 1
    # Lists are tuples, so that a column can be grouped by.
    assert runs.groupby("task.lengths").size().to_dict() == {(25, 50): 1}


@pytest.mark.parametrize("name", COMMITTED)
def test_a_committed_archive_gives_each_runs_latest_record(name):
    folder = RESULTS / name
    lines = gzip.decompress((folder / "runs.jsonl.gz").read_bytes()).splitlines()
    latest = {}
    for line in lines:
        if line.strip():
            record = json.loads(line)
            latest[record["run_id"]] = record
    runs = evorec.load_runs(folder)
    assert len(runs) == len(latest) and runs["run_id"].is_unique
    for _, row in runs.iterrows():
        _check_row(row, latest[row["run_id"]])
    # Grouped by cell and strategy, the rows are the committed summary's rows.
    with open(folder / "summary.csv") as handle:
        summary = list(csv.DictReader(handle))
    groups = runs.groupby(["cell", "strategy"], sort=False)
    assert len(groups) == len(summary)
    for row in summary:
        group = groups.get_group((row["cell"], row["strategy"]))
        assert len(group) == int(row["runs"]) and group["solved"].sum() == int(row["solved"])


def test_a_folder_that_is_not_a_results_folder_is_one_line(tmp_path):
    for folder in (tmp_path / "missing", tmp_path):
        with pytest.raises(ValueError, match=r"^.*: no runs.jsonl here; give the output folder of an experiment$"):
            evorec.load_runs(folder)
    (tmp_path / "runs.jsonl.gz").write_bytes(b"\x1f\x8b garbled")
    with pytest.raises(ValueError) as error:
        evorec.load_runs(tmp_path)
    assert str(error.value).startswith(f"cannot read {tmp_path / 'runs.jsonl.gz'}: ")
    assert len(str(error.value).splitlines()) == 1


def test_unreadable_lines_are_left_out_with_one_warning(tmp_path):
    store = ResultsStore(tmp_path)
    store.append(_record("a"))
    with open(store.path, "a") as handle:
        handle.write('{"run_id": "b", "status": "ok"}\nnot json\n{"run_id": "c", "stat')  # the last cut short
    with pytest.warns(UserWarning) as caught:
        runs = evorec.load_runs(tmp_path)
    assert list(runs["run_id"]) == ["a"]
    [warning] = caught
    assert ":2: unreadable line ignored" in str(warning.message) and "(and 2 more such lines)" in str(warning.message)


def test_an_empty_store_is_an_empty_frame_with_the_columns(tmp_path):
    (tmp_path / "runs.jsonl").write_text("")
    runs = evorec.load_runs(tmp_path)
    assert runs.empty and {"run_id", "cell", "strategy", "seed", "solved", "evaluations", "test_error"} <= set(runs)


def test_a_hostile_folder_is_read_as_data_and_nothing_in_it_runs(tmp_path, monkeypatch):
    # A module that leaves a file when imported, named as the task of the records and of the
    # experiment file: load_runs reads neither as something to import.
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "frame_probe.py").write_text("from pathlib import Path\nPath(__file__).with_name('imported')"
                                            ".write_text('')\nclass Probe:\n    pass\n")
    monkeypatch.syspath_prepend(str(modules))
    monkeypatch.delitem(sys.modules, "frame_probe", raising=False)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "experiment.yaml").write_text("name: probe\nseeds: 1\nbudget: {evaluations: 10}\n"
                                            "task: {name: 'frame_probe:Probe'}\nstrategies: [{name: guessing}]\n")
    deep = 1
    for _ in range(100):
        deep = {"k": deep}
    task = {"name": "frame_probe:Probe", "params": {"deep": deep, "listed": [{"a": 1}, [2, 3]]}}
    ResultsStore(folder).append(_record("a", task=task, evaluations="many", solved="yes", seed=[1],
                                        strategy_params="not a mapping", info=["not", "a", "mapping"]))
    runs = evorec.load_runs(folder)
    assert not (modules / "imported").exists()
    [row] = [row for _, row in runs.iterrows()]
    assert row["task"] == "frame_probe:Probe" and row["strategy"] == "guessing"
    assert pandas.isna(row["evaluations"]) and pandas.isna(row["solved"]) and pandas.isna(row["training_sequences"])
    assert row["seed"] == (1,) and json.loads(row["task.listed"]) == [{"a": 1}, [2, 3]]
    assert row["task" + ".deep" + ".k" * 99 + ".k"] == 1
    # The probe does leave its file when something imports it: evorec's experiment loader does.
    with pytest.raises(ValueError, match="not a subclass of evorec.task.Task"):
        load(folder / "experiment.yaml")
    assert (modules / "imported").exists()


def test_without_pandas_it_says_how_to_get_it_in_one_line(tmp_path, monkeypatch):
    ResultsStore(tmp_path).append(_record("a"))
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    with pytest.raises(ImportError) as error:
        evorec.load_runs(tmp_path)
    assert str(error.value) == PANDAS_MISSING
    assert 'pip install "evorec[pandas]"' in PANDAS_MISSING and "\n" not in PANDAS_MISSING
