"""Reading YAML files from other people: bounded in size, time and memory, never running code.

Experiment files and published-figure files are shared like any configuration, so reading
one must be safe whatever it holds:

* only regular files are read (a FIFO or a device would block or never end), and at most
  :data:`MAX_FILE_BYTES` of them;
* the document is composed once with PyYAML's ``SafeLoader`` rules (no Python objects are
  ever constructed from tags), and its aliases are followed only in a count: a document
  whose aliases would expand it past :data:`MAX_NODES` nodes (a "billion laughs" file), or
  that refers to itself, is refused before anything walks it;
* numbers in scientific notation are numbers, as in YAML 1.2 (``1e5``; PyYAML's YAML 1.1
  rules read it as a string), and integral ones are integers (``1e5`` and ``1.0e+5`` are
  ``100000``), so ``evaluations: 1e5`` means what it says.

Every problem is a :class:`YAMLFileError` with one line ``FILE:LINE:COL: (what): message``.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any

import yaml

#: Largest file read, in bytes: far above any experiment file (the largest shipped is 3 KiB).
MAX_FILE_BYTES = 1 << 20
#: Largest document, in nodes (mappings, sequences and scalars) with every alias expanded.
MAX_NODES = 100_000
#: Largest integer written in scientific notation that is read as an integer (exact in float64).
_EXACT_INTEGERS = 2**53
_SCIENTIFIC_TAG = "tag:evorec,2026:scientific"
_SCIENTIFIC = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class YAMLFileError(ValueError):
    """A YAML file that cannot be read safely; the message is one located line."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e5``-style numbers, integral ones as integers."""


# Copy the resolver table before changing it, so yaml.SafeLoader itself stays as it is, and
# put the scientific-notation rule first so it wins over YAML 1.1's float rule.
_Loader.yaml_implicit_resolvers = {key: list(rules) for key, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "+-.0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_first, []).insert(0, (_SCIENTIFIC_TAG, _SCIENTIFIC))


def _construct_scientific(loader: _Loader, node: yaml.ScalarNode) -> int | float:
    value = float(loader.construct_scalar(node).replace("_", ""))
    return int(value) if value.is_integer() and abs(value) <= _EXACT_INTEGERS else value


_Loader.add_constructor(_SCIENTIFIC_TAG, _construct_scientific)


def _read_bytes(path: str | os.PathLike, filename: str) -> bytes:
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise YAMLFileError(f"{filename}:1:1: (file): cannot read: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise YAMLFileError(f"{filename}:1:1: (file): not a regular file")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise YAMLFileError(f"{filename}:1:1: (file): larger than {MAX_FILE_BYTES} bytes, the limit for a YAML file")
    return data


def _expanded_size(root: yaml.Node, filename: str) -> int:
    """Nodes of the document with every alias expanded, counted without expanding them.

    Aliases make the node graph a DAG (or, for a self-referring anchor, a cycle), so the size
    of each node is computed once and reused; the walk is iterative, so nesting depth costs
    no recursion.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_NODES:
                mark = node.start_mark
                raise YAMLFileError(f"{filename}:{mark.line + 1}:{mark.column + 1}: (aliases): the document expands "
                                    f"to more than {MAX_NODES} nodes through its aliases; refusing it")
            continue
        if key in on_path:
            mark = node.start_mark
            raise YAMLFileError(f"{filename}:{mark.line + 1}:{mark.column + 1}: (aliases): an alias refers to a "
                                f"node that contains it; refusing the recursive document")
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                mark = child.start_mark
                raise YAMLFileError(f"{filename}:{mark.line + 1}:{mark.column + 1}: (aliases): an alias refers to "
                                    f"a node that contains it; refusing the recursive document")
            stack.append((child, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_yaml(path: str | os.PathLike) -> tuple[Any, yaml.Node | None]:
    """The document in a YAML file and its node tree (for line and column of each value).

    Raises
    ------
    YAMLFileError
        When the file cannot be read, is not a regular file, is too large, is not valid YAML,
        or expands past :data:`MAX_NODES` nodes through its aliases.
    """
    filename = str(path)
    data = _read_bytes(path, filename)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise YAMLFileError(f"{filename}:1:1: (file): not UTF-8 text (byte {error.start})") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _expanded_size(node, filename)
        return loader.construct_document(node), node
    except YAMLFileError:
        raise
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise YAMLFileError(f"{filename}:{line}:{column}: (syntax): YAML syntax error: {problem}") from None
    except RecursionError:
        raise YAMLFileError(f"{filename}:1:1: (syntax): nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        reason = str(error).split(";")[0]  # not Python's advice on how to lift its limit
        raise YAMLFileError(f"{filename}:1:1: (syntax): a value cannot be read: {reason}") from None
    finally:
        loader.dispose()
