"""Name -> class registries for strategies, tasks and fitness functions.

``evorec`` never imports ``strategies`` or ``tasks`` by name: it finds them through entry
points (declared in pyproject.toml, groups ``evorec.strategies``, ``evorec.tasks`` and
``evorec.fitness``), through :meth:`Registry.register` for classes defined at run time, or
through a ``"package.module:Class"`` path for a user's own plugin.

Experiment files come from other people, so a name in one is never trusted to be callable:
whatever it names must be a class derived from the kind's base class (:class:`Strategy`,
:class:`Task` or :class:`Fitness`), checked after importing its module and before anything of
it is called.  Modules of Python's standard library hold no plugins and are refused before
they are imported (some of them act when imported).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
import sys
from importlib.metadata import entry_points
from typing import Any

from .checks import InvalidParameter

#: ``package.module:Class``: dotted identifiers, one class name.
_PLUGIN_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")


class Registry:
    """Classes of one kind, by short name; duplicate names are refused.

    Parameters
    ----------
    kind : str
        What the classes are, for messages ("strategy").
    group : str
        The entry-point group that declares them.
    base : str, optional
        ``"module:Class"`` of the base class every registered or named class must derive
        from (resolved when first needed, since the base modules import this one).  Without
        it any class is accepted.
    """

    def __init__(self, kind: str, group: str, base: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._base_path = base
        self._classes: dict[str, type] = {}
        self._points: dict[str, Any] = {}  # entry points, loaded when first asked for
        self._loaded = False

    @property
    def base(self) -> type | None:
        """The class every class of this kind derives from (None: no constraint)."""
        if self._base_path is None:
            return None
        module_name, _, attr = self._base_path.partition(":")
        return getattr(importlib.import_module(module_name), attr)

    def check_class(self, obj: Any, origin: str) -> type:
        """``obj`` if it is a class of this kind, else a ValueError that says what it is.

        Parameters
        ----------
        obj : object
            What a name resolved to.
        origin : str
            How it was named, for the message.
        """
        base = self.base
        if inspect.isclass(obj) and (base is None or issubclass(obj, base)):
            return obj
        what = f"class {obj.__module__}.{obj.__qualname__}" if inspect.isclass(obj) else type(obj).__name__
        wanted = f"a subclass of {base.__module__}.{base.__qualname__}" if base is not None else "a class"
        raise ValueError(f"{self.kind} {origin!r} names a {what}, not {wanted}; nothing of it was called")

    def register(self, name: str, cls: type | None = None):
        """Register ``cls`` under ``name``; usable as a decorator when ``cls`` is omitted."""
        def add(cls: type) -> type:
            self._load_entry_points()
            if name in self._points and name not in self._classes:
                self._resolve(name)
            self.check_class(cls, name)
            if name in self._classes and self._classes[name] is not cls:
                raise ValueError(f"{self.kind} name {name!r} is already registered "
                                 f"(by {self._classes[name].__module__}.{self._classes[name].__qualname__})")
            self._classes[name] = cls
            return cls
        return add if cls is None else add(cls)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(set(self._classes) | set(self._points))

    def get(self, name: str) -> type:
        """The class registered as ``name``, or imported from ``"module:Class"``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} name must be a non-empty string; got {name!r}")
        if ":" in name:
            return self.check_class(_import_path(name, self.kind), name)
        self._load_entry_points()
        if name not in self._classes and name not in self._points:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown {self.kind} {name!r}{hint}; known: {', '.join(self.names()) or 'none'}")
        if name not in self._classes:
            self._resolve(name)
        return self._classes[name]

    def name_of(self, cls: type) -> str | None:
        """The name ``cls`` is registered under (by :meth:`register` or an entry point), or None.

        Entry points are compared by their ``module:Class`` value, so finding the name loads no
        other plugin.
        """
        self._load_entry_points()
        for name, known in self._classes.items():
            if known is cls:
                return name
        value = f"{cls.__module__}:{cls.__qualname__}"
        return next((name for name, point in sorted(self._points.items()) if point.value == value), None)

    def _resolve(self, name: str) -> None:
        try:
            loaded = self._points[name].load()
        except (ImportError, AttributeError) as error:
            raise ValueError(f"{self.kind} {name!r} is registered but cannot be loaded: {error}") from None
        self._classes[name] = self.check_class(loaded, name)

    def create(self, name: str, *args: Any, **params: Any) -> Any:
        """Instantiate ``name`` with ``params``, refusing parameters the class does not take."""
        cls = self.get(name)
        check_params(cls, params, f"{self.kind} {name!r}", skip=len(args))
        return cls(*args, **params)

    def describe(self) -> list[tuple[str, str]]:
        """(name, first line of the class docstring) for every registered class."""
        return [(name, (inspect.getdoc(self.get(name)) or "").split("\n")[0]) for name in self.names()]

    def _load_entry_points(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for point in entry_points(group=self.group):
            self._points.setdefault(point.name, point)


def _import_path(path: str, kind: str) -> Any:
    """What ``"package.module:Name"`` names, without calling anything of it.

    The module is imported (a plugin's module defines its classes when imported), but a
    module of the standard library is refused first, and the name is looked up in the
    module's namespace directly, so a module-level ``__getattr__`` is not run either.
    """
    if not _PLUGIN_PATH.fullmatch(path):
        raise ValueError(f"{kind} {path!r} is not a plugin path: write it as package.module:Class")
    module_name, _, attr = path.partition(":")
    if any(part.startswith("_") for part in module_name.split(".")):
        # A package's __main__ runs its program when imported; private modules are no plugins.
        raise ValueError(f"{kind} {path!r} names a private or __main__ module, which holds no evorec {kind}; "
                         f"nothing was imported")
    if module_name.partition(".")[0] in sys.stdlib_module_names:
        raise ValueError(f"{kind} {path!r} names a module of Python's standard library, which holds no "
                         f"evorec {kind}; nothing was imported")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import {kind} {path!r}: {error}") from None
    namespace = vars(module)
    if attr not in namespace:
        raise ValueError(f"cannot import {kind} {path!r}: module {module_name!r} has no attribute {attr!r}")
    return namespace[attr]


def parameters(cls: type, skip: int = 0) -> dict[str, inspect.Parameter]:
    """Keyword parameters of ``cls``'s constructor, after ``skip`` leading positional ones."""
    params = list(inspect.signature(cls).parameters.values())[skip:]
    return {p.name: p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


class UnknownParameter(InvalidParameter):
    """A parameter the class does not take; ``name`` is the parameter as given."""

    def __init__(self, name: str, message: str) -> None:
        ValueError.__init__(self, message)
        self.name = name


def check_params(cls: type, params: dict[str, Any], what: str, skip: int = 0) -> None:
    """Raise :class:`UnknownParameter` for the first parameter ``cls`` does not accept."""
    known = parameters(cls, skip)
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownParameter(key, f"{what} has no parameter {key!r}{hint}; its parameters are: "
                                        f"{', '.join(known) or 'none'}")


STRATEGIES = Registry("strategy", "evorec.strategies", base="evorec.strategy:Strategy")
TASKS = Registry("task", "evorec.tasks", base="evorec.task:Task")
FITNESS = Registry("fitness function", "evorec.fitness", base="evorec.scoring:Fitness")


def make_task(name: str, **params: Any):
    """A task by registered name (or ``"module:Class"``), built from ``params``."""
    return TASKS.create(name, **params)


def make_fitness(name: str, **params: Any):
    """A fitness function by registered name (or ``"module:Class"``), built from ``params``."""
    return FITNESS.create(name, **params)
