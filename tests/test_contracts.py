"""Contracts every registered task, fitness function and strategy keeps (as scikit-learn's
``parametrize_with_checks``): a plugin that registers under evorec's entry points is held to
the same checks as the shipped classes, so each new class is tested the day it is added."""

from __future__ import annotations

import json

import numpy as np
import pytest

import evorec
from evorec import FITNESS, STRATEGIES, TASKS, Budget, Population, make_problem, search
from evorec.checks import InvalidParameter
from evorec.registry import UnknownParameter
from evorec.scoring import Criterion
from evorec.task import ClosedLoopTask
from tests.strategies.solving import SMALL_SETTINGS as SMALL_STRATEGIES

#: Small settings per task, so that every check runs in a fraction of a second.
SMALL_TASKS = {
    "latch": {"lengths": (5, 10)},
    "two_sequence": {"lengths": (5, 10)},
    "parity": {"lengths": (5, 10)},
    "adding": {"T": 10},
    "multiplication": {"T": 10},
    "long_lag": {"p": 5},
    "ant": {"max_steps": 20},
}
SPACE = evorec.Architecture.rg_a1(1)


def small_task(name: str):
    return evorec.make_task(name, **SMALL_TASKS.get(name, {}))


# ------------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("name", TASKS.names())
def test_task_parameters_read_back_and_rebuild_an_equal_task(name):
    task = small_task(name)
    params = task.get_params()
    assert list(params) == list(evorec.registry.parameters(type(task)))
    assert evorec.make_task(name, **params).get_params() == params
    for key, value in SMALL_TASKS.get(name, {}).items():
        assert params[key] == (tuple(value) if isinstance(value, list) else value)


@pytest.mark.parametrize("name", FITNESS.names())
def test_fitness_parameters_read_back_and_rebuild_an_equal_fitness(name):
    fitness = evorec.make_fitness(name)
    params = fitness.get_params()
    assert list(params) == list(evorec.registry.parameters(type(fitness)))
    assert evorec.make_fitness(name, **params).get_params() == params
    assert repr(fitness) == f"{type(fitness).__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_strategy_parameters_read_back_and_rebuild_an_equal_strategy(name):
    strategy = STRATEGIES.create(name, SPACE, np.random.default_rng(0), **SMALL_STRATEGIES[name])
    params = strategy.get_params()
    assert list(params) == list(evorec.registry.parameters(type(strategy), skip=2))
    for key, value in SMALL_STRATEGIES[name].items():
        assert params[key] == value
    rebuilt = STRATEGIES.create(name, SPACE, np.random.default_rng(0), **params)
    assert rebuilt.get_params() == params


@pytest.mark.parametrize("registry, build", [
    (TASKS, lambda name, **p: evorec.make_task(name, **p)),
    (FITNESS, lambda name, **p: evorec.make_fitness(name, **p)),
    (STRATEGIES, lambda name, **p: STRATEGIES.create(name, SPACE, np.random.default_rng(0), **p)),
], ids=["tasks", "fitness", "strategies"])
def test_an_unknown_parameter_is_refused_by_name(registry, build):
    for name in registry.names():
        with pytest.raises(UnknownParameter) as caught:
            build(name, no_such_parameter=1)
        assert caught.value.name == "no_such_parameter"
        assert isinstance(caught.value, InvalidParameter)


# ------------------------------------------------------------------------------------ tasks
@pytest.mark.parametrize("name", TASKS.names())
def test_task_batches_have_consistent_shapes_and_scored_steps_within_each_sequence(name):
    task = small_task(name)
    batch = task.sample(9, np.random.default_rng(0))
    B, T, n_in = batch.inputs.shape
    assert (B, n_in) == (9, task.n_in)
    # A closed-loop task's batch describes episodes: its targets are what the episode scores.
    assert batch.target_mask.shape == (9, T) and batch.targets.shape[:2] == (9, T)
    assert task.closed_loop or batch.targets.shape[2] == task.n_out
    assert batch.lengths.shape == (9,) and 1 <= batch.lengths.min() and batch.lengths.max() <= T
    within = np.arange(T)[None, :] < batch.lengths[:, None]
    assert not (batch.target_mask & ~within).any()
    assert batch.target_mask.any(axis=1).all()  # every sequence is scored somewhere
    steps = task.sample_steps(9)
    assert steps is None or steps >= batch.lengths.max()
    assert task.sample_bytes(9) >= 9 * 8 * (task.n_in + task.n_out) if steps else task.sample_bytes(9) > 0


@pytest.mark.parametrize("name", TASKS.names())
def test_task_sampling_depends_only_on_the_generator(name):
    task = small_task(name)
    one, two = (task.sample(12, np.random.default_rng(seed)) for seed in (5, 5))
    for field in ("inputs", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    if not task.closed_loop:  # the ant's episodes are the trail itself
        other = task.sample(12, np.random.default_rng(6))
        assert not (other.inputs.shape == one.inputs.shape and np.array_equal(other.inputs, one.inputs))


@pytest.mark.parametrize("name", TASKS.names())
def test_task_defaults_fit_together_and_score_a_population(name):
    task = small_task(name)
    arch = task.default_architecture()
    assert (arch.n_in, arch.n_out) == (task.n_in, task.n_out)
    assert isinstance(task.criterion(), Criterion)
    assert task.default_fitness in FITNESS.names()
    problem = make_problem(task, train_size=6, test_size=6, seed=1)
    result = problem.evaluate(Population.random(arch, 4, np.random.default_rng(2)))
    assert result.loss.shape == (4,) and not np.isnan(result.loss).any()
    assert (result.sequences > 0).all() and (result.steps > 0).all()


# ------------------------------------------------------------------------------- strategies
def tiny_problem():
    return make_problem("parity", task_params={"lengths": (4, 8)}, train_size=12, test_size=12, seed=2)


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_a_search_depends_only_on_its_seed(name):
    problem = tiny_problem()
    runs = [search(name, problem, Budget(evaluations=120), seed=seed, **SMALL_STRATEGIES[name]).to_dict()
            for seed in (7, 7, 8)]
    for run in runs:
        del run["seconds"]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_a_strategys_state_is_plain_json(name):
    problem = tiny_problem()
    stopped = search(name, problem, Budget(evaluations=120), seed=1, stop_after=1, **SMALL_STRATEGIES[name])
    assert stopped.stopped
    assert json.loads(json.dumps(stopped.state, allow_nan=False)) == stopped.state


@pytest.mark.parametrize("name", TASKS.names())
def test_closed_loop_tasks_derive_from_closed_loop_task_and_drive_the_networks(name):
    task = small_task(name)
    assert task.closed_loop == isinstance(task, ClosedLoopTask)
    if task.closed_loop:  # the problem hands the population to the task, not to the evaluator
        assert type(task).evaluate is not ClosedLoopTask.evaluate
