"""Things an experiment file may name that are not plugins: each leaves a file behind if called.

The hostile files in ``tests/data/hostile`` name them (and the standard library's
``os:system`` and the like) as strategies, tasks and fitness functions; the tests check that
they are refused and that no file appears.
"""

from __future__ import annotations

from pathlib import Path


def touch(path: str = "touched-by-a-function", **_: object) -> None:
    """A plain function: writes ``path``."""
    Path(path).write_text("called")


class NotAPlugin:
    """A class of no evorec kind: writes ``path`` when instantiated."""

    def __init__(self, path: str = "touched-by-a-class", **_: object) -> None:
        Path(path).write_text("instantiated")
