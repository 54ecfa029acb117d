import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from evorec import FITNESS, STRATEGIES, TASKS, make_fitness, make_task
from evorec.registry import Registry

SHIPPED = {
    "evorec.strategies": {"guessing", "annealing", "multigrid", "gnarl", "cmaes", "bptt", "lstm", "rtrl",
                          "pseudo_newton", "pycma", "nevergrad"},
    "evorec.tasks": {"latch", "two_sequence", "parity", "embedded_reber", "long_lag", "adding", "multiplication",
                     "temporal_order", "tomita", "ant"},
    "evorec.fitness": {"mse", "max_abs_error", "fraction_wrong", "sse", "all_within", "argmax_wrong",
                       "next_symbol_wrong", "cross_entropy", "food_missed"},
}


def test_entry_points_register_exactly_the_shipped_classes():
    assert set(STRATEGIES.names()) == SHIPPED["evorec.strategies"]
    assert set(TASKS.names()) == SHIPPED["evorec.tasks"]
    assert set(FITNESS.names()) == SHIPPED["evorec.fitness"]


@pytest.mark.parametrize("group", sorted(SHIPPED))
def test_shipped_plugins_live_in_evorecs_namespace(group):
    points = entry_points(group=group)
    assert {point.name for point in points} == SHIPPED[group]
    for point in points:
        assert point.value.startswith(("evorec.strategies.", "evorec.tasks.")), point.value


def test_another_projects_top_level_tasks_and_strategies_do_not_disturb_evorec(tmp_path):
    # Generic names such as ``tasks`` belong to whoever installs them first; evorec's own
    # packages live under ``evorec.`` so a user's ``tasks`` package neither hides nor breaks them.
    for name in ("tasks", "strategies"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"OWNER = 'another project'\nPARITY = '{name}'\n")
    code = (
        "import tasks, strategies, evorec\n"
        "assert tasks.OWNER == strategies.OWNER == 'another project'\n"
        "assert evorec.make_task('parity').lengths == (500, 600)\n"
        "assert type(evorec.make_task('ant')).__module__ == 'evorec.tasks.ant'\n"
        "assert set(evorec.STRATEGIES.names()) >= {'guessing', 'gnarl'}\n"
        "print(evorec.STRATEGIES.get('guessing').__module__)\n"
    )
    # The other project comes first on the path, and the repository's root is not on it.
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "evorec.strategies.guessing"


def test_duplicate_names_are_refused():
    registry = Registry("widget", "evorec.no-such-group")

    class A: ...

    class B: ...

    registry.register("a", A)
    registry.register("a", A)  # the same class again is harmless
    with pytest.raises(ValueError, match="'a' is already registered"):
        registry.register("a", B)


def test_module_class_paths_load_user_plugins():
    assert make_task("evorec.tasks.parity:Parity", lengths=3).lengths == (3, 3)
    with pytest.raises(ValueError, match="cannot import task"):
        make_task("evorec.tasks.parity:Nope")


def test_fitness_parameters_are_checked():
    assert make_fitness("fraction_wrong", tol=0.2).criterion.tol == 0.2
    with pytest.raises(ValueError, match="no parameter 'tolerance'.*did you mean 'tol'"):
        make_fitness("fraction_wrong", tolerance=0.2)
