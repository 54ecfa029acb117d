import numpy as np
import pytest

import evorec
from evorec import Budget, make_problem, search


@pytest.fixture(scope="module")
def parity():
    return make_problem("parity", task_params={"lengths": (25, 50)}, seed=0)


@pytest.fixture(scope="module")
def latch_ii():
    return make_problem("latch", task_params={"variant": "II", "lengths": (50, 60)}, seed=0)


def _comparable(result):
    data = result.to_dict()
    data.pop("seconds")
    return data


def test_same_seed_gives_identical_result(parity):
    a = search("guessing", parity, Budget(evaluations=3000), seed=11)
    b = search("guessing", parity, Budget(evaluations=3000), seed=11)
    assert _comparable(a) == _comparable(b)


def test_different_seeds_draw_different_networks(parity):
    a = search("guessing", parity, Budget(evaluations=50), seed=1, batch_size=50)
    b = search("guessing", parity, Budget(evaluations=50), seed=2, batch_size=50)
    assert not np.array_equal(a.best_W_h, b.best_W_h)


@pytest.mark.parametrize("fixture", ["parity", "latch_ii"])
def test_guessing_solves_parity_and_latch_ii(fixture, request):
    problem = request.getfixturevalue(fixture)
    solved = [search("guessing", problem, Budget(evaluations=100_000), seed=s) for s in range(5)]
    assert all(r.solved for r in solved)
    for r in solved:
        assert r.train_error == 0.0 and r.evaluations <= 100_000
        assert r.steps <= r.evaluations * problem.train.lengths.sum()


def test_evaluations_on_success_is_the_draw_position_of_the_first_solver(parity):
    coarse = search("guessing", parity, Budget(evaluations=100_000), seed=3, batch_size=1000)
    fine = search("guessing", parity, Budget(evaluations=100_000), seed=3, batch_size=7)
    assert coarse.solved and coarse.evaluations % 1000 != 0
    assert coarse.evaluations == fine.evaluations
    assert coarse.steps == fine.steps and coarse.sequences == fine.sequences
    np.testing.assert_array_equal(coarse.best_W_y, fine.best_W_y)


def test_early_exit_finds_the_same_solver_for_fewer_steps(parity):
    full = search("guessing", parity, Budget(evaluations=100_000), seed=4)
    fast = search("guessing", parity, Budget(evaluations=100_000), seed=4, early_exit=True)
    assert fast.solved and fast.evaluations == full.evaluations
    assert fast.steps < full.steps / 2
    assert fast.best_loss == full.best_loss


def test_budget_is_never_exceeded():
    problem = make_problem("latch", task_params={"variant": "I", "lengths": (40, 50), "success": "error"}, seed=0)
    result = search("guessing", problem, Budget(evaluations=2500), seed=0, batch_size=1000)
    assert not result.solved and result.evaluations == 2500
    assert result.history and result.history[-1][1] == result.best_loss


def test_history_records_falling_best_loss(parity):
    result = search("guessing", parity, Budget(evaluations=20_000), seed=5, batch_size=100)
    evals, losses = zip(*result.history, strict=True)
    assert list(evals) == sorted(evals) and all(np.diff(losses) < 0)


@pytest.mark.parametrize("kwargs, message", [
    ({}, "at least one limit"),
    ({"evaluations": 0}, "budget.evaluations"),
    ({"sequences": -5}, "budget.sequences"),
    ({"seconds": "ten"}, "budget.seconds"),
    ({"steps": 1.5}, "budget.steps"),
])
def test_budget_rejects_bad_limits(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Budget(**kwargs)


def test_unknown_strategy_lists_the_known_ones(parity):
    with pytest.raises(ValueError, match="unknown strategy 'guesing'.*did you mean 'guessing'.*known: .*guessing"):
        search("guesing", parity, Budget(evaluations=10))


@pytest.mark.parametrize("params, message", [
    ({"radius": 3}, "no parameter 'radius'"),
    ({"r": -1}, "r must be a positive finite number"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_strategy_parameters_are_named(parity, params, message):
    with pytest.raises(ValueError, match=message):
        search("guessing", parity, Budget(evaluations=10), **params)


@pytest.mark.parametrize("kwargs, message", [
    ({"task": "parrity"}, "unknown task 'parrity'.*did you mean 'parity'.*known: .*latch.*parity.*two_sequence"),
    ({"task": "parity", "train_size": 0}, "train_size"),
    ({"task": "parity", "test_size": -3}, "test_size"),
    ({"task": "parity", "fitness": "rmse"}, "unknown fitness function 'rmse'.*known: .*mse"),
    ({"task": "parity", "architecture": evorec.Architecture.fully_recurrent(2, 1, 1)}, "n_in=2"),
    ({"task": "parity", "seed": -1}, "seed"),
])
def test_make_problem_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_problem(**kwargs)


def test_problem_data_is_reproducible_and_test_set_is_separate():
    a = make_problem("parity", task_params={"lengths": (5, 9)}, seed=3)
    b = make_problem("parity", task_params={"lengths": (5, 9)}, seed=3)
    np.testing.assert_array_equal(a.train.inputs, b.train.inputs)
    assert a.train.inputs.shape[0] == 100 and a.test.inputs.shape[0] == 100
    assert not np.array_equal(a.train.inputs[:, :5], a.test.inputs[:, :5])


# ------------------------------------------------------------------ a ready strategy instance
def test_a_ready_strategy_is_recorded_by_its_registered_name_and_without_a_seed(parity):
    strategy = evorec.STRATEGIES.create("guessing", parity.architecture, np.random.default_rng(5), batch_size=10)
    result = search(strategy, parity, Budget(evaluations=30))
    assert result.strategy == "guessing"
    assert result.seed is None  # the generator was seeded by the caller, not by search
    by_name = search("guessing", parity, Budget(evaluations=30), batch_size=10)
    assert (by_name.strategy, by_name.seed) == ("guessing", 0)


def test_a_seed_cannot_be_given_with_a_ready_strategy(parity):
    strategy = evorec.STRATEGIES.create("guessing", parity.architecture, np.random.default_rng(5))
    with pytest.raises(ValueError, match="seed applies to a strategy given by name"):
        search(strategy, parity, Budget(evaluations=30), seed=3)


def test_a_strategy_cannot_carry_its_best_into_a_second_search(parity):
    strategy = evorec.STRATEGIES.create("guessing", parity.architecture, np.random.default_rng(5), batch_size=10)
    search(strategy, parity, Budget(evaluations=30))
    assert strategy.best_candidate is not None
    with pytest.raises(ValueError, match="already run a search; build a new one"):
        search(strategy, parity, Budget(evaluations=30))


def test_bind_takes_the_worst_loss_from_the_problem(parity):
    strategy = evorec.STRATEGIES.create("guessing", parity.architecture, np.random.default_rng(5))
    assert strategy.worst_loss == np.inf
    strategy.bind(parity)
    assert strategy.worst_loss == parity.worst_loss < np.inf  # mse of sigmoid outputs on 0/1 targets
