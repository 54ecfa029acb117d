import pytest

from evorec import FITNESS, STRATEGIES, TASKS, make_fitness, make_task
from evorec.registry import Registry


def test_entry_points_register_the_shipped_classes():
    assert {"guessing"} <= set(STRATEGIES.names())
    assert {"latch", "parity", "two_sequence"} <= set(TASKS.names())
    assert {"mse", "max_abs_error", "fraction_wrong"} <= set(FITNESS.names())


def test_duplicate_names_are_refused():
    registry = Registry("widget", "evorec.no-such-group")

    class A: ...

    class B: ...

    registry.register("a", A)
    registry.register("a", A)  # the same class again is harmless
    with pytest.raises(ValueError, match="'a' is already registered"):
        registry.register("a", B)


def test_module_class_paths_load_user_plugins():
    assert make_task("tasks.parity:Parity", lengths=3).lengths == (3, 3)
    with pytest.raises(ValueError, match="cannot import task"):
        make_task("tasks.parity:Nope")


def test_fitness_parameters_are_checked():
    assert make_fitness("fraction_wrong", tol=0.2).criterion.tol == 0.2
    with pytest.raises(ValueError, match="no parameter 'tolerance'.*did you mean 'tol'"):
        make_fitness("fraction_wrong", tolerance=0.2)
