"""The code's layout: no module reaches into another module's private (underscore) names.

What modules share is a public name of the module whose job it is; an underscore name is free
to change without notice, so a second module that uses it breaks silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("evorec", "strategies", "tasks", "benchmarks", "docs", "examples")


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[str]:
    """``from m import _x`` and ``m._x`` for an imported module ``m``, as ``line: what``."""
    tree = ast.parse(source)
    imported: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if private(alias.name):
                    found.append(f"{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported.add(alias.asname or alias.name.split(".")[0])
                if any(private(part) for part in alias.name.split(".")):
                    found.append(f"{node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr) and isinstance(node.value, ast.Name) \
                and node.value.id in imported:
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


def product_files() -> list[Path]:
    return sorted(path for folder in PRODUCT for path in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", product_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_uses_another_modules_private_names(path):
    assert private_uses(path.read_text()) == []


@pytest.mark.parametrize("source, expected", [
    ("from .config import _Errors, Experiment", ["1: from .config import _Errors"]),
    ("from evorec.rnn import _forward as f", ["1: from evorec.rnn import _forward"]),
    ("import evorec.rnn as rnn\nrnn._forward()", ["2: rnn._forward"]),
    ("from evorec import evaluate\nevaluate._compile", ["2: evaluate._compile"]),
    ("import numpy._core", ["1: import numpy._core"]),
    ("class A:\n    def f(self):\n        return self._x", []),
    ("from .config import __version__", []),
])
def test_the_check_sees_private_imports_and_attributes(source, expected):
    assert private_uses(source) == expected
