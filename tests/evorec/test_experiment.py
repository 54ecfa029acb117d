import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from evorec.cli import main
from evorec.config import load
from evorec.experiment import run
from evorec.results import TIME_FIELDS, ResultsStore
from evorec.strategy import Strategy

EXPERIMENT = {
    "name": "small",
    "seed": 7,
    "seeds": 3,
    "budget": {"evaluations": 3000},
    "task": {"name": "parity", "params": {"lengths": [10, 20]}},
    "data": {"train_size": 40, "test_size": 40},
    "strategies": [{"name": "guessing", "params": {"r": 100, "batch_size": 500}},
                   {"name": "guessing", "label": "guessing-r5", "params": {"r": 5, "batch_size": 500}}],
    "grid": {"task.params.lengths": [[10, 20], [20, 30]]},
    "parallel": {"n_jobs": 1, "backend": "loky"},
}


class ExplodingStrategy(Strategy):
    """A strategy that fails on its first ask, to test failed runs."""

    def ask(self):
        raise RuntimeError("boom")


class UnwritableInfoStrategy(Strategy):
    """Random guessing whose describe() reports what the results store cannot write."""

    def ask(self):
        return self.rng.uniform(-1, 1, size=(10, self.space.n_params))

    def describe(self, best):
        return {"seen": {1, 2}}


def _write(tmp_path: Path, doc: dict, name: str = "experiment.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def _results(folder: Path) -> dict[str, dict]:
    records, problems = ResultsStore(folder).read()
    assert not problems
    return {r["run_id"]: {k: v for k, v in r.items() if k not in TIME_FIELDS} for r in records}


def test_results_do_not_depend_on_n_jobs(tmp_path):
    experiment = load(_write(tmp_path, EXPERIMENT))
    assert len(experiment.runs) == 2 * 2 * 3
    one = run(experiment, out=str(tmp_path / "one"), n_jobs=1)
    two = run(experiment, out=str(tmp_path / "two"), n_jobs=2)
    assert one.finished == two.finished == 12 and not one.failed
    first, second = _results(tmp_path / "one"), _results(tmp_path / "two")
    assert first.keys() == {spec.run_id for spec in experiment.runs}
    assert first == second
    # Runs differ from each other: the seeds really are distinct.
    assert len({json.dumps(r["best_network"]) for r in first.values()}) == 12


def test_rerun_skips_finished_runs_and_refuses_a_changed_configuration(tmp_path):
    path = _write(tmp_path, EXPERIMENT)
    out = str(tmp_path / "out")
    run(load(path), out=out)
    again = run(load(path), out=out)
    assert again.skipped == 12 and again.finished == 0
    assert len(ResultsStore(out).read()[0]) == 12
    changed = dict(EXPERIMENT, budget={"evaluations": 4000})
    with pytest.raises(ValueError, match="different configuration.*budget.*--fresh"):
        run(load(_write(tmp_path, changed, "changed.yaml")), out=out)
    # Parallel settings are not part of the results' identity.
    run(load(_write(tmp_path, dict(EXPERIMENT, parallel={"n_jobs": 2}), "two.yaml")), out=out)


def test_a_gzipped_runs_file_reads_like_the_plain_one(tmp_path):
    import gzip

    out = tmp_path / "out"
    run(load(_write(tmp_path, dict(EXPERIMENT, seeds=1, grid={}))), out=str(out))
    plain_records = ResultsStore(out).read()[0]
    (out / "runs.jsonl.gz").write_bytes(gzip.compress((out / "runs.jsonl").read_bytes()))
    (out / "runs.jsonl").unlink()
    assert ResultsStore(out).read()[0] == plain_records and len(plain_records) == 2
    (out / "runs.jsonl.gz").unlink()
    assert ResultsStore(out).read() == ([], [])


def test_fresh_moves_old_results_aside(tmp_path):
    path = _write(tmp_path, dict(EXPERIMENT, seeds=1, grid={}))
    out = tmp_path / "out"
    run(load(path), out=str(out))
    old = (out / "runs.jsonl").read_text()
    run(load(path), out=str(out), fresh=True)
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("out.previous-")]
    assert len(aside) == 1 and (aside[0] / "runs.jsonl").read_text() == old
    assert len(ResultsStore(out).read()[0]) == 2


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path):
    doc = dict(EXPERIMENT, grid={}, seeds=2,
               strategies=[{"name": "guessing"}, {"name": f"{__name__}:ExplodingStrategy", "label": "exploding"}])
    out = tmp_path / "out"
    assert main(["run", str(_write(tmp_path, doc)), "--out", str(out), "--quiet"]) == 1
    records = _results(out)
    failed = [r for r in records.values() if r["status"] == "failed"]
    assert len(records) == 4 and len(failed) == 2
    assert all(r["error"] == "RuntimeError: boom" for r in failed)
    assert all(r["status"] == "ok" for r in records.values() if r["strategy"] == "guessing")


def test_a_run_the_store_cannot_write_is_recorded_failed_and_the_others_go_on(tmp_path):
    doc = dict(EXPERIMENT, grid={}, seeds=1, budget={"evaluations": 20},
               strategies=[{"name": "guessing"}, {"name": f"{__name__}:UnwritableInfoStrategy", "label": "odd"}])
    out = tmp_path / "out"
    assert main(["run", str(_write(tmp_path, doc)), "--out", str(out), "--quiet"]) == 1
    records = {r["strategy"]: r for r in _results(out).values()}
    assert records["guessing"]["status"] == "ok" and records["odd"]["status"] == "failed"
    assert records["odd"]["error"].startswith("ValueError: cannot encode a value of type set at ['info']['seen']")


def test_truncated_last_line_is_moved_aside_the_store_rewritten_and_the_run_redone(tmp_path, capsys):
    path = _write(tmp_path, dict(EXPERIMENT, seeds=2, grid={}))
    out = tmp_path / "out"
    run(load(path), out=str(out))
    lines = (out / "runs.jsonl").read_text().splitlines(keepends=True)
    half = lines[-1][: len(lines[-1]) // 2]
    (out / "runs.jsonl").write_text("".join(lines[:-1]) + half)
    assert "truncated last line ignored" in ResultsStore(out).read()[1][0]  # reading alone only reports
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    assert "truncated last line moved to runs.jsonl.unreadable-" in capsys.readouterr().err
    aside = list(out.glob("runs.jsonl.unreadable-*"))
    assert len(aside) == 1 and aside[0].read_text() == half + "\n"  # nothing deleted
    records, problems = ResultsStore(out).read()
    assert problems == []
    assert sorted(r["run_id"] for r in records) == sorted(spec.run_id for spec in load(path).runs)
    assert (out / "runs.jsonl").read_text().startswith("".join(lines[:-1]))  # the good lines, untouched
    # Later commands have nothing to warn about.
    assert main(["report", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    assert "warning" not in capsys.readouterr().err and len(ResultsStore(out).read()[0]) == len(records)


def test_an_unreadable_line_in_the_middle_is_moved_aside_too(tmp_path):
    path = _write(tmp_path, dict(EXPERIMENT, seeds=2, grid={}))
    out = tmp_path / "out"
    run(load(path), out=str(out))
    lines = (out / "runs.jsonl").read_text().splitlines(keepends=True)
    bad = '{not json\n{"run_id": "x"}\n' + "[" * 100_000 + "\n"  # broken, not a record, absurdly nested
    (out / "runs.jsonl").write_text("".join(lines[:1]) + bad + "".join(lines[2:]))
    outcome = run(load(path), out=str(out))
    assert outcome.finished == 1 and len(outcome.problems) == 3 and "unreadable line" in outcome.problems[0]
    assert next(out.glob("runs.jsonl.unreadable-*")).read_text() == bad
    records, problems = ResultsStore(out).read()
    assert not problems and len(records) == len(lines)


def test_sigkill_in_the_middle_loses_nothing_and_duplicates_nothing(tmp_path):
    doc = dict(EXPERIMENT, seeds=6, grid={}, budget={"evaluations": 20000},
               task={"name": "latch", "params": {"variant": "I", "lengths": [100, 120], "success": "error"}},
               parallel={"n_jobs": 2, "backend": "loky"})
    path = _write(tmp_path, doc)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "evorec.cli", "run", str(path), "--out", str(out), "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    runs_file = out / "runs.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if runs_file.exists() and runs_file.read_text().count("\n") >= 3:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the whole group: the command and its loky workers
    process.wait()
    saved = len(ResultsStore(out).read()[0])
    assert 3 <= saved < 12, "the kill must land in the middle of the experiment"
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    records, _ = ResultsStore(out).read()
    ids = [r["run_id"] for r in records if r["status"] == "ok"]
    assert sorted(ids) == sorted(spec.run_id for spec in load(path).runs)  # each exactly once


def test_two_runs_into_one_folder_at_once_do_each_run_once(tmp_path):
    doc = dict(EXPERIMENT, seeds=4, grid={}, budget={"evaluations": 20000},
               task={"name": "latch", "params": {"variant": "I", "lengths": [100, 120], "success": "error"}})
    path = _write(tmp_path, doc)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "evorec.cli", "run", str(path), "--out", str(out), "--quiet"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lock = out / ".evorec.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text().startswith("pid")):
        time.sleep(0.02)
    second = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.returncode == 2
    assert second.stderr == (f"evorec: error: {out} is in use by another evorec run (process pid {first.pid} on "
                             f"{socket.gethostname()}); wait for it to end, or give another folder with --out\n")
    records, problems = ResultsStore(out).read()
    assert not problems
    assert sorted(r["run_id"] for r in records) == sorted(spec.run_id for spec in load(path).runs)  # once each


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_dask_local_cluster_gives_the_same_results_as_loky(tmp_path):
    experiment = load(_write(tmp_path, dict(EXPERIMENT, seeds=2)))
    run(experiment, out=str(tmp_path / "loky"), n_jobs=2, backend="loky")
    run(experiment, out=str(tmp_path / "dask"), n_jobs=2, backend="dask")
    assert _results(tmp_path / "loky") == _results(tmp_path / "dask")


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::ResourceWarning")
def test_compiled_gradient_strategies_run_alike_in_one_process_loky_and_dask_workers(tmp_path):
    # The gradient baselines run compiled kernels (numba): a worker process loads them from the
    # on-disk cache or compiles them, and must reach exactly the results of the parent process.
    doc = dict(EXPERIMENT, seeds=2, grid={}, budget={"sequences": 400},
               strategies=[{"name": "bptt", "params": {"check_every": 50}},
                           {"name": "bptt", "label": "bptt-truncated", "params": {"check_every": 50, "truncate": 3}},
                           {"name": "lstm", "params": {"check_every": 50, "n_blocks": 1, "n_cells": 2}}])
    experiment = load(_write(tmp_path, doc))
    run(experiment, out=str(tmp_path / "one"), n_jobs=1, backend="loky")
    run(experiment, out=str(tmp_path / "loky"), n_jobs=2, backend="loky")
    run(experiment, out=str(tmp_path / "dask"), n_jobs=2, backend="dask")
    one = _results(tmp_path / "one")
    assert len(one) == 6 and all(r["status"] == "ok" and r["sequences"] > 0 for r in one.values())
    assert one == _results(tmp_path / "loky") == _results(tmp_path / "dask")


def test_summary_counts_and_costs(tmp_path, capsys):
    path = _write(tmp_path, dict(EXPERIMENT, grid={}))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "guessing-r5" in printed and (out / "summary.md").exists()
    rows = list(csv_rows(out / "summary.csv"))
    records = _results(out)
    for row in rows:
        mine = [r for r in records.values() if r["strategy"] == row["strategy"]]
        solved = [r["evaluations"] for r in mine if r["solved"]]
        assert int(row["runs"]) == len(mine) and int(row["solved"]) == len(solved)
        if solved:
            assert float(row["evaluations_mean"]) == pytest.approx(np.mean(solved))
            assert float(row["evaluations_median"]) == pytest.approx(np.median(solved))
        low, high = float(row["evaluations_ci_low"]), float(row["evaluations_ci_high"])
        if len(set(solved)) >= 2:
            assert min(solved) <= low < float(row["evaluations_mean"]) < high <= max(solved)
        elif len(solved) < 2:
            assert np.isnan(low) and np.isnan(high)
        else:
            assert low == high == solved[0]
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[:len(rows) + 2] == printed.splitlines()[:len(rows) + 2]


def csv_rows(path: Path):
    with open(path) as handle:
        yield from csv.DictReader(handle)


def test_each_record_names_the_blas_library_kernel_and_threads_it_ran_with(tmp_path):
    from threadpoolctl import threadpool_info

    path = _write(tmp_path, dict(EXPERIMENT, seeds=1, grid={}))
    run(load(path), out=str(tmp_path / "out"), n_jobs=2)
    blas = {r["versions"]["blas"] for r in ResultsStore(tmp_path / "out").read()[0]}
    assert len(blas) == 1
    (description,) = blas
    numpys = [i for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]]
    if numpys:  # a numpy wheel: its own OpenBLAS, named with its kernel
        library = numpys[0]
        assert description == f"{library['internal_api']} {library['version']} {library['architecture']}, 1 thread"
    assert description.endswith(", 1 thread")  # each run limits BLAS to one thread
