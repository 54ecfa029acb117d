"""Fitness functions and criteria of tasks/fitness.py, on hand-made and small random arrays.

Shapes (evorec/scoring.py): outputs (P, N, O), targets (N, O), sequence (N,) non-decreasing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec
from evorec import Architecture, Population
from evorec.tasks.fitness import (
    AllWithin,
    ArgmaxCorrect,
    ArgmaxWrong,
    CrossEntropy,
    FoodMissed,
    NextSymbolCorrect,
    NextSymbolWrong,
    SumSquaredError,
)

TARGETS = np.array([[0.0, 1.0],   # sequence 0, first scored entry
                    [1.0, 0.0],   # sequence 0, second scored entry
                    [0.5, 0.5]])  # sequence 1
SEQUENCE = np.array([0, 0, 1])
# Errors (output - target) per network; every value is exact in binary floating point.
ERRORS = np.array([
    [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]],       # perfect
    [[0.0625, 0.0], [0.0, 0.375], [-0.25, 0.0]],  # seq 0 wrong (2nd entry), seq 1 wrong
    [[0.0625, 0.0], [0.0, -0.0625], [0.0, 0.5]],  # seq 0 right, seq 1 wrong
    [[0.0, -0.125], [0.0, 0.0], [0.0, 0.0]],      # seq 0 wrong (1st entry only), seq 1 right
])
OUTPUTS = TARGETS + ERRORS


def direct_fraction_wrong(outputs, targets, sequence, n_sequences, tol):
    """Plain loops: a sequence is wrong if any output of any of its entries is tol or more off."""
    result = []
    for net in outputs:
        wrong = set()
        for entry, seq in enumerate(sequence):
            for out, tgt in zip(net[entry], targets[entry], strict=True):
                if not abs(out - tgt) < tol:
                    wrong.add(int(seq))
        result.append(len(wrong) / n_sequences)
    return np.array(result)


def test_registered_names():
    assert evorec.make_fitness("mse").name == "mse"
    assert evorec.make_fitness("max_abs_error").name == "max_abs_error"
    assert evorec.make_fitness("fraction_wrong").name == "fraction_wrong"


def test_mse():
    loss = evorec.make_fitness("mse")(OUTPUTS, TARGETS, SEQUENCE, 2)
    expected = [np.mean([e**2 for e in net.ravel()]) for net in ERRORS]
    np.testing.assert_allclose(loss, expected, rtol=1e-12, atol=0)
    assert loss.shape == (4,)
    assert loss[0] == 0.0
    assert loss[1] == pytest.approx((0.0625**2 + 0.375**2 + 0.25**2) / 6)


def test_mse_averages_over_entries_not_sequences():
    # Sequence 0 has 3 scored entries, sequence 1 only one: each entry weighs the same.
    targets = np.zeros((4, 1))
    outputs = np.array([[[0.0], [0.0], [0.0], [2.0]]])
    loss = evorec.make_fitness("mse")(outputs, targets, np.array([0, 0, 0, 1]), 2)
    assert loss[0] == pytest.approx(4.0 / 4)


def test_max_abs_error():
    loss = evorec.make_fitness("max_abs_error")(OUTPUTS, TARGETS, SEQUENCE, 2)
    np.testing.assert_array_equal(loss, [0.0, 0.375, 0.5, 0.125])


def test_fraction_wrong_default_tol():
    fitness = evorec.make_fitness("fraction_wrong")
    loss = fitness(OUTPUTS, TARGETS, SEQUENCE, 2)
    np.testing.assert_array_equal(loss, [0.0, 1.0, 0.5, 0.5])
    np.testing.assert_array_equal(loss, direct_fraction_wrong(OUTPUTS, TARGETS, SEQUENCE, 2, 0.1))
    assert fitness.worst == 1.0


@pytest.mark.parametrize("tol", [0.0625, 0.125, 0.3, 0.4, 1.0])
def test_fraction_wrong_tol_parameter(tol):
    loss = evorec.make_fitness("fraction_wrong", tol=tol)(OUTPUTS, TARGETS, SEQUENCE, 2)
    np.testing.assert_allclose(loss, direct_fraction_wrong(OUTPUTS, TARGETS, SEQUENCE, 2, tol), rtol=0, atol=1e-12)


def test_fraction_wrong_error_equal_to_tol_is_wrong():
    # "tol or more away" is wrong; 0.25 is exact, so this is not a rounding question.
    fitness = evorec.make_fitness("fraction_wrong", tol=0.25)
    outputs = np.array([[[0.25]], [[0.2]], [[-0.25]]])
    loss = fitness(outputs, np.zeros((1, 1)), np.array([0]), 1)
    np.testing.assert_array_equal(loss, [1.0, 0.0, 1.0])


def test_fraction_wrong_uneven_sequences():
    # Five sequences with 1, 3, 1, 2 and 1 scored entries; one wrong entry makes its sequence wrong.
    sequence = np.array([0, 1, 1, 1, 2, 3, 3, 4])
    targets = np.zeros((8, 1))
    outputs = np.zeros((3, 8, 1))
    outputs[1, 2] = 0.5               # middle entry of sequence 1
    outputs[2, [3, 5, 7]] = -0.5      # last of seq 1, first of seq 3, seq 4
    loss = evorec.make_fitness("fraction_wrong")(outputs, targets, sequence, 5)
    np.testing.assert_allclose(loss, [0.0, 1 / 5, 3 / 5], rtol=0, atol=1e-12)
    np.testing.assert_allclose(loss, direct_fraction_wrong(outputs, targets, sequence, 5, 0.1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_outputs_are_wrong(bad):
    criterion = evorec.make_task("latch").criterion()
    targets = np.zeros((3, 2))
    outputs = np.zeros((1, 3, 2))
    outputs[0, 1, 0] = bad
    np.testing.assert_array_equal(criterion.entry_correct(outputs, targets), [[True, False, True]])
    loss = evorec.make_fitness("fraction_wrong")(outputs, targets, np.array([0, 1, 1]), 2)
    np.testing.assert_array_equal(loss, [0.5])


def test_within_tolerance_needs_every_output_within():
    criterion = evorec.make_task("parity", tolerance=0.2).criterion()
    targets = np.array([[0.0, 1.0], [0.0, 1.0]])
    outputs = np.array([[[0.1, 0.9], [0.1, 0.7]],
                        [[0.3, 1.0], [-0.19, 1.19]]])
    np.testing.assert_array_equal(criterion.entry_correct(outputs, targets), [[True, False], [False, True]])


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("tol", [0, -0.1, math.nan, "0.1", None, True])
def test_bad_tol(tol):
    with pytest.raises(ValueError, match="tol"):
        evorec.make_fitness("fraction_wrong", tol=tol)


def test_unknown_fitness_name_lists_known_names():
    with pytest.raises(ValueError, match="nope") as info:
        evorec.make_fitness("nope")
    for name in ("mse", "max_abs_error", "fraction_wrong"):
        assert name in str(info.value)


@pytest.mark.parametrize(("name", "param"), [("mse", "tol"), ("fraction_wrong", "tolerance")])
def test_unknown_fitness_parameter_is_named(name, param):
    with pytest.raises(ValueError, match=param):
        evorec.make_fitness(name, **{param: 0.1})


# =============================================================================
# The other registered fitness functions and criteria: sse, all_within, argmax_wrong,
# next_symbol_wrong, cross_entropy, food_missed (and the criteria ArgmaxCorrect,
# NextSymbolCorrect), against direct computations with plain loops.
# =============================================================================
NEW_NAMES = {"sse": SumSquaredError, "all_within": AllWithin, "argmax_wrong": ArgmaxWrong,
             "next_symbol_wrong": NextSymbolWrong, "cross_entropy": CrossEntropy, "food_missed": FoodMissed}
# Five sequences with 2, 1, 3, 1 and 2 scored entries.
SEQ = np.array([0, 0, 1, 2, 2, 2, 3, 4, 4])
N_SEQ = 5


def random_case(seed, P=6, n_out=3, low=0.0, high=1.0):
    rng = np.random.default_rng(seed)
    outputs = rng.uniform(low, high, size=(P, SEQ.size, n_out))
    targets = rng.uniform(low, high, size=(SEQ.size, n_out))
    return outputs, targets


def one_hot(classes, n):
    return np.eye(n)[classes]


def per_sequence_fraction_wrong(entry_right):
    """entry_right[p][e] (nested lists) -> fraction of sequences with a wrong entry, by loops."""
    result = []
    for row in entry_right:
        wrong = {int(SEQ[e]) for e, ok in enumerate(row) if not ok}
        result.append(len(wrong) / N_SEQ)
    return np.array(result)


def ref_argmax_right(out, tgt):
    """First index of the largest output (all finite) equals the target's first largest."""
    if not all(math.isfinite(v) for v in out):
        return False
    best = max(range(len(out)), key=lambda i: (out[i], -i))
    return best == max(range(len(tgt)), key=lambda i: (tgt[i], -i))


def ref_next_symbol_right(out, tgt):
    if not all(math.isfinite(v) for v in out):
        return False
    possible = [o for o, t in zip(out, tgt, strict=True) if t > 0.5]
    others = [o for o, t in zip(out, tgt, strict=True) if not t > 0.5]
    return all(p > q for p in possible for q in others)


def ref_cross_entropy(outputs, targets, eps):
    result = []
    for net in outputs:
        total, count = 0.0, 0
        for out_row, tgt_row in zip(net, targets, strict=True):
            for o, t in zip(out_row, tgt_row, strict=True):
                o = min(max(o, eps), 1 - eps)
                total += -(t * math.log(o) + (1 - t) * math.log(1 - o))
                count += 1
        result.append(total / count)
    return np.array(result)


# ------------------------------------------------------------------------ names
def test_new_names_resolve_to_their_classes():
    for name, cls in NEW_NAMES.items():
        fitness = evorec.make_fitness(name)
        assert type(fitness) is cls
        assert fitness.name == name
    assert evorec.make_fitness("all_within", tol=0.1).criterion.tol == 0.1
    assert evorec.make_fitness("all_within").criterion.tol == 0.25
    assert evorec.make_fitness("cross_entropy", eps=1e-3).eps == 1e-3
    assert evorec.make_fitness("cross_entropy").eps == 1e-7
    assert "tol=0.1" in repr(evorec.make_fitness("all_within", tol=0.1))
    assert "eps=0.001" in repr(evorec.make_fitness("cross_entropy", eps=1e-3))


# ------------------------------------------------------------------------ values
@pytest.mark.parametrize("seed", [0, 1])
def test_sse(seed):
    outputs, targets = random_case(seed, low=-2.0, high=2.0)
    loss = evorec.make_fitness("sse")(outputs, targets, SEQ, N_SEQ)
    expected = [sum((o - t) ** 2 for row_o, row_t in zip(net, targets, strict=True)
                    for o, t in zip(row_o, row_t, strict=True)) for net in outputs]
    assert loss.shape == (outputs.shape[0],)
    np.testing.assert_allclose(loss, expected, rtol=1e-12, atol=0)
    mse = evorec.make_fitness("mse")(outputs, targets, SEQ, N_SEQ)
    np.testing.assert_allclose(loss, mse * targets.size, rtol=1e-12)
    assert evorec.make_fitness("sse")(targets[None], targets, SEQ, N_SEQ)[0] == 0.0


@pytest.mark.parametrize("tol", [0.05, 0.25, 0.5])
def test_all_within(tol):
    # Outputs near their targets (errors up to 0.6), so every tol leaves some networks right.
    rng = np.random.default_rng(2)
    targets = rng.uniform(0, 1, size=(SEQ.size, 2))
    errors = rng.uniform(-1, 1, size=(40, SEQ.size, 2)) * rng.choice([0.04, 0.2, 0.6], size=(40, 1, 1))
    outputs = targets + errors
    loss = evorec.make_fitness("all_within", tol=tol)(outputs, targets, SEQ, N_SEQ)
    expected = [0.0 if all(abs(e) < tol for e in net.ravel()) else 1.0 for net in errors]
    np.testing.assert_array_equal(loss, expected)
    assert 0 < loss.sum() < 40  # both outcomes occur


def test_all_within_error_equal_to_tol_is_wrong_and_nan_is_wrong():
    fitness = evorec.make_fitness("all_within", tol=0.25)
    targets = np.zeros((2, 1))
    outputs = np.array([[[0.2], [-0.2]], [[0.2], [0.25]], [[math.nan], [0.0]], [[0.0], [math.inf]]])
    np.testing.assert_array_equal(fitness(outputs, targets, np.array([0, 1]), 2), [0.0, 1.0, 1.0, 1.0])


@pytest.mark.parametrize("seed", [3, 4])
def test_argmax_correct_and_wrong(seed):
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 4, size=SEQ.size)
    targets = one_hot(classes, 4)
    outputs = rng.uniform(0, 1, size=(30, SEQ.size, 4))
    # Make many entries right, so that sequences of every kind occur.
    right_now = rng.random((30, SEQ.size)) < 0.7
    p, e = np.nonzero(right_now)
    outputs[p, e, classes[e]] = 1.5
    right = ArgmaxCorrect().entry_correct(outputs, targets)
    expected = [[ref_argmax_right(list(outputs[i, j]), list(targets[j])) for j in range(SEQ.size)]
                for i in range(30)]
    np.testing.assert_array_equal(right, expected)
    loss = evorec.make_fitness("argmax_wrong")(outputs, targets, SEQ, N_SEQ)
    np.testing.assert_allclose(loss, per_sequence_fraction_wrong(expected), rtol=0, atol=1e-12)
    assert len(np.unique(loss)) > 2


def test_argmax_ties_go_to_the_lowest_index():
    targets = one_hot(np.array([0, 1]), 3)
    outputs = np.array([[[0.7, 0.7, 0.1], [0.7, 0.7, 0.1]]])
    np.testing.assert_array_equal(ArgmaxCorrect().entry_correct(outputs, targets), [[True, False]])


@pytest.mark.parametrize("seed", [5, 6])
def test_next_symbol_correct_and_wrong(seed):
    rng = np.random.default_rng(seed)
    targets = (rng.random((SEQ.size, 5)) < 0.4).astype(float)
    targets[0] = 0.0                      # no possible symbol: nothing to put on top
    targets[1] = 1.0                      # every symbol possible
    targets[2] = [0.5, 0.6, 0.0, 0.0, 0]  # 0.5 is not above 0.5: only output 1 is marked
    outputs = rng.uniform(0, 1, size=(40, SEQ.size, 5))
    # Lift the marked outputs of many entries above the others.
    lift = rng.random((40, SEQ.size, 1)) < 0.7
    outputs = np.where(lift & (targets > 0.5), outputs + 1.0, outputs)
    outputs[0, 2] = [0.8, 0.8, 0.1, 0.1, 0.1]  # a tie between a marked and an unmarked output: wrong
    right = NextSymbolCorrect().entry_correct(outputs, targets)
    expected = [[ref_next_symbol_right(list(outputs[i, j]), list(targets[j])) for j in range(SEQ.size)]
                for i in range(40)]
    np.testing.assert_array_equal(right, expected)
    assert not right[0, 2]
    loss = evorec.make_fitness("next_symbol_wrong")(outputs, targets, SEQ, N_SEQ)
    np.testing.assert_allclose(loss, per_sequence_fraction_wrong(expected), rtol=0, atol=1e-12)
    assert len(np.unique(loss)) > 2


@pytest.mark.parametrize("eps", [1e-7, 1e-3, 0.1])
def test_cross_entropy(eps):
    rng = np.random.default_rng(7)
    targets = rng.uniform(0, 1, size=(SEQ.size, 2))
    targets[:3] = np.round(targets[:3])  # some hard 0 / 1 targets
    outputs = rng.uniform(0, 1, size=(5, SEQ.size, 2))
    outputs[1, 0] = [0.0, 1.0]            # at the ends of the sigmoid's range
    outputs[2, 1] = [-3.0, 4.0]           # beyond them (a linear output)
    outputs[3, 2] = [eps / 2, 1 - eps / 2]
    loss = evorec.make_fitness("cross_entropy", eps=eps)(outputs, targets, SEQ, N_SEQ)
    assert np.all(np.isfinite(loss))
    np.testing.assert_allclose(loss, ref_cross_entropy(outputs, targets, eps), rtol=1e-10, atol=0)


def test_cross_entropy_is_smallest_at_the_target():
    targets = np.array([[0.2, 0.9]])
    grid = np.linspace(0.01, 0.99, 99)
    outputs = np.stack([np.full(99, 0.2), grid], axis=1)[:, None, :]
    loss = evorec.make_fitness("cross_entropy")(outputs, targets, np.array([0]), 1)
    assert grid[np.argmin(loss)] == pytest.approx(0.9)


def test_food_missed():
    rng = np.random.default_rng(8)
    targets = rng.integers(0, 90, size=(SEQ.size, 1)).astype(float)
    outputs = rng.integers(0, 100, size=(6, SEQ.size, 1)).astype(float)
    loss = evorec.make_fitness("food_missed")(outputs, targets, SEQ, N_SEQ)
    expected = [sum(max(t - o, 0.0) for o, t in zip(net[:, 0], targets[:, 0], strict=True)) / SEQ.size
                for net in outputs]
    np.testing.assert_allclose(loss, expected, rtol=1e-12, atol=0)
    # The ant: one episode, 89 food cells.
    fitness = evorec.make_fitness("food_missed")
    ant = np.array([[89.0]])
    np.testing.assert_array_equal(fitness(np.array([[[0.0]], [[50.0]], [[89.0]], [[95.0]]]), ant, np.array([0]), 1),
                                  [89.0, 39.0, 0.0, 0.0])


def test_food_missed_sums_over_outputs():
    targets = np.array([[3.0, 2.0]])
    outputs = np.array([[[1.0, 5.0]], [[0.0, 0.0]]])
    np.testing.assert_array_equal(evorec.make_fitness("food_missed")(outputs, targets, np.array([0]), 1), [2.0, 5.0])


# ------------------------------------------------------------------ worst values
RANGES = [(0.0, 1.0), (-1.0, 1.0), (-3.0, 0.5)]


def extremes(targets, entry_loss, low, high, shape):
    """Outputs at whichever end of [low, high] is worse for each entry."""
    at_low, at_high = entry_loss(np.full(shape, low)), entry_loss(np.full(shape, high))
    return np.where(at_low >= at_high, low, high)


@pytest.mark.parametrize(("low", "high"), RANGES)
@pytest.mark.parametrize("name", ["mse", "sse", "max_abs_error", "cross_entropy"])
def test_worst_for_is_the_worst_and_attained(name, low, high):
    fitness = evorec.make_fitness(name)
    rng = np.random.default_rng(9)
    targets = rng.uniform(0, 1, size=(SEQ.size, 3))
    targets[0] = [0.0, 1.0, 0.5]
    worst = fitness.worst_for(targets, low, high)
    assert math.isfinite(worst) and worst > 0
    outputs = rng.uniform(low, high, size=(500, SEQ.size, 3))
    outputs[:100] = np.where(rng.random((100, SEQ.size, 3)) < 0.5, low, high)  # corners of the box
    loss = fitness(outputs, targets, SEQ, N_SEQ)
    assert np.all(loss <= worst * (1 + 1e-12)), (loss.max(), worst)

    def entry_loss(out):
        # The loss of each entry alone: the fitness on a one-entry batch, entry by entry.
        return np.array([[fitness(out[None, e:e + 1, j:j + 1], targets[e:e + 1, j:j + 1], np.array([0]), 1)[0]
                          for j in range(3)] for e in range(SEQ.size)])

    worst_outputs = extremes(targets, entry_loss, low, high, targets.shape)
    assert fitness(worst_outputs[None], targets, SEQ, N_SEQ)[0] == pytest.approx(worst, rel=1e-12)


@pytest.mark.parametrize("name", ["mse", "sse", "max_abs_error"])
def test_worst_for_unbounded_outputs_is_infinite(name):
    assert evorec.make_fitness(name).worst_for(np.zeros((3, 1)), -math.inf, math.inf) == math.inf
    assert evorec.make_fitness(name).worst_for(np.zeros((3, 1)), 0.0, math.inf) == math.inf


def test_cross_entropy_worst_is_bounded_by_the_clipping():
    for eps in (1e-7, 1e-3):
        fitness = evorec.make_fitness("cross_entropy", eps=eps)
        targets = np.array([[0.0], [1.0]])
        worst = fitness.worst_for(targets, -math.inf, math.inf)
        assert worst == pytest.approx(-math.log(eps), rel=1e-6)
        assert fitness.worst_for(targets, 0.0, 1.0) == pytest.approx(worst, rel=1e-12)
        # Soft targets: the worst is smaller, and attained at the far end.
        soft = np.array([[0.3]])
        assert fitness.worst_for(soft, 0.0, 1.0) == pytest.approx(-0.7 * math.log(eps) - 0.3 * math.log1p(-eps))


def test_food_missed_worst_is_eating_nothing():
    fitness = evorec.make_fitness("food_missed")
    rng = np.random.default_rng(10)
    targets = rng.integers(1, 90, size=(SEQ.size, 1)).astype(float)
    # Food eaten is never negative, whatever the network's output range says.
    for low, high in ((0.0, 89.0), (-1.0, 1.0), (0.0, 1.0), (-math.inf, math.inf)):
        worst = fitness.worst_for(targets, low, high)
        assert worst == pytest.approx(targets.mean())
        eaten = rng.integers(0, 100, size=(300, SEQ.size, 1)).astype(float)
        assert np.all(fitness(eaten, targets, SEQ, N_SEQ) <= worst)
        assert fitness(np.zeros((1, SEQ.size, 1)), targets, SEQ, N_SEQ)[0] == pytest.approx(worst)
    assert fitness.worst_for(np.array([[89.0]]), -1.0, 1.0) == 89.0


@pytest.mark.parametrize("name", ["all_within", "argmax_wrong", "next_symbol_wrong", "fraction_wrong"])
def test_zero_one_losses_worst_is_one_and_attained(name):
    fitness = evorec.make_fitness(name)
    classes = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    targets = one_hot(classes, 3)
    assert fitness.worst == 1.0
    assert fitness.worst_for(targets, 0.0, 1.0) == 1.0
    rng = np.random.default_rng(11)
    outputs = rng.uniform(0, 1, size=(300, SEQ.size, 3))
    loss = fitness(outputs, targets, SEQ, N_SEQ)
    assert np.all((loss >= 0) & (loss <= 1))
    # Every entry wrong under every one of these tests: the target class least active, far off.
    wrong = 1.0 - targets
    assert fitness(wrong[None], targets, SEQ, N_SEQ)[0] == 1.0
    assert fitness(targets[None], targets, SEQ, N_SEQ)[0] == 0.0


# ------------------------------------------------------- non-finite outputs are wrong
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_criteria_count_non_finite_outputs_as_wrong(bad, position):
    # Entry 0: the target class / possible symbol is output 0.  Outputs that would be right
    # with the bad value anywhere (even +inf on the right output) must be wrong.
    targets = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    good = np.array([[0.9, 0.1, 0.2], [0.1, 0.9, 0.2]])
    outputs = np.stack([good, good])
    outputs[1, 0, position] = bad
    for criterion in (ArgmaxCorrect(), NextSymbolCorrect(), AllWithin(0.5).criterion):
        np.testing.assert_array_equal(criterion.entry_correct(outputs, targets), [[True, True], [False, True]],
                                      err_msg=repr(criterion))
    for name in ("argmax_wrong", "next_symbol_wrong", "all_within"):
        loss = evorec.make_fitness(name)(outputs, targets, np.array([0, 1]), 2)
        assert loss[0] == 0.0 and loss[1] > 0.0, name


def test_non_finite_outputs_get_the_worst_loss_in_the_evaluator():
    # A linear output that overflows: the evaluator gives fitness.worst, without an exception.
    arch = Architecture.fully_recurrent(1, 0, 1, hidden="sigmoid", output="linear")
    src = arch.source_slices()
    W_y = np.zeros((1, 1, arch.n_units))
    W_y[0, 0, [src["bias"].start, src["output"].start]] = 1e200  # 1e200, then inf from the second step
    pop = Population.from_weights(arch, np.zeros((1, 0, arch.n_units)), W_y)
    batch = evorec.make_task("parity", lengths=5).sample(4, np.random.default_rng(0))
    for name in ("sse", "all_within", "cross_entropy", "food_missed"):
        fitness = evorec.make_fitness(name)
        result = evorec.evaluate(pop, batch, fitness, AllWithin(0.5).criterion)
        assert result.loss[0] == fitness.worst, name
        assert result.wrong[0] == 4


# -------------------------------------------------------------------- bad input
@pytest.mark.parametrize("tol", [0, -0.1, math.nan, "0.1", None, True])
def test_all_within_bad_tol(tol):
    with pytest.raises(ValueError, match="tol"):
        evorec.make_fitness("all_within", tol=tol)


@pytest.mark.parametrize("eps", [0, -1e-7, 0.5, 0.7, math.nan, math.inf, "1e-7", None, True])
def test_cross_entropy_bad_eps(eps):
    with pytest.raises(ValueError, match="eps"):
        evorec.make_fitness("cross_entropy", eps=eps)


@pytest.mark.parametrize(("name", "param"), [("sse", "tol"), ("argmax_wrong", "tol"), ("next_symbol_wrong", "tol"),
                                             ("food_missed", "eps"), ("cross_entropy", "tol"),
                                             ("all_within", "tolerance")])
def test_new_fitness_unknown_parameter_is_named(name, param):
    with pytest.raises(ValueError, match=param):
        evorec.make_fitness(name, **{param: 0.1})
