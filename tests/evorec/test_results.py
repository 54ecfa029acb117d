"""The results store through evorec.codec: NaN and -inf come back as written, finite values are
written as before, and stores written before the codec (null for non-finite) read and
summarise exactly as they did."""

import csv
import gzip
import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from evorec.cli import main
from evorec.report import markdown_table
from evorec.results import ResultsStore, summarize

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"


def _record(run_id: str = "r1", **fields) -> dict:
    record = {"run_id": run_id, "status": "ok", "cell": {"task": "parity"}, "strategy": "guessing", "solved": True,
              "evaluations": 12, "sequences": 120, "steps": 1200, "wall_seconds": 0.5, "seconds": 0.25,
              "best_loss": 0.125, "test_error": 0.0, "train_error": 0.0, "history": [(4, 0.5), (12, 0.125)],
              "info": {}, "state": None}
    return record | fields


def test_nan_and_infinities_in_a_record_come_back_as_written(tmp_path):
    store = ResultsStore(tmp_path)
    store.append(_record(best_loss=-math.inf, test_error=math.nan, history=[(1, math.inf), (5, -math.inf)],
                         info={"losses": [math.nan, 2.0]}))
    (record,), problems = store.read()
    assert not problems
    assert record["best_loss"] == -math.inf and math.isnan(record["test_error"])
    assert record["history"] == [[1, math.inf], [5, -math.inf]]
    assert math.isnan(record["info"]["losses"][0]) and record["info"]["losses"][1] == 2.0
    text = store.path.read_text()  # before the codec these were null, and -inf read back as +inf
    assert '"best_loss": {"$float": "-inf"}' in text and '"test_error": {"$float": "nan"}' in text


def test_finite_records_are_written_as_before(tmp_path):
    store = ResultsStore(tmp_path)
    record = _record(best_loss=np.float64(0.1), evaluations=np.int64(12), solved=np.bool_(True),
                     best_network={"W_h": [[[0.5, -1e-300]]], "mask_h": [[[True, False]]]})
    store.append(record)
    as_before = {**record, "best_loss": 0.1, "evaluations": 12, "solved": True,
                 "history": [[4, 0.5], [12, 0.125]]}  # numpy scalars as Python numbers, tuples as lists
    assert store.path.read_text() == json.dumps(as_before, sort_keys=True, allow_nan=False) + "\n"


def test_a_store_written_with_null_for_non_finite_reads_as_it_was_and_summarises_alike(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    records = [_record("a", best_loss=None, test_error=None, history=[[3, None]]), _record("b", test_error=0.25)]
    (old / "runs.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    read_old, problems = ResultsStore(old).read()
    assert not problems and read_old[0]["best_loss"] is None and read_old[0]["history"] == [[3, None]]
    for record in [_record("a", best_loss=math.inf, test_error=math.nan, history=[[3, math.inf]]), records[1]]:
        ResultsStore(new).append(record)
    read_new, _ = ResultsStore(new).read()
    assert json.dumps(summarize(read_old)) == json.dumps(summarize(read_new))
    assert summarize(read_new)[0]["test_error_mean"] == 0.25


def test_a_key_that_looks_like_a_tag_is_refused_and_a_bad_tag_is_an_unreadable_line(tmp_path):
    store = ResultsStore(tmp_path)
    with pytest.raises(ValueError, match="reserved for the codec's tags"):
        store.append(_record(info={"$float": "inf"}))
    store.append(_record("good"))
    with open(store.path, "a") as handle:
        handle.write(json.dumps(_record("bad", best_loss={"$float": "minus infinity"})) + "\n")
    records, problems = store.read()
    assert [r["run_id"] for r in records] == ["good"]
    assert len(problems) == 1 and ":2: unreadable line" in problems[0]


@pytest.mark.parametrize("name", sorted(p.name for p in RESULTS.iterdir() if (p / "runs.jsonl.gz").exists()))
def test_the_committed_results_summarise_as_committed(name, tmp_path, capsys):
    # Their runs.jsonl.gz were written before the codec (null for every non-finite number).
    folder = tmp_path / name
    folder.mkdir()
    for file in ("experiment.yaml", "runs.jsonl.gz"):
        shutil.copy(RESULTS / name / file, folder / file)
    assert main(["report", str(folder)]) == 0
    assert (folder / "summary.csv").read_text() == (RESULTS / name / "summary.csv").read_text()
    with open(folder / "summary.csv") as handle:
        assert list(csv.DictReader(handle))
    nulls = gzip.decompress((RESULTS / name / "runs.jsonl.gz").read_bytes()).count(b"null")
    assert nulls  # the old way of writing: these files do exercise it


def test_a_summary_gives_the_success_rates_exact_interval_and_the_training_sequences():
    # 3 of 4 solved: the Wilson 95 % interval is (0.301, 0.954).  The training
    # sequences (the gradient strategies' info) are summarised over the solved runs.
    records = [_record(f"r{i}", solved=i < 3, info={"training_sequences": 1000 * (i + 1)}) for i in range(4)]
    [row] = summarize(records)
    assert row["success_rate"] == 0.75
    assert row["success_ci_low"] == pytest.approx(0.3006, abs=1e-4)
    assert row["success_ci_high"] == pytest.approx(0.9544, abs=1e-4)
    assert row["training_sequences_mean"] == 2000 and row["training_sequences_median"] == 2000
    assert row["training_sequences_ci_low"] <= 2000 <= row["training_sequences_ci_high"]
    # A solved run without the count (a gradient-free strategy) leaves the column empty.
    [row] = summarize(records[:2] + [_record("r9")])
    assert math.isnan(row["training_sequences_mean"])
    [none] = summarize([_record("r0", solved=False)])
    assert none["success_ci_low"] == 0 and none["success_ci_high"] == pytest.approx(0.7935, abs=1e-4)
    # The report shows the training sequences' columns only when some row has them.
    with_training = markdown_table(summarize(records)).splitlines()
    assert "training seqs to solve: mean" in with_training[0] and "| 75% (30-95) |" in with_training[2]
    assert "| 2000 | 2000 |" in with_training[2]
    assert "training seqs" not in markdown_table(summarize([_record("r0")])).splitlines()[0]


def test_a_swept_strategy_list_shows_as_its_labels_in_the_tables():
    swept = [{"name": "lstm", "label": "lstm97", "params": {"preset": "lstm97", "check_every": 500}},
             {"name": "bptt", "params": {"lr": 0.1}}]
    record = _record(cell={"strategies": swept, "task": {"name": "adding", "params": {"T": 100}}}, strategy="lstm97")
    [row] = summarize([record])
    line = markdown_table([row]).splitlines()[2]
    assert "strategies=[lstm97, bptt], task=adding(T=100)" in line and "check_every" not in line
    assert json.loads(row["cell"])["strategies"] == swept  # the summary keeps every parameter


def _gnarl_archive() -> bytes:
    return (RESULTS / "gnarl_ant" / "runs.jsonl.gz").read_bytes()


@pytest.mark.parametrize("damage, reason", [
    (lambda folder: (folder / "runs.jsonl.gz").write_bytes(b"not gzip at all"), "Not a gzipped file"),
    (lambda folder: (folder / "runs.jsonl.gz").write_bytes(_gnarl_archive()[:200]), "ended before"),
    (lambda folder: (folder / "runs.jsonl").mkdir(), "Is a directory"),
], ids=["not-gzip", "cut-short", "a-folder"])
def test_a_store_that_cannot_be_read_is_one_line_naming_it(damage, reason, tmp_path, capsys):
    damage(tmp_path)
    with pytest.raises(ValueError, match=f"^cannot read {re.escape(str(tmp_path))}/runs.jsonl(.gz)?: .*{reason}"):
        ResultsStore(tmp_path).read()
    assert main(["report", str(tmp_path)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"evorec: error: cannot read {tmp_path}/runs.jsonl")


def test_an_archive_that_expands_beyond_the_limit_is_refused_without_unpacking_it(tmp_path, monkeypatch):
    import evorec.results
    monkeypatch.setattr(evorec.results, "MAX_ARCHIVE_BYTES", 10_000)
    (tmp_path / "runs.jsonl.gz").write_bytes(gzip.compress(b"{}\n" * 5_000))   # 15,000 bytes unpacked
    with pytest.raises(ValueError, match="runs.jsonl.gz: it expands beyond 10,000 bytes"):
        ResultsStore(tmp_path).read()
    (tmp_path / "runs.jsonl.gz").write_bytes(gzip.compress(b"{}\n" * 3_000))    # 9,000: within
    ResultsStore(tmp_path).read()


def test_a_folder_without_a_store_is_named_in_one_line(tmp_path, capsys):
    (tmp_path / "runs.json").write_text("")  # a near miss is not a store
    with pytest.raises(ValueError, match="no runs.jsonl here; give the output folder of an experiment$"):
        ResultsStore(tmp_path).require()
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"evorec: error: {tmp_path}: no runs.jsonl here; give the output folder of an experiment"]
    (tmp_path / "runs.jsonl.gz").write_bytes(_gnarl_archive())
    assert ResultsStore(tmp_path).require().read()[0]
