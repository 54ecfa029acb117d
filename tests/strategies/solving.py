"""The acceptance check every search strategy shares: solve latch II and parity (25..50)."""

from evorec import Budget, make_problem, search

PROBLEMS = {
    "parity": {"task": "parity", "task_params": {"lengths": (25, 50)}},
    "latch_ii": {"task": "latch", "task_params": {"variant": "II"}},
}


def assert_solves(strategy: str, problem_name: str, seeds: int = 5, at_least: int = 4,
                  evaluations: int = 100_000, **params) -> None:
    """At least ``at_least`` of ``seeds`` searches solve, within the budget, with no training error."""
    problem = make_problem(**PROBLEMS[problem_name])
    results = [search(strategy, problem, Budget(evaluations=evaluations), seed=s, **params) for s in range(seeds)]
    solved = [r for r in results if r.solved]
    assert len(solved) >= at_least, [(r.solved, r.evaluations) for r in results]
    assert all(r.train_error == 0.0 and r.evaluations <= evaluations for r in solved)
