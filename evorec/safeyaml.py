"""Reading YAML files from other people: bounded in size, time and memory, never running code.

Experiment files and published-figure files are shared like any configuration, so reading
one must be safe whatever it holds:

* only regular files are read (a FIFO or a device would block or never end), and at most
  :data:`MAX_FILE_BYTES` of them;
* the document is composed once with PyYAML's ``SafeLoader`` rules, composition stops past
  :data:`MAX_NODES` nodes or :data:`MAX_DEPTH` levels, and its aliases are followed only in a
  count: a document whose aliases would expand it past :data:`MAX_NODES` nodes (a "billion
  laughs" file), or that refers to itself, is refused before anything walks it;
* only plain data is accepted: strings, numbers, booleans, null, lists and mappings with
  scalar keys (no timestamps, binary, sets or other tags, which no experiment needs and which
  later steps could not handle);
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
#: Largest document, in nodes (mappings, sequences and scalars), also with every alias
#: expanded: far above any experiment file (the largest shipped has about 300).
MAX_NODES = 20_000
#: Deepest nesting of mappings and sequences (experiment files need about 6).
MAX_DEPTH = 64
_PLAIN_TAGS = frozenset("tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "seq",
                                                                   "map", "merge")) | {"tag:evorec,2026:scientific"}
#: Largest integer written in scientific notation that is read as an integer (exact in float64).
_EXACT_INTEGERS = 2**53
_SCIENTIFIC_TAG = "tag:evorec,2026:scientific"
_SCIENTIFIC = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class YAMLFileError(ValueError):
    """A YAML file that cannot be read safely; the message is one located line."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads ``1e5``-style numbers (integral ones as integers) and bounds composing."""

    def __init__(self, stream: str, filename: str) -> None:
        super().__init__(stream)
        self.filename = filename
        self.node_count = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # Counted while composing, so a flat list of a million scalars is refused after
        # MAX_NODES of them rather than after all are built.
        self.node_count += 1
        self.depth += 1
        try:
            if self.node_count > MAX_NODES or self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                what = f"more than {MAX_NODES} nodes" if self.node_count > MAX_NODES else \
                    f"nesting deeper than {MAX_DEPTH} levels"
                raise YAMLFileError(f"{self.filename}:{mark.line + 1}:{mark.column + 1}: (size): the document has "
                                    f"{what}; refusing it")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


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
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # before fdopen, which refuses a folder with its own error
        os.close(fd)
        raise YAMLFileError(f"{filename}:1:1: (file): not a regular file")
    with os.fdopen(fd, "rb") as handle:
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
    plain = _PLAIN_TAGS
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
        if node.tag not in plain or (isinstance(node, yaml.MappingNode)
                                     and any(not isinstance(k, yaml.ScalarNode) for k, _ in node.value)):
            mark = node.start_mark
            what = (f"a value of type {node.tag.rsplit(':', 1)[-1]!r}" if node.tag not in plain
                    else "a key that is not a scalar")
            raise YAMLFileError(f"{filename}:{mark.line + 1}:{mark.column + 1}: (type): {what}; the file may hold "
                                f"only strings, numbers, booleans, null, lists and mappings (quote a value to make it "
                                f"a string)")
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
    loader = None
    try:
        loader = _Loader(text, filename)  # reads the stream's start: may raise for a NUL byte
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
        if loader is not None:
            loader.dispose()
