"""Experiment files: YAML -> validated configuration -> run specs.

An experiment file names a task, an architecture, one or more strategies, a budget, a number
of seeds, a grid of values to sweep and where the results go (see ``experiments/`` and the
README).  Loading is strict: an unknown key is an error with a did-you-mean suggestion, and
every error names the file, line, column and dotted field path.  Task, architecture,
fitness and strategy parameters are checked by building those objects, for every cell of
the grid, before anything runs.  Only ``yaml.safe_load``-level constructs are accepted.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .checks import InvalidParameter
from .codec import TAG_MARK
from .evaluate import DEFAULT_MEMORY_BUDGET
from .fielderrors import ConfigError, FieldErrors, FieldPath, Locator, check_unknown_keys, suggest
from .network import Architecture
from .registry import FITNESS, STRATEGIES, TASKS, UnknownParameter, check_params
from .safeyaml import YAMLFileError, read_yaml
from .strategy import Budget

BACKENDS = ("loky", "threading", "dask")
PRESETS = {
    "fully_recurrent": Architecture.fully_recurrent,
    "rg_a1": Architecture.rg_a1,
    "rg_a2": Architecture.rg_a2,
    "latch_i": Architecture.latch_i,
    "latch_ii": Architecture.latch_ii,
    "narx": Architecture.narx,
}
#: Keys every preset accepts besides its own parameters: leaky hidden units
#: (:meth:`Architecture.with_time_constants`).
MEMORY_KEYS = ("time_constants", "tau_range")


def build_architecture(spec: dict[str, Any]) -> Architecture:
    """The architecture of an experiment file's ``architecture:`` mapping (already checked).

    ``preset`` names a :data:`PRESETS` entry, the other keys are its parameters, and the
    :data:`MEMORY_KEYS` give any preset time constants.
    """
    params = {k: v for k, v in spec.items() if k != "preset" and k not in MEMORY_KEYS}
    arch = PRESETS[spec["preset"]](**params)
    if any(key in spec for key in MEMORY_KEYS):
        arch = arch.with_time_constants(spec.get("time_constants"), spec.get("tau_range"))
    return arch
TOP_LEVEL = ("name", "seed", "seeds", "budget", "task", "data", "fitness", "architecture", "strategies",
             "grid", "parallel", "output")
SECTIONS = {
    "budget": ("evaluations", "sequences", "steps", "seconds"),
    "task": ("name", "params"),
    "fitness": ("name", "params"),
    "data": ("train_size", "test_size"),
    "parallel": ("n_jobs", "backend", "scheduler"),
    "strategy": ("name", "label", "params", "budget"),
}
DEFAULT_SEEDS = 10
#: Runs an experiment file may expand to unless the caller raises the limit (``--max-runs``):
#: far more than any paper reproduction (the largest shipped, bsf94, has 960), few enough to
#: check in seconds.  The limit is not a key of the file, since the file is what it guards against.
DEFAULT_MAX_RUNS = 100_000
#: Bytes the training and test sequences of one run may take: the evaluator's memory budget.
MAX_DATA_BYTES = DEFAULT_MEMORY_BUDGET


# ------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class RunSpec:
    """One run: a cell of the grid, a strategy, a seed, and everything needed to run it."""

    run_id: str
    cell: dict[str, Any]
    label: str
    seed: int
    entropy: tuple[int, ...]
    task: dict[str, Any]
    architecture: dict[str, Any] | None
    fitness: dict[str, Any] | None
    data: dict[str, int]
    budget: dict[str, Any]
    strategy: dict[str, Any]


@dataclass
class Experiment:
    """A validated experiment file."""

    name: str
    path: str
    seed: int
    seeds: list[int]
    document: dict[str, Any]
    grids: list[dict[str, list[Any]]]
    parallel: dict[str, Any]
    output: str
    runs: list[RunSpec] = field(default_factory=list)
    locator: Locator | None = field(default=None, repr=False)

    @property
    def n_cells(self) -> int:
        """Grid cells: the sum over the grids of the product of their list lengths."""
        return sum(math.prod(len(values) for values in grid.values()) for grid in self.grids) or 1

    def error(self, path: FieldPath, message: str) -> ConfigError:
        """A ConfigError located at ``path`` of this experiment's file."""
        errors = FieldErrors(self.path, self.locator or Locator(None))
        errors.add(path, message)
        return ConfigError(errors.lines)


def load(path: str | os.PathLike, max_runs: int = DEFAULT_MAX_RUNS) -> Experiment:
    """Read, validate and expand an experiment file.

    Reading is bounded (see :mod:`evorec.safeyaml`: file size, alias expansion), the number of
    runs is counted before any is built and refused past ``max_runs``, and each cell's training
    and test sequences must fit in :data:`MAX_DATA_BYTES`; nothing the file names is called
    unless it is a class of the kind asked for (:mod:`evorec.registry`).

    Parameters
    ----------
    path : str or path-like
    max_runs : int, default DEFAULT_MAX_RUNS
        The most runs the file may expand to.

    Raises
    ------
    ConfigError
        With one line per problem: ``FILE:LINE:COLUMN: field.path: message``.
    """
    filename = str(path)
    try:
        document, node = read_yaml(path)
    except YAMLFileError as error:
        raise ConfigError([str(error)]) from None
    errors = FieldErrors(filename, Locator(node))
    if not isinstance(document, dict):
        errors.add((), "an experiment file must be a mapping of keys such as name, task, strategies")
        errors.raise_if_any()
    experiment = _validate(document, filename, errors, max_runs)
    errors.raise_if_any()
    return experiment


def _validate(doc: dict[str, Any], filename: str, errors: FieldErrors, max_runs: int = DEFAULT_MAX_RUNS) -> Experiment:
    _check_keys(doc, (), errors)
    errors.raise_if_any()
    check_unknown_keys(doc, (), TOP_LEVEL, errors)
    for key in ("name", "task", "budget", "strategies"):
        if key not in doc:
            errors.add((key,), "is required", at=())
    errors.raise_if_any()
    name = doc["name"]
    if not isinstance(name, str) or not name.strip():
        errors.add(("name",), "must be a non-empty string")
    seed = doc.get("seed", 0)
    if not _is_int(seed) or seed < 0:
        errors.add(("seed",), f"must be an integer >= 0; got {seed!r}")
    grids = _check_grids(doc.get("grid", {}), doc, errors)
    errors.raise_if_any()
    _check_run_count(doc, grids, errors, max_runs)
    seeds = _seed_list(doc.get("seeds", DEFAULT_SEEDS), errors)
    parallel = _check_parallel(doc.get("parallel", {}), errors)
    output = doc.get("output", f"results/{name}")
    if not isinstance(output, str) or not output:
        errors.add(("output",), "must be a folder path (a string)")
    errors.raise_if_any()
    experiment = Experiment(name, filename, seed, seeds, doc, grids, parallel, output, locator=errors.locator)
    experiment.runs = _expand(experiment, errors, max_runs)
    return experiment


def _check_keys(value: Any, path: FieldPath, errors: FieldErrors) -> None:
    """Every mapping key is a string that does not start with ``$``: run records carry the
    file's values, and the results store (:mod:`evorec.codec`) writes no other keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = path + (str(key),)
            if not isinstance(key, str):
                errors.add(where, f"keys must be strings; got {key!r} (quote it: '{key}')", key=True)
            elif key.startswith(TAG_MARK):
                errors.add(where, f"keys must not start with {TAG_MARK!r} (it marks the results store's tags)",
                           key=True)
            _check_keys(item, where, errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_keys(item, path + (index,), errors)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_run_count(doc: dict[str, Any], grids: list[dict[str, list[Any]]], errors: FieldErrors,
                     max_runs: int) -> None:
    """Refuse a file that expands to more than ``max_runs`` runs, counting them without building any."""
    seeds = doc.get("seeds", DEFAULT_SEEDS)
    n_seeds = seeds if _is_int(seeds) else len(seeds) if isinstance(seeds, list) else 1
    strategies = doc["strategies"]
    n_strategies = len(strategies) if isinstance(strategies, list) else 1
    n_cells = sum(math.prod(len(values) for values in grid.values()) for grid in grids) or 1

    def strategy_runs(grid: dict[str, list[Any]]) -> int:
        """Cells x strategies of one grid; a grid may sweep the whole strategy list."""
        others = math.prod(len(values) for key, values in grid.items() if key != "strategies")
        if "strategies" not in grid:
            return others * n_strategies
        return others * sum(len(value) if isinstance(value, list) else 1 for value in grid["strategies"])

    n_runs = (sum(strategy_runs(grid) for grid in grids) if grids else n_strategies) * n_seeds
    if n_runs <= max_runs:
        return
    # Point at the factor that is past the limit on its own, if one is.
    where = ("seeds",) if n_seeds > max_runs or not grids else ("grid",)
    errors.add(where, f"the file expands to {n_runs} runs ({n_cells} grid cell(s), {n_seeds} seeds), more than the "
                      f"limit of {max_runs}; split it, or raise the limit with --max-runs",
                      at=where if where in errors.locator.marks else ())
    errors.raise_if_any()


def _seed_list(value: Any, errors: FieldErrors) -> list[int]:
    if _is_int(value):
        if value < 1:
            errors.add(("seeds",), f"must be a positive number of runs per cell or a list of seeds; got {value}")
            return []
        return list(range(value))
    if isinstance(value, list) and value and all(_is_int(v) and v >= 0 for v in value):
        if len(set(value)) != len(value):
            errors.add(("seeds",), "the list of seeds has repeated values")
        return list(value)
    errors.add(("seeds",), f"must be a positive integer or a non-empty list of integers >= 0; got {value!r}")
    return []


def _check_parallel(value: Any, errors: FieldErrors) -> dict[str, Any]:
    if not isinstance(value, dict):
        errors.add(("parallel",), "must be a mapping with n_jobs, backend, scheduler")
        return {}
    check_unknown_keys(value, ("parallel",), SECTIONS["parallel"], errors)
    parallel = {"n_jobs": value.get("n_jobs", -1), "backend": value.get("backend", "loky"),
                "scheduler": value.get("scheduler")}
    if not _is_int(parallel["n_jobs"]) or parallel["n_jobs"] == 0 or parallel["n_jobs"] < -1:
        errors.add(("parallel", "n_jobs"), f"must be a positive integer or -1 (all cores); got {parallel['n_jobs']!r}")
    if parallel["backend"] not in BACKENDS:
        errors.add(("parallel", "backend"), f"must be one of {', '.join(BACKENDS)}; got {parallel['backend']!r}")
    if parallel["scheduler"] is not None and not isinstance(parallel["scheduler"], str):
        errors.add(("parallel", "scheduler"), "must be a scheduler address such as tcp://127.0.0.1:8786")
    return parallel


# ------------------------------------------------------------------------------- grid
def _split_path(dotted: str) -> FieldPath:
    return tuple(int(p) if p.isdigit() else p for p in dotted.split("."))


def _check_grids(grid: Any, doc: dict[str, Any], errors: FieldErrors) -> list[dict[str, list[Any]]]:
    """One mapping (a cartesian grid) or a list of them (the union of their cells)."""
    if isinstance(grid, dict):
        return [_check_grid(grid, ("grid",), doc, errors)] if grid else []
    if not isinstance(grid, list) or not grid:
        errors.add(("grid",), "must be a mapping from dotted paths to lists of values, or a non-empty list of "
                              "such mappings")
        return []
    grids = []
    for i, part in enumerate(grid):
        if not isinstance(part, dict) or not part:
            errors.add(("grid", i), "must be a non-empty mapping from dotted paths to lists of values")
            continue
        grids.append(_check_grid(part, ("grid", i), doc, errors))
    return grids


def _check_grid(grid: dict[Any, Any], where: FieldPath, doc: dict[str, Any],
                errors: FieldErrors) -> dict[str, list[Any]]:
    for dotted, values in grid.items():
        path = _split_path(str(dotted))
        if not isinstance(values, list) or not values:
            errors.add(where + (dotted,), "must be a non-empty list of values")
        if path[0] in ("grid", "parallel", "output", "name", "seeds", "seed"):
            errors.add(where + (dotted,), f"cannot sweep {path[0]!r}", key=True)
        elif path[0] not in TOP_LEVEL:
            errors.add(where + (dotted,), f"path does not exist: unknown key {path[0]!r}"
                       f"{suggest(str(path[0]), TOP_LEVEL)}", key=True)
        elif not _parent_exists(doc, path):
            errors.add(where + (dotted,), f"path does not exist in this document: {dotted}", key=True)
    keys = [str(k) for k in grid]
    for key in keys:
        for other in keys:
            if other != key and key.startswith(other + "."):
                errors.add(where + (key,), f"overlaps the grid path {other!r}: sweep one or the other", key=True)
    return {str(k): v for k, v in grid.items()}


def _parent_exists(doc: Any, path: FieldPath) -> bool:
    """A grid path may name a new key (a parameter left at its default) but not a new branch."""
    node = doc
    for i, part in enumerate(path[:-1]):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict) and part == "params" and i == len(path) - 2:
            return True  # e.g. task.params.lengths when task has no params yet
        else:
            return False
    if isinstance(node, list):
        return isinstance(path[-1], int) and path[-1] < len(node)
    return isinstance(node, dict)


def _with_values(doc: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    """The document with a grid cell's values set.

    Only the mappings and lists along each set path are copied; the rest is shared with
    ``doc``, so a cell costs the length of its paths, not the size of the document (nothing
    downstream changes a document in place).
    """
    result = dict(doc)
    for key, value in cell.items():
        path = _split_path(key)
        node: Any = result
        for part in path[:-1]:
            child = node.get(part, {}) if isinstance(node, dict) else node[part]
            child = dict(child) if isinstance(child, dict) else list(child)
            node[part] = child
            node = child
        node[path[-1]] = copy.deepcopy(value)
    return result


# --------------------------------------------------------------------------- expansion
def _cells(experiment: Experiment):
    """Each grid cell with where its values came from: ``(cell, {key: (grid path, index)})``."""
    if not experiment.grids:
        yield {}, {}
    listed = isinstance(experiment.document.get("grid"), list)
    for g, grid in enumerate(experiment.grids):
        keys = list(grid)
        where = ("grid", g) if listed else ("grid",)
        for indices in itertools.product(*(range(len(grid[k])) for k in keys)):
            yield ({key: grid[key][i] for key, i in zip(keys, indices, strict=True)},
                   {key: (where, i) for key, i in zip(keys, indices, strict=True)})


def _expand(experiment: Experiment, errors: FieldErrors, max_runs: int = DEFAULT_MAX_RUNS) -> list[RunSpec]:
    runs: list[RunSpec] = []
    seen: set[str] = set()
    built: set[str] = set()  # strategies already built for an architecture: built once, not per cell
    for cell, cell_index in _cells(experiment):
        identity = json.dumps(cell, sort_keys=True)
        if identity in seen:
            errors.add(next(iter(cell_index.values()))[0], f"grid cell {identity} appears twice; the grids of a list "
                                                           f"must not share cells")
            continue
        seen.add(identity)
        doc = _with_values(experiment.document, cell)
        before = len(errors.lines)
        resolved = _resolve_cell(doc, cell, cell_index, errors, built)
        if len(errors.lines) > before or resolved is None:
            continue
        task, architecture, fitness, data, budget, strategies = resolved
        if len(runs) + len(strategies) * len(experiment.seeds) > max_runs:  # counted before; a guard
            errors.add((), f"the file expands to more than {max_runs} runs; split it, or raise the limit with "
                           f"--max-runs")
            break
        for strategy in strategies:
            # A strategy's own budget replaces the experiment's (e.g. fewer sequences for the
            # costly gradient methods, in the same units).
            strategy_budget = strategy.pop("budget", None) or budget
            for seed in experiment.seeds:
                run_id = _run_id(cell, strategy["label"], seed)
                runs.append(RunSpec(run_id, cell, strategy["label"], seed,
                                    _entropy(experiment.seed, run_id), task, architecture, fitness, data,
                                    strategy_budget, strategy))
    # A grid makes one error per cell; say each once.
    errors.lines[:] = list(dict.fromkeys(errors.lines))
    return runs


def _run_id(cell: dict[str, Any], label: str, seed: int) -> str:
    return json.dumps({"cell": cell, "strategy": label, "seed": seed}, sort_keys=True, separators=(",", ":"))


def _entropy(experiment_seed: int, run_id: str) -> tuple[int, ...]:
    """SeedSequence entropy of a run: the experiment seed and a stable digest of its identity."""
    digest = hashlib.sha256(run_id.encode("utf-8")).digest()
    return (experiment_seed, *np.frombuffer(digest[:16], dtype="<u4").tolist())


def _grid_source(cell_index: dict[str, tuple[FieldPath, int]], path: FieldPath) -> FieldPath | None:
    """Where a value in a cell came from, for error locations: the grid entry that set it."""
    dotted = ".".join(str(part) for part in path)
    for key, (where, index) in cell_index.items():
        if dotted == key or dotted.startswith(key + ".") or key.startswith(dotted + "."):
            return where + (key, index)
    return None


def _resolve_cell(doc: dict[str, Any], cell: dict[str, Any], cell_index: dict[str, tuple[FieldPath, int]],
                  errors: FieldErrors, built: set[str] | None = None):
    def err(path: FieldPath, message: str, key: bool = False) -> None:
        source = _grid_source(cell_index, path)
        suffix = f" (in grid cell {json.dumps(cell, sort_keys=True)})" if source else ""
        errors.add(path, message + suffix, key=key, at=source)

    task_doc = _section(doc.get("task"), ("task",), "task", err)
    budget_doc = _section(doc.get("budget"), ("budget",), "budget", err)
    data_doc = _section(doc.get("data", {}), ("data",), "data", err)
    fitness_doc = doc.get("fitness")
    if isinstance(fitness_doc, str):
        fitness_doc = {"name": fitness_doc}
    if fitness_doc is not None:
        fitness_doc = _section(fitness_doc, ("fitness",), "fitness", err)
    if None in (task_doc, budget_doc, data_doc):
        return None
    budget = _budget(budget_doc, ("budget",), err)
    if budget is None:
        return None
    data = {"train_size": data_doc.get("train_size", 100), "test_size": data_doc.get("test_size", 100)}
    for key, value in data.items():
        if not _is_int(value) or value < 1:
            err(("data", key), f"must be a positive integer; got {value!r}")
    task = _build(TASKS, task_doc, ("task",), err)
    if task is not None and all(_is_int(value) and value >= 1 for value in data.values()):
        _check_data_size(task, data, err)
    if fitness_doc:
        _build(FITNESS, fitness_doc, ("fitness",), err)  # checks name and parameters
    architecture = _architecture(doc.get("architecture"), task, err)
    # Which network the strategies search: the architecture as written, or the task's default.
    space = json.dumps([doc.get("architecture") or task_doc], sort_keys=True, default=str)
    strategies = _strategies(doc.get("strategies"), architecture, err, space, built, task)
    if task is None or architecture is None or strategies is None:
        return None
    arch_doc = doc.get("architecture")
    return (task_doc | {"params": task_doc.get("params", {})}, arch_doc, fitness_doc, data,
            budget, strategies)


def _check_data_size(task, data: dict[str, int], err) -> None:
    """Refuse sequences that would not fit in a run's memory (checked before any is drawn)."""
    sizes = [task.sample_bytes(data["train_size"]), task.sample_bytes(data["test_size"])]
    if sum(sizes) <= MAX_DATA_BYTES:
        return
    steps = task.sample_steps(max(data.values())) or "?"
    # Blame the sequences' size when even the default 100 + 100 of them would not fit, else their number.
    where = ("task", "params") if 2 * task.sample_bytes(100) > MAX_DATA_BYTES else ("data",)
    err(where, f"{data['train_size']} training and {data['test_size']} test sequences of task {task.name!r} (up to "
               f"{steps} steps, {task.n_in} inputs, {task.n_out} outputs) would take about {sum(sizes) / 2**30:.3g} "
               f"GiB, more than the {MAX_DATA_BYTES / 2**30:g} GiB a run's data may use; use shorter sequences "
               f"(task.params) or fewer (data.train_size, data.test_size)")


def _section(value: Any, path: FieldPath, kind: str, err) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        err(path, f"must be a mapping; got {type(value).__name__}")
        return None
    allowed = SECTIONS[kind]
    bad = [k for k in value if k not in allowed]
    for key in bad:
        err(path + (str(key),), f"unknown key{suggest(str(key), allowed)}; allowed: {', '.join(allowed)}", key=True)
    if "params" in value and not isinstance(value["params"], dict):
        err(path + ("params",), "must be a mapping of parameter names to values")
        return None
    return None if bad else value


def _build(registry, spec: dict[str, Any], path: FieldPath, err, *args):
    name = spec.get("name")
    if not isinstance(name, str):
        err(path + ("name",), f"is required: a registered {registry.kind} name")
        return None
    params = params_from_yaml(spec.get("params", {}))
    try:
        cls = registry.get(name)
    except ValueError as error:
        err(path + ("name",), str(error))
        return None
    try:
        check_params(cls, params, f"{registry.kind} {name!r}", skip=len(args))
    except UnknownParameter as error:
        err(path + ("params", error.name), str(error), key=True)
        return None
    try:
        return cls(*args, **params)
    except Exception as error:  # a plugin's constructor may raise anything: a located error, never a traceback
        # An InvalidParameter names its parameter; a parameter left at its default has no line
        # of its own, so the error then sits at ``params``.
        bad = error.name if isinstance(error, InvalidParameter) and error.name in params else None
        err(path + ("params", bad) if bad else path + ("params",), str(error))
        return None


def _fits_task(strategy: Any, task: Any, spec: dict[str, Any], path: FieldPath, err) -> bool:
    """Whether the strategy's settings can run on the task (``Strategy.check_task``); an error
    located at the parameter that it names, else at ``params``."""
    try:
        strategy.check_task(task)
    except Exception as error:  # a plugin's check may raise anything: a located error, never a traceback
        params = spec.get("params") or {}
        bad = error.name if isinstance(error, InvalidParameter) and error.name in params else None
        err(path + ("params", bad) if bad else path + ("params",), str(error))
        return False
    return True


def params_from_yaml(params: dict[str, Any]) -> dict[str, Any]:
    """YAML lists become tuples where parameters expect pairs such as ``lengths: [25, 50]``."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


def _architecture(spec: Any, task, err) -> Architecture | None:
    if task is None:
        return None
    if spec is None:
        try:
            return task.default_architecture()
        except Exception as error:  # e.g. a network too large for the task's parameters, or a plugin's bug
            err(("task", "params"), f"the task's default architecture cannot be built: {error}")
            return None
    if not isinstance(spec, dict) or "preset" not in spec:
        err(("architecture",), f"must be a mapping with a preset ({', '.join(PRESETS)}) and its parameters")
        return None
    preset = spec["preset"]
    if not isinstance(preset, str) or preset not in PRESETS:
        err(("architecture", "preset"), f"unknown preset {preset!r}{suggest(str(preset), list(PRESETS))}; "
                                        f"known: {', '.join(PRESETS)}")
        return None
    allowed = tuple(inspect.signature(PRESETS[preset]).parameters) + MEMORY_KEYS
    for key in spec:
        if key == "preset":
            continue
        if key not in allowed:
            err(("architecture", key), f"preset {preset!r} has no parameter {key!r}{suggest(key, allowed)}; "
                                       f"its parameters are: {', '.join(allowed) or 'none'}", key=True)
            return None
    try:
        arch = build_architecture(spec)
    except (ValueError, TypeError) as error:
        # The memories' own keys are located at their line (the others, as before, at the mapping).
        named = isinstance(error, InvalidParameter) and error.name in spec and error.name in MEMORY_KEYS + ("delays",)
        err(("architecture", error.name) if named else ("architecture",), str(error))
        return None
    if (arch.n_in, arch.n_out) != (task.n_in, task.n_out):
        err(("architecture",), f"has n_in={arch.n_in}, n_out={arch.n_out} but task {task.name!r} needs "
                               f"n_in={task.n_in}, n_out={task.n_out}")
        return None
    return arch


def _budget(doc: dict[str, Any], path: FieldPath, err) -> dict[str, Any] | None:
    """The limits of a budget section, checked; None (after an error) when they are wrong."""
    try:
        Budget(**doc)
    except ValueError as error:
        field_name = str(error).split()[0].removeprefix("budget.")
        err(path + ((field_name,) if field_name in doc else ()), str(error))
        return None
    return {k: v for k, v in doc.items() if v is not None}


def _strategies(value: Any, architecture: Architecture | None, err, space: str = "",
                built: set[str] | None = None, task: Any = None) -> list[dict[str, Any]] | None:
    if not isinstance(value, list) or not value:
        err(("strategies",), "must be a non-empty list of strategies, each {name: ..., params: {...}}")
        return None
    resolved, labels = [], set()
    rng = np.random.default_rng(0)  # only to build the strategies and so check their parameters
    for i, spec in enumerate(value):
        path = ("strategies", i)
        spec = _section(spec, path, "strategy", err)
        if spec is None:
            continue
        label = spec.get("label", spec.get("name"))
        if not isinstance(label, str) or not label:
            err(path + ("label",), "must be a non-empty string")
            continue
        if label in labels:
            err(path + ("label",), f"label {label!r} is used twice; give each strategy entry its own label")
            continue
        labels.add(label)
        # Built once per (space, strategy): a grid over other things must not rebuild it per cell.
        key = json.dumps([space, spec.get("name"), spec.get("params")], sort_keys=True, default=str)
        if architecture is not None and (built is None or key not in built):
            strategy = _build(STRATEGIES, spec, path, err, architecture, rng)
            if strategy is None or (task is not None and not _fits_task(strategy, task, spec, path, err)):
                continue
            if built is not None:
                built.add(key)
        entry = {"name": spec["name"], "label": label, "params": spec.get("params", {})}
        if "budget" in spec:
            budget_doc = _section(spec["budget"], path + ("budget",), "budget", err)
            entry["budget"] = None if budget_doc is None else _budget(budget_doc, path + ("budget",), err)
            if entry["budget"] is None:
                continue
        resolved.append(entry)
    return resolved if len(resolved) == len(value) else None
