"""The ``evorec`` command.  The only module that knows about the terminal."""

from __future__ import annotations

import argparse
import inspect
import sys

from . import __version__
from .registry import FITNESS, STRATEGIES, TASKS, parameters

KINDS = {"strategies": STRATEGIES, "tasks": TASKS, "fitness": FITNESS}


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
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evorec", description="Gradient-free search for recurrent networks.")
    parser.add_argument("--version", action="version", version=f"evorec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list strategies, tasks and fitness functions with their parameters")
    listing.add_argument("kind", nargs="?", choices=list(KINDS), help="only this kind")
    listing.set_defaults(handler=_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``evorec`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"evorec: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
