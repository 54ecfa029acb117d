"""Errors located in a YAML document: each message names the file, line, column and field.

Shared by the files evorec reads from users (experiment files, published figures): a
:class:`Locator` maps every key and value of a composed YAML document to its position, and
:class:`FieldErrors` collects one located line per problem, so a user sees every mistake of a
file at once and :class:`ConfigError` carries them all.
"""

from __future__ import annotations

import difflib
from typing import Any

import yaml


class ConfigError(ValueError):
    """Errors in an experiment file; each line names file, line, column and field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# ---------------------------------------------------------------------------- locations
FieldPath = tuple[str | int, ...]


def dotted(path: FieldPath) -> str:
    """``("strategies", 0, "params", "r")`` -> ``"strategies[0].params.r"``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


class Locator:
    """Line and column of every key and value in a YAML document."""

    def __init__(self, node: yaml.Node | None) -> None:
        self.marks: dict[FieldPath, yaml.Mark] = {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, path: FieldPath) -> None:
        self.marks.setdefault(path, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = path + (key.value,)
                self.marks[child + ("<key>",)] = key.start_mark
                self._walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, path + (i,))

    def where(self, path: FieldPath, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of ``path`` (its key when ``key``), or of its nearest parent."""
        if key and path + ("<key>",) in self.marks:
            mark = self.marks[path + ("<key>",)]
            return mark.line + 1, mark.column + 1
        while path not in self.marks and path:
            path = path[:-1]
        mark = self.marks.get(path)
        return (mark.line + 1, mark.column + 1) if mark else (1, 1)


class FieldErrors:
    """Collects located error lines."""

    def __init__(self, filename: str, locator: Locator) -> None:
        self.filename = filename
        self.locator = locator
        self.lines: list[str] = []

    def add(self, path: FieldPath, message: str, key: bool = False, at: FieldPath | None = None) -> None:
        line, column = self.locator.where(path if at is None else at, key=key)
        field_name = dotted(path)
        # Messages from checks elsewhere may start with the field's name or a tail of its path
        # ("budget.evaluations must be ..." at strategies[0].budget.evaluations, "lengths must
        # be ..."); the location already says it.
        for start in range(len(path)):
            prefix = dotted(path[start:])
            if message.startswith(prefix + " "):
                message = message[len(prefix) + 1:]
                break
        self.lines.append(f"{self.filename}:{line}:{column}: {field_name}: {message}")

    def raise_if_any(self) -> None:
        if self.lines:
            raise ConfigError(self.lines)


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or the empty string."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_unknown_keys(mapping: dict[str, Any], path: FieldPath, allowed: tuple[str, ...],
                       errors: FieldErrors) -> None:
    """One error per key of ``mapping`` that is not in ``allowed``, with a suggestion."""
    for key in mapping:
        if key not in allowed:
            errors.add(path + (str(key),), f"unknown key{suggest(str(key), allowed)}; allowed: {', '.join(allowed)}",
                       key=True)
