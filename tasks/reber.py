"""The embedded Reber grammar (LSTM97, Section 5, experiment 1)."""

from __future__ import annotations

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import boolean, one_of
from evorec.network import Architecture
from evorec.task import Task, balanced_labels, check_positive_count, running_mask

from .fitness import NextSymbolCorrect

#: The seven symbols, in the order of the input and output units.
SYMBOLS = "BTPSXVE"
B, T, P, S, X, V, E = range(7)

#: The Reber graph: from state ``s`` (0..4), branch ``k`` (0 or 1, each with probability 0.5)
#: emits ``_EMIT[s, k]`` and moves to ``_NEXT[s, k]``.  State 5 emits E and ends the string.
_EMIT = np.array([[T, P], [S, X], [T, V], [X, S], [P, V]], dtype=np.int8)
_NEXT = np.array([[1, 2], [1, 3], [2, 4], [2, 5], [3, 5]], dtype=np.int8)
_FINAL = 5

#: Possible next symbols (multi-hot over SYMBOLS) from each state 0..5.
_POSSIBLE = np.zeros((6, 7))
_POSSIBLE[np.arange(5)[:, None], _EMIT] = 1.0
_POSSIBLE[_FINAL, E] = 1.0


class EmbeddedReber(Task):
    """Embedded Reber grammar: predict the possible next symbols of an embedded Reber string.

    LSTM97, Section 5, experiment 1.  A Reber string is B, a walk through the Reber graph
    from state 0 to state 5 (state 0: T->1, P->2; 1: S->1, X->3; 2: T->2, V->4; 3: X->2,
    S->5; 4: P->3, V->5; each branch with probability 0.5), and E.  An embedded string is B,
    then T or P (the *embedding symbol*, each with probability 0.5), then a Reber string, then
    the *same* embedding symbol again, then E, for example ``BTBPVVETE``.

    Inputs are the symbols B, T, P, S, X, V, E, one-hot, one per step; the last E is not fed
    (nothing follows it), so a string of L symbols is a sequence of L - 1 steps.  Every step
    carries a target: the set of symbols that can come next, 1.0 for each of them and 0.0
    for the others (multi-hot).  The only hard prediction is the embedding symbol after the
    inner E, which must be remembered across the whole Reber string.

    A sequence is right when, at every step, the outputs of the possible next symbols are all
    more active than every other output (:class:`~evorec.tasks.fitness.NextSymbolCorrect`, LSTM97's
    test).

    Parameters
    ----------
    targets : {"possible", "next"}, default "possible"
        What the net is trained towards at each step: ``"possible"``, the set of possible next
        symbols (multi-hot), the set the success test judges by (our reading); ``"next"``, the
        symbol that actually comes next (one-hot), another reading of LSTM97's "next-symbol
        targets".  Either way the success test (the batch's criterion targets) is the
        possible set.
    distinct : bool, default True
        Draw strings that are all different within one call to :meth:`sample` (our choice;
        LSTM97 uses 256 training and 256 distinct test strings).  Strings are drawn from the
        grammar and repeats are dropped, in draw order, until there are enough, so with
        ``distinct`` the sample over-represents long strings compared with the grammar's own
        distribution.  :meth:`sample` draws one set at a time: that a test set has no string
        of the training set is *not* enforced.  With False, strings are drawn independently.

    Notes
    -----
    Our choices where LSTM97 is silent: the embedding symbol is balanced within a sample
    (half T, half P, in random order; ``labels`` is 0 for T and 1 for P), as in the other
    two-class tasks; the default fitness is ``mse`` (smooth: the discrete
    ``next_symbol_wrong`` gives a search no slope to follow, but scores exactly the success
    test); the default architecture is an RNN, not LSTM97's LSTM net.
    """

    name = "embedded_reber"
    n_in = 7
    n_out = 7

    def __init__(self, distinct: bool = True, targets: str = "possible") -> None:
        self.distinct = boolean(distinct, "distinct")
        self.targets = one_of(targets, "targets", ("possible", "next"))

    def default_architecture(self) -> Architecture:
        """Fully recurrent, all non-input units biased; 4 sigmoid hidden units and 7 sigmoid outputs
        (ours; LSTM97 used LSTM)."""
        return Architecture.fully_recurrent(self.n_in, 4, self.n_out, hidden="sigmoid", output="sigmoid")

    def criterion(self) -> NextSymbolCorrect:
        return NextSymbolCorrect()

    def sample(self, n: int, rng: np.random.Generator) -> SequenceBatch:
        n = check_positive_count(n)
        labels = balanced_labels(n, 2, rng)
        walks = {branch: self._walks(int(np.sum(labels == branch)), rng) for branch in (0, 1)}
        width = max(w[0].shape[1] for w in walks.values())
        emit, after = np.full((n, width), -1), np.full((n, width), -1)
        walk_len = np.zeros(n, dtype=np.int64)
        for branch, (e, a, length) in walks.items():
            rows = labels == branch
            emit[rows, : e.shape[1]], after[rows, : a.shape[1]], walk_len[rows] = e, a, length

        # The string: B, O, B, walk..., E, O, E (O the embedding symbol); L = walk + 6 symbols.
        outer = np.where(labels == 0, T, P)
        lengths = walk_len + 5  # steps fed: every symbol but the last E
        steps = int(lengths.max())
        rows = np.arange(n)
        symbol = np.full((n, steps), -1)
        possible = np.zeros((n, steps, 7))
        symbol[:, 0], possible[:, 0] = B, _POSSIBLE[0]        # next: T or P
        symbol[:, 1], possible[rows, 1, B] = outer, 1.0       # next: the inner B
        symbol[:, 2], possible[:, 2] = B, _POSSIBLE[0]        # next: from Reber state 0
        inside = np.arange(width)[None, :] < walk_len[:, None]
        symbol[:, 3:3 + width][inside] = emit[inside]
        possible[:, 3:3 + width][inside] = _POSSIBLE[after[inside]]
        symbol[rows, 3 + walk_len], possible[rows, 3 + walk_len, outer] = E, 1.0  # next: same O
        symbol[rows, 4 + walk_len], possible[rows, 4 + walk_len, E] = outer, 1.0  # next: final E

        running = running_mask(lengths, steps)
        inputs = np.zeros((n, steps, 7))
        inputs[running] = np.eye(7)[symbol[running]]
        if self.targets == "possible":
            return SequenceBatch(inputs, possible, running, lengths, labels)
        # The symbol that follows each one fed: the next one fed, and the final E after the last.
        following = np.concatenate([symbol[:, 1:], np.full((n, 1), -1)], axis=1)
        following[rows, lengths - 1] = E
        actual = np.zeros((n, steps, 7))
        actual[running] = np.eye(7)[following[running]]
        return SequenceBatch(inputs, actual, running, lengths, labels, criterion_targets=possible)

    def _walks(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``k`` walks through the Reber graph (distinct ones if ``distinct``).

        Returns
        -------
        emit : ndarray of int, shape (k, W)
            Symbols emitted, -1 after the walk's end.
        after : ndarray of int, shape (k, W)
            State reached after each symbol, -1 after the walk's end.
        lengths : ndarray of int, shape (k,)
        """
        if not self.distinct:
            return _walk(k, rng)
        # Draw walks until k are different; keep the first of each, in draw order.  Each round
        # draws as many as all rounds before (at least k), so there are few rounds.
        emit, after, lengths = _walk(0, rng)
        drawn = 0
        while lengths.size < k:
            more = _walk(max(k, drawn), rng)
            drawn += more[2].size
            width = max(emit.shape[1], more[0].shape[1])
            emit, after = (np.concatenate([_pad(old, width), _pad(new, width)])
                           for old, new in ((emit, more[0]), (after, more[1])))
            lengths = np.concatenate([lengths, more[2]])
            rows = np.ascontiguousarray(emit).view(np.dtype((np.void, emit.itemsize * width))).ravel()
            first = np.sort(np.unique(rows, return_index=True)[1])
            emit, after, lengths = emit[first], after[first], lengths[first]
        width = int(lengths[:k].max(initial=0))
        return emit[:k, :width], after[:k, :width], lengths[:k]


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    """Pad rows with -1 up to ``width`` columns."""
    return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=-1)


def _walk(k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``k`` independent walks from state 0 to state 5, all advanced together."""
    state = np.zeros(k, dtype=np.int8)
    emitted, reached = [], []
    while np.any(state != _FINAL):
        going = state != _FINAL
        branch = rng.integers(0, 2, size=k)
        src = np.where(going, state, 0)
        emitted.append(np.where(going, _EMIT[src, branch], -1))
        state = np.where(going, _NEXT[src, branch], _FINAL)
        reached.append(np.where(going, state, -1))
    if not emitted:
        return np.full((k, 0), -1, dtype=np.int8), np.full((k, 0), -1, dtype=np.int8), np.zeros(k, dtype=np.int64)
    emit, after = np.stack(emitted, axis=1), np.stack(reached, axis=1)
    return emit, after, (emit >= 0).sum(axis=1)
