"""Contract tests shared by every task: batch shapes, lengths, classes, determinism, bad input.

Every task is built through ``evorec.make_task`` as a YAML experiment would build it.
Expected values come from docs/literature.md ("Random weight guessing", "BSF94 / RG tasks").
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec

# (name, params, final target of class 0, final target of class 1)
CASES = [
    ("latch", {"variant": "I"}, 0.8, -0.8),
    ("latch", {"variant": "II"}, 1.0, -1.0),
    ("two_sequence", {"N": 1}, 1.0, 0.0),
    ("two_sequence", {"N": 3}, 1.0, 0.0),
    ("parity", {"noise": 0.0}, 0.0, 1.0),  # label 1 = odd number of +1's -> target 1
    ("parity", {"noise": 0.2}, 0.0, 1.0),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in params.items())}" for name, params, *_ in CASES]
NAMES = ["latch", "two_sequence", "parity"]


def task_with(name, params, **extra):
    return evorec.make_task(name, **{**params, **extra})


@pytest.fixture(params=CASES, ids=IDS)
def case(request):
    return request.param


# ------------------------------------------------------------------------ shapes and mask
@pytest.mark.parametrize("n", [1, 7, 40])
def test_batch_shapes(case, n):
    name, params, *_ = case
    task = task_with(name, params, lengths=(5, 12))
    batch = task.sample(n, np.random.default_rng(0))
    B, T, n_in = batch.inputs.shape
    assert (B, n_in) == (n, task.n_in)
    assert batch.targets.shape == (n, T, task.n_out)
    assert batch.target_mask.shape == (n, T)
    assert batch.lengths.shape == (n,)
    assert batch.labels is not None and batch.labels.shape == (n,)
    assert T >= batch.lengths.max()
    assert len(batch) == n


def test_target_mask_marks_exactly_the_last_step(case):
    name, params, *_ = case
    batch = task_with(name, params, lengths=(4, 30)).sample(60, np.random.default_rng(1))
    T = batch.n_steps
    expected = np.arange(T)[None, :] == (batch.lengths - 1)[:, None]
    np.testing.assert_array_equal(batch.target_mask, expected)


def test_task_sizes_match_batch_and_default_architecture(case):
    name, params, *_ = case
    task = task_with(name, params, lengths=(5, 8))
    batch = task.sample(4, np.random.default_rng(2))
    arch = task.default_architecture()
    assert (batch.n_in, batch.n_out) == (task.n_in, task.n_out)
    assert (arch.n_in, arch.n_out) == (task.n_in, task.n_out)


def test_padding_is_zero(case):
    name, params, *_ = case
    batch = task_with(name, params, lengths=(4, 30)).sample(50, np.random.default_rng(3))
    beyond = np.arange(batch.n_steps)[None, :] >= batch.lengths[:, None]
    assert beyond.any()  # the check below is not vacuous
    assert np.all(batch.inputs[beyond] == 0.0)
    assert np.all(batch.targets[beyond] == 0.0)


# ------------------------------------------------------------------------------ lengths
def test_lengths_within_inclusive_range_and_cover_it(case):
    name, params, *_ = case
    lo, hi = 6, 10
    batch = task_with(name, params, lengths=(lo, hi)).sample(1000, np.random.default_rng(4))
    counts = np.bincount(batch.lengths, minlength=hi + 2)
    assert batch.lengths.min() >= lo and batch.lengths.max() <= hi
    # Uniform over the 5 values of the inclusive range: 200 each, sd ~12.6.
    assert np.all(np.abs(counts[lo:hi + 1] - 200) < 60), counts[lo:hi + 1]


def test_single_int_means_fixed_length(case):
    name, params, *_ = case
    batch = task_with(name, params, lengths=9).sample(30, np.random.default_rng(5))
    assert np.all(batch.lengths == 9)
    assert batch.n_steps == 9


def test_default_lengths_are_rg_500_to_600(case):
    name, params, *_ = case
    batch = task_with(name, params).sample(300, np.random.default_rng(6))
    assert batch.lengths.min() >= 500 and batch.lengths.max() <= 600
    # Drawn over the whole range, not a corner of it.
    assert batch.lengths.min() < 520 and batch.lengths.max() > 580


# ------------------------------------------------------------------------------ classes
@pytest.mark.parametrize("n", [2, 10, 100])
def test_classes_balanced_for_even_n(case, n):
    name, params, *_ = case
    batch = task_with(name, params, lengths=(5, 8)).sample(n, np.random.default_rng(7))
    assert set(np.unique(batch.labels)) <= {0, 1}
    assert np.sum(batch.labels == 0) == n // 2
    assert np.sum(batch.labels == 1) == n // 2


def test_labels_in_random_order(case):
    name, params, *_ = case
    task = task_with(name, params, lengths=(5, 8))
    labels = [task.sample(20, np.random.default_rng(seed)).labels for seed in range(5)]
    # Not sorted by class, not a fixed pattern: the order changes from draw to draw.
    assert all(np.any(lab[:-1] > lab[1:]) for lab in labels)
    assert len({lab.tobytes() for lab in labels}) > 1


def test_odd_n_classes_equiprobable(case):
    name, params, *_ = case
    task = task_with(name, params, lengths=(5, 8))
    rng = np.random.default_rng(8)
    for n in (3, 7, 51):
        counts = np.bincount(task.sample(n, rng).labels, minlength=2)
        assert abs(int(counts[0]) - int(counts[1])) == 1
    # One sequence at a time (as in LSTM97's set-up): "class 1 or 2 equiprobable".
    singles = np.array([task.sample(1, rng).labels[0] for _ in range(200)])
    assert 60 < np.sum(singles == 0) < 140


def test_final_target_matches_label(case):
    name, params, target0, target1 = case
    batch = task_with(name, params, lengths=(5, 12)).sample(40, np.random.default_rng(9))
    targets, sequence, _ = batch.scored_targets()
    np.testing.assert_array_equal(sequence, np.arange(40))
    expected = np.where(batch.labels == 0, target0, target1)
    np.testing.assert_allclose(targets[:, 0], expected, rtol=0, atol=1e-12)


# -------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_batches(case):
    name, params, *_ = case
    task = task_with(name, params, lengths=(5, 12))
    a = task.sample(25, np.random.default_rng(123))
    b = task.sample(25, np.random.default_rng(123))
    for field in ("inputs", "targets", "target_mask", "lengths", "labels"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_different_seeds_or_draws_differ(case):
    name, params, *_ = case
    task = task_with(name, params, lengths=(5, 12))
    a = task.sample(25, np.random.default_rng(1))
    b = task.sample(25, np.random.default_rng(2))
    assert a.inputs.shape != b.inputs.shape or not np.array_equal(a.inputs, b.inputs)
    rng = np.random.default_rng(3)
    c, d = task.sample(25, rng), task.sample(25, rng)
    assert c.inputs.shape != d.inputs.shape or not np.array_equal(c.inputs, d.inputs)


def test_sample_leaves_global_random_state_alone(case):
    name, params, *_ = case
    # Reads the legacy global state on purpose: sampling must not touch it.
    before = np.random.get_state()  # noqa: NPY002
    task_with(name, params, lengths=(5, 12)).sample(10, np.random.default_rng(0))
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


# ----------------------------------------------------------------------------- criteria
@pytest.mark.parametrize("name", NAMES)
def test_criterion_default_tolerance_is_rg_0_1(name):
    criterion = evorec.make_task(name).criterion()
    targets = np.zeros((4, 1))
    outputs = np.array([[[0.0], [0.09], [-0.11], [0.5]]])
    np.testing.assert_array_equal(criterion.entry_correct(outputs, targets), [[True, True, False, False]])


@pytest.mark.parametrize("name", NAMES)
def test_criterion_uses_tolerance_parameter(name):
    criterion = evorec.make_task(name, tolerance=0.25).criterion()
    targets = np.ones((3, 1))
    outputs = np.array([[[1.2], [0.74], [1.0]]])
    np.testing.assert_array_equal(criterion.entry_correct(outputs, targets), [[True, False, True]])


# ---------------------------------------------------------------------------- bad input
def test_unknown_task_name_lists_known_names():
    with pytest.raises(ValueError, match="nope") as info:
        evorec.make_task("nope")
    for name in NAMES:
        assert name in str(info.value)


def test_misspelt_task_name_is_refused():
    with pytest.raises(ValueError, match="lach"):
        evorec.make_task("lach")


@pytest.mark.parametrize("name", NAMES)
def test_unknown_parameter_is_named(name):
    with pytest.raises(ValueError, match="lenghts"):
        evorec.make_task(name, lenghts=(1, 2))


@pytest.mark.parametrize("n", [0, -1, 2.5, True, None, "3"])
def test_bad_sample_count(case, n):
    name, params, *_ = case
    task = task_with(name, params, lengths=(5, 8))
    with pytest.raises(ValueError, match=r"\bn\b"):
        task.sample(n, np.random.default_rng(0))


@pytest.mark.parametrize("lengths", [(5, 3), 0, -2, (0, 3), (1.5, 3), 2.5, (1, 2, 3), "5", True, None,
                                     (4, math.inf)])
@pytest.mark.parametrize("name", NAMES)
def test_bad_lengths(name, lengths):
    if name == "two_sequence" and lengths is None:  # None: the variant's lengths
        assert evorec.make_task(name, lengths=None).lengths == evorec.make_task(name).lengths
        return
    with pytest.raises(ValueError, match="lengths"):
        evorec.make_task(name, lengths=lengths)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("tolerance", [0, -0.1, math.nan, "0.1", None])
def test_bad_tolerance_names_the_parameter(name, tolerance):
    if name == "two_sequence" and tolerance is None:  # None: the variant's tolerance
        assert evorec.make_task(name, tolerance=None).tolerance == evorec.make_task(name).tolerance
        return
    with pytest.raises(ValueError, match="tolerance"):
        evorec.make_task(name, tolerance=tolerance)


# ------------------------------------------------------------ sizes known before drawing
SIZED = [("latch", {}), ("two_sequence", {"variant": "3a"}), ("parity", {"lengths": (5, 9)}), ("adding", {"T": 20}),
         ("multiplication", {"T": 20}), ("long_lag", {"variant": "2a", "p": 12}),
         ("long_lag", {"variant": "2b", "p": 12}), ("long_lag", {"variant": "2c", "p": 5, "q": 10}),
         ("temporal_order", {"variant": "6b"}), ("tomita", {"grammar": 4, "max_length": 8}),
         ("ant", {"max_steps": 30})]


@pytest.mark.parametrize("name, params", SIZED, ids=[f"{n}-{p}" for n, p in SIZED])
def test_sample_steps_bounds_the_batch_and_sample_bytes_its_arrays(name, params):
    """Experiment files are checked against these before any sequence is drawn."""
    task = evorec.make_task(name, **params)
    for seed in range(5):
        batch = task.sample(64, np.random.default_rng(seed))
        steps = batch.inputs.shape[1]
        assert steps <= task.sample_steps(64)
        arrays = batch.inputs.nbytes + batch.targets.nbytes + batch.target_mask.nbytes
        assert arrays <= task.sample_bytes(64)
    if name != "long_lag" or params["variant"] != "2c":  # lengths set by the parameters: the bound is reached
        longest = max(task.sample(64, np.random.default_rng(s)).inputs.shape[1] for s in range(5))
        assert longest == task.sample_steps(64)


def test_tasks_whose_lengths_are_not_parameters_say_unknown_and_count_one_step():
    reber = evorec.make_task("embedded_reber")
    assert reber.sample_steps(10) is None
    assert reber.sample_bytes(10) == 10 * (8 * (7 + 14) + 2)  # a lower bound: one step each
