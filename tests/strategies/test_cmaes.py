"""CMA-ES through DEAP: own randomness, convergence, IPOP restarts, exact state round trip."""

import ast
import inspect
import json
import math
import pickle

import deap.creator
import numpy as np
import pytest

from evorec import Architecture
from evorec.codec import decode, encode
from evorec.strategies import cmaes as cmaes_module
from evorec.strategies.cmaes import CMAES, Individual
from tests.strategies.solving import PROBLEMS, assert_solves

SPACE = Architecture.fully_recurrent(1, 1, 1)  # 8 free parameters
TARGET = np.linspace(-2.0, 3.0, SPACE.n_params)


def _strategy(seed: int = 0, **params) -> CMAES:
    return CMAES(SPACE, np.random.default_rng(seed), **params)


def _ellipsoid(x: np.ndarray) -> np.ndarray:
    """A shifted, ill-conditioned quadratic (condition number 1e4)."""
    scales = 10.0 ** np.linspace(0, 4, x.shape[1])
    return np.sum(scales * (x - TARGET) ** 2, axis=1)


def _rosenbrock(x: np.ndarray) -> np.ndarray:
    return np.sum(100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1.0 - x[:, :-1]) ** 2, axis=1)


def _drive(strategy: CMAES, loss, generations: int) -> None:
    for _ in range(generations):
        if strategy.done:
            return
        candidates = strategy.ask()
        strategy.tell(candidates, loss(candidates))


@pytest.mark.parametrize(("name", "value"), [
    ("sigma0", 0.0), ("sigma0", math.nan), ("sigma0", "1"), ("population_size", 1), ("population_size", 4.0),
    ("population_size", True), ("init_range", -1.0), ("restarts", -1), ("restarts", 1.5), ("restarts", "yes"),
    ("patience", 0), ("tol_sigma", 0.0),
])
def test_invalid_parameters_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        _strategy(**{name: value})


def test_default_population_size_is_deaps_and_ask_returns_one_generation():
    strategy = _strategy()
    assert strategy.population_size == int(4 + 3 * math.log(SPACE.n_params)) == 10
    assert strategy.ask().shape == (10, SPACE.n_params)
    assert _strategy(population_size=12).ask().shape == (12, SPACE.n_params)


def test_first_centroid_is_drawn_from_the_initial_range():
    strategy = _strategy(init_range=0.5)
    strategy.ask()
    centroid, sigma, C = strategy.distribution
    assert np.all(np.abs(centroid) <= 0.5) and sigma == strategy.sigma0
    np.testing.assert_array_equal(C, np.eye(SPACE.n_params))


def test_sampling_follows_deaps_formula_with_the_strategys_generator():
    strategy = _strategy(seed=2, sigma0=1.0, restarts=False)
    _drive(strategy, _ellipsoid, 30)  # so that C and sigma are no longer trivial
    inner = strategy._cma
    copy = np.random.default_rng()
    copy.bit_generator.state = strategy.rng.bit_generator.state
    z = copy.standard_normal((inner.lambda_, inner.dim))
    np.testing.assert_allclose(strategy.ask(), inner.centroid + inner.sigma * np.dot(z, inner.BD.T),
                                  rtol=0, atol=0)


def test_numpys_global_random_state_is_untouched():
    np.random.seed(123)  # noqa: NPY002 - the point of the test is the global state
    before = np.random.get_state()  # noqa: NPY002
    strategy = _strategy(seed=1, sigma0=1.0, patience=3, restarts=2)
    _drive(strategy, _ellipsoid, 60)  # with restarts, which draw new centroids
    assert strategy.restarts_done > 0
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


def test_no_deap_creator_classes_are_made_or_used():
    before = set(vars(deap.creator))
    strategy = _strategy()
    _drive(strategy, _ellipsoid, 5)
    assert set(vars(deap.creator)) == before
    tree = ast.parse(inspect.getsource(cmaes_module))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "creator" not in imported and "deap.creator" not in imported
    assert not any(isinstance(node, ast.Attribute) and node.attr == "creator" for node in ast.walk(tree))


def test_it_converges_on_a_shifted_ill_conditioned_quadratic():
    strategy = _strategy(seed=4, sigma0=1.0, init_range=1.0, restarts=False)
    _drive(strategy, _ellipsoid, 800)
    assert strategy.best_loss < 1e-10
    np.testing.assert_allclose(strategy.best[0][0], TARGET, atol=1e-5)


def test_it_converges_on_rosenbrock():
    strategy = _strategy(seed=5, sigma0=0.5, init_range=1.0, restarts=3)
    _drive(strategy, _rosenbrock, 3000)
    assert strategy.best_loss < 1e-8
    np.testing.assert_allclose(strategy.best[0][0], np.ones(SPACE.n_params), atol=1e-3)


def test_a_stalled_run_restarts_with_twice_the_population_from_a_new_centroid():
    strategy = _strategy(seed=6, patience=3, restarts=True)
    flat = lambda x: np.ones(len(x))  # noqa: E731 - no progress at all: the run stalls
    _drive(strategy, flat, 3)
    first_centroid = strategy.distribution[0]
    assert strategy.restarts_done == 0
    _drive(strategy, flat, 1)  # the 4th generation without progress (the first one set the run's best)
    assert strategy.restarts_done == 1 and strategy.lambda_ == 20
    assert len(strategy.ask()) == 20
    centroid, sigma, C = strategy.distribution
    assert not np.allclose(centroid, first_centroid) and sigma == strategy.sigma0
    np.testing.assert_array_equal(C, np.eye(SPACE.n_params))


@pytest.mark.parametrize(("restarts", "runs"), [(False, 1), (0, 1), (2, 3)])
def test_without_restarts_left_a_stalled_search_is_done(restarts, runs):
    strategy = _strategy(seed=7, patience=2, restarts=restarts)
    generations = 0
    while not strategy.done:
        strategy.tell(strategy.ask(), np.zeros(strategy.lambda_))
        generations += 1
    assert strategy.restarts_done == runs - 1 and generations == 3 * runs


def test_a_collapsed_step_size_counts_as_a_stall():
    strategy = _strategy(seed=8, sigma0=1.0, init_range=1.0, restarts=False, tol_sigma=1e-3, patience=10_000)
    _drive(strategy, _ellipsoid, 2000)
    assert strategy.done
    _, sigma, C = strategy.distribution
    assert sigma * np.sqrt(np.linalg.eigvalsh(C).max()) < 1e-3


def test_a_short_last_batch_updates_only_the_best():
    strategy = _strategy(seed=9)
    _drive(strategy, _ellipsoid, 3)
    centroid, sigma, C = strategy.distribution
    candidates = strategy.ask()[:4]  # the search loop cut the batch at the end of the budget
    strategy.tell(candidates, np.array([0.0, 1.0, 2.0, 3.0]))
    assert strategy.best_loss == 0.0
    np.testing.assert_array_equal(strategy.best[0][0], candidates[0])
    after = strategy.distribution
    np.testing.assert_array_equal(after[0], centroid)
    assert after[1] == sigma
    np.testing.assert_array_equal(after[2], C)


def test_nan_and_infinite_losses_rank_last():
    strategy = _strategy(seed=10, sigma0=1.0, init_range=1.0, restarts=False)
    for _ in range(40):
        candidates = strategy.ask()
        losses = _ellipsoid(candidates)
        losses[::3], losses[1::4] = np.nan, np.inf
        strategy.tell(candidates, losses)
    centroid, sigma, C = strategy.distribution
    assert np.isfinite(strategy.best_loss) and np.all(np.isfinite(centroid)) and np.all(np.isfinite(C))


@pytest.mark.parametrize("generations", [0, 1, 25, 100])
def test_state_round_trips_through_json_to_the_identical_next_ask(generations):
    # Seed, population size and 100 generations are a case where restoring the eigenvector
    # matrices in C order instead of DEAP's Fortran order changed later samples by round-off.
    strategy = _strategy(seed=11, sigma0=1.0, population_size=12, patience=8, restarts=True)
    _drive(strategy, _rosenbrock, generations)
    state = decode(json.loads(json.dumps(encode(strategy.state), allow_nan=False)))
    copy = _strategy(seed=999, sigma0=1.0, population_size=12, patience=8, restarts=True)
    copy.load_state(state)
    for _ in range(20):  # identical asks, and identical updates after them (restarts included)
        a, b = strategy.ask(), copy.ask()
        np.testing.assert_array_equal(a, b)
        strategy.tell(a, _rosenbrock(a))
        copy.tell(b, _rosenbrock(b))
    assert copy.restarts_done == strategy.restarts_done
    assert json.dumps(encode(copy.state)) == json.dumps(encode(strategy.state))


def test_state_round_trip_after_a_restart():
    strategy = _strategy(seed=12, patience=2, restarts=True)
    _drive(strategy, lambda x: np.ones(len(x)), 4)
    assert strategy.restarts_done == 1
    copy = _strategy(seed=0, patience=2, restarts=True)
    copy.load_state(decode(json.loads(json.dumps(encode(strategy.state), allow_nan=False))))
    assert copy.lambda_ == 20
    np.testing.assert_array_equal(copy.ask(), strategy.ask())


def test_individuals_keep_their_loss_through_pickle_and_sort_lowest_loss_first():
    individuals = [Individual(np.full(3, v), loss) for v, loss in ((1.0, 2.0), (2.0, math.inf), (3.0, 0.5))]
    copies = pickle.loads(pickle.dumps(individuals))
    assert [c.fitness.values for c in copies] == [(2.0,), (math.inf,), (0.5,)]
    np.testing.assert_array_equal(copies[2], np.full(3, 3.0))
    # DEAP's update sorts by fitness, best first: the lowest loss must come first.
    assert [c.fitness.values[0] for c in sorted(copies, key=lambda c: c.fitness, reverse=True)] == [0.5, 2.0, math.inf]


def test_a_strategy_mid_run_pickles_to_the_same_next_ask():
    strategy = _strategy(seed=13)
    _drive(strategy, _ellipsoid, 5)
    copy = pickle.loads(pickle.dumps(strategy))
    np.testing.assert_array_equal(copy.ask(), strategy.ask())


@pytest.mark.parametrize("problem_name", sorted(PROBLEMS))
def test_defaults_solve_parity_and_latch_ii_in_at_least_4_of_5_seeds(problem_name):
    assert_solves("cmaes", problem_name)
