"""The shared evaluator: many recurrent networks over many sequences, as array operations.

Every strategy scores networks through :func:`evaluate`, so costs are counted the same way
for all of them.  The work is laid out as arrays over (network, unit, sequence) and advances
one time step per iteration; only the outputs at scored steps are kept, never the full
history (:func:`forward` keeps it, for inspection and tests of small cases).

How it is made fast, without changing the mathematics:

* Sigmoid units are computed in *tanh space*: ``sigmoid(z) = (1 + tanh(z / 2)) / 2`` is
  affine in ``tanh(z / 2)``, so a sigmoid unit stores ``u = tanh(z / 2)`` and the affine map
  is folded into the weights of the links leaving it (and the bias).  Each step then costs one
  batched matrix product and one ``tanh`` per unit group, written straight into the state.
* The population is cut into chunks whose working arrays fit in the processor's cache, and
  below the memory budget; chunks can run on threads (``n_jobs``), as numpy releases the GIL.
* Sequences are sorted by length, longest first, so a step only computes the sequences that
  are still running, and padding costs nothing.
* With ``early_exit``, the sequences are run in blocks; a network with a wrong sequence is
  dropped before the next block (and at the step it goes wrong), as random guessing allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from .batch import SequenceBatch
from .network import Architecture, Population
from .scoring import Criterion, Fitness, per_sequence_all

#: The per-step working arrays of a chunk are sized to about this many bytes, so that they
#: stay in the processor's cache.  benchmarks/chunking.py measured 0.5-8 MiB chunks about 7 %
#: faster than one chunk for n = 10 hidden units, and no difference for n = 1 and n = 32.
CACHE_BYTES = 2 * 2**20

DEFAULT_MEMORY_BUDGET = 2**30  # 1 GiB


@dataclass(frozen=True)
class Evaluation:
    """What the evaluator reports for a population on a batch.

    Attributes
    ----------
    loss : ndarray, shape (P,)
        Fitness per network (lower is better).  ``fitness.worst`` for networks with non-finite
        outputs; ``inf`` for networks that early exit stopped before the end.
    wrong : ndarray of int, shape (P,)
        Number of wrong sequences (for stopped networks: those found wrong before stopping).
    solved : ndarray of bool, shape (P,)
        Every sequence right.
    complete : ndarray of bool, shape (P,)
        Evaluated on every sequence (False only for networks stopped by early exit).
    sequences, steps : ndarray of int, shape (P,)
        Sequence presentations and network time steps (one network, one sequence, one time
        step) computed for each network.
    n_sequences : int
        Number of sequences in the batch.
    """

    loss: np.ndarray
    wrong: np.ndarray
    solved: np.ndarray
    complete: np.ndarray
    sequences: np.ndarray
    steps: np.ndarray
    n_sequences: int

    @property
    def evaluations(self) -> int:
        """Network x batch passes: the number of networks evaluated."""
        return int(self.loss.size)

    @property
    def fraction_wrong(self) -> np.ndarray:
        return self.wrong / self.n_sequences


# --------------------------------------------------------------------------- preparation
@dataclass(frozen=True)
class CompiledNetwork:
    """Networks rewritten for the tanh-space step, as :func:`evaluate` and the stepper run them.

    A sigmoid unit stores ``u = tanh(z / 2)`` instead of its activation, and the affine map
    back to the activation is folded into the weights of the links leaving it (see the module
    docstring), so one step is a matrix product and a ``tanh`` per unit group.  Made by
    :func:`compile_network`; :class:`evorec.stepper.Stepper` steps these same arrays, so a
    network behaves identically in both.

    Attributes
    ----------
    W_h : ndarray, shape (p, n_hidden, D)
        Effective weights of the hidden units over the stored state
        ``[1, x, u_h, u_y]`` (``D = 1 + n_in + n_hidden + n_out``).
    W_y : ndarray, shape (p, n_out, D)
        Effective weights of the output units.
    initial : ndarray, shape (D,)
        Stored state at ``t = 0``: bias 1, inputs 0, and the stored values of activation 0.
    out_scale, out_shift : ndarray, shape (n_out,)
        Real output activation = ``out_scale * stored + out_shift``.
    squash_h, squash_y : bool
        Apply ``tanh`` to the hidden / output group's products (False: linear units).
    synchronous : bool, default False
        Outputs from the previous step's hidden state (``Architecture.update``).
    alpha : ndarray, shape (p, n_hidden), optional
        ``1 / tau`` of leaky hidden units (``Architecture.time_constants``): the stored state
        becomes ``(1 - alpha) u_{t-1} + alpha tanh(...)``; the leak is an affine mix, so it
        commutes with the map from stored values to activations.  None: today's units.
    delays : int, default 1
        Steps of outputs in the source vector (``Architecture.delays``): the rows after the
        outputs hold ``u_y`` of steps ``t-2 .. t-delays``.  The stepper shifts them once per
        step; the evaluator keeps them as a ring and permutes the weights instead
        (:func:`_ring_weights`).
        ``W_y`` has only the columns before the delay line when no output unit reads it
        (:meth:`evorec.Architecture.narx`), so the outputs' product does not grow with it.
    """

    W_h: np.ndarray
    W_y: np.ndarray
    initial: np.ndarray
    out_scale: np.ndarray
    out_shift: np.ndarray
    squash_h: bool
    squash_y: bool
    synchronous: bool = False
    alpha: np.ndarray | None = None
    delays: int = 1


def _affine(activation: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored value u -> real activation ``scale * u + shift`` for a group of units."""
    if activation == "sigmoid":
        return np.full(n, 0.5), np.full(n, 0.5)
    return np.ones(n), np.zeros(n)


def compile_network(arch: Architecture, W_h: np.ndarray, W_y: np.ndarray,
                    tau: np.ndarray | None = None) -> CompiledNetwork:
    """Rewrite networks' weights for the tanh-space step.

    Parameters
    ----------
    arch : Architecture
        Sizes, activations and update order of the networks.
    W_h, W_y : ndarray, shapes (p, n_hidden, D) and (p, n_out, D)
        Real weights, as in :class:`evorec.Population` (any leading shape works).
    tau : ndarray, shape (p, n_hidden), optional
        Time constants (:attr:`evorec.Population.tau`); required for a leaky architecture.

    Returns
    -------
    CompiledNetwork
        New effective weight arrays; ``W_h`` and ``W_y`` are not modified.
    """
    n_lead = 1 + arch.n_in
    scale_h, shift_h = _affine(arch.hidden, arch.n_hidden)
    scale_y, shift_y = _affine(arch.output, arch.n_out)
    # The delay line's taps hold earlier outputs, stored (and mapped back) as the outputs are.
    scale = np.concatenate([np.ones(n_lead), scale_h, np.tile(scale_y, arch.delays)])
    shift = np.concatenate([np.zeros(n_lead), shift_h, np.tile(shift_y, arch.delays)])

    def effective(W: np.ndarray, activation: str) -> np.ndarray:
        eff = W * scale
        eff[..., 0] += W @ shift
        # A sigmoid target computes tanh(z / 2).
        return eff * 0.5 if activation == "sigmoid" else eff

    initial = np.concatenate([[1.0], np.zeros(arch.n_in), -shift_h / scale_h,
                              np.tile(-shift_y / scale_y, arch.delays)])
    W_y_eff = effective(W_y, arch.output)
    taps = slice(arch.source_slices()["delayed"].start, None)
    if arch.delays > 1 and not np.any(W_y_eff[..., taps]):
        W_y_eff = np.ascontiguousarray(W_y_eff[..., :taps.start])
    alpha = None
    if arch.leaky:
        if tau is None:
            raise ValueError("a leaky architecture (time_constants) needs the networks' tau")
        alpha = 1.0 / np.asarray(tau, dtype=float)
    return CompiledNetwork(effective(W_h, arch.hidden), W_y_eff, initial,
                     scale_y, shift_y, arch.hidden != "linear", arch.output != "linear",
                     arch.update == "synchronous", alpha, arch.delays)


@dataclass(frozen=True)
class _Block:
    """Sequences run together, sorted longest first, with the steps at which to score."""

    inputs: np.ndarray         # (T_b, n_in, b): time-major so a step's inputs are contiguous
    n_running: np.ndarray      # (T_b,): sequences still running at each step
    steps_through: np.ndarray  # (T_b,): network steps computed by the end of each step
    events: dict[int, tuple[np.ndarray, np.ndarray]]  # step -> (positions in block, entry ids)

    @property
    def size(self) -> int:
        return self.inputs.shape[2]


def _make_blocks(batch: SequenceBatch, block_size: int, entry_seq: np.ndarray,
                 entry_step: np.ndarray) -> list[_Block]:
    blocks = []
    for start in range(0, batch.n_sequences, block_size):
        seqs = np.arange(start, min(start + block_size, batch.n_sequences))
        order = seqs[np.argsort(-batch.lengths[seqs], kind="stable")]
        lengths = batch.lengths[order]
        T_b = int(lengths[0])
        inputs = np.ascontiguousarray(batch.inputs[order, :T_b].transpose(1, 2, 0))
        n_running = (lengths[None, :] > np.arange(T_b)[:, None]).sum(axis=1)
        position = np.empty(batch.n_sequences, dtype=np.int64)
        position[order] = np.arange(order.size)
        entries = np.flatnonzero((entry_seq >= start) & (entry_seq < start + block_size))
        entries = entries[np.argsort(entry_step[entries], kind="stable")]
        steps, first = np.unique(entry_step[entries], return_index=True)
        events = {int(step): (position[entry_seq[at]], at)
                  for step, at in zip(steps, np.split(entries, first[1:]), strict=True)}
        blocks.append(_Block(inputs, n_running, np.cumsum(n_running), events))
    return blocks


# ------------------------------------------------------------------------------- kernel
#: ``on_event(block, t, outputs, rows)`` of :func:`_simulate`: returns which rows keep running.
_EventHandler = Callable[[_Block, int, np.ndarray, np.ndarray], np.ndarray | None]


def _simulate(net: CompiledNetwork, block: _Block, rows: np.ndarray, on_event: _EventHandler) -> None:
    """Run networks over one block of sequences.

    Parameters
    ----------
    net : CompiledNetwork
        The ``p`` networks.
    block : _Block
    rows : ndarray of int, shape (p,)
        The caller's ids of the networks (their rows in its own arrays); they are handed to
        ``on_event`` as they are, so the handler needs no mapping from ``net``'s rows.
    on_event : callable
        ``on_event(block, t, outputs, rows)`` is called at each step ``t`` that carries
        targets, with the real outputs of the networks still running at the scored positions,
        shape ``(r, n_out, k)``, and the ids of those networks, shape ``(r,)``.  It returns a
        boolean array, shape ``(r,)``, of the networks to keep running, or None to keep all.
    """
    W_h, W_y = net.W_h, net.W_y
    synchronous = net.synchronous
    p, H, n_out, D = W_h.shape[0], W_h.shape[1], W_y.shape[1], net.initial.size
    D_y = W_y.shape[2]  # sources the outputs read: all, or all but an unread delay line
    n_in = block.inputs.shape[1]
    y0 = 1 + n_in + H
    x_rows, h_rows, y_rows = slice(1, 1 + n_in), slice(1 + n_in, y0), slice(y0, y0 + n_out)
    # NARX delay line as a ring: the d output slots are never shifted.  Step t writes y_t into
    # slot t mod d (over y_{t-d}, once every product has read it), and reads its sources with
    # the weights whose columns are permuted to match (one copy of W per phase), so a step
    # costs its products and no copy of the line (shifting it cost up to 0.3 plain steps).
    ring = net.delays > 1
    if ring:
        W_h_ring, W_y_ring, D_y = _ring_weights(net, y0)
        slots = [slice(y0 + i * n_out, y0 + (i + 1) * n_out) for i in range(net.delays)]
    # Leaky units: per (unit, network) factors, broadcast over the sequences.
    leaky = net.alpha is not None
    if leaky:
        alpha = np.ascontiguousarray(net.alpha.T)[:, :, None]
        beta = 1.0 - alpha
    # Unit-major layout (unit, network, sequence): each unit group's activations form one
    # contiguous slab, so tanh reads and writes contiguous memory (20 % faster for one hidden
    # unit than network-major), while matmul sees the (network, unit, sequence) view it needs.
    state = np.empty((D, p, block.size))
    state[:] = net.initial[:, None, None]
    pre_h, pre_y = np.empty((H, p, block.size)), np.empty((n_out, p, block.size))
    alive = rows
    width = -1
    for t in range(block.inputs.shape[0]):
        if block.n_running[t] != width:  # views change only when a sequence ends
            width = block.n_running[t]
            s_all = state[:, :, :width].transpose(1, 0, 2)
            s_all_y = s_all if D_y == D else state[:D_y, :, :width].transpose(1, 0, 2)
            s_x, s_h, s_y = (state[rows, :, :width] for rows in (x_rows, h_rows, y_rows))
            if ring:
                s_slots = [state[slot, :, :width] for slot in slots]
            p_h, p_y = pre_h[:, :, :width], pre_y[:, :, :width]
            p_h_view, p_y_view = p_h.transpose(1, 0, 2), p_y.transpose(1, 0, 2)
        s_x[...] = block.inputs[t, :, None, :width]
        if ring:
            phase = t % net.delays
            W_h, W_y, s_y, y_rows = W_h_ring[phase], W_y_ring[phase], s_slots[phase], slots[phase]
        if synchronous:  # the outputs' products read the hidden state before it is updated
            np.matmul(W_y, s_all_y, out=p_y_view)
        if H:
            np.matmul(W_h, s_all, out=p_h_view)
            if leaky:  # u_t = (1 - alpha) u_{t-1} + alpha f; exactly f where alpha = 1
                if net.squash_h:
                    np.tanh(p_h, out=p_h)
                p_h *= alpha
                s_h *= beta
                s_h += p_h
            elif net.squash_h:
                np.tanh(p_h, out=s_h)
            else:
                s_h[...] = p_h
        if not synchronous:
            np.matmul(W_y, s_all_y, out=p_y_view)
        if net.squash_y:
            np.tanh(p_y, out=s_y)
        else:
            s_y[...] = p_y
        event = block.events.get(t)
        if event is None:
            continue
        outputs = state[y_rows][:, :, event[0]].transpose(1, 0, 2) * net.out_scale[:, None] \
            + net.out_shift[:, None]
        keep = on_event(block, t, outputs, alive)
        if keep is not None and not keep.all():
            alive = alive[keep]
            if not alive.size:
                return
            state, W_h, W_y = state[:, keep], W_h[keep], W_y[keep]
            if ring:
                W_h_ring, W_y_ring = W_h_ring[:, keep], W_y_ring[:, keep]
            if leaky:
                alpha = alpha[:, keep]
                beta = 1.0 - alpha
            pre_h, pre_y = np.empty((H, alive.size, block.size)), np.empty((n_out, alive.size, block.size))
            width = -1


def _ring_weights(net: CompiledNetwork, y0: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The networks' weights for each phase of the delay-line ring of :func:`_simulate`.

    At step ``t`` slot ``i`` of the ring (rows ``y0 + i * n_out ...``) holds the outputs of
    delay ``k = (t - i) mod d`` (``k = 0`` meaning ``d``), so phase ``t mod d`` reads slot
    ``i``'s columns from the weights' column of delay ``k``.  Returns ``W_h`` per phase, shape
    ``(d, p, H, D)``, ``W_y`` per phase and the number of sources the outputs read: all ``D``,
    or only those before the line when no output reads any of it (NARX), then unpermuted.
    """
    d, D = net.delays, net.initial.size
    n_out = net.W_y.shape[1]
    perms = []
    for phase in range(d):
        perm = np.arange(D)
        for i in range(d):
            k = (phase - i) % d or d
            perm[y0 + i * n_out:y0 + (i + 1) * n_out] = np.arange(y0 + (k - 1) * n_out, y0 + k * n_out)
        perms.append(perm)
    W_h = np.stack([net.W_h[:, :, perm] for perm in perms])
    W_y = net.W_y
    if not np.any(W_y[..., y0:]):
        return W_h, np.broadcast_to(np.ascontiguousarray(W_y[..., :y0]), (d, *W_y.shape[:2], y0)), y0
    if W_y.shape[2] < D:  # compile_network dropped the taps no output reads; the ring moves y_{t-1}
        W_y = np.concatenate([W_y, np.zeros((*W_y.shape[:2], D - W_y.shape[2]))], axis=2)
    return W_h, np.stack([W_y[:, :, perm] for perm in perms]), D


# ------------------------------------------------------------------------------ chunks
@dataclass(frozen=True)
class _Shared:
    """What every chunk of one evaluation reads: the blocks to run and how to score them.

    ``targets``, ``judged`` (what the criterion compares with) and ``entry_seq`` are the
    batch's scored entries, shape ``(N, n_out)``, ``(N, n_out)`` and ``(N,)``.
    """

    blocks: list[_Block]
    targets: np.ndarray
    judged: np.ndarray
    entry_seq: np.ndarray
    n_sequences: int
    fitness: Fitness
    criterion: Criterion
    early_exit: bool


@dataclass(eq=False)
class _ChunkOutputs:
    """One chunk's working arrays, filled as its networks run block by block.

    Attributes
    ----------
    store : ndarray, shape (p, N, n_out)
        Real outputs at the scored entries; NaN where a network never got there.
    seen : ndarray of bool, shape (p, N)
        Entries whose output is in ``store``.
    running : ndarray of bool, shape (p,)
        Not (yet) stopped by early exit.
    sequences, steps : ndarray of int, shape (p,)
        Sequence presentations and network time steps computed so far.
    stop_on : Criterion or None
        With early exit, the criterion that stops a network at its first wrong entry;
        None to let every network run to the end.
    judged : ndarray, shape (N, n_out), optional
        What ``stop_on`` compares the outputs with.
    """

    store: np.ndarray
    seen: np.ndarray
    running: np.ndarray
    sequences: np.ndarray
    steps: np.ndarray
    stop_on: Criterion | None = None
    judged: np.ndarray | None = None

    @classmethod
    def empty(cls, p: int, n_entries: int, n_out: int, stop_on: Criterion | None = None,
              judged: np.ndarray | None = None) -> _ChunkOutputs:
        """Arrays for ``p`` networks that have not run yet."""
        return cls(np.full((p, n_entries, n_out), np.nan), np.zeros((p, n_entries), dtype=bool),
                   np.ones(p, dtype=bool), np.zeros(p, dtype=np.int64), np.zeros(p, dtype=np.int64),
                   stop_on, judged)

    def record(self, block: _Block, t: int, outputs: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        """Keep the outputs of step ``t`` of ``block``; with early exit, stop wrong networks.

        The ``on_event`` handler of :func:`_simulate`: ``outputs``, shape ``(r, n_out, k)``,
        are those of the networks ``rows`` (rows of these arrays) at the block's scored
        positions of step ``t``.  Returns which of ``rows`` keep running (None: all).
        """
        entries = block.events[t][1]
        values = outputs.transpose(0, 2, 1)
        self.store[rows[:, None], entries] = values
        self.seen[rows[:, None], entries] = True
        if self.stop_on is None:
            return None
        keep = self.stop_on.entry_correct(values, self.judged[entries]).all(axis=1)
        # A stopped network is charged the steps of its block up to this one.
        stopped = rows[~keep]
        self.steps[stopped] += block.steps_through[t]
        self.running[stopped] = False
        return keep


def _run_chunk(part: Population, shared: _Shared) -> tuple[np.ndarray, ...]:
    """Run one chunk of networks over every block and score it.

    Returns
    -------
    tuple of ndarray, each shape (p,)
        Loss, wrong count, solved, complete (as :func:`score_outputs`), sequences and steps.
    """
    # Overflow and NaN are expected (they score as fitness.worst).  numpy's error state is
    # per thread, so it is set here, in the thread that runs the chunk, not by the caller.
    with np.errstate(all="ignore"):
        net = compile_network(part.architecture, part.W_h, part.W_y, part.tau)
        out = _ChunkOutputs.empty(len(part), shared.entry_seq.size, part.architecture.n_out,
                                  shared.criterion if shared.early_exit else None, shared.judged)
        for block in shared.blocks:
            alive = np.flatnonzero(out.running)
            if not alive.size:
                break
            out.sequences[alive] += block.size
            _simulate(_select(net, alive), block, alive, out.record)
            # Networks still running computed the whole block.
            out.steps[alive[out.running[alive]]] += block.steps_through[-1]
        return score_outputs(out.store, out.seen, out.running, shared.targets, shared.entry_seq,
                             shared.n_sequences, shared.fitness, shared.criterion,
                             shared.judged) + (out.sequences, out.steps)


# ---------------------------------------------------------------------------- evaluate
def _check_fits(population: Population, n_in: int, n_out: int, what: str) -> None:
    arch = population.architecture
    if (arch.n_in, arch.n_out) != (n_in, n_out):
        raise ValueError(f"{what} has {n_in} input(s) and {n_out} output(s) but the architecture "
                         f"has n_in={arch.n_in}, n_out={arch.n_out}")


def _chunk_size(population: Population, blocks: list[_Block], n_entries: int, memory_budget: int,
                n_threads: int) -> int:
    """Networks per chunk: cache-sized, and under the memory budget with every thread busy."""
    arch = population.architecture
    rows = arch.n_units + arch.n_hidden + arch.n_out
    hot = 8 * rows * blocks[0].size  # state and pre-activations: touched every step
    # Gathered outputs and the scoring temporaries made from them, the seen/right flags, and
    # the weights with the copies compile_network makes of them.
    cold = 8 * 6 * n_entries * arch.n_out + 2 * n_entries + 8 * 3 * rows * arch.n_units
    if arch.delays > 1:  # the weights once per phase of the delay-line ring (_ring_weights)
        cold += 8 * arch.delays * (arch.n_hidden + arch.n_out) * arch.n_units
    # Inputs, targets, the entry index arrays (sequence, step, position, entry id), and the six
    # per-network result arrays, held per chunk and once more when joined.
    shared = (sum(block.inputs.nbytes for block in blocks) + 8 * n_entries * (arch.n_out + 4)
              + 2 * 6 * 8 * len(population))
    per_thread = (memory_budget - shared) // n_threads
    if hot + cold > per_thread:
        raise ValueError(f"memory_budget={memory_budget} bytes is too small to evaluate even one network "
                         f"per thread on this batch; it needs at least {shared + n_threads * (hot + cold)} bytes")
    return max(1, min(len(population), per_thread // (hot + cold), max(1, CACHE_BYTES // hot)))


def evaluate(population: Population, batch: SequenceBatch, fitness: Fitness,
             criterion: Criterion, *, early_exit: bool = False, early_exit_block: int = 10,
             memory_budget: int = DEFAULT_MEMORY_BUDGET, n_jobs: int = 1) -> Evaluation:
    """Score every network of ``population`` on every sequence of ``batch``.

    Parameters
    ----------
    population : Population
    batch : SequenceBatch
    fitness : Fitness
        Loss per network over the scored entries.
    criterion : Criterion
        Which entries (and so sequences) are right; a network solves the batch when all are.
    early_exit : bool, default False
        Stop computing a network as soon as one of its sequences is wrong.  Its loss is then
        ``inf`` and ``complete`` is False; solved flags and the losses of complete networks are
        exactly those of a full evaluation (networks that run to the end are scored again in
        one full pass, which is not charged to ``steps``).
    early_exit_block : int, default 10
        With ``early_exit``, sequences run in blocks of this many, so a network that gets a
        sequence of the first block wrong never computes the others.  Our choice: small
        enough that random networks mostly stop after one block, large enough to keep the
        array operations efficient.
    memory_budget : int, default 1 GiB
        Upper bound, in bytes, on the evaluator's working arrays (all threads together); the
        population is chunked to stay under it.
    n_jobs : int, default 1
        Threads that evaluate chunks side by side (joblib threading backend); -1 for all
        cores.  Results do not depend on it.

    Returns
    -------
    Evaluation
    """
    _check_fits(population, batch.n_in, batch.n_out, "the batch")
    if early_exit_block < 1 or memory_budget < 1:
        raise ValueError("early_exit_block and memory_budget must be positive integers")
    targets, entry_seq, entry_step = batch.scored_targets()
    judged = batch.scored_criterion_targets()
    n_entries, P = entry_seq.size, len(population)
    blocks = _make_blocks(batch, early_exit_block if early_exit else batch.n_sequences,
                          entry_seq, entry_step)
    n_threads = min(effective_n_jobs(n_jobs), max(1, P))
    chunk = _chunk_size(population, blocks, n_entries, memory_budget, n_threads)
    shared = _Shared(blocks, targets, judged, entry_seq, batch.n_sequences, fitness, criterion, early_exit)

    chunks = [population[start:start + chunk] for start in range(0, P, chunk)]
    if n_threads == 1 or len(chunks) == 1:
        parts = [_run_chunk(part, shared) for part in chunks]
    else:
        parts = Parallel(n_jobs=n_threads, backend="threading")(delayed(_run_chunk)(part, shared)
                                                                for part in chunks)
    loss, wrong, solved, complete, sequences, steps = (np.concatenate(a) for a in zip(*parts, strict=True))
    if early_exit and complete.any():
        # BLAS may sum in another order for the narrower blocks, so the networks that ran to
        # the end are scored again in one full pass: their losses are then bit-identical to
        # those of a full evaluation.  That pass only serves exactness and is not charged.
        full = evaluate(population[complete], batch, fitness, criterion,
                        memory_budget=memory_budget, n_jobs=n_jobs)
        loss[complete], wrong[complete], solved[complete] = full.loss, full.wrong, full.solved
    return Evaluation(loss, wrong, solved, complete, sequences, steps, batch.n_sequences)


def _select(net: CompiledNetwork, rows: np.ndarray) -> CompiledNetwork:
    if rows.size == net.W_h.shape[0]:
        return net
    return CompiledNetwork(net.W_h[rows], net.W_y[rows], net.initial, net.out_scale, net.out_shift,
                     net.squash_h, net.squash_y, net.synchronous,
                     None if net.alpha is None else net.alpha[rows], net.delays)


def judge_entries(store: np.ndarray, seen: np.ndarray, complete: np.ndarray, judged: np.ndarray,
                  criterion: Criterion) -> np.ndarray:
    """``(P, N)`` flags: entry right, or not seen (an unseen entry never counts as wrong)."""
    if complete.all():  # the usual case (always without early exit): no copy of the store
        return criterion.entry_correct(store, judged) | ~seen
    entry_ok = np.ones(seen.shape, dtype=bool)
    if complete.any():
        entry_ok[complete] = criterion.entry_correct(store[complete], judged) | ~seen[complete]
    stopped = np.flatnonzero(~complete)
    if stopped.size:
        # Networks stopped by early exit saw few entries: judge only those (judging the whole
        # NaN-filled store costs more than the simulation when there are many entries).
        rows, entries = np.nonzero(seen[stopped])
        ok = criterion.entry_correct(store[stopped[rows], entries][None], judged[entries])[0]
        entry_ok[stopped[rows], entries] = ok
    return entry_ok


def score_outputs(store: np.ndarray, seen: np.ndarray, complete: np.ndarray, targets: np.ndarray,
                  entry_seq: np.ndarray, n_sequences: int, fitness: Fitness,
                  criterion: Criterion, criterion_targets: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Loss, wrong count, solved and complete flags from gathered outputs at the scored entries.

    The one place where outputs become scores, shared by every model that scores through the
    evaluator's semantics (the LSTM baseline too): non-finite outputs get ``fitness.worst``,
    a sequence is right when all its entries are, entries not ``seen`` do not count as wrong.
    The criterion compares with ``criterion_targets`` when given (default ``targets``).
    """
    judged = targets if criterion_targets is None else criterion_targets
    entry_ok = judge_entries(store, seen, complete, judged, criterion)
    wrong = n_sequences - per_sequence_all(entry_ok, entry_seq).sum(axis=1)
    loss = np.full(store.shape[0], np.inf)
    if complete.any():
        done = store if complete.all() else store[complete]
        finite = np.isfinite(done).all(axis=(1, 2))
        values = np.full(done.shape[0], float(fitness.worst))
        if finite.any():
            values[finite] = fitness(done[finite], targets, entry_seq, n_sequences)
        loss[complete] = np.where(np.isnan(values), fitness.worst, values)
    return loss, wrong, complete & (wrong == 0), complete.copy()


# ----------------------------------------------------------------------------- forward
def forward(population: Population, inputs: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    """Outputs of every network at every step, for inspection and tests of small cases.

    Parameters
    ----------
    population : Population
    inputs : array_like, shape (B, T, n_in)
    lengths : array_like of int, shape (B,), optional
        Sequence lengths (default: all ``T``).

    Returns
    -------
    ndarray, shape (P, B, T, n_out)
        Real output activations; NaN at steps beyond a sequence's length.
    """
    arch = population.architecture
    inputs = np.asarray(inputs, dtype=float)
    if inputs.ndim != 3 or inputs.shape[2] != arch.n_in:
        raise ValueError(f"inputs must have shape (B, T, n_in={arch.n_in}); got {inputs.shape}")
    B, T = inputs.shape[:2]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    if lengths.shape != (B,) or np.any(lengths < 1) or np.any(lengths > T):
        raise ValueError(f"lengths must be {B} integers in 1..T={T}; got {lengths!r}")
    mask = np.arange(T)[None, :] < lengths[:, None]
    batch = SequenceBatch(inputs, np.zeros((B, T, arch.n_out)), mask, lengths.astype(np.int64))
    _, entry_seq, entry_step = batch.scored_targets()
    (block,) = _make_blocks(batch, max(B, 1), entry_seq, entry_step)
    # Every step is scored, so the store of a chunk without early exit is the whole history.
    history = _ChunkOutputs.empty(len(population), entry_seq.size, arch.n_out)
    with np.errstate(all="ignore"):
        _simulate(compile_network(arch, population.W_h, population.W_y, population.tau), block,
                  np.arange(len(population)), history.record)
    result = np.full((len(population), B, T, arch.n_out), np.nan)
    result[:, entry_seq, entry_step] = history.store
    return result
