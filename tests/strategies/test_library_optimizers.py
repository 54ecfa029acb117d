"""The strategies around other libraries' optimisers: nevergrad (any optimiser by name) and pycma.

Contracts every strategy meets (same seed same result, stop/resume, NaN and infinite losses)
are in tests/test_contracts.py and tests/strategies/test_resume.py; here what is their own."""

import json

import numpy as np
import pytest

from evorec import STRATEGIES, Budget, make_problem, search
from evorec.checks import InvalidParameter
from evorec.codec import decode
from evorec.strategies.library import import_extra
from tests.strategies.solving import assert_solves

LATCH_II_SHORT = {"task": "latch", "task_params": {"variant": "II", "lengths": (25, 50)}}


def small_problem():
    return make_problem("parity", task_params={"lengths": (6, 10)}, train_size=20, test_size=20, seed=4)


@pytest.mark.parametrize("optimizer", ["TwoPointsDE", "OnePlusOne", "CMA", "PSO", "NGOpt"])
def test_any_nevergrad_optimizer_by_name_runs_reproducibly_and_leaves_numpys_global_state_alone(optimizer):
    problem = small_problem()
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (what the strategy must leave alone)
    runs = [search("nevergrad", problem, Budget(evaluations=200), seed=seed, optimizer=optimizer,
                   population=8).to_dict() for seed in (5, 5, 6)]
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002
    for run in runs:
        del run["seconds"]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert runs[0]["evaluations"] == 200


def test_nevergrad_gets_the_runs_budget_in_networks():
    problem = small_problem()
    strategy = STRATEGIES.create("nevergrad", problem.architecture, np.random.default_rng(0), population=8)
    search(strategy, problem, Budget(evaluations=96))
    assert strategy._optimizer.budget == 96 and strategy._optimizer.num_workers == 8
    strategy = STRATEGIES.create("nevergrad", problem.architecture, np.random.default_rng(0), population=8)
    search(strategy, problem, Budget(sequences=20 * 40))   # 20 training sequences a network
    assert strategy._optimizer.budget == 40


def test_nevergrad_asks_for_a_population_at_a_time_within_its_bounds():
    problem = small_problem()
    strategy = STRATEGIES.create("nevergrad", problem.architecture, np.random.default_rng(0), population=7,
                                 optimizer="TwoPointsDE", bounds=2.0)
    strategy.budget = Budget(evaluations=70)
    strategy.bind(problem)
    for _ in range(3):
        candidates = strategy.ask()
        assert candidates.shape == (7, problem.architecture.n_params)
        assert np.abs(candidates).max() <= 2.0
        strategy.tell(candidates, problem.evaluate(candidates).loss)


def test_an_unknown_nevergrad_optimizer_is_named_with_close_matches():
    with pytest.raises(InvalidParameter, match="optimizer.*TwoPointsDE") as error:
        STRATEGIES.create("nevergrad", small_problem().architecture, np.random.default_rng(0), optimizer="TwoPointDE")
    assert error.value.name == "optimizer"
    assert "\n" not in str(error.value)


def test_an_optimizer_that_needs_a_budget_says_so_when_the_run_has_none_in_networks():
    problem = small_problem()
    with pytest.raises(ValueError, match="NGOpt needs a budget of evaluations or sequences"):
        search("nevergrad", problem, Budget(steps=10_000), seed=0)


def test_a_missing_optional_package_names_the_extra_to_install():
    with pytest.raises(ImportError, match=r'pip install "evorec\[some_extra\]"'):
        import_extra("no_such_package_for_evorec", "some_extra", "example")


@pytest.mark.parametrize("restarts", ["ipop", "bipop"])
def test_pycma_restarts_when_pycmas_own_criteria_end_a_run(restarts):
    problem = make_problem(**LATCH_II_SHORT, seed=0)
    strategy = STRATEGIES.create("pycma", problem.architecture, np.random.default_rng(2), restarts=restarts,
                                 popsize=6)
    search(strategy, problem, Budget(evaluations=4000))
    assert strategy.restarts_done >= 1
    if restarts == "ipop":   # each restart doubles the population
        assert strategy._es.popsize == 6 * 2 ** strategy.restarts_done
    else:                    # both regimes have run, the large one first
        assert strategy.evaluations_in["large"] > 0
        assert strategy.restarts_done < 3 or strategy.evaluations_in["small"] > 0


def test_pycma_without_restarts_ends_with_its_first_run():
    problem = make_problem(**LATCH_II_SHORT, seed=0)
    result = search("pycma", problem, Budget(evaluations=100_000), seed=0, restarts="none", popsize=6)
    assert not result.solved and result.evaluations < 100_000   # it stopped by pycma's own criteria
    assert result.info["restarts_done"] == 0


def test_a_state_that_does_not_replay_is_refused():
    problem = small_problem()
    stopped = search("pycma", problem, Budget(evaluations=300), seed=1, stop_after=3, popsize=6)
    state = decode(json.loads(json.dumps(stopped.state)))["strategy"]
    state["saved"]["_told"][1] = state["saved"]["_told"][1][:2]  # a generation cut short: no update
    strategy = STRATEGIES.create("pycma", problem.architecture, np.random.default_rng(1), popsize=6)
    strategy.bind(problem)
    with pytest.raises(ValueError, match="does not reach the saved generator and candidates"):
        strategy.load_state(state)
    other = STRATEGIES.create("pycma", problem.architecture, np.random.default_rng(1), popsize=8)
    other.bind(problem)
    with pytest.raises(ValueError, match="do not replay"):
        other.load_state(decode(json.loads(json.dumps(stopped.state)))["strategy"])


def test_pycma_writes_no_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    search("pycma", small_problem(), Budget(evaluations=200), seed=0, popsize=6)
    assert list(tmp_path.iterdir()) == []


def test_pycma_solves_latch_ii_short():
    assert_solves("pycma", "latch_ii_short", seeds=5, at_least=4, evaluations=5000)


@pytest.mark.slow
def test_nevergrad_ngopt_solves_latch_ii_short():
    # NGOpt picks nevergrad's MetaModel here, which fits a surrogate at every ask: ~50 s.
    assert_solves("nevergrad", "latch_ii_short", seeds=5, at_least=4, evaluations=5000)


def test_nevergrad_two_points_de_solves_latch_ii_short():
    assert_solves("nevergrad", "latch_ii_short", seeds=5, at_least=4, evaluations=5000, optimizer="TwoPointsDE")
