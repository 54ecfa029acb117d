"""What the strategies that drive another library's ask/tell optimiser (nevergrad, pycma) share:
exact stop and resume by replay, and a numpy global random state of their own for the library."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from evorec.network import Architecture
from evorec.strategy import Strategy, clean_losses


def import_extra(module: str, extra: str, strategy: str) -> ModuleType:
    """Import an optional package, or say in one line how to install it.

    numpy's global random state is put back as it was: importing nevergrad draws from it.
    """
    callers = np.random.get_state()  # noqa: NPY002
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"the {strategy} strategy needs the {module} package: "
                          f'pip install "evorec[{extra}]"') from None
    finally:
        np.random.set_state(callers)  # noqa: NPY002


class LibraryOptimizer(Strategy):
    """Base of strategies around an outside library's ask/tell optimiser.

    Subclasses make the optimiser at the first :meth:`ask` (from :attr:`rng` only), and implement
    :meth:`_ask_library` (the next batch, as flat parameter vectors) and :meth:`_tell_library`
    (the losses of the first rows of that batch, NaN already replaced by ``+inf``).

    **Stop and resume by replay.**  The libraries' optimisers are objects that only pickle can
    save, and a state that unpickles would run code named in a file from someone else.  So a
    stopped search saves the size of every batch asked and the losses told, and resuming builds
    the optimiser anew from the generator's saved start and replays those asks and tells (no network is
    evaluated again).  The optimisers being deterministic given their seed, that leaves the
    strategy exactly where it stopped; a state that does not replay to the saved generator and
    last candidates (other settings, another seed, an edited file) is refused.  Replaying costs the library's
    own ask/tell time of the search so far.

    **numpy's global random state.**  evorec's randomness comes only from the run's generator,
    but some library code draws from numpy's global state (nevergrad's MetaModel, NGOpt's
    choice for small batched problems, seeds its inner search from it).  So every call into
    the library runs with a global state of the strategy's own, seeded from the run's
    generator at the first ask, and the caller's global state is put back afterwards: the
    run's seed fixes the result, and code outside sees numpy's global state untouched.  This
    swap is not safe against other threads drawing from the global state at the same moment
    (evorec's parallel runs are processes; a Dask worker with several threads is not).
    """

    saved = ("_rng_start", "_asked", "_told", "_last_asked")

    def __init__(self, space: Architecture, rng: np.random.Generator) -> None:
        super().__init__(space, rng)
        if space.n_params < 1:
            raise ValueError(f"the {type(self).__name__} strategy needs at least one free parameter")
        self._rng_start = rng.bit_generator.state   # where replay starts
        self._asked: list[int] = []
        self._told: list[np.ndarray] = []
        self._last_asked: np.ndarray | None = None   # what a replay must end on
        self._global_state: tuple | None = None   # the library's numpy global state between calls

    # ------------------------------------------------------------------ for subclasses
    def _ask_library(self) -> np.ndarray:
        raise NotImplementedError

    def _tell_library(self, candidates: np.ndarray, losses: np.ndarray) -> None:
        raise NotImplementedError

    def _in_own_global_state(self, call: Any, *args: Any) -> Any:
        """``call(*args)`` with numpy's global random state swapped for the strategy's own."""
        if self._global_state is None:
            self._global_state = np.random.RandomState(int(self.rng.integers(2 ** 32))).get_state()
        # The one place evorec touches numpy's global state: on purpose, to fence the library in.
        callers = np.random.get_state()  # noqa: NPY002
        np.random.set_state(self._global_state)  # noqa: NPY002
        try:
            return call(*args)
        finally:
            self._global_state = np.random.get_state()  # noqa: NPY002
            np.random.set_state(callers)  # noqa: NPY002

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> np.ndarray:
        candidates = np.asarray(self._in_own_global_state(self._ask_library), dtype=float)
        self._asked.append(len(candidates))
        self._last_asked = candidates
        return candidates

    def tell(self, candidates: np.ndarray, losses: np.ndarray) -> None:
        super().tell(candidates, losses)
        losses = clean_losses(losses)
        self._told.append(losses.copy())
        self._in_own_global_state(self._tell_library, np.asarray(candidates, dtype=float), losses)

    # ------------------------------------------------------------------ state
    def load_state(self, state: dict[str, Any]) -> None:
        """Replay the saved asks and tells on this freshly built strategy, then restore the rest."""
        if self._asked:
            raise ValueError("a strategy's state can only be loaded before its first ask")
        saved = state["saved"]
        self.rng.bit_generator.state = saved["_rng_start"]
        asked, told = list(saved["_asked"]), list(saved["_told"])
        if len(asked) != len(told):
            raise ValueError("strategy state: _asked and _told differ in length")
        for size, losses in zip(asked, told, strict=True):
            candidates = self.ask()
            losses = np.asarray(losses, dtype=float).reshape(-1)
            if len(candidates) != size or len(losses) > size:
                raise ValueError("strategy state: the saved batches do not replay with these settings and seed")
            self.tell(candidates[: len(losses)], losses)
        last = saved["_last_asked"]
        if self.rng.bit_generator.state != state["rng"] or (last is None) != (self._last_asked is None) or (
                last is not None and not np.array_equal(np.asarray(last, dtype=float), self._last_asked)):
            raise ValueError("strategy state: replaying it does not reach the saved generator and candidates "
                             "(other settings, seed or problem, or an edited state)")
        super().load_state(state)
