"""Problem.loss: one network's loss, through the same evaluator as Problem.evaluate."""

import numpy as np
import pytest

from evorec import make_problem


@pytest.fixture(scope="module")
def latch_ii():
    return make_problem("latch", task_params={"variant": "II", "lengths": (20, 30)}, seed=0)


@pytest.fixture(scope="module")
def parity():
    return make_problem("parity", task_params={"lengths": (10, 20)}, seed=1)


@pytest.fixture(scope="module")
def ant():
    # Closed loop: Problem.evaluate hands it to the task's own evaluator, so loss must too.
    return make_problem("ant", train_size=1, test_size=1, task_params={"max_steps": 50})


@pytest.mark.parametrize("fixture", ["latch_ii", "parity", "ant"])
@pytest.mark.parametrize("data", ["train", "test"])
def test_loss_is_evaluates_loss_for_the_same_row(fixture, data, request):
    problem = request.getfixturevalue(fixture)
    rows = np.random.default_rng(7).uniform(-10, 10, size=(6, problem.architecture.n_params))
    expected = problem.evaluate(rows, data=data).loss
    got = [problem.loss(row, data=data) for row in rows]
    assert all(type(loss) is float for loss in got)
    np.testing.assert_array_equal(got, expected)
    assert len(set(got)) > 1  # the rows are told apart, so a mixed-up row would show


def test_loss_scores_the_asked_set(latch_ii):
    theta = np.array([0.5, 3.0, 1.5])
    assert latch_ii.loss(theta, data="train") != latch_ii.loss(theta, data="test")
    assert latch_ii.loss(theta) == latch_ii.loss(theta, data="train")


def test_loss_takes_lists_and_scores_non_finite_outputs_without_raising(latch_ii):
    assert latch_ii.loss([0.0, 0.0, 0.0]) == 1.0  # output 0 against targets +-1
    # The fitness's worst value (unbounded mse: inf), as evaluate gives it: an optimiser in a
    # user's loop sees the worst loss, never an exception.
    nan_net = np.array([np.nan, 0.0, 0.0])
    assert latch_ii.loss(nan_net) == latch_ii.evaluate(nan_net[None]).loss[0] >= latch_ii.worst_loss


@pytest.mark.parametrize("theta, shape", [
    (np.zeros((1, 3)), "(1, 3)"),
    (np.zeros((2, 3)), "(2, 3)"),
    (np.zeros(4), "(4,)"),
    (np.zeros(2), "(2,)"),
    (0.5, "()"),
])
def test_loss_refuses_anything_but_one_vector_of_n_params(latch_ii, theta, shape):
    message = rf"^theta must have problem.architecture.n_params = 3 values; got an array of shape {shape}$"
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        latch_ii.loss(theta)


def test_loss_refuses_an_unknown_set(latch_ii):
    with pytest.raises(ValueError, match="data must be 'train' or 'test'; got 'valid'"):
        latch_ii.loss(np.zeros(3), data="valid")
