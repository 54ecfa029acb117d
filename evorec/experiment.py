"""Running an experiment: its runs in parallel (joblib), streamed to a crash-safe store.

Each run's generators come from ``SeedSequence`` over the experiment seed and the run's
identity (grid cell, strategy label, seed), so results do not depend on ``n_jobs``, the
backend, or the order in which runs finish.  Finished runs are appended to
``OUT/runs.jsonl`` as they arrive; a rerun skips them.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

from .codec import encode
from .config import ConfigError, Experiment, RunSpec, build_architecture, params_from_yaml
from .folderlock import LOCK_FILE, FolderLock
from .problem import make_problem
from .registry import STRATEGIES, make_fitness
from .results import CONFIG_FILE, ResultsStore, latest
from .strategy import Budget, search

VERSIONED = ("evorec", "numpy", "scipy", "deap", "joblib", "numba")


def _versions() -> dict[str, str]:
    """Python, the packages, and the BLAS library, kernel and threads in use (threadpoolctl).

    The BLAS kernel matters: a search that compares nearly equal losses can take another path
    when another kernel rounds a product differently, so a run is reproduced bit for bit only
    under the same kernel (README, "Reproducibility").
    """
    versions = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "unknown"
    versions["blas"] = blas_description()
    return versions


def blas_description() -> str:
    """``"openblas 0.3.31 SkylakeX, 1 thread"``: the BLAS numpy uses, as threadpoolctl sees it.

    Only numpy's own library when it can be told apart (a wheel ships it in ``numpy.libs``):
    scipy, once imported, loads a BLAS of its own, and the record must not depend on whether
    something imported scipy earlier in the process.  Otherwise every BLAS library loaded.
    """
    libraries = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    numpy_dir = Path(np.__file__).resolve().parent
    own = [info for info in libraries if Path(info.get("filepath", "")).resolve().parent
           in (numpy_dir.parent / "numpy.libs", numpy_dir / ".libs")]
    libraries = own or libraries
    if not libraries:
        return "none found"
    return "; ".join(f"{info.get('internal_api', '?')} {info.get('version') or '?'} "
                     f"{info.get('architecture') or '?'}, {info.get('num_threads', '?')} "
                     f"thread{'s' if info.get('num_threads') != 1 else ''}" for info in libraries)


def execute(spec: RunSpec, limit_blas: bool = True) -> dict[str, Any]:
    """Do one run and return its record; an exception becomes a failed record, never escapes."""
    start = time.perf_counter()
    record: dict[str, Any] = {"run_id": spec.run_id, "cell": spec.cell, "strategy": spec.label,
                              "seed": spec.seed, "entropy": list(spec.entropy), "task": spec.task,
                              "architecture": spec.architecture, "fitness": spec.fitness, "data": spec.data,
                              "budget": spec.budget, "strategy_name": spec.strategy["name"],
                              "strategy_params": spec.strategy["params"]}
    limits = threadpool_limits(limits=1) if limit_blas else contextlib.nullcontext()
    try:
        with limits:
            record["versions"] = _versions()  # inside the limits: the BLAS threads the run uses
            data_seq, search_seq = np.random.SeedSequence(list(spec.entropy)).spawn(2)
            architecture = None
            if spec.architecture is not None:
                architecture = build_architecture(dict(spec.architecture))
            fitness = None
            if spec.fitness is not None:
                fitness = make_fitness(spec.fitness["name"], **params_from_yaml(spec.fitness.get("params", {})))
            problem = make_problem(spec.task["name"], architecture, spec.data["train_size"], spec.data["test_size"],
                                   fitness, seed=int(data_seq.generate_state(1)[0]),
                                   task_params=params_from_yaml(spec.task.get("params", {})))
            strategy = STRATEGIES.create(spec.strategy["name"], problem.architecture,
                                         np.random.default_rng(search_seq), **params_from_yaml(spec.strategy["params"]))
            result = search(strategy, problem, Budget(**spec.budget))
        outcome = result.to_dict()
        encode(outcome)  # what the store cannot write (a plugin's describe()) fails this run, not the experiment
        outcome.pop("strategy")
        outcome.pop("seed")
        network = {name: outcome.pop(f"best_{name}") for name in ("W_h", "W_y", "mask_h", "mask_y")}
        tau = outcome.pop("best_tau")
        if tau is not None:  # a leaky network's time constants; absent for today's networks
            network["tau"] = tau
        record.update(outcome, status="ok", error=None, best_network=network)
    except Exception as error:  # a run that raises is recorded, and the others go on
        record.update(status="failed", error=f"{type(error).__name__}: {error}",
                      traceback=traceback.format_exc(limit=20))
    record["wall_seconds"] = time.perf_counter() - start
    return record


@dataclass
class Outcome:
    """What a call of :func:`run` did."""

    folder: Path
    total: int
    skipped: int
    finished: int
    failed: int
    problems: list[str]


def resolved_document(experiment: Experiment) -> dict[str, Any]:
    """The experiment file with every default filled in (what ``experiment.yaml`` holds)."""
    doc = dict(experiment.document)
    doc.update(seed=experiment.seed, seeds=experiment.seeds, parallel=experiment.parallel,
               output=experiment.output)
    doc.setdefault("data", {})
    doc["data"] = {"train_size": doc["data"].get("train_size", 100), "test_size": doc["data"].get("test_size", 100)}
    doc["strategies"] = [dict(s, label=s.get("label", s.get("name")), params=s.get("params", {}))
                         for s in doc["strategies"]]
    doc.setdefault("grid", {})
    return doc


def _identity(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("parallel", "output")}


def prepare_folder(experiment: Experiment, folder: Path, field: tuple[str, ...] = ("output",)) -> None:
    """Check that the (locked) output folder holds this experiment's results, or none, and say which.

    ``--fresh`` is handled before, by :func:`move_aside`.

    Raises
    ------
    ConfigError
        When the folder holds results of a different configuration, or cannot be written.
    """
    document = resolved_document(experiment)
    saved = folder / CONFIG_FILE
    if saved.exists():
        old = _identity(yaml.safe_load(saved.read_text()))
        new = _identity(document)
        if old != new:
            changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            raise _folder_error(experiment, field, f"{folder} holds results of a different configuration "
                                f"(changed: {', '.join(changed)}); use --fresh to move them aside, or --out "
                                f"for another folder")
    try:  # the folder exists and was written to: its lock was just taken
        saved.write_text(yaml.safe_dump(document, sort_keys=False))
    except OSError as error:
        raise _folder_error(experiment, field, f"cannot write to {folder}: {error.strerror or error}") from None


def move_aside(folder: Path) -> Path | None:
    """Move a folder with results to ``NAME.previous-STAMP`` beside it (never delete them).

    Returns the new place, or None when there was nothing but a lock file to move.
    """
    if not folder.exists() or all(item.name == LOCK_FILE for item in folder.iterdir()):
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    aside = folder.with_name(f"{folder.name}.previous-{stamp}")
    shutil.move(str(folder), str(aside))
    return aside


def _lock_folder(experiment: Experiment, folder: Path, field: tuple[str, ...]) -> FolderLock:
    try:
        return FolderLock(folder).acquire()
    except OSError as error:
        raise _folder_error(experiment, field, f"cannot write to {folder}: {error.strerror or error}") from None


def _folder_error(experiment: Experiment, field: tuple[str, ...], message: str) -> ConfigError:
    if field == ("--out",):
        return ConfigError([f"--out: {message}"])
    return experiment.error(field, message)


@contextlib.contextmanager
def _dask_backend(n_jobs: int, scheduler: str | None) -> Iterator[None]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(["parallel.backend: dask needs the distributed extra: "
                           "pip install 'evorec[distributed]'"]) from None
    if scheduler:
        with Client(scheduler) as client, parallel_config(backend="dask"):
            yield client
        return
    workers = n_jobs if n_jobs > 0 else None
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster), parallel_config(backend="dask"):
        yield


def run(experiment: Experiment, out: str | None = None, n_jobs: int | None = None, backend: str | None = None,
        scheduler: str | None = None, fresh: bool = False,
        on_result: Callable[[dict[str, Any]], None] | None = None,
        on_start: Callable[[int, int], None] | None = None) -> Outcome:
    """Run every run of ``experiment`` that is not finished yet.

    Parameters
    ----------
    experiment : Experiment
    out, n_jobs, backend, scheduler
        Override the file's ``output`` and ``parallel`` settings.
    fresh : bool
        Move existing results aside first (they are never deleted).
    on_start : callable, optional
        Called as ``on_start(pending, total)`` before the first run starts.
    on_result : callable, optional
        Called with each record as soon as it is saved.

    Returns
    -------
    Outcome
        Its ``problems`` say which unreadable lines of ``runs.jsonl`` were moved aside (their
        runs were done again).

    Raises
    ------
    FolderBusy
        When another process runs into the same folder (the folder's lock is held).
    ConfigError
        When the folder holds another configuration's results or cannot be written.
    """
    folder = Path(out or experiment.output)
    field = ("--out",) if out else ("output",)
    # One writer per folder, held from before anything in it is read until the last record
    # is written: a second `evorec run` into it stops at once (FolderBusy, a ValueError).
    lock = _lock_folder(experiment, folder, field)
    try:
        if fresh and move_aside(folder) is not None:
            # The lock moved with the old results; take the new folder's before letting go.
            new_lock = _lock_folder(experiment, folder, field)
            lock.release()
            lock = new_lock
        prepare_folder(experiment, folder, field)
        return _run_locked(experiment, folder, n_jobs, backend, scheduler, on_result, on_start)
    finally:
        lock.release()


def _run_locked(experiment: Experiment, folder: Path, n_jobs: int | None, backend: str | None,
                scheduler: str | None, on_result: Callable[[dict[str, Any]], None] | None,
                on_start: Callable[[int, int], None] | None) -> Outcome:
    n_jobs = experiment.parallel["n_jobs"] if n_jobs is None else n_jobs
    backend = backend or experiment.parallel["backend"]
    scheduler = scheduler or experiment.parallel["scheduler"]
    store = ResultsStore(folder)
    records, unreadable = store.read()
    # A line a crash cut short (or any unreadable line) is moved aside and the store rewritten
    # valid, so the run it belonged to is done again and later commands have nothing to warn about.
    problems = store.repair() if unreadable else []
    done = {run_id for run_id, record in latest(records).items() if record["status"] == "ok"}
    pending = [spec for spec in experiment.runs if spec.run_id not in done]
    if on_start:
        on_start(len(pending), len(experiment.runs))
    finished = failed = 0
    if pending:
        # BLAS threads: one per worker process; with threads, one for the whole process.
        limit_in_worker = backend != "threading"
        context = (_dask_backend(n_jobs, scheduler) if backend == "dask"
                   else parallel_config(backend=backend, n_jobs=n_jobs))
        outer = threadpool_limits(limits=1) if backend == "threading" else contextlib.nullcontext()
        with context, outer:
            jobs = Parallel(n_jobs=n_jobs if backend != "dask" else -1, return_as="generator_unordered")(
                delayed(execute)(spec, limit_in_worker) for spec in pending)
            for record in jobs:
                store.append(record)
                finished += record["status"] == "ok"
                failed += record["status"] != "ok"
                if on_result:
                    on_result(record)
    return Outcome(folder, len(experiment.runs), len(experiment.runs) - len(pending), finished, failed, problems)
