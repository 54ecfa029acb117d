"""A batch of padded input sequences with their targets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class SequenceBatch:
    """``B`` sequences padded to ``T`` steps.

    Attributes
    ----------
    inputs : ndarray, shape (B, T, n_in)
        Inputs; entries at steps ``t >= lengths[b]`` are padding and never read.
    targets : ndarray, shape (B, T, n_out)
        Targets; only entries where ``target_mask`` is True are scored.
    target_mask : ndarray of bool, shape (B, T)
        Steps that carry targets.  Every sequence has at least one, within its length.
    lengths : ndarray of int, shape (B,)
        Length of each sequence, ``1 <= lengths[b] <= T``.
    labels : ndarray of int, shape (B,), optional
        Class of each sequence, for tasks that have classes.
    criterion_targets : ndarray, shape (B, T, n_out), optional
        What the success criterion compares outputs with, when it differs from what the
        fitness (and training) sees -- LSTM97's 3c trains on noisy targets but counts an
        output right by its distance to the noise-free one.  Default: ``targets``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    target_mask: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray | None = None
    criterion_targets: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        inputs = np.asarray(self.inputs, dtype=float)
        targets = np.asarray(self.targets, dtype=float)
        mask = np.asarray(self.target_mask, dtype=bool)
        lengths = np.asarray(self.lengths)
        if inputs.ndim != 3:
            raise ValueError(f"inputs must have shape (B, T, n_in); got {inputs.shape}")
        B, T = inputs.shape[:2]
        if targets.ndim != 3 or targets.shape[:2] != (B, T):
            raise ValueError(f"targets must have shape ({B}, {T}, n_out); got {targets.shape}")
        if mask.shape != (B, T):
            raise ValueError(f"target_mask must have shape ({B}, {T}); got {mask.shape}")
        if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(f"lengths must be {B} integers; got shape {lengths.shape}, dtype {lengths.dtype}")
        if B and (lengths.min() < 1 or lengths.max() > T):
            raise ValueError(f"lengths must lie in 1..T={T}; got {lengths.min()}..{lengths.max()}")
        if np.any(mask & (np.arange(T) >= lengths[:, None])):
            raise ValueError("target_mask marks steps beyond a sequence's length")
        if not np.all(mask.any(axis=1)):
            raise ValueError("target_mask must mark at least one step of every sequence")
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.shape != (B,):
                raise ValueError(f"labels must have shape ({B},); got {labels.shape}")
            set_(self, "labels", labels)
        if self.criterion_targets is not None:
            clean = np.asarray(self.criterion_targets, dtype=float)
            if clean.shape != targets.shape:
                raise ValueError(f"criterion_targets must have the targets' shape {targets.shape}; got {clean.shape}")
            set_(self, "criterion_targets", clean)
        for name, value in (("inputs", inputs), ("targets", targets), ("target_mask", mask),
                            ("lengths", lengths.astype(np.int64))):
            set_(self, name, value)

    @property
    def n_sequences(self) -> int:
        return self.inputs.shape[0]

    @property
    def n_steps(self) -> int:
        """Padded length ``T``."""
        return self.inputs.shape[1]

    @property
    def n_in(self) -> int:
        return self.inputs.shape[2]

    @property
    def n_out(self) -> int:
        return self.targets.shape[2]

    def __len__(self) -> int:
        return self.n_sequences

    def __getitem__(self, index: slice | np.ndarray) -> SequenceBatch:
        """A sub-batch, padded to its own longest sequence."""
        lengths = self.lengths[index]
        T = int(lengths.max()) if lengths.size else 0
        labels = None if self.labels is None else self.labels[index]
        clean = None if self.criterion_targets is None else self.criterion_targets[index, :T]
        return SequenceBatch(self.inputs[index, :T], self.targets[index, :T],
                             self.target_mask[index, :T], lengths, labels, clean)

    def scored_targets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The scored entries, in sequence order then time order.

        Returns
        -------
        targets : ndarray, shape (N, n_out)
        sequence : ndarray of int, shape (N,)
            Which sequence each entry belongs to (non-decreasing).
        step : ndarray of int, shape (N,)
        """
        sequence, step = np.nonzero(self.target_mask)
        return self.targets[sequence, step], sequence, step

    def scored_criterion_targets(self) -> np.ndarray:
        """``criterion_targets`` (or ``targets``) at the scored entries, shape ``(N, n_out)``."""
        source = self.targets if self.criterion_targets is None else self.criterion_targets
        return source[np.nonzero(self.target_mask)]
