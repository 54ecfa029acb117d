"""Noise-free long time lags, tasks 2a, 2b, 2c (docs/literature.md, "LSTM97 tasks", experiment 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec


def symbols(batch, b):
    """The symbols fed to sequence b (unit indices), checking the inputs are one-hot."""
    x = batch.inputs[b, : batch.lengths[b]]
    assert np.all((x == 0) | (x == 1)) and np.all(x.sum(axis=1) == 1)
    return x.argmax(axis=1)


# ---------------------------------------------------------------------------------- 2a
@pytest.mark.parametrize("p", [2, 5, 100])
def test_2a_has_exactly_the_two_sequences_of_the_definition(p):
    task = evorec.make_task("long_lag", variant="2a", p=p)
    assert (task.n_in, task.n_out) == (p + 1, p + 1)
    batch = task.sample(40, np.random.default_rng(0))
    a = list(range(p - 1))  # a1 .. a(p-1)
    x, y = p - 1, p
    expected = {0: [x, *a, x], 1: [y, *a, y]}  # the whole sequence, p + 1 symbols
    assert np.all(batch.lengths == p)
    for b in range(40):
        seq = expected[batch.labels[b]]
        np.testing.assert_array_equal(symbols(batch, b), seq[:-1])
        # Target at step t: the next symbol, one-hot, at every step.
        np.testing.assert_array_equal(batch.targets[b], np.eye(p + 1)[seq[1:]])
    assert batch.target_mask.all()
    assert np.sum(batch.labels == 0) == np.sum(batch.labels == 1) == 20


def test_2a_defaults():
    task = evorec.make_task("long_lag")
    assert (task.variant, task.p, task.score_steps, task.tolerance) == ("2a", 100, "all", 0.25)
    assert task.criterion().tol == 0.25
    assert task.default_fitness in evorec.FITNESS.names()
    arch = task.default_architecture()
    assert (arch.n_in, arch.n_out) == (101, 101)


def test_2a_final_only():
    batch = evorec.make_task("long_lag", variant="2a", p=6, score_steps="final").sample(10, np.random.default_rng(1))
    expected = np.zeros((10, 6), dtype=bool)
    expected[:, -1] = True
    np.testing.assert_array_equal(batch.target_mask, expected)
    targets, _, _ = batch.scored_targets()
    np.testing.assert_array_equal(targets.argmax(axis=1), 5 + batch.labels)  # x = 5, y = 6


# ---------------------------------------------------------------------------------- 2b
def test_2b_middle_is_random_and_ends_match():
    p = 8
    task = evorec.make_task("long_lag", variant="2b", p=p, score_steps="all")
    batch = task.sample(3000, np.random.default_rng(2))
    fed = np.array([symbols(batch, b) for b in range(len(batch))])
    nxt = batch.targets.argmax(axis=2)
    np.testing.assert_array_equal(fed[:, 0], p - 1 + batch.labels)      # first: x or y
    np.testing.assert_array_equal(nxt[:, -1], fed[:, 0])                # last: the same one
    np.testing.assert_array_equal(nxt[:, :-1], fed[:, 1:])             # targets = next symbol
    middle = fed[:, 1:]
    assert middle.max() < p - 1                                         # only a1 .. a(p-1)
    counts = np.bincount(middle.ravel(), minlength=p - 1)
    assert np.all(np.abs(counts / middle.size - 1 / (p - 1)) < 0.01)    # uniform: 1/7 each
    # Independent positions: not the fixed a1 .. a(p-1) of 2a, and hardly a repeat.
    assert len({row.tobytes() for row in middle}) > 2990
    assert abs(np.corrcoef(middle[:, 0], middle[:, 1])[0, 1]) < 0.05


def test_2b_default_scores_the_final_prediction_only():
    task = evorec.make_task("long_lag", variant="2b", p=10)
    assert task.score_steps == "final"
    batch = task.sample(20, np.random.default_rng(3))
    assert np.all(batch.target_mask.sum(axis=1) == 1) and batch.target_mask[:, -1].all()
    targets, _, _ = batch.scored_targets()
    np.testing.assert_array_equal(targets, np.eye(11)[9 + batch.labels])
    assert np.all(batch.targets[:, :-1] == 0)


def test_2b_distractor_probs():
    probs = [0.5, 0.3, 0.2, 0.0]
    task = evorec.make_task("long_lag", variant="2b", p=5, distractor_probs=probs)
    batch = task.sample(2000, np.random.default_rng(4))
    middle = batch.inputs[:, 1:].argmax(axis=2)
    np.testing.assert_allclose(np.bincount(middle.ravel(), minlength=4) / middle.size, probs, atol=0.01)


# ---------------------------------------------------------------------------------- 2c
@pytest.mark.parametrize(("p", "q"), [(5, 3), (20, 0), (100, 100)])
def test_2c_structure(p, q):
    task = evorec.make_task("long_lag", variant="2c", p=p, q=q)
    assert (task.n_in, task.n_out) == (p + 4, 2)
    e, b_, x = p, p + 1, p + 2
    batch = task.sample(300, np.random.default_rng(5))
    for b in range(len(batch)):
        seq = symbols(batch, b)
        assert seq[0] == b_
        assert seq[1] == x + batch.labels[b]                 # x or y, the class
        assert seq[-1] == e                                  # the trigger, last fed symbol
        assert np.all(seq[2:-1] < p)                         # distractors a1 .. ap only
        assert len(seq) >= q + 3                              # b, x|y, q distractors, e
    # The only target: at the trigger step, the answer's coding (x: (1, 0), y: (0, 1)).
    expected = np.arange(batch.n_steps)[None, :] == (batch.lengths - 1)[:, None]
    np.testing.assert_array_equal(batch.target_mask, expected)
    targets, _, _ = batch.scored_targets()
    np.testing.assert_array_equal(targets, np.where(batch.labels[:, None] == 0, [1.0, 0.0], [0.0, 1.0]))
    padding = np.arange(batch.n_steps)[None, :] >= batch.lengths[:, None]
    assert np.all(batch.inputs[padding] == 0)


@pytest.mark.parametrize("trigger_prob", [0.1, 0.25])
def test_2c_trigger_comes_with_its_probability(trigger_prob):
    q = 4
    params = {} if trigger_prob == 0.1 else {"trigger_prob": trigger_prob}  # 0.1 is the default
    batch = evorec.make_task("long_lag", variant="2c", p=6, q=q, **params).sample(6000, np.random.default_rng(6))
    after = batch.lengths - 2 - q  # elements after the q distractors, the trigger included
    # Each further element is the trigger with probability trigger_prob: geometric.
    assert after.min() == 1
    assert abs(after.mean() - 1 / trigger_prob) < 0.05 / trigger_prob
    assert abs(np.mean(after == 1) - trigger_prob) < 0.015
    assert abs(np.mean(after == 2) - (1 - trigger_prob) * trigger_prob) < 0.015


def test_2c_distractors_uniform_and_defaults():
    task = evorec.make_task("long_lag", variant="2c")
    assert (task.p, task.q, task.trigger_prob, task.tolerance) == (100, 100, 0.1, 0.2)
    assert task.end_targets == ((1.0, 0.0), (0.0, 1.0))
    batch = evorec.make_task("long_lag", variant="2c", p=5, q=20).sample(1000, np.random.default_rng(7))
    d = np.concatenate([symbols(batch, b)[2:-1] for b in range(len(batch))])
    np.testing.assert_allclose(np.bincount(d, minlength=5) / d.size, 0.2, atol=0.01)


def test_2c_end_targets_parameter():
    batch = evorec.make_task("long_lag", variant="2c", p=3, q=2, end_targets=[[0.8, 0.2], [0.2, 0.8]]) \
        .sample(30, np.random.default_rng(8))
    targets, _, _ = batch.scored_targets()
    np.testing.assert_array_equal(targets, np.where(batch.labels[:, None] == 0, [0.8, 0.2], [0.2, 0.8]))


def test_classes_balanced_and_shuffled():
    for variant in ("2a", "2b", "2c"):
        labels = evorec.make_task("long_lag", variant=variant, p=4).sample(100, np.random.default_rng(9)).labels
        assert np.sum(labels == 0) == 50 and np.any(labels[:-1] != labels[1:])


# ----------------------------------------------------------------------------- criteria
@pytest.mark.parametrize(("variant", "tol"), [("2a", 0.25), ("2b", 0.25), ("2c", 0.2)])
def test_targets_as_outputs_are_right_and_errors_at_the_tolerance_are_wrong(variant, tol):
    task = evorec.make_task("long_lag", variant=variant, p=6, **({"q": 5} if variant == "2c" else {}))
    batch = task.sample(20, np.random.default_rng(10))
    targets, _, _ = batch.scored_targets()
    criterion = task.criterion()
    assert criterion.entry_correct(targets[None], targets).all()
    for err, right in ((0.99 * tol, True), (tol, False), (1.01 * tol, False)):
        out = targets.copy()
        out[0, -1] += err  # one output of one entry
        ok = criterion.entry_correct(out[None], targets)[0]
        assert ok[0] == right and ok[1:].all()


def test_tolerance_parameter():
    assert evorec.make_task("long_lag", variant="2c", tolerance=0.3).criterion().tol == 0.3


def test_same_seed_same_batch():
    task = evorec.make_task("long_lag", variant="2c", p=5, q=5)
    a, b = (task.sample(30, np.random.default_rng(11)) for _ in range(2))
    for field in ("inputs", "targets", "target_mask", "lengths", "labels"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("params", "name"), [
    ({"variant": "2d"}, "variant"),
    ({"variant": None}, "variant"),
    ({"p": 1}, r"\bp\b"),
    ({"p": 2.5}, r"\bp\b"),
    ({"variant": "2c", "p": 0}, r"\bp\b"),
    ({"q": 5}, r"\bq\b"),
    ({"variant": "2c", "q": -1}, r"\bq\b"),
    ({"variant": "2c", "q": True}, r"\bq\b"),
    ({"variant": "2b", "trigger_prob": 0.1}, "trigger_prob"),
    ({"variant": "2c", "trigger_prob": 0}, "trigger_prob"),
    ({"variant": "2c", "trigger_prob": 1.5}, "trigger_prob"),
    ({"variant": "2c", "trigger_prob": math.nan}, "trigger_prob"),
    ({"variant": "2a", "distractor_probs": [1.0]}, "distractor_probs"),
    ({"variant": "2b", "p": 3, "distractor_probs": [0.5, 0.3]}, "distractor_probs"),
    ({"variant": "2b", "p": 3, "distractor_probs": [0.5, 0.5, 0.0]}, "distractor_probs"),
    ({"variant": "2b", "p": 3, "distractor_probs": [1.5, -0.5]}, "distractor_probs"),
    ({"variant": "2c", "p": 2, "distractor_probs": "ab"}, "distractor_probs"),
    ({"variant": "2b", "score_steps": "middle"}, "score_steps"),
    ({"variant": "2c", "score_steps": "all"}, "score_steps"),
    ({"variant": "2a", "end_targets": ((1, 0), (0, 1))}, "end_targets"),
    ({"variant": "2c", "end_targets": (1, 0)}, "end_targets"),
    ({"variant": "2c", "end_targets": ((1, 0), (0, "1"))}, "end_targets"),
    ({"tolerance": 0}, "tolerance"),
    ({"tolerance": "0.25"}, "tolerance"),
])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ValueError, match=name):
        evorec.make_task("long_lag", **params)


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match="trigger"):
        evorec.make_task("long_lag", trigger=0.1)
