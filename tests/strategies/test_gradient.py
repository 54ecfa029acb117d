import dataclasses

import numpy as np
import pytest

import evorec
from evorec import Budget, make_problem, search
from evorec.rnn import loss_and_grad
from evorec.tasks.two_sequence import TwoSequence


@pytest.fixture(scope="module")
def two_sequence():
    return make_problem("two_sequence", task_params={"lengths": (4, 6), "N": 3}, train_size=40, test_size=40, seed=1)


def test_bptt_lowers_the_training_loss_and_counts_what_it_presents(two_sequence):
    result = search("bptt", two_sequence, Budget(sequences=3000), seed=0, check_every=50, init_range=1.0, lr=0.05)
    first_loss = result.history[0][1]
    assert result.best_loss < 0.7 * first_loss
    # Every ask after the first trains on 50 sequences; every ask is tested on the 40 training sequences.
    trained = 50 * (result.evaluations - 1)
    assert result.sequences == trained + 40 * result.evaluations
    assert result.info["training_sequences"] == trained  # the count LSTM97 reports
    assert result.steps >= result.sequences * 4


def test_the_first_proposal_is_the_untrained_initial_network(two_sequence):
    strategy = evorec.STRATEGIES.create("bptt", two_sequence.architecture, np.random.default_rng(3), init_range=0.5)
    strategy.bind(two_sequence)
    first = strategy.ask()
    assert strategy.take_costs() == (0, 0)
    assert np.all(np.abs(first) <= 0.5)
    strategy.tell(first, np.array([1.0]))
    second = strategy.ask()
    sequences, steps = strategy.take_costs()
    assert sequences == 100 and steps >= 400 and strategy.take_costs() == (0, 0)
    loss_before = loss_and_grad(two_sequence.architecture, first[0], two_sequence.train)[0]
    loss_after = loss_and_grad(two_sequence.architecture, second[0], two_sequence.train)[0]
    assert loss_after < loss_before


def test_bptt_needs_the_search_loop():
    problem = make_problem("parity", task_params={"lengths": (3, 5)}, train_size=10, test_size=10)
    strategy = evorec.STRATEGIES.create("bptt", problem.architecture, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="evorec.search"):
        strategy.ask()


@pytest.mark.parametrize("params, name", [({"lr": 0}, "lr"), ({"optimizer": "rmsprop"}, "optimizer"),
                                          ({"momentum": 1.0}, "momentum"), ({"batch_size": 0}, "batch_size"),
                                          ({"truncate": 0}, "truncate"), ({"loss": "hinge"}, "loss"),
                                          ({"clip": -1}, "clip")])
def test_bad_parameters_are_named(params, name):
    problem = make_problem("parity", task_params={"lengths": (3, 5)}, train_size=10, test_size=10)
    with pytest.raises(ValueError, match=name):
        evorec.STRATEGIES.create("bptt", problem.architecture, np.random.default_rng(0), **params)


# ----------------------------------------------------------------------------------- lstm
def test_lstm_lowers_the_training_loss_and_counts_as_bptt(two_sequence):
    result = search("lstm", two_sequence, Budget(sequences=3000), seed=0, check_every=50, n_blocks=1, n_cells=1)
    first_loss = result.history[0][1]
    assert result.best_loss < 0.7 * first_loss
    trained = 50 * (result.evaluations - 1)
    assert result.sequences == trained + 40 * result.evaluations
    assert result.info["training_sequences"] == trained  # the count LSTM97 reports
    assert result.steps >= result.sequences * 4
    # The best is an LSTM, not an evorec network: it is reported in info, the weight arrays are empty.
    assert result.info["model"] == "lstm" and result.best_W_h.size == result.best_W_y.size == 0
    strategy = evorec.STRATEGIES.create("lstm", two_sequence.architecture, np.random.default_rng(0),
                                        n_blocks=1, n_cells=1)
    assert len(result.info["params"]) == strategy.model.n_params
    again = two_sequence.evaluate(np.array([result.info["params"]]), "test", model=strategy.model)
    assert again.fraction_wrong[0] == result.test_error


def test_lstm_evaluation_scores_the_lstm_outputs_with_the_problems_fitness_and_criterion(two_sequence):
    strategy = evorec.STRATEGIES.create("lstm", two_sequence.architecture, np.random.default_rng(2), init_range=1.0)
    strategy.bind(two_sequence)
    params = np.stack([strategy.model.init(np.random.default_rng(k), 1.0) for k in range(3)])
    params[2, 0] = np.nan
    result = two_sequence.evaluate(params, model=strategy.model)
    train = two_sequence.train
    targets, sequence, step = train.scored_targets()
    for p in range(2):
        outputs = strategy.model.forward(params[p], train.inputs, train.lengths)[sequence, step]
        assert result.loss[p] == pytest.approx(np.mean((outputs - targets) ** 2))
        ok = two_sequence.criterion.entry_correct(outputs[None], targets)[0]
        right = [ok[sequence == b].all() for b in range(train.n_sequences)]
        assert result.wrong[p] == train.n_sequences - sum(right)
    assert result.loss[2] == two_sequence.fitness.worst and result.wrong[2] == train.n_sequences
    assert np.all(result.sequences == train.n_sequences) and np.all(result.steps == train.lengths.sum())
    assert result.n_sequences == train.n_sequences


def test_lstm_initial_gate_biases_are_staggered_by_default(two_sequence):
    strategy = evorec.STRATEGIES.create("lstm", two_sequence.architecture, np.random.default_rng(0), n_blocks=3)
    strategy.bind(two_sequence)
    weights = strategy.model.unpack(strategy.ask()[0])
    assert np.array_equal(weights["W_in"][:, 0], [-1, -2, -3]) and np.array_equal(weights["W_out"][:, 0], [-1, -2, -3])
    assert strategy.take_costs() == (0, 0)
    none = evorec.STRATEGIES.create("lstm", two_sequence.architecture, np.random.default_rng(0), gate_biases="none")
    assert none.model.n_params < strategy.model.n_params and not none.model.gate_bias


@pytest.mark.parametrize("gate_biases, want_in, want_out", [
    ({"in": [-1, -3, -5], "out": [-2, -4, -6]}, [-1, -3, -5], [-2, -4, -6]),  # LSTM97's 3a
    ({"in": "random", "out": [-2, -4, -6]}, None, [-2, -4, -6]),
    ([-0.5, -1.5, -2.5], [-0.5, -1.5, -2.5], [-0.5, -1.5, -2.5]),
])
def test_lstm_input_and_output_gate_biases_can_be_set_apart(two_sequence, gate_biases, want_in, want_out):
    strategy = evorec.STRATEGIES.create("lstm", two_sequence.architecture, np.random.default_rng(0), n_blocks=3,
                                        gate_biases=gate_biases)
    strategy.bind(two_sequence)
    weights = strategy.model.unpack(strategy.ask()[0])
    assert np.array_equal(weights["W_out"][:, 0], want_out)
    if want_in is None:  # drawn like the other weights, within the initial range
        assert np.all(np.abs(weights["W_in"][:, 0]) <= strategy.setup["init_range"])
    else:
        assert np.array_equal(weights["W_in"][:, 0], want_in)
    rebuilt = evorec.STRATEGIES.create("lstm", two_sequence.architecture, np.random.default_rng(0),
                                       **strategy.get_params())
    assert rebuilt.get_params() == strategy.get_params()


@pytest.mark.parametrize("params, name", [({"n_blocks": 0}, "n_blocks"), ({"n_cells": 1.5}, "n_cells"),
                                          ({"forget_gate": "yes"}, "forget_gate"),
                                          ({"gate_biases": "lstm97"}, "gate_biases"),
                                          ({"gate_biases": [-1.0]}, "gate_biases"),
                                          ({"gate_biases": {"in": [-1.0, -2.0]}}, "gate_biases"),
                                          ({"gate_biases": {"in": "random", "out": [True, 1.0]}}, "gate_biases"),
                                          ({"gate_biases": {"in": "staggered", "out": "random"}}, "gate_biases"),
                                          ({"init_range": 0}, "init_range"), ({"lr": -1}, "lr"),
                                          ({"optimizer": "rmsprop"}, "optimizer"), ({"loss": "hinge"}, "loss"),
                                          ({"check_every": 0}, "check_every"), ({"clip": 0}, "clip")])
def test_lstm_bad_parameters_are_named(params, name):
    problem = make_problem("parity", task_params={"lengths": (3, 5)}, train_size=10, test_size=10)
    with pytest.raises(ValueError, match=name):
        evorec.STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(0), **params)


def test_lstm_cross_entropy_needs_sigmoid_outputs(two_sequence):
    linear = dataclasses.replace(two_sequence.architecture, output="linear")
    with pytest.raises(ValueError, match="cross_entropy"):
        evorec.STRATEGIES.create("lstm", linear, np.random.default_rng(0), loss="cross_entropy")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_lstm_solves_two_sequence_with_T_100(seed):
    problem = make_problem("two_sequence", task_params={"lengths": (100, 110), "N": 3})
    result = search("lstm", problem, Budget(sequences=60000), seed=seed)
    print(f"seed {seed}: solved={result.solved} sequences={result.sequences} test_error={result.test_error}")
    assert result.solved


def test_lstm_trains_with_lstm97s_truncated_gradient_on_its_own_path(two_sequence):
    # The truncated gradient is a different update: same seed, another trajectory; it still
    # lowers the training loss.
    full = search("lstm", two_sequence, Budget(sequences=300), seed=4, n_blocks=1, n_cells=1, check_every=50)
    cut = search("lstm", two_sequence, Budget(sequences=300), seed=4, n_blocks=1, n_cells=1, check_every=50,
                 truncated=True)
    assert cut.history != full.history
    assert cut.history[-1][1] < cut.history[0][1]


# ------------------------------------------- LSTM97's training stream and fresh success tests
@pytest.mark.parametrize("name, params", [("bptt", {}), ("lstm", {"n_blocks": 1, "n_cells": 1})])
def test_a_fresh_success_test_is_charged_and_decides_alone(two_sequence, name, params):
    # Every proposal costs its training (50 sequences, none for the first), the training-set
    # test (40) and the fresh test (30); the run stops at the budget unless a fresh test passes.
    result = search(name, two_sequence, Budget(sequences=1000), seed=2, check_every=50, success="fresh",
                    success_sequences=30, **params)
    assert result.sequences == 50 * (result.evaluations - 1) + (40 + 30) * result.evaluations
    strategy = evorec.STRATEGIES.create(name, two_sequence.architecture, np.random.default_rng(0),
                                        success="fresh", success_sequences=30, **params)
    strategy.bind(two_sequence)
    untrained = strategy.ask()
    claimed = dataclasses.replace(two_sequence.evaluate(untrained, model=strategy.model), solved=np.array([True]))
    # Solving the training set is not enough: the fresh sequences decide (and cost 30 sequences).
    assert not strategy.solved(two_sequence, untrained, claimed)[0]
    assert strategy.take_costs()[0] == 30
    ordinary = evorec.STRATEGIES.create(name, two_sequence.architecture, np.random.default_rng(0), **params)
    assert ordinary.solved(two_sequence, untrained, claimed)[0]


class _CountingTwoSequence(TwoSequence):
    """The two-sequence task, counting the sequences drawn after the problem's data sets."""

    def __init__(self, **params):
        super().__init__(**params)
        self.drawn: list[int] = []

    def sample(self, n, rng):
        self.drawn.append(n)
        return super().sample(n, rng)


@pytest.mark.parametrize("training_data, drawn", [("train", 0), ("stream", 250)])
def test_training_on_a_stream_draws_every_training_sequence_afresh(training_data, drawn):
    task = _CountingTwoSequence(lengths=(4, 6), N=3)
    problem = make_problem(task, train_size=2, test_size=40, seed=1)
    assert task.drawn == [2, 40]  # the training and test sets
    result = search("bptt", problem, Budget(evaluations=6), seed=5, check_every=50, training_data=training_data,
                    batch_size=5, init_range=0.1)
    assert result.evaluations == 6 and not result.solved
    # Five rounds of training, 50 sequences each, in batches of 5 drawn from the task itself.
    assert sum(task.drawn[2:]) == drawn and set(task.drawn[2:]) <= {5}
    assert result.sequences == 5 * 50 + 6 * 2  # the same costs either way


@pytest.mark.parametrize("success", [{"success": "fresh", "success_sequences": 16},
                                     {"success": "online", "success_window": 30, "success_error": 0.2}])
@pytest.mark.parametrize("name, params", [
    ("bptt", {}), ("lstm", {"n_blocks": 1, "n_cells": 1}),
    ("lstm", {"n_blocks": 1, "n_cells": 1, "update": "step", "optimizer": "sgd", "loss": "sse", "truncated": True,
              "lr": 0.1}),  # LSTM97's per-step learning
])
def test_stream_training_and_own_success_tests_resume_exactly(two_sequence, name, params, success):
    settings = dict(params, check_every=20, training_data="stream", **success)
    whole = search(name, two_sequence, Budget(sequences=700), seed=6, **settings)
    part = search(name, two_sequence, Budget(sequences=700), seed=6, stop_after=3, **settings)
    resumed = search(name, two_sequence, Budget(sequences=700), seed=6, resume=part.state, **settings)
    assert part.stopped and part.sequences < whole.sequences
    def comparable(result):
        return {k: v for k, v in result.to_dict().items() if k not in ("seconds", "stopped", "state")}
    assert comparable(resumed) == comparable(whole)


def test_an_online_success_needs_a_full_window_of_right_training_sequences_with_a_low_loss(two_sequence):
    # LSTM97's rule for experiments 4-6: the last success_window training sequences all right as
    # presented, and their mean loss below success_error.
    strategy = evorec.STRATEGIES.create("lstm", two_sequence.architecture, np.random.default_rng(2), n_blocks=1,
                                        n_cells=1, check_every=50, success="online", success_window=100,
                                        success_error=0.05)
    result = search(strategy, two_sequence, Budget(sequences=4000))
    assert result.solved
    assert strategy.recent_count >= 100 and strategy.recent_right.all() and strategy.recent_loss.mean() < 0.05
    # The same training under the training-set rule solves earlier; a window longer than the
    # whole budget can never fill, so the online rule then never solves.
    by_set = search("lstm", two_sequence, Budget(sequences=4000), seed=0, n_blocks=1, n_cells=1, check_every=50)
    assert by_set.solved
    never = search("lstm", two_sequence, Budget(sequences=by_set.sequences + 500), seed=0, n_blocks=1, n_cells=1,
                   check_every=50, success="online", success_window=5000)
    assert not never.solved and never.sequences >= by_set.sequences + 500
