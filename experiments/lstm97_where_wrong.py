"""Where the lstm97 preset's nets are wrong: the steps of the test sequences, grouped.

The lstm97 experiment's embedded Reber and 2a/2b cells miss; this script shows which steps the
trained nets get wrong.  For each seed it runs the preset for the same budget as
experiments/lstm97.yaml (one run, as ``evorec run`` would, through ``evorec.search``), then
judges every scored step of 256 fresh test sequences by the task's criterion and counts the
wrong steps of two groups: the long-lag step (Reber: the embedding symbol after the inner E;
2a/2b: the final x or y) and all other steps.

    OPENBLAS_CORETYPE=Haswell python experiments/lstm97_where_wrong.py > where_wrong.txt

Options (``--help``): the tasks, seeds and extra lstm parameters (a reading to compare).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from evorec import Budget, make_problem, search
from evorec.registry import STRATEGIES

#: task -> (task parameters, data sizes, budget in sequences, check_every), as in lstm97.yaml.
SET_UPS = {
    "reber": ("embedded_reber", {}, (256, 256), 80_000, 256),
    "2a": ("long_lag", {"variant": "2a", "p": 100}, (20, 20), 40_000, 200),
    "2b": ("long_lag", {"variant": "2b", "p": 100}, (20, 20), 40_000, 200),
}


def long_lag_step(task: str, lengths: np.ndarray) -> np.ndarray:
    """The step that needs the long-term memory: Reber's embedding symbol is the target of the
    next-to-last step (input: the inner E); 2a/2b's final x or y that of the last step."""
    return lengths - 2 if task == "reber" else lengths - 1


def where_wrong(task: str, seed: int, extra: dict) -> dict:
    name, task_params, (train_size, test_size), budget, check_every = SET_UPS[task]
    problem = make_problem(name, task_params=task_params, train_size=train_size, test_size=test_size, seed=seed)
    strategy = STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(seed), preset="lstm97",
                                 check_every=check_every, **extra)
    result = search(strategy, problem, Budget(sequences=budget))
    test = problem.task.sample(256, np.random.default_rng([seed, 1]))
    outputs = strategy.model.forward(strategy.theta, test.inputs, test.lengths)
    _, sequence, step = test.scored_targets()
    right = problem.criterion.entry_correct(outputs[None, sequence, step], test.scored_criterion_targets())[0]
    at_lag = step == long_lag_step(task, test.lengths)[sequence]
    return {"task": task, "seed": seed, "extra": extra, "solved": bool(result.solved),
            "training_sequences": result.info["training_sequences"],
            "wrong_at_long_lag_step": round(float(1 - right[at_lag].mean()), 3) if at_lag.any() else None,
            "wrong_at_other_steps": round(float(1 - right[~at_lag].mean()), 3) if (~at_lag).any() else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(SET_UPS), choices=list(SET_UPS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--extra", type=json.loads, default={}, help="lstm parameters as JSON, e.g. '{\"lr\": 0.1}'")
    args = parser.parse_args()
    for task in args.tasks:
        for seed in range(args.seeds):
            print(json.dumps(where_wrong(task, seed, args.extra)), flush=True)


if __name__ == "__main__":
    main()
