"""The lstm strategy's LSTM97 preset and the paper's stopping rules."""

import dataclasses

import numpy as np
import pytest

import evorec
from evorec import Budget, make_problem, search
from evorec.checks import InvalidParameter
from evorec.config import load
from evorec.fielderrors import ConfigError
from evorec.strategies.gradient import SUCCESS_CHUNK
from evorec.strategies.lstm97 import lstm97_setup


def _bound(task: str, task_params: dict | None = None, train_size: int = 4, test_size: int = 4, **params):
    problem = make_problem(task, task_params=task_params or {}, train_size=train_size, test_size=test_size, seed=1)
    strategy = evorec.STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(0), preset="lstm97",
                                        **params)
    strategy.bind(problem)
    return problem, strategy


# The weight counts LSTM97 gives for its nets (docs/literature.md, "LSTM97"): they pin down
# what sees what (the gates see the other gates too) and which units are biased.
@pytest.mark.parametrize("task, task_params, weights", [
    ("embedded_reber", {}, 276),
    ("long_lag", {"variant": "2a", "p": 100}, 10_504),
    ("two_sequence", {"variant": "3a", "T": 100}, 102),
    ("adding", {"T": 100}, 93),
    ("temporal_order", {"variant": "6a"}, 156),
    ("temporal_order", {"variant": "6b"}, 308),
])
def test_the_preset_builds_the_papers_nets(task, task_params, weights):
    _, strategy = _bound(task, task_params)
    assert strategy.model.n_params == weights


def test_the_preset_trains_as_the_paper_does():
    _, adding = _bound("adding", {"T": 20})
    setup = adding.setup
    assert (setup["optimizer"], setup["loss"], setup["truncated"], setup["lr"]) == ("sgd", "sse", True, 0.5)
    assert (setup["training_data"], setup["success"], setup["success_window"], setup["success_error"]) == (
        "stream", "online", 2000, 0.01)
    assert adding.model.output == "sigmoid" and adding.update_rule.momentum == 0.0
    weights = adding.model.unpack(adding.ask()[0])
    np.testing.assert_array_equal(weights["W_in"][:, 0], [-3.0, -6.0])  # input gates -3, -6
    assert np.all(np.abs(weights["W_out"][:, 0]) <= 0.1)  # output gates random in [-0.1, 0.1]
    _, two_sequence = _bound("two_sequence", {"variant": "3a", "T": 20})
    weights = two_sequence.model.unpack(two_sequence.ask()[0])
    np.testing.assert_array_equal(weights["W_in"][:, 0], [-1.0, -3.0, -5.0])
    np.testing.assert_array_equal(weights["W_out"][:, 0], [-2.0, -4.0, -6.0])
    assert two_sequence.setup["success"] == "fresh" and two_sequence.setup["success_sequences"] == 256
    _, long_lag = _bound("long_lag", {"variant": "2a", "p": 10})
    net = long_lag.model
    assert not net.output_gate and net.recurrence == "none" and net.input_to_output
    assert (net.cell_input, net.cell_output, long_lag.setup["lr"]) == ("sigmoid", "linear", 1.0)
    assert np.all(np.abs(long_lag.ask()[0]) <= 0.2)  # exps 1-2: initial weights in [-0.2, 0.2]


def test_explicit_parameters_override_the_preset_and_rebuild_equal():
    _, reber = _bound("embedded_reber", lr=0.1)  # LSTM97's second 3 x 2 Reber row
    assert reber.setup["lr"] == 0.1 and reber.update_rule.lr == 0.1 and reber.setup["loss"] == "sse"
    params = reber.get_params()
    assert params["preset"] == "lstm97" and params["lr"] == 0.1 and params["loss"] is None
    problem = make_problem("embedded_reber", train_size=4, test_size=4, seed=1)
    rebuilt = evorec.STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(0), **params)
    rebuilt.bind(problem)
    assert rebuilt.get_params() == params and rebuilt.setup == reber.setup


def test_values_given_beside_the_preset_are_judged_with_the_presets_set_up():
    # LSTM97's 4-block output-gate biases fit Reber's 3 x 2 net only through the preset's
    # n_blocks = 3; update='step' needs the preset's sgd.  Both are fine beside the preset...
    _, reber = _bound("embedded_reber", gate_biases={"in": "random", "out": [-1, -2, -4]}, update="step")
    np.testing.assert_array_equal(reber.model.unpack(reber.ask()[0])["W_out"][:, 0], [-1, -2, -4])
    # ...but three biases do not fit the adding net's two blocks: refused when the task is known.
    with pytest.raises(InvalidParameter, match="2 finite numbers") as error:
        _bound("adding", {"T": 20}, gate_biases={"in": "random", "out": [-1, -2, -4]})
    assert error.value.name == "gate_biases"
    # A value that is wrong by itself is refused at once, preset or not.
    problem = make_problem("adding", task_params={"T": 20}, train_size=4, test_size=4)
    for params, name in (({"lr": -1.0}, "lr"), ({"gate_biases": {"in": "random"}}, "gate_biases"),
                         ({"update": "epoch"}, "update")):
        with pytest.raises(InvalidParameter) as error:
            evorec.STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(0), preset="lstm97", **params)
        assert error.value.name == name


@pytest.mark.parametrize("params, name", [({}, "optimizer"), ({"optimizer": "sgd"}, "loss"),
                                          ({"optimizer": "sgd", "loss": "sse"}, "truncated"),
                                          ({"optimizer": "sgd", "loss": "sse", "truncated": True, "momentum": 0.5},
                                           "momentum"),
                                          ({"optimizer": "sgd", "loss": "sse", "truncated": True, "forget_gate": True},
                                           "forget_gate")])
def test_per_step_learning_refuses_what_lstm97s_learning_is_not(params, name):
    problem = make_problem("adding", task_params={"T": 20}, train_size=4, test_size=4)
    with pytest.raises(InvalidParameter, match="update='step'") as error:
        evorec.STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(0), update="step", **params)
    assert error.value.name == name


def test_a_task_without_an_lstm97_experiment_is_refused_by_name():
    problem = make_problem("parity", task_params={"lengths": (3, 5)}, train_size=4, test_size=4)
    strategy = evorec.STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(0), preset="lstm97")
    with pytest.raises(InvalidParameter, match="LSTM97 has no experiment on the task 'parity'") as error:
        strategy.bind(problem)
    assert error.value.name == "preset"
    with pytest.raises(ValueError, match="variant 'bsf94'"):
        lstm97_setup(evorec.TASKS.create("two_sequence"))


def test_an_experiment_file_names_the_preset_that_does_not_fit_its_task(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nbudget: {evaluations: 10}\ntask: {name: parity, params: {lengths: [3, 5]}}\n"
                    "strategies:\n  - {name: lstm, params: {preset: lstm97}}\n")
    with pytest.raises(ConfigError) as error:
        load(path)
    assert "strategies[0].params.preset" in str(error.value) and "no experiment on the task 'parity'" in str(
        error.value)


# ------------------------------------------------------------------- the stopping rules
@pytest.fixture(scope="module")
def two_sequence():
    return make_problem("two_sequence", task_params={"lengths": (4, 6), "N": 3}, train_size=20, test_size=30, seed=1)


def _strategy(problem, **params):
    strategy = evorec.STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(0), n_blocks=1,
                                        n_cells=1, **params)
    strategy.bind(problem)
    return strategy


def test_train_and_test_needs_both_sets_right_and_charges_the_test_set(two_sequence):
    strategy = _strategy(two_sequence, success="train_and_test")
    candidate = strategy.ask()
    on_train = two_sequence.evaluate(candidate, model=strategy.model)
    on_test = two_sequence.evaluate(candidate, "test", model=strategy.model)
    claimed = dataclasses.replace(on_train, solved=np.array([True]), wrong=np.array([0]))
    assert strategy.solved(two_sequence, candidate, claimed)[0] == (on_test.wrong[0] == 0)
    assert strategy.take_costs() == (30, int(two_sequence.test.lengths.sum()))
    failing = dataclasses.replace(on_train, solved=np.array([False]), wrong=np.array([1]))
    assert not strategy.solved(two_sequence, candidate, failing)[0]


def test_a_fresh_test_stops_at_its_first_failing_chunk_and_allows_max_wrong(two_sequence):
    strategy = _strategy(two_sequence, success="fresh", success_sequences=3 * SUCCESS_CHUNK)
    untrained = strategy.ask()  # an untrained net gets about half the fresh sequences wrong
    evaluation = two_sequence.evaluate(untrained, model=strategy.model)
    assert not strategy.solved(two_sequence, untrained, evaluation)[0]
    assert strategy.take_costs()[0] == SUCCESS_CHUNK  # the first chunk decided it
    lenient = _strategy(two_sequence, success="fresh", success_sequences=3 * SUCCESS_CHUNK,
                        success_max_wrong=3 * SUCCESS_CHUNK)
    assert lenient.solved(two_sequence, lenient.ask(), evaluation)[0]
    assert lenient.take_costs()[0] == 3 * SUCCESS_CHUNK


def test_a_fresh_test_with_a_mean_absolute_error_bound(two_sequence):
    # Every sequence allowed wrong, so only the bound on the mean absolute error decides.
    loose = _strategy(two_sequence, success="fresh", success_sequences=50, success_max_wrong=50, success_mae=10.0)
    tight = _strategy(two_sequence, success="fresh", success_sequences=50, success_max_wrong=50, success_mae=1e-6)
    candidate = loose.ask()
    evaluation = two_sequence.evaluate(candidate, model=loose.model)
    assert loose.solved(two_sequence, candidate, evaluation)[0]
    assert not tight.solved(two_sequence, candidate, evaluation)[0]
    with pytest.raises(InvalidParameter, match="success='fresh' only"):
        _strategy(two_sequence, success="online", success_mae=0.1)


def test_an_online_success_may_allow_wrong_sequences_in_its_window(two_sequence):
    # Multiplication's rule: fewer than n_seq of the last 2,000 wrong.  A window of untrained
    # guesses has some wrong: an allowance of all of them passes, of none fails.
    lenient = _strategy(two_sequence, success="online", success_window=40, success_max_wrong=40, check_every=40)
    strict = _strategy(two_sequence, success="online", success_window=40, check_every=40)
    for strategy in (lenient, strict):
        strategy.ask()
        strategy.ask()  # trains on 40 sequences: the window is full
    evaluation = two_sequence.evaluate(lenient.theta[None], model=lenient.model)
    assert lenient.solved(two_sequence, lenient.theta[None], evaluation)[0]
    assert not strict.recent_right.all()
    assert not strict.solved(two_sequence, strict.theta[None], evaluation)[0]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_the_preset_solves_two_sequence_3a_near_the_papers_count(seed):
    # LSTM97: 27,380 training sequences on average for 3a, T = 100, N = 3.
    problem = make_problem("two_sequence", task_params={"variant": "3a", "T": 100}, train_size=20, test_size=20)
    result = search("lstm", problem, Budget(sequences=150_000), seed=seed, preset="lstm97", check_every=500)
    print(f"seed {seed}: solved={result.solved} training sequences={result.info['training_sequences']}")
    assert result.solved and result.info["training_sequences"] < 4 * 27_380
