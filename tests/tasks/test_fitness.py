"""Fitness functions and the tolerance criterion of tasks/fitness.py, on hand-made arrays.

Shapes (evorec/scoring.py): outputs (P, N, O), targets (N, O), sequence (N,) non-decreasing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec

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
