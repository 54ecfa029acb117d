"""The embedded Reber grammar (docs/literature.md, "LSTM97 tasks", experiment 1).

The grammar is written out again here, independently of tasks/reber.py, as a table of
(state, symbol) -> state taken from docs/literature.md, and every string is parsed with it.
"""

from __future__ import annotations

import numpy as np
import pytest

import evorec

SYMBOLS = "BTPSXVE"

# docs/literature.md: state 0: T->1, P->2; 1: S->1, X->3; 2: T->2, V->4; 3: X->2, S->5;
# 4: P->3, V->5; 5: E.
REBER = {0: {"T": 1, "P": 2}, 1: {"S": 1, "X": 3}, 2: {"T": 2, "V": 4}, 3: {"X": 2, "S": 5},
         4: {"P": 3, "V": 5}, 5: {"E": "end"}}


def allowed(state):
    """Symbols allowed next, and where each leads, in the embedded grammar.

    States: "start", "outer" (after B), ("inner", O) (after B O), ("reber", O, r) (inside the
    Reber string, Reber state r), ("close", O) (after the inner E), "last" (after the second
    O), "done" (after the final E).
    """
    if state == "start":
        return {"B": "outer"}
    if state == "outer":
        return {"T": ("inner", "T"), "P": ("inner", "P")}
    if state == "done":
        return {}
    if state == "last":
        return {"E": "done"}
    kind, outer, *rest = state
    if kind == "inner":
        return {"B": ("reber", outer, 0)}
    if kind == "close":
        return {outer: "last"}
    r = rest[0]
    return {sym: ("close", outer) if nxt == "end" else ("reber", outer, nxt) for sym, nxt in REBER[r].items()}


def parse(string):
    """The possible next symbols after each symbol of ``string``; None if the grammar rejects it."""
    state, after = "start", []
    for sym in string:
        moves = allowed(state)
        if sym not in moves:
            return None
        state = moves[sym]
        after.append(set(allowed(state)))
    return after if state == "done" else None


def decode(batch, b):
    """Sequence b of a batch as a string of the symbols fed, and the sets its targets mark."""
    L = batch.lengths[b]
    x = batch.inputs[b, :L]
    assert np.all((x == 0) | (x == 1)) and np.all(x.sum(axis=1) == 1), "inputs must be one-hot"
    fed = "".join(SYMBOLS[i] for i in x.argmax(axis=1))
    y = batch.targets[b, :L]
    assert np.all((y == 0) | (y == 1))
    marked = [{SYMBOLS[i] for i in np.flatnonzero(row)} for row in y]
    return fed, marked


@pytest.fixture(scope="module")
def batch():
    return evorec.make_task("embedded_reber").sample(600, np.random.default_rng(0))


@pytest.fixture(scope="module")
def iid_batch():
    return evorec.make_task("embedded_reber", distinct=False).sample(4000, np.random.default_rng(1))


# --------------------------------------------------------------- the acceptor can fail
def test_acceptor_accepts_and_rejects_hand_written_strings():
    assert parse("BTBTXSETE") is not None
    assert parse("BPBPVVEPE") is not None
    assert parse("BTBTSSXXTVVETE") is not None
    for bad in ("BTBTXSEPE",   # embedding symbols differ
                "BTBTXSET",    # final E missing
                "BTBTSETE",    # S from state 1 loops, cannot end the Reber string
                "BTTXSETE",    # inner B missing
                "TBTXSETE"):   # starts without B
        assert parse(bad) is None, bad


# ---------------------------------------------------------------- strings and targets
@pytest.mark.parametrize("which", ["batch", "iid_batch"])
def test_every_string_is_accepted_and_targets_are_the_possible_next_symbols(which, request):
    data = request.getfixturevalue(which)
    for b in range(len(data)):
        fed, marked = decode(data, b)
        # The final E is not fed: the last step's target says it is the only possible symbol.
        assert marked[-1] == {"E"}
        after = parse(fed + "E")
        assert after is not None, fed
        assert marked == after[:-1], fed


def test_every_step_is_scored_and_padding_is_empty(batch):
    running = np.arange(batch.n_steps)[None, :] < batch.lengths[:, None]
    np.testing.assert_array_equal(batch.target_mask, running)
    assert np.all(batch.inputs[~running] == 0) and np.all(batch.targets[~running] == 0)
    assert (batch.n_in, batch.n_out) == (7, 7)


def test_long_lag_target_is_the_embedding_symbol(batch):
    for b in range(len(batch)):
        fed, marked = decode(batch, b)
        assert marked[-2] == {fed[1]}  # after the inner E: the same T or P as at the start
        assert batch.labels[b] == "TP".index(fed[1])


def test_embedding_branches_are_balanced_and_shuffled(batch, iid_batch):
    for data in (batch, iid_batch):
        assert np.sum(data.labels == 0) == np.sum(data.labels == 1) == len(data) // 2
        assert np.any(data.labels[:-1] != data.labels[1:])


def test_reber_branches_have_probability_one_half(iid_batch):
    counts = {(r, s): 0 for r, moves in REBER.items() for s in moves}
    for b in range(len(iid_batch)):
        fed, _ = decode(iid_batch, b)
        r = 0
        for sym in fed[3:-2]:  # the Reber walk between the inner B and the inner E
            counts[r, sym] += 1
            r = REBER[r][sym]
    for r in range(5):
        a, b = (counts[r, s] for s in REBER[r])
        assert a + b > 2000
        assert abs(a / (a + b) - 0.5) < 0.03, (r, a, b)


def test_shortest_reber_strings_have_their_probability(iid_batch):
    # TXS and PVV each take three fair branches: probability 1/8 each.
    walks = [decode(iid_batch, b)[0][3:-2] for b in range(len(iid_batch))]
    for walk in ("TXS", "PVV"):
        assert abs(walks.count(walk) / len(walks) - 0.125) < 0.02


def test_distinct_strings_within_a_sample(batch, iid_batch):
    strings = [decode(batch, b)[0] for b in range(len(batch))]
    assert len(set(strings)) == len(strings)
    # Without it, repeats are common (the two shortest walks alone have probability 1/4).
    iid = [decode(iid_batch, b)[0] for b in range(len(iid_batch))]
    assert len(set(iid)) < len(iid) / 2


def test_distinct_handles_small_and_odd_counts():
    task = evorec.make_task("embedded_reber")
    for n in (1, 3, 257):
        data = task.sample(n, np.random.default_rng(n))
        strings = [decode(data, b)[0] for b in range(n)]
        assert len(set(strings)) == n
        assert all(parse(s + "E") is not None for s in strings)


# ----------------------------------------------------------------------------- scoring
def test_targets_as_outputs_are_right_and_a_swap_is_wrong(batch):
    task = evorec.make_task("embedded_reber")
    targets, sequence, _ = batch.scored_targets()
    criterion = task.criterion()
    fitness = evorec.make_fitness("next_symbol_wrong")
    assert criterion.entry_correct(targets[None], targets).all()
    assert fitness(targets[None], targets, sequence, len(batch))[0] == 0.0
    # At one step, let an impossible symbol's output beat a possible one's.
    wrong = targets.copy()
    k = 5
    possible, impossible = np.flatnonzero(targets[k] > 0.5)[0], np.flatnonzero(targets[k] < 0.5)[0]
    wrong[k, possible], wrong[k, impossible] = 0.4, 0.6
    ok = criterion.entry_correct(wrong[None], targets)[0]
    assert not ok[k] and ok.sum() == ok.size - 1
    assert fitness(wrong[None], targets, sequence, len(batch))[0] == pytest.approx(1 / len(batch))


def test_defaults():
    task = evorec.make_task("embedded_reber")
    assert task.distinct is True
    assert task.default_fitness in evorec.FITNESS.names()
    arch = task.default_architecture()
    assert (arch.n_in, arch.n_out) == (task.n_in, task.n_out) == (7, 7)


def test_same_seed_same_batch_and_global_state_untouched():
    task = evorec.make_task("embedded_reber")
    before = np.random.get_state()  # noqa: NPY002
    a, b = (task.sample(50, np.random.default_rng(9)) for _ in range(2))
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0] and np.array_equal(before[1], after[1])
    for field in ("inputs", "targets", "target_mask", "lengths", "labels"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("distinct", ["yes", 1, None])
def test_bad_distinct(distinct):
    with pytest.raises(ValueError, match="distinct"):
        evorec.make_task("embedded_reber", distinct=distinct)


@pytest.mark.parametrize("n", [0, -1, 2.5, None])
def test_bad_sample_count(n):
    with pytest.raises(ValueError, match=r"\bn\b"):
        evorec.make_task("embedded_reber").sample(n, np.random.default_rng(0))


# --------------------------------------------------- training on the actual next symbol
def test_next_symbol_targets_are_the_symbol_that_follows_and_the_test_stays_the_possible_set():
    # targets="next" trains towards the symbol that actually comes next (one-hot); the success
    # test still judges by the set of possible next symbols.  Same draws as the default.
    possible = evorec.make_task("embedded_reber").sample(300, np.random.default_rng(3))
    actual = evorec.make_task("embedded_reber", targets="next").sample(300, np.random.default_rng(3))
    np.testing.assert_array_equal(actual.inputs, possible.inputs)
    np.testing.assert_array_equal(actual.scored_criterion_targets(), possible.scored_targets()[0])
    for b in range(len(actual)):
        fed, _ = decode(possible, b)
        L = actual.lengths[b]
        following = fed[1:] + "E"
        assert "".join(SYMBOLS[i] for i in actual.targets[b, :L].argmax(axis=1)) == following
        assert np.all(actual.targets[b, :L].sum(axis=1) == 1)
        # Each actual next symbol is one of the possible ones.
        assert np.all(possible.targets[b, np.arange(L), actual.targets[b, :L].argmax(axis=1)] == 1)
    assert np.all(actual.targets[~actual.target_mask] == 0)
    with pytest.raises(ValueError, match="targets"):
        evorec.make_task("embedded_reber", targets="set")
