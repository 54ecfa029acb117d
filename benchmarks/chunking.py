"""How the evaluator's chunk size (``evorec.evaluate.CACHE_BYTES``) affects its throughput.

The evaluator cuts a population into chunks whose per-step working arrays (state and
pre-activations) take about ``CACHE_BYTES``.  This script times the workloads of
``evaluator.py`` with several values of that constant, one thread, and prints each time as a
ratio to one chunk holding the whole population (the baseline, measured in the same run).

Usage::

    python benchmarks/chunking.py [--repeats N]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from evaluator import SEED, TOLERANCE, WORKLOADS, best_time, make_batch

import evorec
from evorec.tasks.fitness import MeanSquaredError, WithinTolerance

CACHE_SIZES = (None, 8 * 2**20, 4 * 2**20, 2 * 2**20, 1 * 2**20, 2**19)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per setting (best is kept)")
    args = parser.parse_args(argv)
    module = sys.modules["evorec.evaluate"]
    default = module.CACHE_BYTES
    rng = np.random.default_rng(np.random.SeedSequence(SEED))
    batch = make_batch(rng)
    print(f"default CACHE_BYTES = {default} bytes; times relative to one chunk (lower is faster)")
    labels = ["one chunk" if c is None else f"{c / 2**20:g} MiB" for c in CACHE_SIZES]
    print(f"{'workload':<16}" + "".join(f"{label:>12}" for label in labels))
    try:
        for workload in WORKLOADS:
            arch = evorec.Architecture.fully_recurrent(1, workload.n_hidden, 1)
            pop = evorec.Population.random(arch, workload.size, rng, -1.0, 1.0)
            times = []
            for cache in CACHE_SIZES:
                module.CACHE_BYTES = 2**62 if cache is None else cache
                times.append(best_time(lambda pop=pop: evorec.evaluate(
                    pop, batch, MeanSquaredError(), WithinTolerance(TOLERANCE)), args.repeats).wall)
            print(f"{workload.label:<16}" + "".join(f"{t / times[0]:>12.2f}" for t in times))
    finally:
        module.CACHE_BYTES = default
    return 0


if __name__ == "__main__":
    sys.exit(main())
