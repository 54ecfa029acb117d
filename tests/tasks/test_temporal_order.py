"""The temporal order problem, 6a and 6b (docs/literature.md, "LSTM97 tasks", experiment 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec

SYMBOLS = "EBabcdXY"
# docs/literature.md: the X/Y positions of each variant, inclusive ranges.
RANGES = {"6a": [(10, 20), (50, 60)], "6b": [(10, 20), (33, 43), (66, 76)]}


def decode(batch, b):
    x = batch.inputs[b, : batch.lengths[b]]
    assert np.all((x == 0) | (x == 1)) and np.all(x.sum(axis=1) == 1), "inputs must be one-hot"
    return "".join(SYMBOLS[i] for i in x.argmax(axis=1))


def pattern_class(pattern):
    """Classes in the order XX, XY, YX, YY (6a) or XXX, XXY, ..., YYY (6b)."""
    return int(pattern.replace("X", "0").replace("Y", "1"), 2)


@pytest.fixture(scope="module", params=["6a", "6b"])
def variant(request):
    return request.param


@pytest.fixture(scope="module")
def sample(variant):
    task = evorec.make_task("temporal_order", variant=variant)
    return task, task.sample(4000, np.random.default_rng(0))


def test_sequences_follow_the_definition(variant, sample):
    task, batch = sample
    n_classes = 2 ** len(RANGES[variant])
    assert (task.n_in, task.n_out, batch.n_in, batch.n_out) == (8, n_classes, 8, n_classes)
    for b in range(len(batch)):
        s = decode(batch, b)
        assert 100 <= len(s) <= 110
        assert s[0] == "E" and s[-1] == "B"
        where = [i for i, c in enumerate(s) if c in "XY"]
        assert len(where) == len(RANGES[variant])
        assert all(lo <= i <= hi for i, (lo, hi) in zip(where, RANGES[variant], strict=True))
        assert set(s[1:-1]) - set("XY") <= set("abcd")
        # The class is the ordered X/Y pattern, one-hot at the last step only.
        label = pattern_class("".join(s[i] for i in where))
        assert batch.labels[b] == label
        target = np.zeros((batch.n_steps, n_classes))
        target[len(s) - 1, label] = 1.0
        np.testing.assert_array_equal(batch.targets[b], target)
    expected = np.arange(batch.n_steps)[None, :] == (batch.lengths - 1)[:, None]
    np.testing.assert_array_equal(batch.target_mask, expected)
    padding = np.arange(batch.n_steps)[None, :] >= batch.lengths[:, None]
    assert np.all(batch.inputs[padding] == 0)


def test_positions_lengths_and_distractors_are_uniform(variant, sample):
    _, batch = sample
    n = len(batch)
    symbols = batch.inputs.argmax(axis=2)
    xy = np.isin(symbols, (6, 7)) & (batch.inputs.sum(axis=2) > 0)
    rows, cols = np.nonzero(xy)
    cols = cols.reshape(n, -1)
    for k, (lo, hi) in enumerate(RANGES[variant]):
        counts = np.bincount(cols[:, k] - lo, minlength=hi - lo + 1)
        assert counts.size == hi - lo + 1
        assert np.all(np.abs(counts / n - 1 / 11) < 0.02), counts  # sd ~0.0045
    counts = np.bincount(batch.lengths - 100, minlength=11)
    assert counts.size == 11 and np.all(np.abs(counts / n - 1 / 11) < 0.02)
    inner = symbols[:, 1:100][~xy[:, 1:100]]  # a, b, c, d before any sequence can end
    np.testing.assert_allclose(np.bincount(inner, minlength=6)[2:] / inner.size, 0.25, atol=0.01)


def test_classes_balanced_and_shuffled(variant, sample):
    _, batch = sample
    n_classes = 2 ** len(RANGES[variant])
    counts = np.bincount(batch.labels, minlength=n_classes)
    assert np.all(counts == len(batch) // n_classes)
    assert np.any(batch.labels[:-1] > batch.labels[1:])
    # Each X/Y is a fair coin at each position.
    for k in range(len(RANGES[variant])):
        bit = (batch.labels >> (len(RANGES[variant]) - 1 - k)) & 1
        assert bit.mean() == 0.5


def test_odd_counts_keep_classes_nearly_balanced(variant):
    task = evorec.make_task("temporal_order", variant=variant)
    counts = np.bincount(task.sample(23, np.random.default_rng(1)).labels, minlength=task.n_out)
    assert counts.max() - counts.min() <= 1


# ----------------------------------------------------------------------------- scoring
def test_criterion_tolerance_0_3(variant, sample):
    task, batch = sample
    targets, _, _ = batch.scored_targets()
    criterion = task.criterion()
    assert criterion.entry_correct(targets[None], targets).all()
    for err, right in ((0.29, True), (0.3, False), (0.31, False)):
        out = targets.copy()
        out[:, 0] += err  # one output off by err, the others exact
        assert criterion.entry_correct(out[None], targets).all() == right


def test_defaults_and_architecture(variant):
    task = evorec.make_task("temporal_order", variant=variant)
    assert task.tolerance == 0.3
    assert task.default_fitness in evorec.FITNESS.names()
    arch = task.default_architecture()
    assert (arch.n_in, arch.n_out) == (task.n_in, task.n_out)
    assert evorec.make_task("temporal_order").variant == "6a"


def test_same_seed_same_batch_and_global_state_untouched():
    task = evorec.make_task("temporal_order", variant="6b")
    before = np.random.get_state()  # noqa: NPY002
    a, b = (task.sample(20, np.random.default_rng(2)) for _ in range(2))
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and np.array_equal(before[1], after[1])
    for field in ("inputs", "targets", "target_mask", "lengths", "labels"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("params", "param"), [
    ({"variant": "6c"}, "variant"),
    ({"variant": 6}, "variant"),
    *(({"tolerance": tol}, "tolerance") for tol in (0, -0.3, math.nan, None, "0.3")),
])
def test_bad_parameters_are_named(params, param):
    with pytest.raises(ValueError, match=param):
        evorec.make_task("temporal_order", **params)


@pytest.mark.parametrize("n", [0, -3, 1.5])
def test_bad_sample_count(n):
    with pytest.raises(ValueError, match=r"\bn\b"):
        evorec.make_task("temporal_order").sample(n, np.random.default_rng(0))
