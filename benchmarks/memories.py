"""Cost of a network step with time constants or a NARX delay line, against a plain step.

Issue 17 asks that a step of a leaky network (``Architecture(time_constants=...)``) or of a
network with an output delay line (``delays=d``) cost at most 1.5 times a step of the same
network without them, in the shared evaluator.  This script measures that ratio.

Workload: the evaluator benchmark's (``benchmarks/evaluator.py``): ``B = 100`` sequences of
``T = 550`` steps, one standard-normal input, one output, a target at the last step only,
``MeanSquaredError`` and ``WithinTolerance(0.1)``, sigmoid units, weights uniform in
``[-1, 1]`` (free time-constant parameters too); fully recurrent nets of ``n = 1, 10, 32``
hidden units, with fewer networks (``P = 400, 200, 60``) so that the whole script runs in a
few minutes.  Variants of each net, all with ``evorec.evaluate(..., n_jobs=1)``:

* ``plain``: ``Architecture.fully_recurrent(1, n, 1)``, today's network;
* ``tau fixed``: the same with ``time_constants=4`` (every hidden unit leaky);
* ``tau free``: the same with ``time_constants="free"`` (one searched tau per hidden unit);
* ``delays=d`` for d = 2, 4, 8: ``Architecture(1, n, 1, delays=d)``, every unit linked from
  the whole delay line (the densest case: the products grow by ``d - 1`` columns);
* ``narx d=4``, ``narx d=8``: ``Architecture.narx(1, n, 1, delays=d)``: the hidden units
  read the delay line, the outputs do not (so the evaluator leaves it out of their product);
  the evaluator's matrices are dense, so the NARX net's missing links cost as much as present
  ones and it is compared with the same fully recurrent plain net.

Ratios are measured in the same run and interleaved: each repeat times every variant once,
in turn, and each variant keeps its fastest repeat, so that a change of the machine's load
during the run affects all variants alike.  The ratio is the variant's best time over the
plain net's best time (equal ``P``, ``B`` and ``T``, so it is the ratio of costs per
network-step).

Usage::

    python benchmarks/memories.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import evorec
from evorec.tasks.fitness import MeanSquaredError, WithinTolerance

SEED = 20_261_130
B = 100
T = 550
WORKLOADS = ((1, 400), (10, 200), (32, 60))
LIMIT = 1.5


def variants(n: int) -> dict[str, evorec.Architecture]:
    """The architectures compared for ``n`` hidden units, the plain one first."""
    plain = evorec.Architecture.fully_recurrent(1, n, 1)
    return {
        "plain": plain,
        "tau fixed": plain.with_time_constants(4.0),
        "tau free": plain.with_time_constants("free"),
        "delays=2": evorec.Architecture(1, n, 1, delays=2),
        "delays=4": evorec.Architecture(1, n, 1, delays=4),
        "delays=8": evorec.Architecture(1, n, 1, delays=8),
        "narx d=4": evorec.Architecture.narx(1, n, 1, delays=4),
        "narx d=8": evorec.Architecture.narx(1, n, 1, delays=8),
    }


def make_batch(rng: np.random.Generator) -> evorec.SequenceBatch:
    """The evaluator benchmark's batch: a 0/1 target at the last step of each sequence."""
    inputs = rng.standard_normal((B, T, 1))
    targets = np.zeros((B, T, 1))
    targets[:, -1, 0] = rng.integers(0, 2, B)
    mask = np.zeros((B, T), dtype=bool)
    mask[:, -1] = True
    return evorec.SequenceBatch(inputs, targets, mask, np.full(B, T))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (each times every variant once)")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    batch = make_batch(rng)
    fitness, criterion = MeanSquaredError(), WithinTolerance(0.1)
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, numpy {np.__version__}, "
          f"load average before: {os.getloadavg()}")
    worst = 0.0
    for n, P in WORKLOADS:
        archs = variants(n)
        pops = {name: evorec.Population.random(arch, P, rng, -1.0, 1.0) for name, arch in archs.items()}
        calls = {name: (lambda pop=pop: evorec.evaluate(pop, batch, fitness, criterion)) for name, pop in pops.items()}
        for call in calls.values():  # warm-up, untimed
            call()
        best = dict.fromkeys(calls, float("inf"))
        for _ in range(args.repeats):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                best[name] = min(best[name], time.perf_counter() - start)
        plain = best["plain"]
        print(f"\nn={n}, P={P}: plain {P * B * T / plain / 1e6:.1f} M network-steps/s")
        for name, seconds in best.items():
            ratio = seconds / plain
            worst = max(worst, ratio) if name != "plain" else worst
            print(f"  {name:10s} {P * B * T / seconds / 1e6:7.1f} M/s   ratio {ratio:.2f}")
    print(f"\nload average after: {os.getloadavg()}; largest ratio {worst:.2f} (limit {LIMIT})")


if __name__ == "__main__":
    main()
