"""What the strategy tests share: small settings per strategy, and the acceptance check (solve
latch II and parity 25..50)."""

from evorec import Budget, make_problem, search

#: Small settings per strategy, so each search runs for several batches in well under a second.
SMALL_SETTINGS = {
    "guessing": {"batch_size": 50},
    "annealing": {"chains": 4, "N_s": 2, "N_T": 2},
    "multigrid": {"batch_size": 16, "K": 32},
    "gnarl": {"population": 20, "max_hidden": 3},
    "cmaes": {"population_size": 12},
    "bptt": {"check_every": 5},
    "rtrl": {"check_every": 5},
    "pseudo_newton": {"check_every": 5},
    "lstm": {"check_every": 5, "n_blocks": 1, "n_cells": 1},
    "nevergrad": {"population": 8},
    "pycma": {"popsize": 6},
}

PROBLEMS = {
    "parity": {"task": "parity", "task_params": {"lengths": (25, 50)}},
    "latch_ii": {"task": "latch", "task_params": {"variant": "II"}},
    "latch_ii_short": {"task": "latch", "task_params": {"variant": "II", "lengths": (25, 50)}},
}


def assert_solves(strategy: str, problem_name: str, seeds: int = 5, at_least: int = 4,
                  evaluations: int = 100_000, **params) -> None:
    """At least ``at_least`` of ``seeds`` searches solve, within the budget, with no training error."""
    problem = make_problem(**PROBLEMS[problem_name])
    results = [search(strategy, problem, Budget(evaluations=evaluations), seed=s, **params) for s in range(seeds)]
    solved = [r for r in results if r.solved]
    assert len(solved) >= at_least, [(r.solved, r.evaluations) for r in results]
    assert all(r.train_error == 0.0 and r.evaluations <= evaluations for r in solved)
