"""Tests of the rtrl strategy: bptt's training loop, costs and success tests, with RTRL's
gradient and (by default) Williams and Zipser's per-step updates."""

import numpy as np
import pytest

import evorec
from evorec import STRATEGIES, Architecture, Budget, make_problem, search
from evorec.rnn import loss_and_grad


@pytest.fixture(scope="module")
def two_sequence():
    return make_problem("two_sequence", task_params={"lengths": (4, 6), "N": 3}, train_size=40, test_size=40, seed=1)


@pytest.fixture(scope="module")
def reber():
    # Every step of an embedded Reber string is scored: per-step updates happen many times a sequence.
    return make_problem("embedded_reber", train_size=30, test_size=10, seed=2)


def _trained(name, problem, asks=2, seed=0, **params):
    """The weights a strategy proposes at its ``asks``-th ask (the first is untrained)."""
    strategy = evorec.STRATEGIES.create(name, problem.architecture, np.random.default_rng(seed), **params)
    strategy.bind(problem)
    for _ in range(asks):
        proposal = strategy.ask()
        strategy.tell(proposal, np.array([1.0]))
    return strategy, proposal[0]


def test_rtrl_lowers_the_training_loss_and_counts_as_bptt(two_sequence):
    result = search("rtrl", two_sequence, Budget(sequences=3000), seed=0, check_every=50, lr=1.0, init_range=1.0)
    assert result.best_loss < 0.7 * result.history[0][1]
    trained = 50 * (result.evaluations - 1)
    assert result.sequences == trained + 40 * result.evaluations
    assert result.info["training_sequences"] == trained
    assert result.steps >= result.sequences * 4


def test_defaults_are_the_papers_online_plain_gradient_descent_on_the_summed_squared_error(two_sequence):
    strategy = evorec.STRATEGIES.create("rtrl", two_sequence.architecture, np.random.default_rng(0))
    params = strategy.get_params()
    assert (params["update"], params["optimizer"], params["loss"], params["momentum"]) == ("step", "sgd", "sse", 0.0)
    assert type(strategy.update_rule).__name__ == "SGD"


def test_per_sequence_updates_are_bptts_updates(reber):
    # Same seed, same settings: RTRL's gradient is BPTT's, so the weights agree after training.
    settings = {"optimizer": "adam", "lr": 0.01, "loss": "mse", "check_every": 20, "batch_size": 4}
    _, by_bptt = _trained("bptt", reber, **settings)
    _, by_rtrl = _trained("rtrl", reber, update="sequence", **settings)
    np.testing.assert_allclose(by_rtrl, by_bptt, rtol=1e-9, atol=1e-12)


def test_per_step_updates_differ_from_per_sequence_updates_where_many_steps_are_scored(reber):
    start = _trained("rtrl", reber, asks=1)[1]
    _, per_step = _trained("rtrl", reber, check_every=20)
    _, per_sequence = _trained("rtrl", reber, check_every=20, update="sequence")
    moved = np.linalg.norm(per_sequence - start)
    assert moved > 0 and np.linalg.norm(per_step - per_sequence) > 1e-3 * moved
    # Both descend: the training loss falls either way.
    before = loss_and_grad(reber.architecture, start, reber.train, "sse")[0]
    for theta in (per_step, per_sequence):
        assert loss_and_grad(reber.architecture, theta, reber.train, "sse")[0] < before


def test_per_step_and_per_sequence_updates_coincide_where_only_the_last_step_is_scored(two_sequence):
    step = search("rtrl", two_sequence, Budget(sequences=500), seed=3, check_every=50)
    sequence = search("rtrl", two_sequence, Budget(sequences=500), seed=3, check_every=50, update="sequence")
    assert step.history == sequence.history


@pytest.mark.parametrize("params, name", [({"update": "batch"}, "update"), ({"lr": 0}, "lr"),
                                          ({"optimizer": "rmsprop"}, "optimizer"), ({"momentum": 1.0}, "momentum"),
                                          ({"batch_size": 0}, "batch_size"), ({"loss": "hinge"}, "loss"),
                                          ({"clip": -1}, "clip"), ({"check_every": 0}, "check_every"),
                                          ({"init_range": 0}, "init_range")])
def test_bad_parameters_are_named(params, name):
    problem = make_problem("parity", task_params={"lengths": (3, 5)}, train_size=10, test_size=10)
    with pytest.raises(ValueError, match=name):
        evorec.STRATEGIES.create("rtrl", problem.architecture, np.random.default_rng(0), **params)


@pytest.mark.parametrize("update", ["step", "sequence"])
def test_stream_training_with_an_online_success_test_resumes_exactly(two_sequence, update):
    settings = {"check_every": 20, "training_data": "stream", "success": "online", "success_window": 30,
                "success_error": 0.2, "update": update, "optimizer": "adam", "lr": 0.01, "momentum": 0.0}
    whole = search("rtrl", two_sequence, Budget(sequences=700), seed=6, **settings)
    part = search("rtrl", two_sequence, Budget(sequences=700), seed=6, stop_after=3, **settings)
    resumed = search("rtrl", two_sequence, Budget(sequences=700), seed=6, resume=part.state, **settings)
    assert part.stopped and part.sequences < whole.sequences

    def comparable(result):
        return {k: v for k, v in result.to_dict().items() if k not in ("seconds", "stopped", "state")}
    assert comparable(resumed) == comparable(whole)


def test_rtrl_refuses_networks_with_time_constants_or_delay_lines_when_made():
    for space in (Architecture.fully_recurrent(1, 2, 1).with_time_constants("free"),
                  Architecture.narx(1, 2, 1, delays=2)):
        with pytest.raises(ValueError, match="without time constants or delay lines"):
            STRATEGIES.create("rtrl", space, np.random.default_rng(0))
