import tracemalloc
import warnings

import numpy as np
import pytest

import evorec
from evorec import Architecture, Population, SequenceBatch, evaluate, forward
from evorec.tasks.fitness import FractionWrong, MaxAbsError, MeanSquaredError, WithinTolerance


def _batch(rng, B=12, T=30, n_in=1, n_out=1, every_step=False):
    lengths = rng.integers(T // 2, T + 1, size=B)
    lengths[0] = T
    steps = np.arange(T)[None, :]
    if every_step:
        mask = steps < lengths[:, None]
    else:
        mask = steps == (lengths - 1)[:, None]
    targets = rng.uniform(0, 1, size=(B, T, n_out))
    return SequenceBatch(rng.normal(size=(B, T, n_in)), targets, mask, lengths)


def _history_losses(pop, batch, fitness, criterion):
    out = forward(pop, batch.inputs, batch.lengths)
    targets, seq, step = batch.scored_targets()
    scored = out[:, seq, step]
    right = criterion.entry_correct(scored, targets)
    wrong = np.array([sum(not right[p, seq == b].all() for b in range(len(batch))) for p in range(len(pop))])
    return fitness(scored, targets, seq, len(batch)), wrong


@pytest.mark.parametrize("every_step", [False, True])
@pytest.mark.parametrize("fitness", [MeanSquaredError(), MaxAbsError(), FractionWrong(0.3)])
def test_losses_equal_those_from_forward_history(fitness, every_step):
    rng = np.random.default_rng(3)
    arch = Architecture.fully_recurrent(1, 3, 1, hidden="tanh", output="sigmoid")
    pop = Population.random(arch, 40, rng, -2, 2)
    batch = _batch(rng, every_step=every_step)
    criterion = WithinTolerance(0.3)
    result = evaluate(pop, batch, fitness, criterion)
    loss, wrong = _history_losses(pop, batch, fitness, criterion)
    np.testing.assert_allclose(result.loss, loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(result.wrong, wrong)
    np.testing.assert_array_equal(result.solved, wrong == 0)
    assert result.complete.all()


def test_chunking_and_threads_do_not_change_any_result():
    rng = np.random.default_rng(4)
    pop = Population.random(Architecture.rg_a2(10), 300, rng, -3, 3)
    batch = _batch(rng, B=20, T=40, every_step=True)
    args = (pop, batch, MeanSquaredError(), WithinTolerance(0.4))
    whole = evaluate(*args)
    for kwargs in ({"memory_budget": 250_000}, {"memory_budget": 160_000, "n_jobs": 2}):
        part = evaluate(*args, **kwargs)
        for name in ("loss", "wrong", "solved", "complete", "sequences", "steps"):
            np.testing.assert_array_equal(getattr(part, name), getattr(whole, name), err_msg=name)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_working_memory_stays_under_the_budget(n_jobs):
    rng = np.random.default_rng(9)
    pop = Population.random(Architecture.fully_recurrent(1, 10, 1), 400, rng)
    batch = _batch(rng, B=100, T=200, every_step=True)
    budget = 3 * 2**20
    tracemalloc.start()
    try:
        evaluate(pop, batch, MeanSquaredError(), WithinTolerance(0.1), memory_budget=budget, n_jobs=n_jobs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= budget
    # ... while an unchunked evaluation of the same work would need far more than the budget.
    assert len(pop) * 8 * (13 + 11) * 100 + len(pop) * 8 * batch.target_mask.sum() > 4 * budget


def test_early_exit_keeps_solutions_and_complete_losses_and_saves_steps():
    task = evorec.make_task("parity", lengths=(8, 12))
    batch = task.sample(60, np.random.default_rng(5))
    pop = Population.random(task.default_architecture(), 12000, np.random.default_rng(6), -100, 100)
    full = evaluate(pop, batch, MeanSquaredError(), task.criterion())
    fast = evaluate(pop, batch, MeanSquaredError(), task.criterion(), early_exit=True, early_exit_block=7)
    assert full.solved.any(), "the test needs at least one solving network among the draws"
    np.testing.assert_array_equal(fast.solved, full.solved)
    np.testing.assert_array_equal(fast.complete, full.wrong == 0)
    np.testing.assert_array_equal(fast.loss[fast.complete], full.loss[fast.complete])
    assert np.all(np.isinf(fast.loss[~fast.complete]))
    assert np.all((fast.wrong >= 1) == ~fast.complete) and np.all(fast.wrong <= full.wrong)
    assert fast.steps.sum() < full.steps.sum() / 3
    np.testing.assert_array_equal(fast.steps[fast.complete], full.steps[fast.complete])


def test_costs_count_real_steps_and_sequences():
    rng = np.random.default_rng(7)
    pop = Population.random(Architecture.fully_recurrent(1, 2, 1), 5, rng)
    batch = _batch(rng, B=9, T=25)
    result = evaluate(pop, batch, MeanSquaredError(), WithinTolerance(0.1))
    assert result.evaluations == 5
    np.testing.assert_array_equal(result.sequences, np.full(5, 9))
    np.testing.assert_array_equal(result.steps, np.full(5, batch.lengths.sum()))


def test_non_finite_outputs_get_the_worst_loss_without_an_exception():
    arch = Architecture.fully_recurrent(1, 1, 1, hidden="linear", output="linear")
    W = np.zeros((2, 1, 4))
    W[0, 0, 2] = W[0, 0, 3] = 1e200  # explodes to inf and then nan
    W[0, 0, 0] = 1.0
    pop = Population.from_weights(arch, W, W)
    batch = _batch(np.random.default_rng(8), B=4, T=20)
    for fitness in (MeanSquaredError(), FractionWrong(0.1)):
        result = evaluate(pop, batch, fitness, WithinTolerance(0.1))
        assert result.loss[0] == fitness.worst
        assert np.isfinite(result.loss[1])
        assert result.wrong[0] == 4


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_overflowing_networks_raise_no_floating_point_warning_on_any_thread(n_jobs):
    # numpy's error state is per thread: the chunks that run on joblib's threads must set it.
    rng = np.random.default_rng(9)
    arch = Architecture.fully_recurrent(1, 3, 1, hidden="linear", output="linear")
    pop = Population.random(arch, 300, rng, -1e12, 1e12)
    batch = _batch(rng, B=10, T=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = evaluate(pop, batch, MeanSquaredError(), WithinTolerance(0.1), memory_budget=200_000,
                          n_jobs=n_jobs)
    assert np.isinf(result.loss).any()


def test_batch_that_does_not_fit_the_architecture_is_refused():
    pop = Population.random(Architecture.fully_recurrent(2, 1, 1), 2, np.random.default_rng(0))
    batch = _batch(np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_in=2"):
        evaluate(pop, batch, MeanSquaredError(), WithinTolerance(0.1))


def test_memory_budget_too_small_for_one_network_is_refused():
    pop = Population.random(Architecture.fully_recurrent(1, 1, 1), 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="memory_budget"):
        evaluate(pop, _batch(np.random.default_rng(0)), MeanSquaredError(), WithinTolerance(0.1),
                 memory_budget=100)


@pytest.mark.parametrize("kwargs, message", [
    ({"lengths": np.array([0, 3])}, "lengths must lie in"),
    ({"lengths": np.array([3, 4])}, "lengths must lie in"),
    ({"target_mask": np.zeros((2, 3), bool)}, "at least one step"),
    ({"targets": np.zeros((2, 4, 1))}, "targets must have shape"),
])
def test_sequence_batch_rejects_inconsistent_arrays(kwargs, message):
    fields = {"inputs": np.zeros((2, 3, 1)), "targets": np.zeros((2, 3, 1)),
              "target_mask": np.eye(2, 3, 1, dtype=bool), "lengths": np.array([3, 3])}
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        SequenceBatch(**fields)
