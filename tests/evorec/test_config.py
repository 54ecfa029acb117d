"""Experiment files: validation errors as the user sees them, and expansion into runs.

Every file in ``tests/data/broken/`` is a small realistic experiment with one mistake.  Its
header says what is wrong and where the error must point::

    # <what is wrong>
    # expect: line N, field dotted.path[, message text the error must contain]
    # command: run          (optional: the mistake is only found by `evorec run`)

Each broken file is checked through the real console command, in a subprocess (the
subprocesses run concurrently, once per test module, to keep this file fast).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from evorec.cli import build_parser, main
from evorec.config import ConfigError, load

DATA = Path(__file__).resolve().parents[1] / "data"
BROKEN = DATA / "broken"
VALID = DATA / "valid"
QUICKSTART = Path(__file__).resolve().parents[2] / "experiments" / "quickstart.yaml"
PREFIX = "evorec: error: "
EXPECT = re.compile(r"^# expect: line (?P<line>\d+), field (?P<field>\S+)(?:, message (?P<message>.+))?$")
COMMAND = re.compile(r"^# command: (?P<command>\w+)$")
POSITION = re.compile(r"^:(?P<line>\d+):(?P<column>\d+): (?P<field>\S+): (?P<message>.+)$")

# ------------------------------------------------------------------------ broken files
def _header(path: Path) -> dict[str, str]:
    """What a broken file's header comment expects: line, field, message, command."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines and lines[0].startswith("# ") and len(lines[0]) > 10, f"{path.name}: no one-line description"
    header = {"command": "validate", "message": ""}
    for line in lines:
        if not line.startswith("#"):
            break
        for pattern in (EXPECT, COMMAND):
            match = pattern.match(line)
            if match:
                header.update({k: v for k, v in match.groupdict().items() if v is not None})
    assert "line" in header, f"{path.name}: no '# expect: line N, field F' header"
    return header


BROKEN_FILES = sorted(BROKEN.glob("*.yaml"))


def _cases(command: str | None = None) -> list:
    cases = []
    for path in BROKEN_FILES:
        if command is not None and _header(path)["command"] != command:
            continue
        cases.append(pytest.param(path, id=path.stem))
    return cases


def _command(path: Path) -> list[str]:
    if _header(path)["command"] == "run":
        # No --out here: the mistake is the file's own output folder, which --out would override.
        return [sys.executable, "-m", "evorec.cli", "run", str(path), "--quiet"]
    return [sys.executable, "-m", "evorec.cli", "validate", str(path)]


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """The real ``evorec`` command on every broken file, run concurrently, by file name."""
    cwd = tmp_path_factory.mktemp("cwd")  # anything a run would write relative to the cwd lands here

    def call(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(_command(path), cwd=cwd, capture_output=True, text=True,
                              timeout=120)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip([p.name for p in BROKEN_FILES], pool.map(call, BROKEN_FILES), strict=True))


def _first_error(path: Path, stderr: str) -> re.Match:
    first = stderr.splitlines()[0]
    head = f"{PREFIX}{path}"
    assert first.startswith(head), f"first error line does not name the file: {first!r}"
    match = POSITION.match(first[len(head):])
    assert match, f"first error line has no ':LINE:COL: field: message': {first!r}"
    return match


def test_there_are_enough_broken_files():
    assert len(BROKEN_FILES) >= 14
    assert any(_header(p)["command"] == "run" for p in BROKEN_FILES)


@pytest.mark.parametrize("path", _cases())
def test_broken_file_is_reported_cleanly(path, cli_results):
    """Exit 2; only ``evorec: error:`` lines on stderr, no traceback; file, field and message named."""
    header = _header(path)
    result = cli_results[path.name]
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines, "no error message"
    assert all(line.startswith(PREFIX) for line in lines), result.stderr
    match = _first_error(path, result.stderr)
    assert match["field"] == header["field"], lines[0]
    assert header["message"] in match["message"], lines[0]


@pytest.mark.parametrize("path", _cases())
def test_broken_file_error_points_at_the_mistake(path, cli_results):
    result = cli_results[path.name]
    assert result.returncode == 2, result.stderr
    match = _first_error(path, result.stderr)
    assert int(match["line"]) == int(_header(path)["line"]), result.stderr.splitlines()[0]
    assert int(match["column"]) >= 1


@pytest.mark.parametrize("path", _cases(command="validate"))
def test_load_raises_config_error_for_broken_file(path):
    """In process, ``load`` raises ConfigError (and nothing else) with located error lines."""
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert raised.value.errors
    assert str(raised.value) == "\n".join(raised.value.errors)
    for error in raised.value.errors:
        assert error.startswith(f"{path}:"), error
        assert POSITION.match(error[len(str(path)):]), error


def test_unwritable_out_option_is_reported_without_traceback(capsys):
    status = main(["run", str(VALID / "seeds_list.yaml"), "--out", "/proc/evorec-cannot-write", "--quiet"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines and all(line.startswith(PREFIX) for line in lines), captured.err
    assert "--out: cannot write to /proc/evorec-cannot-write" in lines[0]  # names the option given


def test_missing_file_is_bad_input(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["validate", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"{PREFIX}{missing}:1:1: ")
    assert "cannot read" in captured.err


# --------------------------------------------------------------------------- valid files
def test_grid_over_lengths_expands_to_cells_x_strategies_x_seeds():
    experiment = load(VALID / "grid_lengths.yaml")
    assert experiment.seeds == [0, 1, 2]
    assert experiment.grids == [{"task.params.lengths": [[5, 10], [10, 20], [20, 30]]}]
    assert len(experiment.runs) == 3 * 2 * 3
    assert len({spec.run_id for spec in experiment.runs}) == len(experiment.runs)
    assert {spec.label for spec in experiment.runs} == {"guessing", "rg-r1"}
    for spec in experiment.runs:
        assert spec.task["name"] == "parity"
        assert spec.task["params"] == {"lengths": spec.cell["task.params.lengths"], "noise": 0.2}
        assert spec.strategy["params"]["r"] == (100 if spec.label == "guessing" else 1)
        assert spec.data == {"train_size": 20, "test_size": 20}
        assert spec.budget == {"evaluations": 1000}
    lengths = sorted(tuple(spec.task["params"]["lengths"]) for spec in experiment.runs)
    assert lengths == [(5, 10)] * 6 + [(10, 20)] * 6 + [(20, 30)] * 6


def test_grid_over_whole_task_mapping_and_seeds_list():
    experiment = load(VALID / "grid_task.yaml")
    assert experiment.seeds == [3, 7]
    assert len(experiment.runs) == (3 * 2) * 1 * 2
    assert len({spec.run_id for spec in experiment.runs}) == 12
    assert {spec.seed for spec in experiment.runs} == {3, 7}
    for spec in experiment.runs:
        assert spec.task == spec.cell["task"]
        assert spec.budget == {"evaluations": spec.cell["budget.evaluations"]}
    names = sorted(spec.task["name"] for spec in experiment.runs)
    assert names == ["latch"] * 4 + ["parity"] * 4 + ["two_sequence"] * 4


def test_a_list_of_grids_is_the_union_of_their_cells():
    experiment = load(VALID / "grid_list.yaml")
    assert experiment.n_cells == 4 and len(experiment.runs) == 4 * 2
    cells = {json.dumps(spec.cell, sort_keys=True) for spec in experiment.runs}
    assert len(cells) == 4
    parity = [spec for spec in experiment.runs if spec.task["name"] == "parity"]
    assert sorted(spec.architecture["preset"] for spec in parity) == ["fully_recurrent"] * 2 + ["rg_a2"] * 2
    latch = [spec for spec in experiment.runs if spec.task["name"] == "latch"]
    assert sorted(spec.task["params"]["variant"] for spec in latch) == ["I", "I", "II", "II"]
    assert all(spec.architecture is None for spec in latch)  # the first grid leaves it at the default


def test_seeds_as_list_without_grid():
    experiment = load(VALID / "seeds_list.yaml")
    assert experiment.seeds == [0, 5, 42]
    assert [spec.seed for spec in experiment.runs] == [0, 5, 42]
    assert all(spec.cell == {} for spec in experiment.runs)
    assert len({spec.run_id for spec in experiment.runs}) == 3


def test_a_strategys_own_budget_replaces_the_experiments_for_its_runs():
    experiment = load(VALID / "strategy_budgets.yaml")
    assert len(experiment.runs) == 2 * 2 * 2
    for spec in experiment.runs:
        expected = {"sequences": 2000, "seconds": 30} if spec.label == "bptt" else {"sequences": 100000}
        assert spec.budget == expected
        assert "budget" not in spec.strategy


def _entropies(path: Path) -> dict[str, tuple[int, ...]]:
    return {spec.run_id: spec.entropy for spec in load(path).runs}


def _document(grid_order: list[str], strategy_order: list[int], params_first: bool, seed: int = 11,
              seeds=3) -> dict:
    strategies = [{"name": "guessing", "params": {"r": 100}},
                  {"params": {"batch_size": 200, "r": 1}, "label": "rg-r1", "name": "guessing"}]
    grid = {"task.params.lengths": [[5, 10], [10, 20]], "task.params.noise": [0.0, 0.2],
            "budget.evaluations": [500, 1000]}
    task = {"params": {"lengths": [25, 50]}, "name": "parity"} if params_first \
        else {"name": "parity", "params": {"lengths": [25, 50]}}
    return {"name": "order", "seed": seed, "seeds": seeds, "budget": {"evaluations": 100}, "task": task,
            "strategies": [strategies[i] for i in strategy_order], "grid": {k: grid[k] for k in grid_order}}


def _write(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_entropy_does_not_depend_on_the_order_of_grid_keys_or_strategies(tmp_path):
    first = _write(tmp_path / "a.yaml", _document(["task.params.lengths", "task.params.noise", "budget.evaluations"],
                                                  [0, 1], params_first=False))
    second = _write(tmp_path / "b.yaml", _document(["budget.evaluations", "task.params.noise", "task.params.lengths"],
                                                   [1, 0], params_first=True))
    a, b = load(first), load(second)
    assert [spec.run_id for spec in a.runs] != [spec.run_id for spec in b.runs]  # the orders really differ
    assert len(a.runs) == 8 * 2 * 3
    assert _entropies(first) == _entropies(second)
    by_id = {spec.run_id: spec for spec in b.runs}
    for spec in a.runs:
        other = by_id[spec.run_id]
        assert (spec.task, spec.budget, spec.strategy, spec.seed) == (other.task, other.budget, other.strategy,
                                                                       other.seed)


def test_entropy_differs_between_seeds_and_runs(tmp_path):
    experiment = load(_write(tmp_path / "a.yaml", _document(["task.params.lengths"], [0, 1], params_first=False,
                                                            seeds=5)))
    entropies = [spec.entropy for spec in experiment.runs]
    assert len(set(entropies)) == len(entropies) == 2 * 2 * 5
    per_seed = {}
    for spec in experiment.runs:
        if spec.label == "guessing" and spec.cell == {"task.params.lengths": [5, 10]}:
            per_seed[spec.seed] = spec.entropy
    assert sorted(per_seed) == [0, 1, 2, 3, 4]
    assert len(set(per_seed.values())) == 5
    # The experiment seed changes every run's entropy.
    reseeded = load(_write(tmp_path / "b.yaml", _document(["task.params.lengths"], [0, 1], params_first=False,
                                                          seed=12, seeds=5)))
    assert {spec.run_id for spec in reseeded.runs} == {spec.run_id for spec in experiment.runs}
    assert not {spec.entropy for spec in reseeded.runs} & set(entropies)


def test_a_seed_has_the_same_entropy_whether_seeds_is_a_count_or_a_list(tmp_path):
    count = _entropies(_write(tmp_path / "a.yaml", _document(["task.params.noise"], [0], False, seeds=5)))
    listed = _entropies(_write(tmp_path / "b.yaml", _document(["task.params.noise"], [0], False, seeds=[4, 2])))
    assert set(listed) < set(count)
    assert all(count[run_id] == entropy for run_id, entropy in listed.items())


def test_overlapping_grid_paths_do_not_make_runs_depend_on_key_order(tmp_path):
    grid = {"task.params.lengths": [[5, 10]], "task.params": [{"lengths": [20, 30]}]}
    documents = [{"name": "overlap", "seeds": 1, "budget": {"evaluations": 100},
                  "task": {"name": "parity"}, "strategies": [{"name": "guessing"}],
                  "grid": dict(order)} for order in (list(grid.items()), list(grid.items())[::-1])]
    loaded = []
    for i, document in enumerate(documents):
        try:
            loaded.append(load(_write(tmp_path / f"{i}.yaml", document)))
        except ConfigError:
            loaded.append(None)
    if loaded[0] is None or loaded[1] is None:  # refusing overlapping paths is fine, but then both ways round
        assert loaded == [None, None]
        return
    tasks = [{spec.run_id: spec.task for spec in experiment.runs} for experiment in loaded]
    assert tasks[0] == tasks[1]


# --------------------------------------------------------------------------- commands
def test_validate_prints_the_number_of_runs(capsys):
    path = VALID / "grid_lengths.yaml"
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.strip() == f"{path}: valid; 18 runs (3 grid cell(s) x 2 strategies x 3 seeds)"


def test_validate_console_command_on_the_quickstart_example():
    result = subprocess.run([sys.executable, "-m", "evorec.cli", "validate", str(QUICKSTART)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "valid; 30 runs (3 grid cell(s) x 1 strategies x 10 seeds)" in result.stdout


def test_list_says_what_the_lstm_presets_none_defaults_stand_for(capsys):
    assert main(["list", "strategies"]) == 0
    out = capsys.readouterr().out
    assert "n_blocks = None  (the preset's; without one: 2)" in out
    assert "update = None  (the preset's; without one: 'sequence')" in out
    assert "check_every = 100\n" in out  # not a preset setting: its plain default


def test_list_tasks_shows_every_task_with_its_parameters(capsys):
    assert main(["list", "tasks"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tasks:")
    assert "strategies:" not in out and "fitness:" not in out
    blocks: dict[str, list[str]] = {}
    for line in out.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("   "):
            current = line.split()[0]
            blocks[current] = []
        elif line.strip():
            blocks[current].append(line.split()[0])
    assert set(blocks) == {"latch", "parity", "two_sequence", "embedded_reber", "long_lag", "adding",
                           "multiplication", "temporal_order", "tomita", "ant"}
    assert blocks["latch"] == ["variant", "lengths", "noise_var", "tolerance", "success", "noise_line"]
    assert blocks["parity"] == ["lengths", "noise", "tolerance", "noise_distribution"]
    # The parameter names the issue fixes for outside use, in their documented order.
    assert blocks["two_sequence"][:5] == ["lengths", "N", "noise_var", "targets", "tolerance"]
    assert {"variant", "T"} <= set(blocks["two_sequence"])
    assert blocks["adding"][0] == "T" and blocks["multiplication"][0] == "T"
    assert blocks["temporal_order"][0] == "variant"
    assert blocks["long_lag"][:3] == ["variant", "p", "q"]
    assert blocks["tomita"][:2] == ["grammar", "max_length"]
    assert blocks["ant"][0] == "max_steps"
    assert "lengths = (500, 600)" in out


def _subcommands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


def test_the_subcommands_are_the_documented_ones():
    assert _subcommands() == ["gradflow", "list", "report", "run", "validate"]


@pytest.mark.parametrize("argv", [[], *([name] for name in _subcommands())], ids=lambda a: " ".join(a) or "evorec")
def test_help_works_for_every_subcommand(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"usage: {' '.join(['evorec', *argv])} ")
    assert captured.err == ""


# Run records carry the file's values and evorec.codec writes only str keys without a leading "$".
def test_keys_the_results_store_cannot_write_are_refused(tmp_path):
    doc = {"name": "k", "task": {"name": "parity", "params": {"lengths": [5, 10]}}, "budget": {"evaluations": 10},
           "strategies": [{"name": "guessing", "params": {"r": {"$float": 1, 2: 3}}}]}
    with pytest.raises(ConfigError) as error:
        load(_write(tmp_path / "experiment.yaml", doc))
    assert "strategies[0].params.r.$float: keys must not start with '$'" in str(error.value)
    assert "strategies[0].params.r.2: keys must be strings" in str(error.value)
    assert "experiment.yaml:" in str(error.value)  # located like every other error
