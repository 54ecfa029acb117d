"""The ``evorec`` command.  The only module that knows about the terminal.

Exit status: 0 on success, 1 when runs failed, 2 on bad input, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from . import __version__
from .config import BACKENDS, ConfigError, load
from .registry import FITNESS, STRATEGIES, TASKS, parameters
from .report import text_table, write_summary

KINDS = {"strategies": STRATEGIES, "tasks": TASKS, "fitness": FITNESS}
EXIT_OK, EXIT_RUNS_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _error(message: str) -> None:
    for line in message.splitlines():
        print(f"evorec: error: {line}", file=sys.stderr)


# ------------------------------------------------------------------------------ list
def _describe(kind: str) -> str:
    registry = KINDS[kind]
    skip = 2 if kind == "strategies" else 0  # strategies take (space, rng) first
    lines = [f"{kind}:"]
    for name, summary in registry.describe():
        lines.append(f"  {name:<16} {summary}")
        for param in parameters(registry.get(name), skip).values():
            default = "" if param.default is inspect.Parameter.empty else f" = {param.default!r}"
            lines.append(f"  {'':<16}   {param.name}{default}")
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(KINDS)
    print("\n\n".join(_describe(kind) for kind in kinds))
    return EXIT_OK


# -------------------------------------------------------------------- validate, run
def _validate(args: argparse.Namespace) -> int:
    experiment = load(args.file)
    cells = 1
    for values in experiment.grid.values():
        cells *= len(values)
    print(f"{args.file}: valid; {len(experiment.runs)} runs ({cells} grid cell(s) x "
          f"{len(experiment.document['strategies'])} strategies x {len(experiment.seeds)} seeds)")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .experiment import run

    experiment = load(args.file)
    bar = None
    solved = 0

    def on_start(pending: int, total: int) -> None:
        nonlocal bar
        if not args.quiet and total > pending:
            print(f"{total - pending} of {total} runs already finished; running the other {pending}",
                  file=sys.stderr)
        bar = tqdm(total=total, initial=total - pending, desc=experiment.name, unit="run", file=sys.stderr,
                   disable=args.quiet)

    def on_result(record: dict) -> None:
        nonlocal solved
        solved += bool(record.get("solved"))
        if record["status"] != "ok":
            tqdm.write(f"run failed: {record['run_id']}: {record['error']}", file=sys.stderr)
        bar.set_postfix(solved=solved, refresh=False)
        bar.update()

    try:
        outcome = run(experiment, out=args.out, n_jobs=args.n_jobs, backend=args.backend,
                      scheduler=args.scheduler, fresh=args.fresh, on_result=on_result, on_start=on_start)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print("evorec: interrupted; every finished run is saved, rerun the same command to continue",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if bar is not None:
            bar.close()
    for problem in outcome.problems:
        print(f"evorec: warning: {problem}", file=sys.stderr)
    rows, _ = write_summary(outcome.folder, [spec.run_id for spec in experiment.runs], title=experiment.name)
    print(text_table(rows))
    print(f"\nresults: {outcome.folder}/runs.jsonl; summary: {outcome.folder}/summary.md, summary.csv")
    if outcome.failed:
        print(f"evorec: {outcome.failed} run(s) failed; see their 'error' in runs.jsonl", file=sys.stderr)
        return EXIT_RUNS_FAILED
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not (folder / "runs.jsonl").exists():
        raise ConfigError([f"{folder}: no runs.jsonl here; give the output folder of an experiment"])
    rows, problems = write_summary(folder)
    for problem in problems:
        print(f"evorec: warning: {problem}", file=sys.stderr)
    print(text_table(rows))
    print(f"\nwrote {folder}/summary.md and {folder}/summary.csv")
    return EXIT_OK


# ---------------------------------------------------------------------------- parser
def _positive_or_all(text: str) -> int:
    value = int(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError("must be a positive integer or -1 (all cores)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evorec", description="Gradient-free search for recurrent networks.")
    parser.add_argument("--version", action="version", version=f"evorec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run an experiment file (skips runs already finished)",
                              description="Run the runs of an experiment file that are not finished yet, in "
                                          "parallel, appending each to OUT/runs.jsonl, then print the summary.")
    run.add_argument("file", help="experiment YAML file")
    run.add_argument("--n-jobs", type=_positive_or_all, help="parallel runs (-1: all cores); overrides the file")
    run.add_argument("--backend", choices=BACKENDS, help="joblib backend; overrides the file")
    run.add_argument("--scheduler", metavar="ADDRESS", help="dask scheduler address (backend dask; default: a "
                                                            "local cluster)")
    run.add_argument("--out", metavar="DIR", help="output folder; overrides the file's output")
    run.add_argument("--fresh", action="store_true", help="move existing results aside and start again")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check an experiment file and count its runs",
                                   description="Check an experiment file; print the number of runs or the errors.")
    validate.add_argument("file", help="experiment YAML file")
    validate.set_defaults(handler=_validate)

    listing = commands.add_parser("list", help="list strategies, tasks and fitness functions with their parameters",
                                  description="List registered strategies, tasks and fitness functions.")
    listing.add_argument("kind", nargs="?", choices=list(KINDS), help="only this kind")
    listing.set_defaults(handler=_list)

    report = commands.add_parser("report", help="print an experiment's summary and rewrite summary.csv/.md",
                                 description="Summarise OUT/runs.jsonl again into summary.csv and summary.md.")
    report.add_argument("folder", metavar="DIR", help="output folder of an experiment")
    report.set_defaults(handler=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``evorec`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:  # ConfigError included: a user's mistake, one line each, no traceback
        _error(str(error))
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
