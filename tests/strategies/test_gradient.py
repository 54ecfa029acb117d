import numpy as np
import pytest

import evorec
from evorec import Budget, make_problem, search
from evorec.rnn import loss_and_grad


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
