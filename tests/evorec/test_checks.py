"""Parameter checks: one judgement per kind of parameter, errors that carry the parameter's name."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec
from evorec import checks
from evorec.checks import InvalidParameter
from evorec.config import ConfigError, load


@pytest.mark.parametrize(("check", "args", "value"), [
    (checks.positive_number, (), 0.0),
    (checks.positive_number, (), math.inf),
    (checks.positive_number, (), True),
    (checks.nonnegative_number, (), -1e-9),
    (checks.nonnegative_number, (), math.nan),
    (checks.integer, (1,), 0),
    (checks.integer, (1,), 2.0),
    (checks.optional_integer, (1,), "3"),
    (checks.boolean, (), 1),
    (checks.number_in, (0.0, 1.0), 1.5),
    (checks.one_of, (("a", "b"),), "c"),
    (checks.one_of, ((1, 2),), True),
    (checks.integer_pair, (), (3, 1)),
    (checks.integer_pair, (), (1, 2, 3)),
])
def test_every_check_raises_invalid_parameter_with_the_name(check, args, value):
    with pytest.raises(InvalidParameter) as caught:
        check(value, "knob", *args)
    assert caught.value.name == "knob"
    assert str(caught.value).startswith("knob ")
    assert isinstance(caught.value, ValueError)


def test_number_in_honours_open_and_closed_ends():
    assert checks.number_in(0.0, "x", 0.0, 1.0) == 0.0
    assert checks.number_in(1.0, "x", 0.0, 1.0) == 1.0
    with pytest.raises(InvalidParameter, match=r"must be a number in \(0, 1\)"):
        checks.number_in(0.0, "x", 0.0, 1.0, low_open=True, high_open=True)
    with pytest.raises(InvalidParameter, match=r"\[0, 1\)"):
        checks.number_in(1.0, "x", 0.0, 1.0, high_open=True)


def test_array_size_names_the_parameter_that_sizes_the_array():
    assert checks.array_size(checks.MAX_ELEMENTS, "chains", "chains x n") == checks.MAX_ELEMENTS
    with pytest.raises(InvalidParameter) as caught:
        checks.array_size(checks.MAX_ELEMENTS + 1, "chains", "chains x free parameters")
    assert caught.value.name == "chains"


@pytest.mark.parametrize(("kind", "name", "param"), [
    ("task", "parity", "tolerance"),
    ("task", "latch", "tolerance"),
    ("task", "two_sequence", "tolerance"),
    ("task", "adding", "tolerance"),
    ("task", "tomita", "tolerance"),
    ("task", "temporal_order", "tolerance"),
    ("fitness", "fraction_wrong", "tol"),
    ("fitness", "max_abs_error", "tol"),
    ("fitness", "all_within", "tol"),
])
def test_an_infinite_tolerance_is_refused_everywhere(kind, name, param):
    make = evorec.make_task if kind == "task" else evorec.make_fitness
    with pytest.raises(InvalidParameter) as caught:
        make(name, **{param: math.inf})
    assert caught.value.name == param


@pytest.mark.parametrize(("name", "params", "param"), [
    ("guessing", {"r": -1.0}, "r"),
    ("annealing", {"r_T": 1.0}, "r_T"),
    ("multigrid", {"rho": 1.0}, "rho"),
    ("multigrid", {"min_gain": math.inf}, "min_gain"),
    ("cmaes", {"restarts": -1}, "restarts"),
    ("gnarl", {"population": 3}, "population"),
    ("gnarl", {"add_links": (5, 1)}, "add_links"),
    ("bptt", {"momentum": 1.0}, "momentum"),
    ("bptt", {"optimizer": "rmsprop"}, "optimizer"),
    ("lstm", {"gate_biases": "lstm97"}, "gate_biases"),
])
def test_strategy_parameter_errors_carry_the_parameters_name(name, params, param):
    space = evorec.Architecture.fully_recurrent(1, 1, 1)
    with pytest.raises(InvalidParameter) as caught:
        evorec.STRATEGIES.create(name, space, np.random.default_rng(0), **params)
    assert caught.value.name == param


def test_the_config_locates_an_error_by_the_parameters_name_not_its_message(tmp_path):
    # Grammar 2, (10)*, accepts no string of length 3.  The message reads "balanced = True
    # needs ...", not "balanced must ...": the location comes from the error's name, so it is
    # still the parameter's own line.
    path = tmp_path / "tomita.yaml"
    path.write_text("name: t\nbudget: {evaluations: 10}\nseeds: 1\n"
                    "task:\n  name: tomita\n  params:\n    grammar: 2\n    min_length: 3\n    max_length: 3\n"
                    "    balanced: true\n"
                    "strategies: [{name: guessing}]\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    (line,) = caught.value.errors
    assert line.startswith(f"{path}:10:")
    assert ": task.params.balanced: " in line
