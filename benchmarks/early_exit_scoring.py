"""What judging only the entries an early-stopped network saw buys.

With early exit, the evaluator stops a network at its first wrong training sequence, so most
networks see a few scored entries out of many.  ``evorec.evaluate.judge_entries`` judges the
criterion only on the entries each stopped network saw.  The baseline (measured in the same
run) is the earlier way: judge the whole gathered store, NaN-filled where nothing was seen,
for every network.  The workload is random guessing with early exit on LSTM97's long-lag task
2a (101 one-hot inputs and outputs, every step scored: 10,000 entries x 101 outputs per
network), where that difference dominated.

Usage::

    python benchmarks/early_exit_scoring.py [--networks N] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import time

from evorec.problem import make_problem
from evorec.strategy import Budget, search


def judge_everything(store, seen, complete, judged, criterion):
    """The baseline: the criterion over the whole store of every network."""
    return criterion.entry_correct(store, judged) | ~seen


def timed(problem, networks: int) -> tuple[float, object]:
    start = time.perf_counter()
    result = search("guessing", problem, Budget(evaluations=networks), seed=1, early_exit=True)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=3000, help="networks drawn per timed search")
    parser.add_argument("--repeats", type=int, default=3, help="timed searches per variant (best is kept)")
    args = parser.parse_args(argv)
    problem = make_problem("long_lag", task_params={"variant": "2a"}, seed=1)
    evaluate_module = sys.modules["evorec.evaluate"]  # the package's `evaluate` is the function
    current = evaluate_module.judge_entries
    times = {"judge seen entries (evorec)": [], "judge whole store (baseline)": []}
    results = {}
    for _ in range(args.repeats):
        for label, scorer in (("judge seen entries (evorec)", current),
                              ("judge whole store (baseline)", judge_everything)):
            evaluate_module.judge_entries = scorer
            try:
                seconds, result = timed(problem, args.networks)
            finally:
                evaluate_module.judge_entries = current
            times[label].append(seconds)
            results[label] = (result.best_loss, result.evaluations, result.sequences, result.steps)
    same = len(set(results.values())) == 1
    print(f"guessing with early exit on long_lag 2a, {args.networks} networks, best of {args.repeats}:")
    for label, values in times.items():
        print(f"  {label:<30} {min(values):7.2f} s")
    ratio = min(times["judge seen entries (evorec)"]) / min(times["judge whole store (baseline)"])
    print(f"ratio evorec / baseline: {ratio:.3f}; identical results: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
