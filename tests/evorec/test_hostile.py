"""Files from others: no experiment file runs code it names, hangs the tool or exhausts memory.

Each file in ``tests/data/hostile`` says in its header what it attempts and the error it must
get (``# expect: field F, message M``).  The real ``evorec validate`` runs on each in a fresh
process whose working directory is empty, with a time-out that only catches a hang; the
tests check the one-line error, that nothing it names was called (no file appeared), and
that no standard-library module it names was even imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from evorec import FITNESS, STRATEGIES, TASKS, make_fitness, make_task
from evorec.cli import main
from evorec.config import load
from evorec.safeyaml import MAX_FILE_BYTES, read_yaml

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "data" / "hostile"
FILES = sorted(HOSTILE.glob("*.yaml"))
LINE = re.compile(r"^evorec: error: (?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): (?P<field>\S+): (?P<message>.+)$")
#: Far above the second or two each refusal takes; only a hang reaches it.
HANG = 60


def _expect(path: Path) -> tuple[str, str]:
    header = next(line for line in path.read_text().splitlines() if line.startswith("# expect:"))
    match = re.match(r"# expect: field (?P<field>\S+), message (?P<message>.+)$", header)
    assert match, f"{path.name}: malformed expect line"
    return match["field"], match["message"]


@pytest.fixture(scope="module")
def validated(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """``evorec validate`` on each hostile file, each in its own empty working directory."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # so that tests.hostile_targets can be named

    def call(path: Path) -> tuple[subprocess.CompletedProcess, Path]:
        cwd = tmp_path_factory.mktemp(path.stem)
        # The probe prints which of the named standard-library modules got imported.
        probe = ("import sys; from evorec.cli import main; status = main(['validate', sys.argv[1]]); "
                 "print('imported:', *sorted({'antigravity', 'webbrowser'} & set(sys.modules))); "
                 "sys.exit(status)")
        result = subprocess.run([sys.executable, "-c", probe, str(path)], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=HANG)
        return result, cwd

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip([p.name for p in FILES], pool.map(call, FILES), strict=True))


def test_there_is_a_hostile_file_for_each_kind_of_attack():
    names = {p.stem for p in FILES}
    assert {"fitness_os_system", "strategy_subprocess_run", "task_antigravity", "fitness_function",
            "task_not_a_task", "billion_laughs", "recursive_alias", "seeds_1e8", "grid_8e6_runs",
            "sequences_1e9_steps", "train_size_1e12", "architecture_1e6_hidden"} <= names


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_hostile_file_is_refused_in_one_located_line_and_nothing_runs(path, validated):
    result, cwd = validated[path.name]
    field, message = _expect(path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert errors and all(line.startswith("evorec: error: ") for line in errors), result.stderr
    first = LINE.match(errors[0])
    assert first, errors[0]
    assert first["file"] == str(path) and first["field"] == field, errors[0]
    assert message in first["message"], errors[0]
    assert list(cwd.iterdir()) == [], "something the file named was called"
    imported = result.stdout.strip().splitlines()[-1]
    assert imported == "imported:", f"a standard-library module the file names was imported: {imported}"


# ----------------------------------------------------------------------------- plugins
@pytest.mark.parametrize("registry", [STRATEGIES, TASKS, FITNESS], ids=lambda r: r.kind)
@pytest.mark.parametrize("path", ["os:system", "subprocess:Popen", "shutil:rmtree", "builtins:eval",
                                  "pathlib:Path", "collections:OrderedDict"])
def test_standard_library_names_are_refused_as_every_kind_of_plugin(registry, path):
    with pytest.raises(ValueError, match="standard library.*nothing was imported"):
        registry.get(path)


@pytest.mark.parametrize("registry, base", [(STRATEGIES, "evorec.strategy.Strategy"), (TASKS, "evorec.task.Task"),
                                            (FITNESS, "evorec.scoring.Fitness")], ids=lambda r: getattr(r, "kind", ""))
@pytest.mark.parametrize("target", ["tests.hostile_targets:touch", "tests.hostile_targets:NotAPlugin",
                                    "numpy:save", "numpy:ndarray"])
def test_anything_but_a_class_of_the_kind_is_refused_before_it_is_called(registry, base, target, tmp_path,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=f"not a subclass of {re.escape(base)}; nothing of it was called"):
        registry.create(target, path="touched")
    assert list(tmp_path.iterdir()) == []


def test_a_class_of_another_kind_is_refused_and_the_right_kind_accepted():
    with pytest.raises(ValueError, match="not a subclass of evorec.scoring.Fitness"):
        make_fitness("evorec.tasks.parity:Parity")
    with pytest.raises(ValueError, match="not a subclass of evorec.task.Task"):
        make_task("evorec.tasks.fitness:MeanSquaredError")
    assert make_task("evorec.tasks.parity:Parity", lengths=3).lengths == (3, 3)
    assert make_fitness("evorec.tasks.fitness:MeanSquaredError").name == "mse"


def test_registering_a_class_of_another_kind_is_refused():
    with pytest.raises(ValueError, match="not a subclass of evorec.strategy.Strategy"):
        STRATEGIES.register("not-a-strategy", dict)
    assert "not-a-strategy" not in STRATEGIES.names()


def test_plugin_paths_must_be_module_colon_class():
    for path in ("os:system()", "evorec.tasks.parity:Parity.__init__", "evorec.tasks.parity:", ":Parity", "a b:C"):
        with pytest.raises(ValueError, match="not a plugin path"):
            TASKS.get(path)


def test_gradflow_refuses_a_standard_library_task(tmp_path, capsys):
    assert main(["gradflow", "--task", "os:system", "--task-param", "command=touch x", "--out", str(tmp_path)]) == 2
    assert "standard library" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ limits
def test_files_past_the_size_limit_are_refused_before_they_are_parsed(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\n" + "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ValueError, match=f"big.yaml:1:1: \\(file\\): larger than {MAX_FILE_BYTES} bytes"):
        load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "experiment.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        load(fifo)


def test_the_run_limit_can_be_raised_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "budget": {"evaluations": 10}, "seeds": 30,
                                    "task": {"name": "parity"}, "strategies": [{"name": "guessing"}]}))
    assert main(["validate", str(path), "--max-runs", "20"]) == 2
    assert "30 runs" in capsys.readouterr().err
    assert main(["validate", str(path), "--max-runs", "1e2"]) == 0
    assert load(path, max_runs=30).runs[-1].seed == 29


def test_scientific_notation_is_a_number_and_integral_values_are_integers():
    experiment = load(ROOT / "tests" / "data" / "valid" / "scientific_notation.yaml")
    spec = experiment.runs[0]
    assert spec.budget == {"evaluations": 100_000, "sequences": 10_000_000}
    assert all(type(v) is int for v in spec.budget.values())
    assert spec.strategy["params"]["r"] == 100
    document, _ = read_yaml(ROOT / "tests" / "data" / "valid" / "scientific_notation.yaml")
    assert document["budget"]["evaluations"] == 100_000


def test_scientific_notation_keeps_fractions_and_yaml_safety(tmp_path):
    path = tmp_path / "numbers.yaml"
    path.write_text("a: 1e-3\nb: 2.5E+1\nc: 1.5e0\nd: 1e400\ne: !!python/object/apply:os.system ['touch x']\n")
    with pytest.raises(ValueError, match=r"numbers.yaml:5:4: \(type\): a value of type 'os.system'"):
        read_yaml(path)
    path.write_text("a: 1e-3\nb: 2.5E+1\nc: 1.5e0\nd: 1e400\ne: '1e5'\n")
    document, _ = read_yaml(path)
    assert document == {"a": 0.001, "b": 25, "c": 1.5, "d": float("inf"), "e": "1e5"}
    assert yaml.safe_load("x: 1e5") == {"x": "1e5"}  # PyYAML's own loader is left as it was


def test_messages_do_not_repeat_the_field(tmp_path, capsys):
    path = tmp_path / "budget.yaml"
    path.write_text("name: b\nbudget: {evaluations: -5}\ntask: {name: parity}\nstrategies: [{name: guessing}]\n")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.endswith("budget.evaluations: must be a positive integer or None; got -5\n")
    path.write_text("name: b\nbudget: {evaluations: 5}\ntask: {name: parity}\n"
                    "strategies: [{name: guessing, budget: {sequences: 0}}]\n")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.endswith("strategies[0].budget.sequences: must be a positive integer or None; "
                                            "got 0\n")
