"""The ant on the Santa Fe trail (docs/literature.md, "Ant problem"), and the network step function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import evorec
from evorec.network import Architecture, Population
from evorec.problem import make_problem
from evorec.stepper import Stepper
from evorec.strategy import Budget, search

TRAIL_FILE = Path(__file__).resolve().parents[2] / "tasks" / "data" / "santafe_trail.txt"


def reference_run(lines: list[str], policy, max_steps: int) -> tuple[int, int]:
    """A plain, one-ant simulation written from the definition: food eaten and steps used.

    ``policy(food_ahead, t)`` returns "move", "left", "right" or "nothing".
    """
    food = {(r, c) for r, line in enumerate(lines) for c, ch in enumerate(line) if ch == "#"}
    total = len(food)
    (r, c), = [(r, line.index("S")) for r, line in enumerate(lines) if "S" in line]
    n_rows, n_cols = len(lines), len(lines[0])
    dr, dc = 0, 1  # facing east
    eaten = 0
    for t in range(max_steps):
        if eaten == total:
            return eaten, t
        ahead = ((r + dr) % n_rows, (c + dc) % n_cols)
        action = policy(ahead in food, t)
        if action == "move":
            r, c = ahead
            if ahead in food:
                food.remove(ahead)
                eaten += 1
        elif action == "right":  # east -> south -> west -> north (rows grow southwards)
            dr, dc = dc, -dr
        elif action == "left":
            dr, dc = -dc, dr
    return eaten, max_steps


def trail_lines() -> list[str]:
    return [line for line in TRAIL_FILE.read_text().splitlines() if line]


def linear_controller(W_y_rows: np.ndarray) -> Population:
    """A net without hidden units whose four linear outputs are W_y_rows @ [1, food, no food]."""
    arch = Architecture(2, 0, 4, output="linear")
    W_y = np.zeros((4, arch.n_units))
    W_y[:, :3] = W_y_rows
    return Population.from_weights(arch, np.zeros((1, 0, arch.n_units)), W_y[None])


ALWAYS_MOVE = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], dtype=float)
# Move when food is ahead, else turn right.
FOLLOW_RIGHT = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=float) - 0.5
# Move when food is ahead, else turn left.
FOLLOW_LEFT = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=float) - 0.5


def test_the_shipped_trail_is_the_santa_fe_trail():
    task = evorec.make_task("ant")
    assert task.food == 89
    assert task._grid.shape == (32, 32)
    assert task._start == (0, 0)
    assert (task.max_steps, task.n_in, task.n_out) == (200, 2, 4)
    assert evorec.make_fitness("food_missed").worst_for(task.sample(1, None).scored_targets()[0], -1, 1) == 89


@pytest.mark.parametrize(("rows", "policy"), [
    (ALWAYS_MOVE, lambda food, t: "move"),
    (FOLLOW_RIGHT, lambda food, t: "move" if food else "right"),
    (FOLLOW_LEFT, lambda food, t: "move" if food else "left"),
])
@pytest.mark.parametrize("max_steps", [200, 600])
def test_hand_written_controllers_eat_what_a_plain_simulation_says(rows, policy, max_steps):
    task = evorec.make_task("ant", max_steps=max_steps)
    eaten, steps = task.run(linear_controller(rows), n_episodes=2)
    expected_eaten, expected_steps = reference_run(trail_lines(), policy, max_steps)
    assert eaten.tolist() == [[expected_eaten] * 2]
    assert steps.tolist() == [[expected_steps] * 2]
    problem = make_problem("ant", train_size=1, test_size=1, task_params={"max_steps": max_steps},
                           architecture=Architecture(2, 0, 4, output="linear"))
    evaluation = problem.evaluate(linear_controller(rows))
    assert evaluation.loss.tolist() == [89 - expected_eaten]
    assert evaluation.steps.tolist() == [expected_steps] and evaluation.sequences.tolist() == [1]


def oscillating_controller() -> Population:
    """Move onto food; otherwise move at even steps and turn right at odd ones.

    A linear hidden unit h_t = 1 - h_{t-1} gives 1, 0, 1, ... from h_0 = 0; the outputs are
    MOVE = -0.5 + 2 food + h, RIGHT = no_food - h, LEFT = NOTHING = -10.
    """
    arch = Architecture(2, 1, 4, hidden="linear", output="linear")
    W_h = np.zeros((1, arch.n_units))
    W_h[0, [0, 3]] = [1, -1]
    W_y = np.zeros((4, arch.n_units))
    W_y[0, :4] = [-0.5, 2, 0, 1]
    W_y[1, 0] = W_y[3, 0] = -10
    W_y[2, :4] = [0, 0, 1, -1]
    return Population.from_weights(arch, W_h[None], W_y[None])


@pytest.mark.parametrize("max_steps", [200, 600])
def test_a_recurrent_hand_written_controller_eats_what_a_plain_simulation_says(max_steps):
    expected = reference_run(trail_lines(), lambda food, t: "move" if food else ("move" if t % 2 == 0 else "right"),
                             max_steps)
    eaten, steps = evorec.make_task("ant", max_steps=max_steps).run(oscillating_controller())
    assert (eaten[0, 0], steps[0, 0]) == expected
    assert expected[0] not in (3, 11)  # differs from what the memoryless controllers above eat


def test_always_move_eats_the_three_cells_east_of_the_start():
    eaten, steps = evorec.make_task("ant").run(linear_controller(ALWAYS_MOVE))
    assert eaten.tolist() == [[3]] and steps.tolist() == [[200]]


def test_an_ant_that_eats_everything_solves_and_stops_early(monkeypatch):
    task = evorec.make_task("ant")
    grid = np.zeros((32, 32), dtype=bool)
    grid[0, 1:6] = True  # five cells straight ahead
    monkeypatch.setattr(task, "_grid", grid)
    problem = make_problem(task, architecture=Architecture(2, 0, 4, output="linear"), train_size=2, test_size=1)
    evaluation = problem.evaluate(linear_controller(ALWAYS_MOVE))
    assert evaluation.loss.tolist() == [0.0] and evaluation.solved.tolist() == [True]
    assert evaluation.steps.tolist() == [2 * 5]  # five moves per episode, two episodes
    result = search("guessing", problem, Budget(evaluations=5000), seed=0)
    assert result.solved


def test_population_stepping_together_equals_one_network_at_a_time():
    task = evorec.make_task("ant")
    arch = task.default_architecture()
    rng = np.random.default_rng(3)
    population = Population.from_params(arch, rng.uniform(-2, 2, (40, arch.n_params)))
    together, steps = task.run(population, n_episodes=2)
    assert np.all(together[:, 0] == together[:, 1])
    alone = np.array([task.run(population[i:i + 1])[0][0, 0] for i in range(40)])
    np.testing.assert_array_equal(together[:, 0], alone)
    assert len(set(alone.tolist())) > 3  # the nets really differ
    problem = make_problem("ant", train_size=1, test_size=1, memory_budget=50_000)  # forces many chunks
    np.testing.assert_array_equal(problem.evaluate(population).loss, 89 - alone)


def test_stepper_matches_the_sequence_evaluators_forward_pass():
    rng = np.random.default_rng(5)
    for hidden, output, update in [("sigmoid", "sigmoid", "hidden_first"), ("tanh", "linear", "hidden_first"),
                                   ("linear", "tanh", "hidden_first"), ("sigmoid", "tanh", "synchronous")]:
        arch = Architecture.fully_recurrent(2, 3, 2, hidden=hidden, output=output, update=update)
        population = Population.from_params(arch, rng.uniform(-2, 2, (6, arch.n_params)))
        inputs = rng.normal(size=(4, 12, 2))
        expected = evorec.forward(population, inputs)  # (P, B, T, n_out)
        stepper = Stepper(population, n_envs=4)
        got = np.stack([stepper.step(inputs[:, t].T[None]) for t in range(12)], axis=2)  # (P, n_out, T, B)
        np.testing.assert_allclose(got.transpose(0, 3, 2, 1), expected, rtol=1e-12, atol=1e-12)
        stepper.reset()
        np.testing.assert_allclose(stepper.step(inputs[:, 0].T[None]).transpose(0, 2, 1), expected[:, :, 0])


def test_non_finite_outputs_do_nothing_and_score_a_finite_worst():
    population = linear_controller(np.full((4, 3), np.nan))
    eaten, _ = evorec.make_task("ant").run(population)
    assert eaten.tolist() == [[0]]
    problem = make_problem("ant", architecture=Architecture(2, 0, 4, output="linear"), train_size=1, test_size=1)
    assert problem.evaluate(population).loss.tolist() == [89.0]


def test_search_runs_on_the_ant_and_gradient_strategies_refuse_it():
    problem = make_problem("ant", train_size=1, test_size=1, seed=0)
    result = search("gnarl", problem, Budget(evaluations=2000), seed=0)
    assert 0 <= result.best_loss < 89
    with pytest.raises(ValueError, match="closed-loop"):
        search("bptt", problem, Budget(sequences=10), seed=0)


@pytest.mark.parametrize(("params", "field"), [({"max_steps": 0}, "max_steps"), ({"max_steps": 2.5}, "max_steps"),
                                               ({"trail": "nowhere"}, "trail"), ({"trail": 3}, "trail")])
def test_bad_parameters_name_the_field(params, field):
    with pytest.raises(ValueError, match=field):
        evorec.make_task("ant", **params)
