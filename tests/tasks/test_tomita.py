"""The Tomita grammars task (docs/literature.md, "Tomita grammars"), against predicates written here.

The predicates below are independent of the task's automata: regular expressions, counts and
runs of symbols, checked on every binary string up to length 10.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

import numpy as np
import pytest

import evorec
from evorec import Architecture, Population


def runs(string):
    """Maximal runs as (symbol, length) pairs, in order."""
    return [(symbol, len(list(group))) for symbol, group in itertools.groupby(string)]


def tomita3(string):
    """Rejected iff some odd-length run of 1's comes before (anywhere) some odd-length run of 0's."""
    seen_odd_ones = False
    for symbol, length in runs(string):
        if symbol == "1" and length % 2:
            seen_odd_ones = True
        if symbol == "0" and length % 2 and seen_odd_ones:
            return False
    return True


PREDICATES = {
    1: lambda s: re.fullmatch("1*", s) is not None,
    2: lambda s: re.fullmatch("(10)*", s) is not None,
    3: tomita3,
    4: lambda s: "000" not in s,
    5: lambda s: s.count("0") % 2 == 0 and s.count("1") % 2 == 0,
    6: lambda s: (s.count("1") - s.count("0")) % 3 == 0,
    7: lambda s: re.fullmatch("0*1*0*1*", s) is not None,
}
GRAMMARS = list(PREDICATES)


def all_strings(lo, hi):
    return ["".join(bits) for n in range(lo, hi + 1) for bits in itertools.product("01", repeat=n)]


def strings_of(batch):
    """Decode each sequence of a batch (either coding) into a str of '0' and '1'."""
    out = []
    for b, length in enumerate(batch.lengths):
        x = batch.inputs[b, :length]
        ones = x[:, 0] > 0 if x.shape[1] == 1 else x[:, 1] > 0.5
        out.append("".join("1" if one else "0" for one in ones))
    return out


def check_batch(batch, grammar):
    """Labels, targets and mask agree with the independent predicate."""
    strings = strings_of(batch)
    expected = np.array([int(PREDICATES[grammar](s)) for s in strings])
    np.testing.assert_array_equal(batch.labels, expected)
    targets, sequence, step = batch.scored_targets()
    np.testing.assert_array_equal(sequence, np.arange(len(batch)))
    np.testing.assert_array_equal(step, batch.lengths - 1)
    np.testing.assert_array_equal(targets[:, 0], expected.astype(float))
    return strings


# ------------------------------------------------------------------- the languages
def test_grammar_3_examples():
    task = evorec.make_task("tomita", grammar=3)
    for string in ("10", "1000", "100110", "0010", "1101000", "111010"):
        assert not task.accepts(string), string
    for string in ("", "1", "0", "100", "0110", "1001100", "11", "110", "01", "1001", "0001"):
        assert task.accepts(string), string


def test_predicates_are_not_trivial():
    # Every predicate accepts and rejects strings up to length 10, and they all differ.
    strings = all_strings(1, 10)
    table = {g: tuple(p(s) for s in strings) for g, p in PREDICATES.items()}
    assert all(0 < sum(col) < len(strings) for col in table.values())
    assert len(set(table.values())) == 7


@pytest.mark.parametrize("grammar", GRAMMARS)
def test_accepts_matches_predicate_on_every_string_up_to_10(grammar):
    task = evorec.make_task("tomita", grammar=grammar)
    for string in all_strings(0, 10):
        assert task.accepts(string) == PREDICATES[grammar](string), string


@pytest.mark.parametrize("grammar", GRAMMARS)
def test_all_sampling_gives_every_string_once_with_the_right_labels(grammar):
    task = evorec.make_task("tomita", grammar=grammar, sampling="all", balanced=False, max_length=10)
    assert task.n_strings == 2046
    batch = task.sample(task.n_strings, np.random.default_rng(grammar))
    strings = check_batch(batch, grammar)
    assert sorted(strings) == sorted(all_strings(1, 10))
    assert batch.labels.sum() == task.n_accepted == sum(PREDICATES[grammar](s) for s in all_strings(1, 10))
    assert not np.all(np.diff(batch.lengths) >= 0)  # in random order, not the enumeration order


@pytest.mark.parametrize("grammar", GRAMMARS)
def test_counts_with_min_length(grammar):
    task = evorec.make_task("tomita", grammar=grammar, min_length=4, max_length=9)
    strings = all_strings(4, 9)
    assert task.n_strings == len(strings)
    assert task.n_accepted == sum(PREDICATES[grammar](s) for s in strings)


# --------------------------------------------------------------------- sampling
@pytest.mark.parametrize("balanced", [True, False])
@pytest.mark.parametrize("grammar", GRAMMARS)
def test_random_strings_labels_and_lengths(grammar, balanced):
    task = evorec.make_task("tomita", grammar=grammar, min_length=3, max_length=12, balanced=balanced)
    batch = task.sample(400, np.random.default_rng(10 + grammar))
    check_batch(batch, grammar)
    assert batch.lengths.min() >= 3 and batch.lengths.max() <= 12
    assert batch.n_steps == batch.lengths.max()
    if balanced:
        assert np.sum(batch.labels == 1) == np.sum(batch.labels == 0) == 200


def test_unbalanced_random_lengths_uniform_and_symbols_fair():
    task = evorec.make_task("tomita", grammar=4, min_length=2, max_length=6, balanced=False)
    batch = task.sample(5000, np.random.default_rng(0))
    counts = np.bincount(batch.lengths, minlength=7)[2:]
    assert np.all(np.abs(counts - 1000) < 130), counts  # sd ~28
    ones = np.concatenate([np.array([c == "1" for c in s]) for s in strings_of(batch)])
    assert abs(ones.mean() - 0.5) < 0.02
    # Unbalanced: the classes come as fair strings give them (lengths equally likely).
    share = np.mean([np.mean([PREDICATES[4](s) for s in all_strings(n, n)]) for n in range(2, 7)])
    assert abs(batch.labels.mean() - share) < 0.03  # sd ~0.006


def test_balanced_random_is_uniform_within_class_and_length():
    # Grammar 6, length 4: the 6 strings with two 1's are accepted, the other 10 rejected.
    task = evorec.make_task("tomita", grammar=6, min_length=4, max_length=4)
    strings = strings_of(task.sample(6000, np.random.default_rng(1)))
    accepted = Counter(s for s in strings if PREDICATES[6](s))
    rejected = Counter(s for s in strings if not PREDICATES[6](s))
    assert set(accepted) == {s for s in all_strings(4, 4) if PREDICATES[6](s)} and len(accepted) == 6
    assert len(rejected) == 10
    assert all(abs(c - 500) < 100 for c in accepted.values()), accepted  # sd ~21
    assert all(abs(c - 300) < 80 for c in rejected.values()), rejected   # sd ~17


def test_balanced_random_lengths_uniform_over_the_feasible_lengths_of_each_class():
    # Grammar 2 accepts only even lengths: accepted strings are 10, 1010, 101010 (lengths 2, 4, 6).
    task = evorec.make_task("tomita", grammar=2, min_length=1, max_length=6)
    batch = task.sample(6000, np.random.default_rng(2))
    strings = strings_of(batch)
    accepted = Counter(s for s, label in zip(strings, batch.labels, strict=True) if label)
    assert set(accepted) == {"10", "1010", "101010"}
    assert all(abs(c - 1000) < 120 for c in accepted.values()), accepted
    rejected_lengths = np.bincount(batch.lengths[batch.labels == 0], minlength=7)[1:]
    assert np.all(np.abs(rejected_lengths - 500) < 100), rejected_lengths


@pytest.mark.parametrize("grammar", GRAMMARS)
def test_balanced_all_sampling_distinct_and_balanced(grammar):
    task = evorec.make_task("tomita", grammar=grammar, sampling="all", max_length=9)
    n = 2 * min(task.n_accepted, task.n_strings - task.n_accepted)
    for size in (n, n - 1, 7):
        batch = task.sample(size, np.random.default_rng(size))
        strings = check_batch(batch, grammar)
        assert len(set(strings)) == size
        counts = np.bincount(batch.labels, minlength=2)
        assert abs(int(counts[0]) - int(counts[1])) == size % 2
    # At the largest n, the smaller class is used up: every one of its strings is there.
    batch = task.sample(n, np.random.default_rng(3))
    smaller = 1 if task.n_accepted <= task.n_strings - task.n_accepted else 0
    drawn = {s for s, label in zip(strings_of(batch), batch.labels, strict=True) if label == smaller}
    assert drawn == {s for s in all_strings(1, 9) if PREDICATES[grammar](s) == bool(smaller)}


def test_all_sampling_subsets_are_uniform_over_strings():
    # 3 distinct strings of the 14 of length 1..3, many times: each string is in a subset with
    # probability 3/14, whatever its length.
    task = evorec.make_task("tomita", grammar=5, sampling="all", balanced=False, max_length=3)
    rng = np.random.default_rng(4)
    counts = Counter()
    for _ in range(1400):
        strings = strings_of(task.sample(3, rng))
        assert len(set(strings)) == 3
        counts.update(strings)
    assert set(counts) == set(all_strings(1, 3))
    assert all(abs(c - 300) < 70 for c in counts.values()), counts  # sd ~15


@pytest.mark.parametrize("balanced", [True, False])
def test_all_sampling_respects_min_length_and_large_max_length(balanced):
    task = evorec.make_task("tomita", grammar=7, sampling="all", min_length=50, max_length=60, balanced=balanced)
    batch = task.sample(400, np.random.default_rng(5))
    strings = check_batch(batch, 7)
    assert len(set(strings)) == 400
    assert batch.lengths.min() >= 50 and batch.lengths.max() <= 60
    # Uniform over strings: about half of all strings (and of the rejected ones) have length 60.
    rejected = batch.lengths[batch.labels == 0]
    assert 0.38 < np.mean(rejected == 60) < 0.62, np.mean(rejected == 60)


def test_long_random_strings():
    task = evorec.make_task("tomita", grammar=1, min_length=900, max_length=1000)
    batch = task.sample(20, np.random.default_rng(6))
    strings = check_batch(batch, 1)
    assert {s for s, label in zip(strings, batch.labels, strict=True) if label} <= {"1" * n for n in range(900, 1001)}
    assert batch.labels.sum() == 10


def test_one_hot_coding_same_strings_as_signed():
    signed = evorec.make_task("tomita", grammar=3, coding="signed")
    one_hot = evorec.make_task("tomita", grammar=3, coding="one_hot")
    assert (signed.n_in, one_hot.n_in) == (1, 2)
    a = signed.sample(50, np.random.default_rng(7))
    b = one_hot.sample(50, np.random.default_rng(7))
    assert b.inputs.shape == (50, a.n_steps, 2)
    assert strings_of(a) == strings_of(b)
    running = np.arange(b.n_steps)[None, :] < b.lengths[:, None]
    np.testing.assert_array_equal(b.inputs[running].sum(axis=1), 1.0)
    assert set(np.unique(b.inputs[running])) == {0.0, 1.0}
    assert set(np.unique(a.inputs[running])) == {-1.0, 1.0}
    np.testing.assert_array_equal(a.labels, b.labels)
    assert one_hot.default_architecture().n_in == 2


@pytest.mark.parametrize("coding", ["signed", "one_hot"])
def test_padding_is_zero(coding):
    batch = evorec.make_task("tomita", grammar=4, coding=coding).sample(60, np.random.default_rng(8))
    beyond = np.arange(batch.n_steps)[None, :] >= batch.lengths[:, None]
    assert beyond.any()
    assert np.all(batch.inputs[beyond] == 0.0) and np.all(batch.targets[beyond] == 0.0)


@pytest.mark.parametrize("sampling", ["random", "all"])
def test_deterministic_and_leaves_global_state_alone(sampling):
    task = evorec.make_task("tomita", grammar=5, sampling=sampling)
    before = np.random.get_state()  # noqa: NPY002
    a, b = task.sample(30, np.random.default_rng(9)), task.sample(30, np.random.default_rng(9))
    after = np.random.get_state()  # noqa: NPY002
    for field in ("inputs", "targets", "target_mask", "lengths", "labels"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = task.sample(30, np.random.default_rng(10))
    assert strings_of(a) != strings_of(c)
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


# ------------------------------------------------------------------ contract bits
def test_defaults_and_class_attributes():
    task = evorec.make_task("tomita")
    cls = type(task)
    assert (cls.name, cls.n_in, cls.n_out, cls.default_fitness) == ("tomita", 1, 1, "mse")
    assert (task.grammar, task.max_length, task.min_length, task.sampling, task.balanced, task.coding,
            task.tolerance) == (1, 10, 1, "random", True, "signed", 0.5)
    arch = task.default_architecture()
    assert (arch.n_in, arch.n_hidden, arch.n_out, arch.hidden, arch.output) == (1, 3, 1, "sigmoid", "sigmoid")
    assert "grammar=1" in repr(task) and "n_in" not in repr(task)


def test_criterion_thresholds_at_tolerance():
    criterion = evorec.make_task("tomita").criterion()
    targets = np.array([[0.0], [0.0], [1.0], [1.0], [0.0]])
    outputs = np.array([[[0.49], [0.5], [0.51], [0.5], [math.nan]]])
    np.testing.assert_array_equal(criterion.entry_correct(outputs, targets), [[True, False, True, False, False]])
    strict = evorec.make_task("tomita", tolerance=0.1).criterion()
    np.testing.assert_array_equal(strict.entry_correct(np.array([[[0.09], [0.11]]]), np.zeros((2, 1))),
                                  [[True, False]])


def test_make_problem_with_tomita():
    problem = evorec.make_problem("tomita", task_params={"grammar": 4}, train_size=40, test_size=30, seed=1)
    assert (len(problem.train), len(problem.test)) == (40, 30)
    assert problem.worst_loss == pytest.approx(1.0)


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("params", "name"), [
    ({"grammar": 0}, "grammar"), ({"grammar": 8}, "grammar"), ({"grammar": 1.0}, "grammar"),
    ({"grammar": True}, "grammar"), ({"grammar": "1"}, "grammar"),
    ({"max_length": 0}, "max_length"), ({"max_length": 2.5}, "max_length"), ({"max_length": 1001}, "max_length"),
    ({"max_length": 3, "min_length": 4}, "max_length"), ({"max_length": 61, "sampling": "all"}, "max_length"),
    ({"min_length": 0}, "min_length"), ({"min_length": None}, "min_length"),
    ({"sampling": "sampled"}, "sampling"), ({"sampling": None}, "sampling"),
    ({"balanced": "yes"}, "balanced"), ({"balanced": 1}, "balanced"),
    ({"coding": "binary"}, "coding"), ({"tolerance": 0}, "tolerance"), ({"tolerance": -0.5}, "tolerance"),
    ({"tolerance": math.nan}, "tolerance"), ({"tolerance": "0.5"}, "tolerance"),
    ({"lengths": (1, 5)}, "lengths"),
])
def test_bad_parameters_are_named(params, name):
    with pytest.raises(ValueError, match=name):
        evorec.make_task("tomita", **params)


@pytest.mark.parametrize(("grammar", "lo", "hi"), [(2, 3, 3), (5, 1, 1), (6, 1, 1), (4, 1, 2), (7, 1, 3), (3, 1, 1)])
def test_balanced_needs_both_classes(grammar, lo, hi):
    assert len({PREDICATES[grammar](s) for s in all_strings(lo, hi)}) == 1  # the premise
    with pytest.raises(ValueError, match="balanced"):
        evorec.make_task("tomita", grammar=grammar, min_length=lo, max_length=hi)
    task = evorec.make_task("tomita", grammar=grammar, min_length=lo, max_length=hi, balanced=False)
    check_batch(task.sample(10, np.random.default_rng(0)), grammar)


def test_all_sampling_refuses_more_strings_than_exist():
    task = evorec.make_task("tomita", grammar=1, sampling="all", max_length=10)  # 10 accepted strings
    task.sample(20, np.random.default_rng(0))
    for n in (21, 22, 1000):
        with pytest.raises(ValueError, match=r"\bn\b.*20"):
            task.sample(n, np.random.default_rng(0))
    unbalanced = evorec.make_task("tomita", grammar=1, sampling="all", balanced=False, max_length=3)
    unbalanced.sample(14, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\bn\b.*14"):
        unbalanced.sample(15, np.random.default_rng(0))


@pytest.mark.parametrize("n", [0, -1, 2.5, True, None, "3"])
def test_bad_sample_count(n):
    with pytest.raises(ValueError, match=r"\bn\b"):
        evorec.make_task("tomita").sample(n, np.random.default_rng(0))


@pytest.mark.parametrize("string", ["012", "1 0", 101, None])
def test_accepts_refuses_non_binary_strings(string):
    with pytest.raises(ValueError, match="string"):
        evorec.make_task("tomita").accepts(string)


# ---------------------------------------------------- hand-built networks that solve it
K = 20.0  # every net input below is +-K/2 or further from 0: sigmoid within 5e-5 of 0 or 1


def grammar_1_net(arch):
    """Hidden unit 0 latches "a 0 was seen"; the output is its negation.

    h_t = sigmoid(K (-x_t + 2 h_{t-1} - 1/2)): x = -1 (a 0) sets it, x = +1 keeps it.
    y_t = sigmoid(K (1/2 - h_t)).
    """
    src = arch.source_slices()
    bias, x, h = src["bias"].start, src["input"].start, src["hidden"].start
    W_h = np.zeros((1, arch.n_hidden, arch.n_units))
    W_h[0, 0, [bias, x, h]] = [-K / 2, -K, 2 * K]
    W_y = np.zeros((1, 1, arch.n_units))
    W_y[0, 0, [bias, h]] = [K / 2, -K]
    return Population.from_weights(arch, W_h, W_y)


def grammar_2_net():
    """Four hidden units for (10)*: phase p, mismatches m1, m2 and a dead latch d.

    p_t  = NOT p_{t-1}                    (1 after an odd number of symbols)
    m1_t = x_t = 1 AND p_{t-1} = 1        (a 1 where a 0 was due)
    m2_t = x_t = 0 AND p_{t-1} = 0        (a 0 where a 1 was due)
    d_t  = d_{t-1} OR m1_{t-1} OR m2_{t-1}
    y_t  = NOT (p_t OR m1_t OR m2_t OR d_t)
    """
    arch = Architecture.fully_recurrent(1, 4, 1, hidden="sigmoid", output="sigmoid")
    src = arch.source_slices()
    bias, x = src["bias"].start, src["input"].start
    p, m1, m2, d = range(src["hidden"].start, src["hidden"].start + 4)
    W_h = np.zeros((1, 4, arch.n_units))
    W_h[0, 0, [bias, p]] = [K / 2, -K]
    W_h[0, 1, [bias, x, p]] = [-K, K / 2, K]
    W_h[0, 2, [x, p]] = [-K / 2, -K]
    W_h[0, 3, [bias, d, m1, m2]] = [-K / 2, K, K, K]
    W_y = np.zeros((1, 1, arch.n_units))
    W_y[0, 0, [bias, p, m1, m2, d]] = [K / 2, -K, -K, -K, -K]
    return arch, Population.from_weights(arch, W_h, W_y)


def evaluate(pop, task, batch):
    return evorec.evaluate(pop, batch, evorec.make_fitness("mse"), task.criterion())


def test_hand_built_latch_recognises_grammar_1():
    task = evorec.make_task("tomita", grammar=1, max_length=30)
    pop = grammar_1_net(task.default_architecture())
    for batch in (task.sample(200, np.random.default_rng(11)),
                  evorec.make_task("tomita", grammar=1, sampling="all", balanced=False).sample(
                      2046, np.random.default_rng(12))):
        result = evaluate(pop, task, batch)
        assert result.wrong[0] == 0
        assert result.loss[0] < 1e-6
    # The same net on grammar 7's strings: it rejects 0011, which grammar 7 accepts.
    other = evorec.make_task("tomita", grammar=7)
    assert evaluate(pop, other, other.sample(200, np.random.default_rng(13))).wrong[0] > 0


def test_hand_built_net_recognises_grammar_2():
    arch, pop = grammar_2_net()
    task = evorec.make_task("tomita", grammar=2, max_length=40)
    for batch in (task.sample(300, np.random.default_rng(14)),
                  evorec.make_task("tomita", grammar=2, sampling="all", balanced=False).sample(
                      2046, np.random.default_rng(15))):
        result = evaluate(pop, task, batch)
        assert result.wrong[0] == 0
        assert result.loss[0] < 1e-6
    # The grammar-1 latch does not recognise grammar 2 (it accepts 1, rejects 10).
    latch = grammar_1_net(arch)
    assert evaluate(latch, task, task.sample(100, np.random.default_rng(16))).wrong[0] > 0
