"""The ``evorec`` command.  The only module that knows about the terminal.

Exit status: 0 on success, 1 when runs failed, 2 on bad input, 130 when interrupted, 141 when
the output was closed early (``evorec list | head``), like other Unix tools.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from pathlib import Path

from . import __version__
from .config import BACKENDS, DEFAULT_MAX_RUNS, load
from .registry import FITNESS, STRATEGIES, TASKS, parameters
from .report import summarise, text_table
from .results import ResultsStore

KINDS = {"strategies": STRATEGIES, "tasks": TASKS, "fitness": FITNESS}
EXIT_OK, EXIT_RUNS_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_PIPE_CLOSED = 0, 1, 2, 130, 141


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
        cls = registry.get(name)
        # A class may say what a None default stands for (the lstm strategy's preset settings).
        none_means = getattr(cls, "none_means", {})
        for param in parameters(cls, skip).values():
            default = "" if param.default is inspect.Parameter.empty else f" = {param.default!r}"
            if param.default is None and param.name in none_means:
                default += f"  (the preset's; without one: {none_means[param.name]!r})"
            lines.append(f"  {'':<16}   {param.name}{default}")
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(KINDS)
    print("\n\n".join(_describe(kind) for kind in kinds))
    return EXIT_OK


# -------------------------------------------------------------------- validate, run
def _validate(args: argparse.Namespace) -> int:
    status = EXIT_OK
    for file in args.files:
        try:
            experiment = load(file, max_runs=args.max_runs)
        except ValueError as error:  # each file's errors, then the next file
            _error(str(error))
            status = EXIT_BAD_INPUT
            continue
        print(f"{file}: valid; {len(experiment.runs)} runs ({experiment.n_cells} grid cell(s) x "
              f"{len(experiment.document['strategies'])} strategies x {len(experiment.seeds)} seeds)")
    return status


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .experiment import run

    experiment = load(args.file, max_runs=args.max_runs)
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
    summary = summarise(outcome.folder, [spec.run_id for spec in experiment.runs], title=experiment.name)
    print(text_table(summary.rows))
    print(f"\nresults: {outcome.folder}/runs.jsonl; summary: {outcome.folder}/summary.md, summary.csv")
    if outcome.failed:
        print(f"evorec: {outcome.failed} run(s) failed; see their 'error' in runs.jsonl", file=sys.stderr)
        return EXIT_RUNS_FAILED
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from .published import DEFAULT_FILE, load_published
    from .report import write_report

    folder = Path(args.folder)
    ResultsStore(folder).require()
    if args.unit is not None and not args.plots:
        raise ValueError("--unit only applies to the plots; add --plots")
    figures = load_published(args.published if args.published is not None else DEFAULT_FILE)
    summary = summarise(folder, published=figures)
    for problem in summary.problems:
        print(f"evorec: warning: {problem}", file=sys.stderr)
    print(text_table(summary.rows))
    print(f"\nwrote {folder}/summary.md and {folder}/summary.csv")
    if args.plots:
        report = write_report(summary, unit=args.unit)  # without matplotlib: a one-line ValueError, exit 2
        print(f"wrote {report} and its plots in {folder}/plots/")
    return EXIT_OK


# ---------------------------------------------------------------------------- gradflow
def _number_list(text: str, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, like 1,4,16; got {text!r}") from None
    if not values or not all(value > 0 and value != float("inf") for value in values):
        raise ValueError(f"{option} values must be positive numbers; got {text!r}")
    return values


def _task_params(items: list[str]) -> dict:
    import yaml

    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--task-param must look like NAME=VALUE; got {item!r}")
        parsed = yaml.safe_load(value)
        params[key] = tuple(parsed) if isinstance(parsed, list) else parsed
    return params


def _gradflow(args: argparse.Namespace) -> int:
    from . import gradflow

    if args.lags < 0:
        raise ValueError(f"--lags must be >= 0; got {args.lags}")
    if args.sequences < 1:
        raise ValueError(f"--sequences must be >= 1; got {args.sequences}")
    if args.nets < 1:
        raise ValueError(f"--nets must be >= 1; got {args.nets}")
    if args.n_hidden < 0:
        raise ValueError(f"--n-hidden must be >= 0; got {args.n_hidden}")
    lstm_scale = None if args.lstm_scale == 0 else args.lstm_scale
    if lstm_scale is not None and not lstm_scale > 0:
        raise ValueError(f"--lstm-scale must be positive, or 0 to skip the LSTM; got {args.lstm_scale}")
    outcome = gradflow.run(args.task, _task_params(args.task_param), hidden=args.hidden, output=args.output,
                           n_hidden=args.n_hidden, scales=_number_list(args.scale, "--scale"), lags=args.lags,
                           sequences=args.sequences, nets=args.nets, seed=args.seed, out=args.out,
                           lstm_scale=lstm_scale)

    def verdict(factor: float) -> str:
        if factor != factor:  # NaN: fewer than two positive norms
            return "vanishes (0)"
        if abs(factor - 1) < 0.01:
            return "~constant"
        return "decays" if factor < 1 else "grows"

    rows = [("model", "scale", "fitted factor (median)", "nets growing", "bound factor (median)", "trend")]
    for group in gradflow.by_scale(outcome.results):
        growing = f"{round(group.fraction_growing * len(group.nets))}/{len(group.nets)}"
        rows.append((f"{args.n_hidden} hidden {args.hidden}/{args.output}", f"{group.scale:g}",
                     f"{group.median_factor:.4g}", growing,
                     f"{group.median_bound_factor:.4g}", verdict(group.median_factor)))
    if outcome.lstm is not None:
        factor = outcome.lstm.fitted_factor
        rows.append(("lstm cell state, no forget gate", f"{outcome.lstm.scale:g}", f"{factor:.4g}", "-", "-",
                     verdict(factor)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * width for width in widths))
    print(f"\nerror norm at lag q vs the bound (f'_max * ||W||)^q, q = 0..{args.lags}, mean over "
          f"{args.sequences} sequences, median over {args.nets} nets per scale; wrote {outcome.csv_path}"
          + (f", {outcome.lstm_csv_path}" if outcome.lstm_csv_path else ""))
    if outcome.png_path is not None:
        print(f"plot: {outcome.png_path}")
    else:
        print("evorec: no plot: matplotlib is not installed (pip install evorec[plot])", file=sys.stderr)
    return EXIT_OK


# ---------------------------------------------------------------------------- parser
def _positive_or_all(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"must be a positive integer or -1 (all cores); got {text!r}")
    return value


def _max_runs(text: str) -> int:
    try:
        value = int(float(text)) if float(text).is_integer() else 0
    except (ValueError, OverflowError):
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, like 200000 or 2e5; got {text!r}")
    return value


def _add_max_runs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-runs", type=_max_runs, default=DEFAULT_MAX_RUNS, metavar="N",
                        help=f"refuse files that expand to more than N runs (default: {DEFAULT_MAX_RUNS})")


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
    _add_max_runs(run)
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check experiment files and count their runs",
                                   description="Check experiment files; print each one's number of runs or its "
                                               "errors (exit 2 when any file has errors).")
    validate.add_argument("files", nargs="+", metavar="FILE", help="experiment YAML file(s)")
    _add_max_runs(validate)
    validate.set_defaults(handler=_validate)

    listing = commands.add_parser("list", help="list strategies, tasks and fitness functions with their parameters",
                                  description="List registered strategies, tasks and fitness functions.")
    listing.add_argument("kind", nargs="?", choices=list(KINDS), help="only this kind")
    listing.set_defaults(handler=_list)

    report = commands.add_parser("report", help="print an experiment's summary and rewrite summary.csv/.md",
                                 description="Summarise OUT/runs.jsonl again into summary.csv and summary.md; "
                                             "with --plots, also draw DIR/plots/*.png and write DIR/report.md.")
    report.add_argument("folder", metavar="DIR", help="output folder of an experiment")
    report.add_argument("--plots", action="store_true",
                        help="also plot success rate against T, costs to solve and best loss against cost into "
                             "DIR/plots/, and write DIR/report.md (needs matplotlib: pip install evorec[plot])")
    report.add_argument("--unit", choices=("evaluations", "sequences"),
                        help="cost unit of the plots (default: sequences when a gradient strategy, bptt or lstm, "
                             "took part, else evaluations)")
    report.add_argument("--published", metavar="FILE",
                        help="published figures to show beside ours (default: the figures shipped with evorec, "
                             "evorec/data/published.yaml)")
    report.set_defaults(handler=_report)

    flow = commands.add_parser("gradflow", help="measure how back-propagated errors vanish or explode with the lag",
                               description="Norm of the error back-propagated from the last step to the state q "
                                           "steps back, for random nets at several weight scales, beside the "
                                           "bound (f'_max * ||W||)^q; and the LSTM's cell-state error.")
    flow.add_argument("--task", default="parity", help="task name (default: parity)")
    flow.add_argument("--task-param", action="append", default=[], metavar="NAME=VALUE",
                      help="a task parameter (YAML value), e.g. lengths=50; repeatable")
    flow.add_argument("--hidden", choices=("sigmoid", "tanh", "linear"), default="sigmoid",
                      help="hidden activation (default: sigmoid)")
    flow.add_argument("--output", choices=("sigmoid", "tanh", "linear"), default="sigmoid",
                      help="output activation (default: sigmoid)")
    flow.add_argument("--n-hidden", type=int, default=32,
                      help="hidden units of the fully recurrent net (default: 32; growth needs a large net)")
    flow.add_argument("--scale", default="1,4,16", help="weight scales r, weights uniform in [-r, r] "
                                                        "(comma-separated; default: 1,4,16)")
    flow.add_argument("--lags", type=int, default=50, help="largest lag Q (default: 50)")
    flow.add_argument("--sequences", type=int, default=20, help="sequences to average over (default: 20)")
    flow.add_argument("--nets", type=int, default=10, help="random nets per scale; the table shows their median "
                                                           "(default: 10)")
    flow.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    flow.add_argument("--lstm-scale", type=float, default=0.1,
                      help="LSTM initial weight scale; 0 skips the LSTM (default: 0.1)")
    flow.add_argument("--out", metavar="DIR", default="results/gradflow",
                      help="folder for gradflow.csv and gradflow.png (default: results/gradflow, created if needed)")
    flow.set_defaults(handler=_gradflow)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``evorec`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:  # ConfigError included: a user's mistake, one line each, no traceback
        _error(str(error))
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (``evorec list | head``): nothing more to say, and nothing may
        # be written to the closed pipe when Python flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
