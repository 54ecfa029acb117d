"""Every registered strategy: stopped after k batches and resumed in a fresh process, a search
ends exactly as an uninterrupted one; and NaN or infinite losses do not break it."""

import json
import subprocess
import sys

import numpy as np
import pytest

from evorec import STRATEGIES, Budget, make_problem, search

#: Small settings per strategy, so each search runs for several batches in well under a second.
SETTINGS = {
    "guessing": {"batch_size": 50},
    "annealing": {"chains": 4, "N_s": 2, "N_T": 2},
    "multigrid": {"batch_size": 16, "K": 32},
    "gnarl": {"population": 20, "max_hidden": 3},
    "cmaes": {"population_size": 12},
    "bptt": {"check_every": 5},
    "lstm": {"check_every": 5, "n_blocks": 1, "n_cells": 1},
}
PROBLEM = {"task": "parity", "task_params": {"lengths": (6, 10)}, "train_size": 20, "test_size": 20, "seed": 4}
BUDGET = {"evaluations": 600}
RESUME_SCRIPT = """
import json, sys
from evorec import Budget, make_problem, search
args = json.load(open(sys.argv[1]))
settings = args["problem"]
settings["task_params"] = {"lengths": tuple(settings["task_params"]["lengths"])}
problem = make_problem(**settings)
result = search(args["name"], problem, Budget(**args["budget"]), seed=3, resume=args["state"], **args["params"])
json.dump(result.to_dict(), open(sys.argv[2], "w"))
"""


def _comparable(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("seconds", "stopped", "state")}


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_stop_and_resume_in_a_fresh_process_ends_as_an_uninterrupted_search(name, tmp_path):
    params = SETTINGS.get(name, {})
    problem = make_problem(**PROBLEM)
    whole = search(name, problem, Budget(**BUDGET), seed=3, **params)
    assert whole.evaluations > 0
    part = search(name, problem, Budget(**BUDGET), seed=3, stop_after=3, **params)
    assert part.stopped, f"{name} finished within 3 batches; the test needs a longer search"
    assert part.evaluations < whole.evaluations
    args = {"problem": PROBLEM, "budget": BUDGET, "name": name, "params": params,
            "state": json.loads(json.dumps(part.state))}  # plain data: it survives JSON
    (tmp_path / "args.json").write_text(json.dumps(args))
    subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(tmp_path / "args.json"), str(tmp_path / "out.json")],
                   check=True, timeout=120)
    resumed = json.loads((tmp_path / "out.json").read_text())
    assert _comparable(resumed) == _comparable(json.loads(json.dumps(whole.to_dict())))


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_nan_and_infinite_losses_are_handled(name):
    problem = make_problem(**PROBLEM)
    strategy = STRATEGIES.create(name, problem.architecture, np.random.default_rng(0), **SETTINGS.get(name, {}))
    strategy.worst_loss = problem.worst_loss  # as search() does before the first ask
    strategy.bind(problem)
    for round_ in range(4):
        candidates = strategy.ask()
        losses = np.random.default_rng(round_).uniform(0, 0.5, size=len(candidates))
        kind = (np.arange(len(candidates)) + round_) % 3  # rotates, so one-candidate strategies see all kinds
        losses[kind == 0] = np.nan
        losses[kind == 1] = np.inf
        strategy.tell(candidates, losses)
    assert np.isfinite(strategy.best_loss)
