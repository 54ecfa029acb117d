"""Throughput of the shared evaluator against the way a DEAP user writes a fitness function.

Workload: ``B = 100`` sequences of ``T = 550`` steps (fixed length), one standard-normal
input, one output, float64, sigmoid hidden and output units, a target (0 or 1) only at the
last step, :class:`evorec.tasks.fitness.MeanSquaredError` as fitness and
:class:`evorec.tasks.fitness.WithinTolerance` (0.1) as criterion.  Three fully recurrent
architectures are timed: ``n = 1`` hidden unit with ``P = 1000`` networks, ``n = 10`` with
``P = 1000`` and ``n = 32`` with ``P = 200``.

Compared:

(a) :func:`evorec.evaluate` with the default ``n_jobs=1``, and again with ``n_jobs=2``
    (two threads, reported in its own column);
(b) the baseline: one network at a time, the ``B`` sequences batched in numpy, one
    ``concatenate`` / matrix product / ``scipy.special.expit`` per unit group and step, the
    MSE at the end.  It uses the same ``W_h`` and ``W_y`` arrays as (a), and the script fails
    if the losses of (a) and (b) differ (``rtol=1e-9``, ``atol=0``).

The metric is network-steps per second: one network processing one time step of one
sequence, so an evaluation is ``P * B * T`` network-steps.  Every timing is the best (min)
wall time of a few repeats, measured with :func:`time.perf_counter`.  The baseline is timed
on the first networks of the population only (see ``--baseline-networks``) and its
throughput is per network-step, so it does not depend on ``P``.

Also printed: the fraction of this machine's float64 matrix-multiply peak (a large ``A @ B``
measured in the same run, default BLAS threads) that the evaluator reaches, counting as
useful work ``2 * P * B * T * (n * D + D)`` flops per evaluation (the multiply-adds of the two
weight matrices, ``D = 1 + 1 + n + 1``); and the evaluator's peak memory during a call, by
:mod:`tracemalloc`, beside its memory budget.

Usage::

    python benchmarks/evaluator.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pprint import pformat

import numpy as np
import scipy
import threadpoolctl
from scipy.special import expit

import evorec
from evorec.evaluate import DEFAULT_MEMORY_BUDGET
from evorec.tasks.fitness import MeanSquaredError, WithinTolerance

SEED = 20_261_125
B = 100
T = 550
TOLERANCE = 0.1
RTOL = 1e-9
MIB = 2**20
SMALL_BUDGET = 4 * MIB
TIGHT_BUDGET = 1 * MIB  # a budget that forces smaller chunks than the cache-sized default
PEAK_SIZE = 2000


@dataclass(frozen=True)
class Workload:
    """One benchmarked configuration.

    Attributes
    ----------
    n_hidden : int
        Hidden units of the fully recurrent architecture.
    size : int
        Population size ``P``.
    target : float
        Wanted throughput ratio evaluator / baseline (single thread).
    """

    n_hidden: int
    size: int
    target: float

    @property
    def label(self) -> str:
        return f"n={self.n_hidden}, P={self.size}"

    @property
    def n_units(self) -> int:
        """``D = 1 + n_in + n_hidden + n_out``."""
        return 1 + 1 + self.n_hidden + 1

    @property
    def network_steps(self) -> int:
        """Network-steps of one evaluation of the whole population: ``P * B * T``."""
        return self.size * B * T

    @property
    def flops(self) -> int:
        """Useful flops of one evaluation: multiply-adds of ``W_h`` and ``W_y``."""
        return 2 * self.network_steps * (self.n_hidden * self.n_units + 1 * self.n_units)


WORKLOADS = (Workload(1, 1000, 20.0), Workload(10, 1000, 4.0), Workload(32, 200, 3.0))


@dataclass(frozen=True)
class Result:
    """Measurements of one workload (memory in bytes).

    ``one``, ``two`` and ``base`` time the evaluator with ``n_jobs=1``, with ``n_jobs=2`` and
    the baseline (on its ``baseline_networks`` first networks).
    """

    workload: Workload
    one: Timing
    two: Timing
    baseline_networks: int
    base: Timing
    max_rel_diff: float
    memory: dict[tuple[int, int], int]

    @property
    def rate_1(self) -> float:
        return self.workload.network_steps / self.one.wall

    @property
    def rate_2(self) -> float:
        return self.workload.network_steps / self.two.wall

    @property
    def baseline_rate(self) -> float:
        return self.baseline_networks * B * T / self.base.wall


# ------------------------------------------------------------------------------ helpers
def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine have been busy since boot (Linux ``/proc/stat``).

    Returns
    -------
    float
        NaN where ``/proc/stat`` cannot be read.
    """
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return float("nan")
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
    ticks = [int(v) for v in fields[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Timing:
    """The fastest of a few calls.

    Attributes
    ----------
    wall : float
        Seconds of :func:`time.perf_counter`.
    cpu : float
        Seconds of :func:`time.process_time` (all threads of this process) in the same call;
        ``cpu / wall`` is about the number of cores this process kept busy.
    other : float
        CPU seconds other processes used during the same call (from ``/proc/stat``, 10 ms
        resolution); well above 0 means the measurement shared the machine.
    """

    wall: float
    cpu: float
    other: float


def best_time(fn: Callable[[], object], repeats: int) -> Timing:
    """Fastest wall time of ``repeats`` calls of ``fn``, with that call's CPU times.

    Parameters
    ----------
    fn : callable
        Called without arguments; its result is discarded.
    repeats : int
        Number of timed calls.

    Returns
    -------
    Timing
    """
    best = Timing(float("inf"), float("nan"), float("nan"))
    for _ in range(repeats):
        busy, cpu, wall = system_busy_seconds(), time.process_time(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        busy = system_busy_seconds() - busy
        if wall < best.wall:
            best = Timing(wall, cpu, max(0.0, busy - cpu))
    return best


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak of the memory traced by :mod:`tracemalloc` during one call of ``fn``.

    Parameters
    ----------
    fn : callable
        Called once, without arguments.

    Returns
    -------
    int
        Bytes above what was traced when the call started (numpy reports its array buffers
        to tracemalloc, so they are included).
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - before


def matmul_peak(rng: np.random.Generator, repeats: int, size: int = PEAK_SIZE) -> tuple[float, Timing]:
    """float64 matrix-multiply rate of this machine, in flop/s (default BLAS threads).

    Parameters
    ----------
    rng : numpy.random.Generator
    repeats : int
        Timed products; the best is kept (after one untimed warm-up product).
    size : int, default 2000
        Side of the square matrices.

    Returns
    -------
    rate : float
    timing : Timing
        Of the fastest product.
    """
    a = rng.standard_normal((size, size))
    b = rng.standard_normal((size, size))
    out = np.empty((size, size))
    np.matmul(a, b, out=out)
    timing = best_time(lambda: np.matmul(a, b, out=out), repeats)
    return 2.0 * size**3 / timing.wall, timing


def make_batch(rng: np.random.Generator) -> evorec.SequenceBatch:
    """``B`` standard-normal sequences of ``T`` steps with a 0/1 target at the last step.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    evorec.SequenceBatch
    """
    inputs = rng.standard_normal((B, T, 1))
    targets = np.zeros((B, T, 1))
    targets[:, -1, 0] = rng.integers(0, 2, size=B)
    mask = np.zeros((B, T), dtype=bool)
    mask[:, -1] = True
    return evorec.SequenceBatch(inputs, targets, mask, np.full(B, T, dtype=np.int64))


# ----------------------------------------------------------------------------- baseline
def baseline_loss(W_h: np.ndarray, W_y: np.ndarray, x: np.ndarray, target: np.ndarray) -> float:
    """MSE of one network, the ``B`` sequences batched in numpy: a DEAP-style fitness.

    Parameters
    ----------
    W_h : ndarray, shape (n, D)
        Hidden weights over ``[1, x_t, h_{t-1}, y_{t-1}]``.
    W_y : ndarray, shape (1, D)
        Output weights over ``[1, x_t, h_t, y_{t-1}]``.
    x : ndarray, shape (B, T, 1)
        Inputs.
    target : ndarray, shape (B, 1)
        Targets at the last step.

    Returns
    -------
    float
    """
    n_seq, n_steps, _ = x.shape
    ones = np.ones((n_seq, 1))
    h = np.zeros((n_seq, W_h.shape[0]))
    y = np.zeros((n_seq, 1))
    for t in range(n_steps):
        s = np.concatenate([ones, x[:, t], h, y], axis=1)
        h = expit(s @ W_h.T)
        s = np.concatenate([ones, x[:, t], h, y], axis=1)
        y = expit(s @ W_y.T)
    return float(np.mean((y - target) ** 2))


def baseline(W_h: np.ndarray, W_y: np.ndarray, x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """:func:`baseline_loss` of each network in turn.

    Parameters
    ----------
    W_h : ndarray, shape (P, n, D)
    W_y : ndarray, shape (P, 1, D)
    x : ndarray, shape (B, T, 1)
    target : ndarray, shape (B, 1)

    Returns
    -------
    ndarray, shape (P,)
    """
    return np.array([baseline_loss(W_h[i], W_y[i], x, target) for i in range(W_h.shape[0])])


# ---------------------------------------------------------------------------- measuring
def run_workload(workload: Workload, batch: evorec.SequenceBatch, rng: np.random.Generator,
                 repeats: int, baseline_repeats: int, baseline_networks: int) -> Result:
    """Time, check and measure the memory of one workload.

    Parameters
    ----------
    workload : Workload
    batch : evorec.SequenceBatch
    rng : numpy.random.Generator
        Draws the population's weights.
    repeats, baseline_repeats : int
        Timed calls of the evaluator (per ``n_jobs``) and of the baseline.
    baseline_networks : int
        The baseline is run on the first this-many networks only.

    Returns
    -------
    Result

    Raises
    ------
    RuntimeError
        If the evaluator and the baseline disagree, or ``n_jobs=2`` changes the losses.
    """
    arch = evorec.Architecture.fully_recurrent(1, workload.n_hidden, 1)
    population = evorec.Population.random(arch, workload.size, rng, -1.0, 1.0)
    fitness, criterion = MeanSquaredError(), WithinTolerance(TOLERANCE)

    def run(n_jobs: int = 1, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> evorec.Evaluation:
        return evorec.evaluate(population, batch, fitness, criterion, n_jobs=n_jobs,
                               memory_budget=memory_budget)

    # Untimed first calls: warm-up, and the losses to check.
    loss_1, loss_2 = run(1).loss, run(2).loss
    if not np.array_equal(loss_1, loss_2):
        raise RuntimeError(f"{workload.label}: evaluate(n_jobs=2) gives other losses than n_jobs=1")
    one = best_time(lambda: run(1), repeats)
    two = best_time(lambda: run(2), repeats)

    k = min(baseline_networks, workload.size)
    x, target = batch.inputs, batch.targets[:, -1]
    W_h, W_y = population.W_h[:k], population.W_y[:k]
    reference = baseline(W_h, W_y, x, target)
    if not np.allclose(loss_1[:k], reference, rtol=RTOL, atol=0.0):
        worst = int(np.argmax(np.abs(loss_1[:k] - reference) / np.abs(reference)))
        raise RuntimeError(f"{workload.label}: evaluator and baseline disagree (rtol={RTOL}); network "
                           f"{worst}: evaluator {float(loss_1[worst])!r}, baseline {float(reference[worst])!r}")
    max_rel_diff = float(np.max(np.abs(loss_1[:k] - reference) / np.abs(reference)))
    base = best_time(lambda: baseline(W_h, W_y, x, target), baseline_repeats)

    memory = {(budget, n_jobs): peak_memory(lambda b=budget, j=n_jobs: run(j, b))
              for budget in (DEFAULT_MEMORY_BUDGET, SMALL_BUDGET, TIGHT_BUDGET) for n_jobs in (1, 2)}
    return Result(workload, one, two, k, base, max_rel_diff, memory)


# ----------------------------------------------------------------------------- printing
def print_environment() -> None:
    """Python, numpy, scipy and BLAS versions, the OpenBLAS variables and the load."""
    print("Environment")
    print(f"  python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"evorec {evorec.__version__}")
    print(f"  machine: {platform.machine()}, os.cpu_count() = {os.cpu_count()}, "
          f"load average at start (1/5/15 min) = {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        print(f"  {name} = {os.environ.get(name, '(unset)')}")
    print("  threadpoolctl.threadpool_info():")
    print("    " + pformat(threadpoolctl.threadpool_info()).replace("\n", "\n    "))
    print()


def print_tables(results: list[Result], peak: float, peak_timing: Timing, baseline_networks: int) -> None:
    """The throughput, flop-rate and memory tables."""
    mega = 1e6
    print(f"Throughput, million network-steps per second (one network, one sequence, one step; "
          f"an evaluation is P*B*T with B={B}, T={T}).")
    print("  (a)     = evorec.evaluate, default n_jobs=1 (1 thread)")
    print("  (a) x2  = evorec.evaluate, n_jobs=2 (2 threads)")
    print(f"  (b)     = baseline, one network at a time, timed on the first {baseline_networks} networks "
          "of each population, scaled per network-step")
    header = (f"{'workload':<16}{'(a) s/eval':>11}{'(a)':>9}{'(a) x2':>9}{'(b)':>9}"
              f"{'(a)/(b)':>9}{'target':>8}{'met':>5}{'(a)x2/(b)':>11}{'met':>5}")
    print(header)
    print("-" * len(header))
    for r in results:
        ratio_1, ratio_2 = r.rate_1 / r.baseline_rate, r.rate_2 / r.baseline_rate
        print(f"{r.workload.label:<16}{r.one.wall:>11.3f}{r.rate_1 / mega:>9.2f}{r.rate_2 / mega:>9.2f}"
              f"{r.baseline_rate / mega:>9.3f}{ratio_1:>8.1f}x{r.workload.target:>7.0f}x"
              f"{'yes' if ratio_1 >= r.workload.target else 'NO':>5}{ratio_2:>10.1f}x"
              f"{'yes' if ratio_2 >= r.workload.target else 'NO':>5}")
    print()
    print("Cores this process kept busy during the fastest call (CPU time / wall time), and CPU seconds")
    print("used meanwhile by other processes (should be ~0: otherwise the timing shared the machine):")
    for r in results:
        print(f"  {r.workload.label:<16}" + "   ".join(
            f"{name} {t.cpu / t.wall:.2f} (others {t.other:.2f} s of {t.wall:.2f} s)"
            for name, t in (("(a)", r.one), ("(a) x2", r.two), ("(b)", r.base))))
    print()
    print("Agreement of (a) and (b) on the baseline's networks (np.allclose, rtol=1e-9, atol=0):")
    for r in results:
        print(f"  {r.workload.label:<16} {r.baseline_networks} networks agree, "
              f"max relative difference {r.max_rel_diff:.1e}")
    print()

    giga = 1e9
    print(f"Fraction of the float64 matmul peak: peak = {peak / giga:.1f} GFLOP/s "
          f"({PEAK_SIZE}x{PEAK_SIZE} A @ B, default BLAS threads, best of the repeats;")
    print(f"  {peak_timing.cpu / peak_timing.wall:.2f} cores busy, others used {peak_timing.other:.2f} s "
          f"of {peak_timing.wall:.2f} s).")
    print("  useful flops per evaluation = 2*P*B*T*(n*D + D), D = n + 3")
    header = (f"{'workload':<16}{'GFLOP/eval':>11}{'(a) GFLOP/s':>13}{'of peak':>9}"
              f"{'(a) x2 GFLOP/s':>16}{'of peak':>9}")
    print(header)
    print("-" * len(header))
    for r in results:
        rate_1, rate_2 = r.workload.flops / r.one.wall, r.workload.flops / r.two.wall
        print(f"{r.workload.label:<16}{r.workload.flops / giga:>11.2f}{rate_1 / giga:>13.2f}"
              f"{rate_1 / peak:>9.1%}{rate_2 / giga:>16.2f}{rate_2 / peak:>9.1%}")
    print()

    print("Evaluator peak memory during one call (tracemalloc, MiB), beside the memory budget:")
    header = f"{'workload':<16}{'budget MiB':>11}{'n_jobs=1':>10}{'n_jobs=2':>10}  under budget?"
    print(header)
    print("-" * len(header))
    for r in results:
        for budget in (DEFAULT_MEMORY_BUDGET, SMALL_BUDGET, TIGHT_BUDGET):
            one, two = r.memory[budget, 1], r.memory[budget, 2]
            verdict = ", ".join(f"n_jobs={j}: {'yes' if m <= budget else 'NO'}" for j, m in ((1, one), (2, two)))
            print(f"{r.workload.label:<16}{budget / MIB:>11.0f}{one / MIB:>10.2f}{two / MIB:>10.2f}  {verdict}")
    print()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (2 instead of 5, baseline 1 instead of 3)")
    parser.add_argument("--baseline-networks", type=int, default=100,
                        help="networks the baseline is run and timed on (default: 100)")
    args = parser.parse_args(argv)
    repeats, baseline_repeats = (2, 1) if args.quick else (5, 3)

    print_environment()
    print(f"Repeats: evaluator best of {repeats} per column, baseline best of {baseline_repeats}, "
          f"matmul peak best of {repeats}{' (--quick)' if args.quick else ''}.")
    print()
    seeds = np.random.SeedSequence(SEED).spawn(2 + len(WORKLOADS))
    rngs = [np.random.default_rng(s) for s in seeds]
    start_busy, start_cpu, start_wall = system_busy_seconds(), time.process_time(), time.perf_counter()
    peak, peak_timing = matmul_peak(rngs[0], repeats)
    batch = make_batch(rngs[1])
    results = [run_workload(w, batch, rng, repeats, baseline_repeats, args.baseline_networks)
               for w, rng in zip(WORKLOADS, rngs[2:], strict=True)]
    print_tables(results, peak, peak_timing, args.baseline_networks)
    wall = time.perf_counter() - start_wall
    others = system_busy_seconds() - start_busy - (time.process_time() - start_cpu)
    print(f"Whole run: {wall:.1f} s wall; other processes used {max(0.0, others):.1f} CPU seconds meanwhile.")
    print(f"Load average at end (1/5/15 min) = {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
