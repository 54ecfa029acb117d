"""The Tomita grammars: regular-language induction on binary strings (Tomita 1982; GNARL)."""

from __future__ import annotations

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import InvalidParameter, boolean, integer, one_of, positive_number
from evorec.network import Architecture
from evorec.task import Task, balanced_labels, check_positive_count, end_target_batch, running_mask

from .fitness import WithinTolerance

#: Longest strings the task draws (the exact string counts it keeps are Python integers of up
#: to ``max_length`` bits; 1000 is far beyond any Tomita experiment).
MAX_LENGTH = 1000
#: Longest strings with ``sampling="all"``: the strings are numbered with 64-bit integers.
MAX_LENGTH_ALL = 60

# Each grammar as a minimal complete deterministic automaton over the symbols 0 and 1, with
# start state 0: (regular expression or description, next state for symbol 0 / 1 of each
# state, which states accept).
GRAMMARS: dict[int, tuple[str, list[list[int]], list[bool]]] = {
    1: ("1*",
        [[1, 0],     # 0: only 1's so far
         [1, 1]],    # 1: a 0 was seen (dead)
        [True, False]),
    2: ("(10)*",
        [[2, 1],     # 0: whole pairs "10" so far
         [0, 2],     # 1: a pair's "1" was read, its "0" is due
         [2, 2]],    # 2: dead
        [True, False, False]),
    3: ("no odd-length run of 1's followed, anywhere later, by an odd-length run of 0's",
        [[0, 1],     # 0: no odd run of 1's has ended yet, not inside an odd run of 1's
         [3, 0],     # 1: inside a run of 1's of odd length so far, no odd run of 1's ended before
         [3, 2],     # 2: an odd run of 1's has ended ("armed"); inside a run of 1's
         [4, 5],     # 3: armed, inside a run of 0's of odd length so far (rejects if it ends here)
         [3, 2],     # 4: armed, inside a run of 0's of even length so far
         [5, 5]],    # 5: an odd run of 0's ended after an odd run of 1's (dead)
        [True, True, True, False, True, False]),
    4: ("no 000 substring",
        [[1, 0],     # 0..2: number of 0's at the end of the string so far
         [2, 0],
         [3, 0],
         [3, 3]],    # 3: "000" was seen (dead)
        [True, True, True, False]),
    5: ("an even number of 0's and an even number of 1's",
        [[1, 2], [0, 3], [3, 0], [2, 1]],  # state = (#0 mod 2) + 2 (#1 mod 2)
        [True, False, False, False]),
    6: ("(#1's - #0's) mod 3 = 0",
        [[2, 1], [0, 2], [1, 0]],  # state = (#1's - #0's) mod 3
        [True, False, False]),
    7: ("0*1*0*1*",
        [[0, 1],     # 0: in the first block of 0's
         [2, 1],     # 1: in the first block of 1's
         [2, 3],     # 2: in the second block of 0's
         [4, 3],     # 3: in the second block of 1's
         [4, 4]],    # 4: a fifth block started (dead)
        [True, True, True, True, False]),
}

SAMPLINGS = ("random", "all")
CODINGS = ("signed", "one_hot")
ANY = 2  # class index of "any string" in the count tables (0 rejected, 1 accepted)


class Tomita(Task):
    """Tomita grammars: accept or reject a binary string, answering at its last symbol.

    The seven regular languages over {0, 1} of Tomita (1982), a standard benchmark for
    language induction with recurrent networks; GNARL (Angeline, Saunders & Pollack 1994)
    evolves recurrent networks on Tomita-style grammars.

    1. ``1*``
    2. ``(10)*``
    3. No odd-length run of 1's followed, anywhere later in the string, by an odd-length run
       of 0's.  Runs are maximal (a run of 1's is bounded by 0's or the ends of the string),
       so a string is rejected exactly when some maximal run of 1's of odd length comes
       before some maximal run of 0's of odd length, other runs possibly in between
       ("10", "1000" and "100110" are rejected; "100", "0110" and "1001100" accepted).
    4. No ``000`` substring.
    5. An even number of 0's and an even number of 1's.
    6. The number of 1's minus the number of 0's is a multiple of 3.
    7. ``0*1*0*1*``

    One symbol per step; the target at the last step is 1 when the grammar accepts the
    string and 0 when it rejects it (``labels``: 1 accepted, 0 rejected).  No other step is
    scored.

    Parameters
    ----------
    grammar : int, default 1
        Which Tomita grammar, 1 to 7.
    max_length : int, default 10
        Longest string (at most 1000, and at most 60 with ``sampling="all"``).
    min_length : int, default 1
        Shortest string.  The empty string is never used: a network's answer is read at a
        string's last step, and the empty string has none.
    sampling : {"random", "all"}, default "random"
        How :meth:`sample` draws ``n`` strings.

        ``"random"``: independently (repeats possible).  Each string's length is uniform in
        ``min_length..max_length`` and its symbols are fair coin flips.  With ``balanced``,
        each string's class is drawn first (:func:`evorec.task.balanced_labels`), then its
        length uniformly among the lengths in range that have strings of that class, then
        the string uniformly among the strings of that class and length.

        ``"all"``: ``n`` *distinct* strings, a uniformly random subset of every string of
        length ``min_length..max_length`` (so longer strings, being more numerous, are more
        frequent), in random order; ``n = task.n_strings`` gives every string -- the classic
        "all strings up to a length" set.  With ``balanced``, ``n/2`` distinct accepted and
        ``n/2`` distinct rejected strings, each half a uniformly random subset of its class.
        ``n`` larger than what exists is an error (a ValueError naming ``n``).
    balanced : bool, default True
        Equal numbers of accepted and rejected strings (one more of a class drawn at random
        when ``n`` is odd).  Needs strings of both classes in the length range.  Unbalanced
        sets of grammars 1 and 2 are almost all rejected strings.
    coding : {"signed", "one_hot"}, default "signed"
        Input coding: one channel, +1 for a 1 and -1 for a 0; or two channels, ``(1, 0)``
        for a 0 and ``(0, 1)`` for a 1.
    tolerance : float, default 0.5
        A string is classified right when the absolute error at its last step is below this;
        0.5 is a threshold at 0.5 for targets 0 / 1.

    Notes
    -----
    Choices the sources leave open (ours): the defaults above (lengths 1..10, random
    balanced sampling, signed coding, tolerance 0.5), the exclusion of the empty string,
    grammar 3's reading of "followed" as "anywhere later", and the default architecture.

    The training and test sets of an experiment are drawn by separate generators, so with
    ``sampling="all"`` and ``n < n_strings`` they are two independent random subsets that
    may overlap, and with ``n = n_strings`` both are the whole set (a test of nothing beyond
    training).  For a test on unseen strings, score a network on a task with larger
    ``min_length`` / ``max_length``.

    References
    ----------
    M. Tomita, "Dynamic construction of finite-state automata from examples using
    hill-climbing", Proc. 4th Annual Conference of the Cognitive Science Society, 1982.
    P. J. Angeline, G. M. Saunders, J. B. Pollack, "An evolutionary algorithm that constructs
    recurrent neural networks", IEEE Trans. Neural Networks 5(1), 1994.
    """

    name = "tomita"
    n_in = 1
    n_out = 1

    def __init__(self, grammar: int = 1, max_length: int = 10, min_length: int = 1, sampling: str = "random",
                 balanced: bool = True, coding: str = "signed", tolerance: float = 0.5) -> None:
        if isinstance(grammar, bool) or not isinstance(grammar, (int, np.integer)) or grammar not in GRAMMARS:
            raise InvalidParameter("grammar", f"must be an integer from 1 to 7; got {grammar!r}")
        self.grammar = int(grammar)
        self.min_length = integer(min_length, "min_length", 1)
        self.sampling = one_of(sampling, "sampling", SAMPLINGS)
        longest = MAX_LENGTH_ALL if sampling == "all" else MAX_LENGTH
        if (isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer))
                or not self.min_length <= max_length <= longest):
            raise InvalidParameter("max_length", f"must be an integer from min_length={self.min_length} to "
                                   f"{longest}{' with sampling=' + repr(sampling) if sampling == 'all' else ''}; "
                                   f"got {max_length!r}")
        self.max_length = int(max_length)
        self.balanced = boolean(balanced, "balanced")
        self.coding = one_of(coding, "coding", CODINGS)
        if coding == "one_hot":
            self.n_in = 2
        self.tolerance = positive_number(tolerance, "tolerance")

        _, delta, accept = GRAMMARS[self.grammar]
        self._delta = np.array(delta)
        self._accept = np.array(accept)
        self._counts = self._count_strings()
        if self.balanced:
            for cls, verb in ((1, "accepts"), (0, "rejects")):
                if self._class_total(cls) == 0:
                    raise InvalidParameter("balanced", f"= True needs accepted and rejected strings, but grammar "
                                           f"{self.grammar} {verb} no string of length {self.min_length}.."
                                           f"{self.max_length}; widen min_length..max_length or set balanced=False")

    def sample_steps(self, n: int) -> int:
        return self.max_length

    # ------------------------------------------------------------------ counting
    def _count_strings(self) -> list[list[list[int]]]:
        """``counts[c][r][s]``: strings of length ``r`` that lead from state ``s`` to class ``c``.

        Class 0 is rejected, 1 accepted, 2 any string.  Exact (Python integers).
        """
        n_states = len(self._accept)
        counts = [[[int(self._accept[s] == bool(c)) for s in range(n_states)]] for c in (0, 1)]
        for table in counts:
            for _ in range(self.max_length):
                last = table[-1]
                table.append([last[self._delta[s, 0]] + last[self._delta[s, 1]] for s in range(n_states)])
        counts.append([[2**r] * n_states for r in range(self.max_length + 1)])
        return counts

    def _class_total(self, cls: int) -> int:
        return sum(self._counts[cls][length][0] for length in range(self.min_length, self.max_length + 1))

    @property
    def n_strings(self) -> int:
        """Number of strings of length ``min_length..max_length`` (what ``sampling="all"`` draws from)."""
        return self._class_total(ANY)

    @property
    def n_accepted(self) -> int:
        """Number of those strings the grammar accepts."""
        return self._class_total(1)

    def accepts(self, string: str) -> bool:
        """Whether the grammar accepts ``string``, a str of '0' and '1' (the empty string too)."""
        if not isinstance(string, str) or set(string) - {"0", "1"}:
            raise ValueError(f"string must be a str of '0' and '1'; got {string!r}")
        state = 0
        for symbol in string:
            state = self._delta[state, int(symbol)]
        return bool(self._accept[state])

    # ------------------------------------------------------------------ the Task contract
    def default_architecture(self) -> Architecture:
        """Fully recurrent, every non-input unit biased, 3 sigmoid hidden units and a sigmoid output (our choice).

        Three hidden units and the self-recurrent output give four recurrent units, enough
        to hold the states of the largest of the seven automata (six, for grammar 3).
        """
        return Architecture.fully_recurrent(self.n_in, 3, 1, hidden="sigmoid", output="sigmoid")

    def criterion(self) -> WithinTolerance:
        return WithinTolerance(self.tolerance)

    def sample(self, n: int, rng: np.random.Generator) -> SequenceBatch:
        """``n`` strings as ``sampling`` and ``balanced`` say (see the class docstring)."""
        n = check_positive_count(n)
        if self.balanced:
            classes = balanced_labels(n, 2, rng)
        else:
            classes = np.full(n, ANY)
        if self.sampling == "all":
            symbols, lengths = self._sample_all(n, classes, rng)
        else:
            symbols, lengths = self._sample_random(classes, rng)
        labels = self._run(symbols, lengths)
        running = running_mask(lengths, symbols.shape[1])
        if self.coding == "signed":
            inputs = np.where(symbols == 1, 1.0, -1.0)[:, :, None]
        else:
            inputs = np.stack([symbols == 0, symbols == 1], axis=2).astype(float)
        inputs[~running] = 0.0
        return end_target_batch(inputs, lengths, labels[:, None].astype(float), labels)

    # ------------------------------------------------------------------ drawing strings
    def _sample_random(self, classes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Lengths uniform among the feasible ones per class, then a uniform string of the class."""
        n = classes.size
        lengths = np.empty(n, dtype=np.int64)
        for cls in np.unique(classes):
            rows = np.flatnonzero(classes == cls)
            feasible = [length for length in range(self.min_length, self.max_length + 1)
                        if self._counts[cls][length][0] > 0]
            lengths[rows] = np.asarray(feasible)[rng.integers(len(feasible), size=rows.size)]
        T = int(lengths.max())
        # p_one[c, r, s]: probability that the next symbol is 1, from state s with r symbols
        # to go, among the strings of class c (exact counts, one rounding).
        n_states = len(self._accept)
        p_one = np.zeros((3, T + 1, n_states))
        for c in range(3):
            for r in range(1, T + 1):
                for s in range(n_states):
                    total = self._counts[c][r][s]
                    if total:
                        p_one[c, r, s] = self._counts[c][r - 1][self._delta[s, 1]] / total
        uniform = rng.random((n, T))
        symbols = np.zeros((n, T), dtype=np.int8)
        state = np.zeros(n, dtype=np.int64)
        for t in range(T):
            live = np.flatnonzero(t < lengths)
            one = uniform[live, t] < p_one[classes[live], lengths[live] - t, state[live]]
            symbols[live, t] = one
            state[live] = self._delta[state[live], one.astype(np.int64)]
        return symbols, lengths

    def _sample_all(self, n: int, classes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Distinct strings: uniformly random ranks among the strings of each class, unranked.

        Strings of a class are ranked by length, then lexicographically (0 before 1).
        """
        if self.balanced:
            need = -(-n // 2)  # the larger class of a balanced set
            have = min(self.n_accepted, self.n_strings - self.n_accepted)
            if need > have:
                raise ValueError(f"n must be at most {2 * have} with sampling='all' and balanced=True: grammar "
                                 f"{self.grammar} has {self.n_accepted} accepted and "
                                 f"{self.n_strings - self.n_accepted} rejected strings of length "
                                 f"{self.min_length}..{self.max_length}; got n={n}")
        elif n > self.n_strings:
            raise ValueError(f"n must be at most {self.n_strings} with sampling='all', the number of strings of "
                             f"length {self.min_length}..{self.max_length}; got n={n}")
        counts = np.array(self._counts, dtype=np.int64)  # (3, max_length + 1, n_states); < 2**61
        lengths = np.empty(n, dtype=np.int64)
        rank = np.empty(n, dtype=np.int64)
        for cls in np.unique(classes):
            rows = np.flatnonzero(classes == cls)
            per_length = counts[cls, self.min_length:, 0]
            ends = np.cumsum(per_length)
            index = rng.choice(int(ends[-1]), size=rows.size, replace=False)
            which = np.searchsorted(ends, index, side="right")
            lengths[rows] = self.min_length + which
            rank[rows] = index - (ends[which] - per_length[which])
        T = int(lengths.max())
        symbols = np.zeros((n, T), dtype=np.int8)
        state = np.zeros(n, dtype=np.int64)
        for t in range(T):
            live = np.flatnonzero(t < lengths)
            after_zero = counts[classes[live], lengths[live] - t - 1, self._delta[state[live], 0]]
            one = rank[live] >= after_zero
            rank[live] -= np.where(one, after_zero, 0)
            symbols[live, t] = one
            state[live] = self._delta[state[live], one.astype(np.int64)]
        return symbols, lengths

    def _run(self, symbols: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """1 where the automaton accepts the string, else 0."""
        state = np.zeros(len(lengths), dtype=np.int64)
        for t in range(symbols.shape[1]):
            live = t < lengths
            state[live] = self._delta[state[live], symbols[live, t]]
        return self._accept[state].astype(np.int64)

    def __repr__(self) -> str:
        params = ("grammar", "max_length", "min_length", "sampling", "balanced", "coding", "tolerance")
        return f"Tomita({', '.join(f'{k}={getattr(self, k)!r}' for k in params)})"
