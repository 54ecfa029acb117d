"""The adding and multiplication problems (docs/literature.md, "LSTM97 tasks", experiments 4 and 5)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import evorec

# name -> (value range, value a marked first pair counts as, target of the two marked values)
TASKS = {
    "adding": ((-1.0, 1.0), 0.0, lambda x1, x2: 0.5 + (x1 + x2) / 4.0),
    "multiplication": ((0.0, 1.0), 1.0, lambda x1, x2: x1 * x2),
}


def split(batch):
    """Per sequence, within its length: (values, markers)."""
    return [(batch.inputs[b, :L, 0], batch.inputs[b, :L, 1]) for b, L in enumerate(batch.lengths)]


def marked_pair_probabilities(T):
    """Exact distribution of the set of the two marked positions, from the definition.

    X1: one of the first 10 pairs; X2: one of the first T//2 - 1 pairs not yet marked.
    """
    probs = {}
    for x1 in range(10):
        unmarked = [i for i in range(T) if i != x1][: T // 2 - 1]
        for x2 in unmarked:
            key = (min(x1, x2), max(x1, x2))
            probs[key] = probs.get(key, 0.0) + 1 / 10 / len(unmarked)
    return probs


@pytest.fixture(scope="module", params=list(TASKS))
def name(request):
    return request.param


# ---------------------------------------------------------------------------- markers
@pytest.mark.parametrize("T", [10, 20, 100])
def test_markers(name, T):
    batch = evorec.make_task(name, T=T).sample(2000, np.random.default_rng(0))
    for _, m in split(batch):
        marked = np.flatnonzero(m == 1.0)
        assert marked.size == 2
        assert marked[0] < 10                                    # X1 among the first 10 pairs
        assert marked[1] <= T // 2 - 1 or marked[1] < 10         # X2 among the first T//2 - 1 unmarked
        others = np.setdiff1d(np.arange(m.size), marked)
        ends = [i for i in (0, m.size - 1) if i not in marked]   # -1 at both ends unless marked
        assert np.all(m[ends] == -1.0)
        assert np.all(m[np.setdiff1d(others, ends)] == 0.0)


@pytest.mark.parametrize("T", [20, 100])
def test_marked_positions_follow_the_definition(name, T):
    n = 30000
    batch = evorec.make_task(name, T=T).sample(n, np.random.default_rng(1))
    marked = batch.inputs[:, :, 1] == 1.0
    rows, cols = np.nonzero(marked)
    assert np.all(np.bincount(rows) == 2)
    pairs = cols.reshape(n, 2)  # np.nonzero lists each row's columns in increasing order
    expected = marked_pair_probabilities(T)
    keys, counts = np.unique(pairs, axis=0, return_counts=True)
    seen = {tuple(k): c / n for k, c in zip(keys.tolist(), counts, strict=True)}
    assert set(seen) <= set(expected)
    # Chi-square against the exact distribution: mean = number of cells - 1, sd = sqrt(2 (cells - 1)).
    chi2 = sum((seen.get(k, 0.0) - p) ** 2 / p for k, p in expected.items()) * n
    cells = len(expected)
    assert chi2 < cells - 1 + 5 * math.sqrt(2 * (cells - 1)), (chi2, cells)
    # A check the test can see failing: the first pair is marked about as often as it should be.
    p_first = sum(p for k, p in expected.items() if k[0] == 0)
    assert abs(np.mean(pairs[:, 0] == 0) - p_first) < 0.01


# ---------------------------------------------------------------------- values, targets
def test_values_uniform_in_range(name):
    (lo, hi), _, _ = TASKS[name]
    batch = evorec.make_task(name, T=100).sample(500, np.random.default_rng(2))
    v = np.concatenate([values[1:] for values, _ in split(batch)])  # the first pair may be set
    assert v.min() >= lo and v.max() <= hi
    # Uniform: every tenth of the range holds a tenth of the values.
    counts = np.histogram(v, bins=10, range=(lo, hi))[0] / v.size
    assert np.all(np.abs(counts - 0.1) < 0.01)
    assert abs(v.var() - (hi - lo) ** 2 / 12) < 0.01 * (hi - lo) ** 2


def test_target_is_the_function_of_the_marked_values(name):
    _, first_value, target = TASKS[name]
    batch = evorec.make_task(name, T=20).sample(3000, np.random.default_rng(3))
    first_marked = 0
    for b, (values, m) in enumerate(split(batch)):
        i, j = np.flatnonzero(m == 1.0)
        if i == 0:
            first_marked += 1
            assert values[0] == first_value     # its value counts as (and is shown as) X1 = 0 / 1.0
        assert batch.targets[b, batch.lengths[b] - 1, 0] == pytest.approx(target(values[i], values[j]), abs=1e-12)
    assert first_marked > 100  # the special case was exercised


def test_without_replacing_the_first_value_only_the_target_uses_it(name):
    _, first_value, target = TASKS[name]
    batch = evorec.make_task(name, T=20, replace_first_value=False).sample(3000, np.random.default_rng(4))
    first_marked = 0
    for b, (values, m) in enumerate(split(batch)):
        i, j = np.flatnonzero(m == 1.0)
        x1 = first_value if i == 0 else values[i]
        if i == 0:
            first_marked += 1
            assert values[0] != first_value  # a random value, left as drawn
        assert batch.targets[b, batch.lengths[b] - 1, 0] == pytest.approx(target(x1, values[j]), abs=1e-12)
    assert first_marked > 100


def test_adding_targets_fill_zero_to_one():
    batch = evorec.make_task("adding").sample(2000, np.random.default_rng(5))
    targets, _, _ = batch.scored_targets()
    assert targets.min() >= 0.0 and targets.max() <= 1.0
    assert targets.min() < 0.1 and targets.max() > 0.9
    assert abs(targets.mean() - 0.5) < 0.01


# ---------------------------------------------------------------------- lengths and mask
@pytest.mark.parametrize("T", [10, 100, 1000])
def test_lengths_uniform_in_t_to_t_plus_a_tenth(name, T):
    batch = evorec.make_task(name, T=T).sample(2000 if T < 1000 else 300, np.random.default_rng(6))
    assert batch.lengths.min() >= T and batch.lengths.max() <= T + T // 10
    if T == 100:
        counts = np.bincount(batch.lengths - T, minlength=11)
        assert np.all(np.abs(counts / 2000 - 1 / 11) < 0.03)
    expected = np.arange(batch.n_steps)[None, :] == (batch.lengths - 1)[:, None]
    np.testing.assert_array_equal(batch.target_mask, expected)
    padding = np.arange(batch.n_steps)[None, :] >= batch.lengths[:, None]
    assert np.all(batch.inputs[padding] == 0) and np.all(batch.targets[padding] == 0)
    assert batch.labels is None


# ----------------------------------------------------------------------------- scoring
def test_defaults(name):
    task = evorec.make_task(name)
    assert (task.T, task.tolerance, task.replace_first_value) == (100, 0.04, True)
    assert (task.n_in, task.n_out) == (2, 1)
    assert task.default_fitness in evorec.FITNESS.names()
    arch = task.default_architecture()
    assert (arch.n_in, arch.n_out) == (2, 1)


@pytest.mark.parametrize("tol", [0.04, 0.1])
def test_criterion(name, tol):
    params = {} if tol == 0.04 else {"tolerance": tol}
    task = evorec.make_task(name, **params)
    batch = task.sample(10, np.random.default_rng(7))
    targets, _, _ = batch.scored_targets()
    criterion = task.criterion()
    assert criterion.entry_correct(targets[None], targets).all()
    for err, right in ((0.99 * tol, True), (-0.99 * tol, True), (tol, False), (-1.01 * tol, False)):
        assert criterion.entry_correct(targets[None] + err, targets).all() == right


def test_same_seed_same_batch_and_global_state_untouched(name):
    task = evorec.make_task(name, T=30)
    before = np.random.get_state()  # noqa: NPY002
    a, b = (task.sample(20, np.random.default_rng(8)) for _ in range(2))
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and np.array_equal(before[1], after[1])
    for field in ("inputs", "targets", "target_mask", "lengths"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("params", "param"), [
    *(({"T": T}, r"\bT\b") for T in (9, 0, -5, 50.0, True, None, "100")),
    *(({"tolerance": tol}, "tolerance") for tol in (0, -0.04, math.nan, None, "0.04")),
    *(({"replace_first_value": v}, "replace_first_value") for v in ("yes", 1, None)),
])
def test_bad_parameters_are_named(name, params, param):
    with pytest.raises(ValueError, match=param):
        evorec.make_task(name, **params)


def test_all_sizes_of_t_from_the_minimum_sample(name):
    for T, seed in itertools.product((10, 11, 12, 13), range(3)):
        batch = evorec.make_task(name, T=T).sample(50, np.random.default_rng(seed))
        assert np.all((batch.inputs[:, :, 1] == 1.0).sum(axis=1) == 2)
