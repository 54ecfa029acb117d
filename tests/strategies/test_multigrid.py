"""Multi-grid random search: box sampling, moves, shrinking after K failures, s_min stop and restart."""

import json
import math

import numpy as np
import pytest

from evorec import Architecture, Budget, make_problem, search
from evorec.codec import decode, encode
from evorec.strategies.multigrid import MultiGridSearch
from tests.strategies.solving import PROBLEMS, assert_solves

SPACE = Architecture.latch_ii()  # 3 free parameters


def _strategy(seed: int = 0, **params) -> MultiGridSearch:
    return MultiGridSearch(SPACE, np.random.default_rng(seed), **params)


def _started(seed: int = 0, **params) -> MultiGridSearch:
    """A strategy past its start batch, centred on that batch's row 0 with loss 1."""
    strategy = _strategy(seed, **params)
    first = strategy.ask()
    losses = np.full(len(first), 2.0)
    losses[0] = 1.0
    strategy.tell(first, losses)
    return strategy


@pytest.mark.parametrize(("name", "value"), [
    ("s0", 0.0), ("s0", -1.0), ("s0", math.inf), ("s0", "1"), ("rho", 1.0), ("rho", 0.5), ("rho", True),
    ("K", 0), ("K", 2.5), ("K", True), ("s_min", 0.0), ("s_min", 40.0), ("batch_size", 0),
    ("batch_size", 1.0), ("restart", 1), ("restart", "yes"), ("init_range", 0.0), ("init_range", math.nan),
    ("min_gain", -1e-3), ("min_gain", math.inf),
])
def test_invalid_parameters_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        _strategy(**{name: value})


def test_the_first_batch_holds_the_start_point_and_its_neighbours():
    strategy = _strategy(s0=2.0, init_range=5.0, batch_size=8)
    first = strategy.ask()
    assert first.shape == (8, SPACE.n_params)
    start = first[0]
    assert np.all(np.abs(start) <= 5.0)
    assert np.all(np.abs(first[1:] - start) <= 2.0)


def test_the_center_moves_to_the_best_of_the_first_batch_whatever_its_loss():
    strategy = _strategy(batch_size=5)
    first = strategy.ask()
    strategy.tell(first, np.array([9.0, 7.0, 8.0, 9.5, 7.5]))
    center, loss = strategy.center
    np.testing.assert_array_equal(center, first[1])
    assert loss == 7.0 and strategy.failures == 0


def test_candidates_lie_in_the_box_around_the_center_and_fill_it():
    strategy = _started(s0=0.25, batch_size=1000, K=1000)
    center, _ = strategy.center
    candidates = strategy.ask()
    offsets = candidates - center
    assert np.all(np.abs(offsets) <= 0.25)
    # Uniform in the box, not a smaller one: the extremes come close to the edges.
    assert offsets.max() > 0.24 and offsets.min() < -0.24


def test_the_center_moves_to_the_best_improvement_in_the_batch():
    strategy = _started(batch_size=4)
    batch = strategy.ask()
    strategy.tell(batch, np.array([0.9, 0.5, 1.2, 0.7]))
    center, loss = strategy.center
    np.testing.assert_array_equal(center, batch[1])
    assert loss == 0.5
    assert strategy.best_loss == 0.5


def test_a_batch_without_improvement_leaves_the_center_and_counts_every_candidate():
    strategy = _started(batch_size=4, K=100)
    center, _ = strategy.center
    strategy.tell(strategy.ask(), np.array([1.0, 1.5, 3.0, 1.0]))  # equal is not better
    np.testing.assert_array_equal(strategy.center[0], center)
    assert strategy.center[1] == 1.0 and strategy.failures == 4


def test_the_box_shrinks_after_exactly_K_failed_candidates():
    strategy = _started(s0=8.0, batch_size=4, K=10, rho=2.0)
    sizes = []
    for _ in range(3):
        batch = strategy.ask()
        sizes.append(len(batch))
        assert strategy.s == 8.0  # not before the 10th failure
        strategy.tell(batch, np.full(len(batch), 5.0))
    assert sizes == [4, 4, 2]  # the last batch is cut so that the level ends at K
    assert strategy.s == 4.0 and strategy.failures == 0
    assert len(strategy.ask()) == 4


def test_an_improvement_resets_the_failure_count():
    strategy = _started(s0=8.0, batch_size=4, K=10)
    strategy.tell(strategy.ask(), np.full(4, 5.0))
    strategy.tell(strategy.ask(), np.array([5.0, 0.5, 5.0, 5.0]))
    assert strategy.failures == 0
    for _ in range(2):
        strategy.tell(strategy.ask(), np.full(4, 5.0))
    assert strategy.s == 8.0 and strategy.failures == 8


def test_a_gain_below_min_gain_moves_the_center_but_counts_as_failures():
    strategy = _started(batch_size=4, K=100, min_gain=1e-3)
    batch = strategy.ask()
    strategy.tell(batch, np.array([1.0, 1.0 - 1e-4, 1.0, 1.0]))
    np.testing.assert_array_equal(strategy.center[0], batch[1])
    assert strategy.failures == 4


def test_nan_and_infinite_losses_never_count_as_improvements():
    strategy = _started(batch_size=3, K=100)
    center, _ = strategy.center
    strategy.tell(strategy.ask(), np.array([np.nan, np.inf, -np.nan]))
    np.testing.assert_array_equal(strategy.center[0], center)
    assert strategy.center[1] == 1.0 and strategy.failures == 3 and strategy.best_loss == 1.0


def _fail_until(strategy: MultiGridSearch, stop, limit: int = 10_000) -> int:
    """Tell failing batches until ``stop()``; return the number of candidates spent."""
    spent = 0
    while not stop():
        batch = strategy.ask()
        strategy.tell(batch, np.full(len(batch), 5.0))
        spent += len(batch)
        assert spent < limit
    return spent


def test_without_restart_the_search_is_done_when_s_falls_below_s_min():
    strategy = _started(s0=1.0, s_min=0.1, rho=2.0, K=6, batch_size=4, restart=False)
    spent = _fail_until(strategy, lambda: strategy.done)
    # Levels 1, 1/2, 1/4, 1/8 are >= 0.1; the 4th shrink gives 1/16 < 0.1: 4 levels of K failures.
    assert spent == 4 * 6
    assert strategy.s == 1.0 / 16


def test_with_restart_the_search_starts_again_at_s0_from_a_new_random_point():
    strategy = _started(s0=1.0, s_min=0.1, K=6, batch_size=4, restart=True, init_range=3.0)
    old_center, _ = strategy.center
    spent = _fail_until(strategy, lambda: strategy.restarts == 1)
    assert spent == 4 * 6 and not strategy.done and strategy.s == 1.0
    first = strategy.ask()
    assert not np.array_equal(first[0], old_center)
    assert np.all(np.abs(first[0]) <= 3.0) and np.all(np.abs(first[1:] - first[0]) <= 1.0)
    # The start batch moves the center whatever its losses, even when worse than the old center.
    strategy.tell(first, np.full(len(first), 50.0))
    assert strategy.center[1] == 50.0 and strategy.best_loss == 1.0 and strategy.failures == 0


def test_the_search_loop_stops_when_the_strategy_is_done():
    problem = make_problem("parity", task_params={"lengths": (6, 10)}, train_size=10, test_size=10)
    strategy = MultiGridSearch(problem.architecture, np.random.default_rng(1), s0=1.0, s_min=0.3, K=8,
                               batch_size=8, restart=False)
    result = search(strategy, problem, Budget(evaluations=100_000))
    assert strategy.done and strategy.s == 0.25
    # At least the start batch and K failures at each of the levels 1 and 1/2.
    assert 8 + 2 * 8 <= result.evaluations < 1000 and not result.solved


def test_it_converges_on_a_shifted_quadratic():
    strategy = _strategy(seed=3, s0=4.0, init_range=4.0, s_min=1e-6, restart=False, min_gain=0.0)
    target = np.array([1.5, -2.0, 0.5])
    while not strategy.done:
        batch = strategy.ask()
        strategy.tell(batch, np.sum((batch - target) ** 2, axis=1))
    np.testing.assert_allclose(strategy.best[0][0], target, atol=1e-4)


def test_state_round_trips_through_json_to_the_same_next_batch():
    strategy = _started(seed=5, batch_size=4, K=6)
    for round_ in range(5):
        batch = strategy.ask()
        strategy.tell(batch, np.random.default_rng(round_).uniform(0.5, 2, size=len(batch)))
    state = decode(json.loads(json.dumps(encode(strategy.state), allow_nan=False)))
    copy = _strategy(seed=99, batch_size=4, K=6)
    copy.load_state(state)
    np.testing.assert_array_equal(copy.ask(), strategy.ask())
    assert (copy.s, copy.failures, copy.center[1]) == (strategy.s, strategy.failures, strategy.center[1])


@pytest.mark.parametrize("problem_name", sorted(PROBLEMS))
def test_defaults_solve_parity_and_latch_ii_in_at_least_4_of_5_seeds(problem_name):
    assert_solves("multigrid", problem_name)
