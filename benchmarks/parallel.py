"""Wall time of one experiment run with ``n_jobs=1`` and with ``n_jobs=2`` (loky backend).

The experiment is built here: a YAML file is written into a temporary folder, loaded with
:func:`evorec.config.load` and run with :func:`evorec.experiment.run`, each time into a fresh
output folder so that no run is skipped.  Workload: random guessing with ``r = 1`` on parity,
sequence lengths 25..50, a fixed budget of evaluations per run.  With weights in ``[-1, 1]``
random guessing does not solve parity, so every run spends its whole budget and the runs do
the same amount of work whatever ``n_jobs`` is (the script counts the solved runs).

Each setting is measured ``--repeats`` times and the fastest is kept, among the measurements
during which other processes used less than 5 % of a core (among all if there are none).
``n_jobs=2`` is measured twice per repeat:

* cold: the loky workers are shut down before the call, so the measured time includes
  starting two worker processes and importing evorec in them -- what a user waits for;
* warm: immediately after the cold call, reusing its workers (no start-up).

The script checks that every measurement gives the same records as the first ``n_jobs=1``
measurement (``runs.jsonl`` compared by ``run_id``, ignoring the wall-clock fields
``seconds`` and ``wall_seconds``) and raises ``RuntimeError`` (non-zero exit) otherwise.

For each call it also prints the CPU seconds used by this process and its children (the
loky workers) and by all other processes of the machine (Linux ``/proc``); the latter should
be about 0, otherwise the measurement shared the machine.

Usage::

    python benchmarks/parallel.py [--runs N] [--evaluations E] [--repeats R]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from evaluator import system_busy_seconds as machine_busy_seconds  # same folder: run as a script
from joblib.externals.loky import get_reusable_executor

from evorec.config import load
from evorec.experiment import run
from evorec.results import RUNS_FILE, TIME_FIELDS, ResultsStore

SEED = 20_261_125
TARGET = 0.6
LENGTHS = (25, 50)
R = 1.0
DEFAULT_RUNS = 12
DEFAULT_EVALUATIONS = 60_000
DEFAULT_REPEATS = 3
#: CPU seconds of other processes, per wall second, above which a call counts as disturbed.
DISTURBED = 0.05


# ------------------------------------------------------------------------- CPU accounting


def process_tree_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of this process and of each of its descendants, by pid.

    Returns
    -------
    dict of int to float
        Empty where ``/proc`` cannot be read.
    """
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    try:
        entries = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return {}
    for name in entries:
        try:
            text = Path("/proc", name, "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        # Fields after the command name (which may hold spaces): state ppid ... utime stime
        rest = text[text.rindex(")") + 2:].split()
        parents[int(name)] = int(rest[1])
        cpu[int(name)] = (int(rest[11]) + int(rest[12])) / tick
    tree, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return {pid: cpu[pid] for pid in tree if pid in cpu}


# --------------------------------------------------------------------------- experiment
def write_experiment(folder: Path, runs: int, evaluations: int) -> Path:
    """Write the benchmark's experiment file into ``folder`` and return its path.

    Parameters
    ----------
    folder : Path
        An existing folder.
    runs : int
        Number of seeds (one run each).
    evaluations : int
        Evaluation budget of every run.
    """
    document = {
        "name": "parallel-benchmark",
        "seed": SEED,
        "seeds": runs,
        "budget": {"evaluations": evaluations},
        "task": {"name": "parity", "params": {"lengths": list(LENGTHS)}},
        "data": {"train_size": 100, "test_size": 100},
        "strategies": [{"name": "guessing", "params": {"r": R}}],
        "parallel": {"n_jobs": 1, "backend": "loky"},
        "output": str(folder / "unused"),
    }
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def comparable(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records by ``run_id``, without the fields that hold wall-clock times."""
    return {record["run_id"]: {k: v for k, v in record.items() if k not in TIME_FIELDS} for record in records}


@dataclass(frozen=True)
class Measurement:
    """One timed call of :func:`evorec.experiment.run`.

    Attributes
    ----------
    label : str
        ``"n_jobs=1"``, ``"n_jobs=2 cold"`` or ``"n_jobs=2 warm"``.
    wall : float
        Seconds of :func:`time.perf_counter` around the call.
    own_cpu : float
        CPU seconds of this process and its children (loky workers) during the call.
    other_cpu : float
        CPU seconds all other processes of the machine used during the call.
    new_processes : int
        Processes this one started during the call (loky workers and helpers).
    run_seconds : float
        Sum of the runs' own ``wall_seconds`` (time inside :func:`evorec.experiment.execute`).
    solved : int
        Runs that solved the task (and so stopped before the end of their budget).
    records : dict
        The records of ``runs.jsonl`` by run id, without wall-clock fields.
    """

    label: str
    wall: float
    own_cpu: float
    other_cpu: float
    new_processes: int
    run_seconds: float
    solved: int
    records: dict[str, dict[str, Any]]

    @property
    def disturbed(self) -> bool:
        return self.other_cpu > DISTURBED * self.wall


def measure(experiment_file: Path, out: Path, n_jobs: int, label: str, runs: int) -> Measurement:
    """Run the experiment once into the fresh folder ``out`` and time it.

    Raises
    ------
    RuntimeError
        When a run failed or was skipped, or the records are not one per run.
    """
    experiment = load(experiment_file)
    before_tree, busy, wall = process_tree_cpu(), machine_busy_seconds(), time.perf_counter()
    outcome = run(experiment, out=str(out), n_jobs=n_jobs, backend="loky")
    wall = time.perf_counter() - wall
    busy = machine_busy_seconds() - busy
    after_tree = process_tree_cpu()
    own = sum(after_tree.values()) - sum(cpu for pid, cpu in before_tree.items() if pid in after_tree)
    if outcome.skipped or outcome.failed or outcome.finished != runs:
        raise RuntimeError(f"{label}: expected {runs} finished runs, got {outcome.finished} finished, "
                           f"{outcome.failed} failed, {outcome.skipped} skipped (folder {out})")
    records, problems = ResultsStore(out).read()
    if problems or len(records) != runs:
        raise RuntimeError(f"{label}: {out / RUNS_FILE} holds {len(records)} records for {runs} runs; {problems}")
    return Measurement(label, wall, own, max(0.0, busy - own), len(set(after_tree) - set(before_tree)),
                       sum(r["wall_seconds"] for r in records), sum(bool(r["solved"]) for r in records),
                       comparable(records))


def shutdown_workers() -> None:
    """Stop the loky workers joblib keeps for reuse, so that the next call starts new ones."""
    get_reusable_executor().shutdown(wait=True)


def best_of(measurements: list[Measurement]) -> Measurement:
    """The fastest measurement among those that did not share the machine (among all if none)."""
    clean = [m for m in measurements if not m.disturbed]
    return min(clean or measurements, key=lambda m: m.wall)


def check_same(reference: Measurement, other: Measurement) -> None:
    """Raise ``RuntimeError`` unless ``other`` has the same records as ``reference``."""
    if reference.records == other.records:
        return
    lines = [f"results differ between {reference.label} and {other.label}:"]
    for run_id in sorted(set(reference.records) | set(other.records)):
        a, b = reference.records.get(run_id), other.records.get(run_id)
        if a is None or b is None:
            lines.append(f"  {run_id}: only in {reference.label if b is None else other.label}")
        elif a != b:
            fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            lines.append(f"  {run_id}: fields {', '.join(fields)}")
    raise RuntimeError("\n".join(lines))


# ------------------------------------------------------------------------------ output
def print_environment() -> None:
    """Python, package versions, cores and load."""
    versions = {name: importlib.metadata.version(name) for name in ("evorec", "numpy", "joblib")}
    print("Environment")
    print(f"  python {platform.python_version()}, " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
    print(f"  os.cpu_count() = {os.cpu_count()}, cores this process may use = {affinity}, "
          f"load average at start (1/5/15 min) = {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print()


def print_measurement(repeat: int, m: Measurement) -> None:
    flag = "  DISTURBED" if m.disturbed else ""
    print(f"  {repeat:>6}  {m.label:<14} {m.wall:>8.2f} {m.own_cpu:>8.2f} {m.own_cpu / m.wall:>6.2f} "
          f"{m.other_cpu:>8.2f} {m.new_processes:>6} {m.run_seconds:>9.2f}{flag}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="independent runs (seeds) in the experiment")
    parser.add_argument("--evaluations", type=int, default=DEFAULT_EVALUATIONS,
                        help="evaluation budget of each run")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                        help="measurements per setting (the fastest is kept)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.evaluations < 1 or args.repeats < 1:
        parser.error("--runs, --evaluations and --repeats must be positive")

    print_environment()
    print(f"Workload: {args.runs} runs (seeds), random guessing r={R:g} on parity, lengths "
          f"{LENGTHS[0]}..{LENGTHS[1]}, 100 training / 100 test sequences,\n"
          f"  budget {args.evaluations} evaluations per run, loky backend, best of {args.repeats} measurements.")
    print("  n_jobs=2 cold: workers shut down before the call, so the time INCLUDES starting the loky workers.")
    print("  n_jobs=2 warm: right after the cold call, reusing its workers (no start-up).")
    print()
    print("  columns: wall s; CPU s of this process + its workers; cores busy (CPU/wall); CPU s of other")
    print("  processes (should be ~0); processes started during the call; sum of the runs' own wall_seconds")
    print(f"  {'repeat':>6}  {'setting':<14} {'wall':>8} {'own CPU':>8} {'cores':>6} {'others':>8} "
          f"{'new pr':>6} {'runs sum':>9}")
    measurements: list[tuple[int, Measurement]] = []
    with tempfile.TemporaryDirectory(prefix="evorec-parallel-") as tmp:
        folder = Path(tmp)
        experiment_file = write_experiment(folder, args.runs, args.evaluations)
        for repeat in range(args.repeats):
            for label, n_jobs, cold in (("n_jobs=1", 1, True), ("n_jobs=2 cold", 2, True),
                                        ("n_jobs=2 warm", 2, False)):
                if cold:
                    shutdown_workers()
                out = folder / f"out-{repeat}-{label.replace(' ', '-').replace('=', '')}"
                m = measure(experiment_file, out, n_jobs, label, args.runs)
                print_measurement(repeat, m)
                measurements.append((repeat, m))
        shutdown_workers()

    reference = measurements[0][1]
    for _, m in measurements[1:]:
        check_same(reference, m)
    best = {label: best_of([m for _, m in measurements if m.label == label])
            for label in ("n_jobs=1", "n_jobs=2 cold", "n_jobs=2 warm")}
    t1, cold, warm = best["n_jobs=1"].wall, best["n_jobs=2 cold"].wall, best["n_jobs=2 warm"].wall
    print()
    print(f"Results: all {len(measurements)} measurements gave identical records for the {args.runs} runs "
          f"(runs.jsonl by run_id, ignoring {', '.join(TIME_FIELDS)}); "
          f"{reference.solved} of {args.runs} runs solved (0 = every run spent its whole budget).")
    print()
    print(f"Runs per measurement:               {args.runs}")
    print(f"Best wall time, n_jobs=1:           {t1:8.2f} s")
    print(f"Best wall time, n_jobs=2 (cold):    {cold:8.2f} s   (includes loky worker start-up)")
    print(f"Best wall time, n_jobs=2 (warm):    {warm:8.2f} s   (workers already running)")
    print(f"Worker start-up (cold - warm):      {cold - warm:8.2f} s")
    verdict = "met" if cold / t1 <= TARGET else "NOT met"
    print(f"Ratio t(n_jobs=2) / t(n_jobs=1):    {cold / t1:8.3f}     target <= {TARGET} on this 2-core machine: "
          f"{verdict}  (cold, start-up included)")
    verdict = "met" if warm / t1 <= TARGET else "NOT met"
    print(f"Ratio after a warm-up call:         {warm / t1:8.3f}     target <= {TARGET}: {verdict}")
    disturbed = [f"repeat {r} {m.label}" for r, m in measurements if m.disturbed]
    if disturbed:
        print(f"Other processes used CPU during {', '.join(disturbed)}; the best times are taken from the "
              f"other measurements.")
    if any(m.disturbed for m in best.values()):
        print("WARNING: every measurement of some setting shared the machine; re-run on an idle machine.")
    print(f"Load average at end (1/5/15 min) = {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
