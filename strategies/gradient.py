"""Gradient baselines as strategies: BPTT training of the problem's own architecture (``bptt``)
and of an LSTM97-style LSTM (``lstm``).

The chapter's subject is that these fail on long time lags; evorec runs them through the
same loop as the gradient-free strategies, so "sequences to solve" means the same in every
row of a table: the training sequences presented count, and so do the success tests, which
go through the shared evaluator on the whole training set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evorec.batch import SequenceBatch
from evorec.checks import (
    InvalidParameter,
    array_size,
    boolean,
    integer,
    number_in,
    one_of,
    optional_integer,
    positive_number,
)
from evorec.evaluate import Evaluation
from evorec.network import Architecture, Population
from evorec.problem import Problem
from evorec.rnn import LOSSES, LSTM, SGD, Adam, clip_norm, loss_and_grad
from evorec.scoring import per_sequence_all
from evorec.strategy import Strategy
from evorec.task import ClosedLoopTask

OPTIMISERS = ("adam", "sgd")


class BPTT(Strategy):
    """Backpropagation through time on the problem's architecture (the nets guessing draws).

    Each :meth:`ask` first trains for ``check_every`` sequences (drawn at random from the
    training set, ``batch_size`` per update), then proposes the current weights, which the
    search loop tests on the whole training set with the task's criterion.  The first
    :meth:`ask` proposes the initial weights untrained.

    Parameters
    ----------
    space : Architecture
    rng : numpy.random.Generator
    optimizer : {"adam", "sgd"}, default "adam"
        Our choice; LSTM97 used plain gradient descent (``"sgd"``).
    lr : float, default 0.01
        Learning rate (our choice).
    momentum : float, default 0.0
        For ``"sgd"`` only.
    batch_size : int, default 1
        Sequences per update; 1 is online learning as in LSTM97.
    check_every : int, default 100
        Sequences presented between two success tests (our choice: a test presents the whole
        training set, 100 sequences by default, so testing costs about as much as training).
    truncate : int, optional
        Truncated BPTT: error flows back at most this many steps (see
        :func:`evorec.rnn.loss_and_grad`); default full BPTT.
    loss : {"mse", "cross_entropy", "sse"}, default "mse"
    clip : float, optional
        Clip the gradient to this norm before each update; default none.
    init_range : float, default 0.2
        Initial weights uniform in ``[-init_range, init_range]`` (LSTM97 used 0.1 or 0.2).
    training_data : {"train", "stream"}, default "train"
        ``"train"``: sequences drawn at random from the problem's training set (our choice: every
        strategy learns from the same data).  ``"stream"``: every training sequence drawn afresh
        from the task with the strategy's generator, as LSTM97 trained on its later
        experiments; the training set then serves the success tests only.
    success : {"train", "fresh", "online"}, default "train"
        ``"train"``: a proposal solves when it gets every training sequence right, as for every
        strategy.  ``"fresh"``: when it gets ``success_sequences`` sequences drawn afresh from
        the task right (LSTM97's stopping rule for experiments 2 and 3, e.g. 256 random test
        sequences); those sequences are charged to the run's costs.  ``"online"``: when the
        last ``success_window`` training sequences were all right as they were presented (each
        judged by the task's criterion on the outputs of the weights it then trained) and
        their mean loss is below ``success_error`` (LSTM97's rule for experiments 4 to 6).
        With either of the last two, the training-set test still runs (and is charged) for
        the loop's best-loss record.
    success_sequences : int, default 256
        Sequences of a ``"fresh"`` success test (LSTM97's experiment 3: 256).
    success_window : int, default 2000
        Training sequences an ``"online"`` success looks back over (LSTM97: the last 2,000).
    success_error : float, default 0.01
        Their mean loss must be below this for an ``"online"`` success (LSTM97's "average
        training error": 0.01 for adding, 0.1 for temporal order; which sequences it averages
        over the paper does not say: we take the same window).

    Notes
    -----
    Costs: every presented training sequence counts as one sequence, and its length as the
    network steps (the forward pass; the backward pass is not counted separately).
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, optimizer: str = "adam",
                 lr: float = 0.01, momentum: float = 0.0, batch_size: int = 1, check_every: int = 100,
                 truncate: int | None = None, loss: str = "mse", clip: float | None = None,
                 init_range: float = 0.2, training_data: str = "train", success: str = "train",
                 success_sequences: int = 256, success_window: int = 2000, success_error: float = 0.01) -> None:
        super().__init__(space, rng)
        self.optimizer = one_of(optimizer, "optimizer", OPTIMISERS)
        self.loss = one_of(loss, "loss", LOSSES)
        self.lr = positive_number(lr, "lr")
        self.momentum = number_in(momentum, "momentum", 0.0, 1.0, high_open=True)
        self.batch_size = integer(batch_size, "batch_size")
        self.check_every = integer(check_every, "check_every")
        self.truncate = optional_integer(truncate, "truncate")
        self.clip = None if clip is None else positive_number(clip, "clip")
        self.init_range = positive_number(init_range, "init_range")
        self.training_data = one_of(training_data, "training_data", ("train", "stream"))
        self.success = one_of(success, "success", ("train", "fresh", "online"))
        self.success_sequences = integer(success_sequences, "success_sequences")
        self.success_window = integer(success_window, "success_window")
        self.success_error = positive_number(success_error, "success_error")
        array_size(self.success_window, "success_window", "success_window flags and losses")
        # The last success_window training sequences, as a ring: right or not, and their loss.
        self.recent_right = np.zeros(self.success_window, dtype=bool)
        self.recent_loss = np.zeros(self.success_window)
        self.recent_count = 0
        # The optimiser itself (its moments are part of the state), beside its name.
        self.update_rule = Adam(self.lr) if optimizer == "adam" else SGD(self.lr, self.momentum)
        self.theta: np.ndarray | None = None
        #: Training sequences presented so far: the count LSTM97 reports (ours, the run's
        #: ``sequences``, adds every success test).
        self.trained_sequences = 0
        self._costs = (0, 0)
        self._problem: Problem | None = None

    def bind(self, problem: Problem) -> None:
        if isinstance(problem.task, ClosedLoopTask):
            raise ValueError(f"{type(self).__name__} trains on given sequences and cannot run the closed-loop "
                             f"task {problem.task.name!r}; use a gradient-free strategy")
        super().bind(problem)
        self._problem = problem

    def ask(self) -> np.ndarray:
        if self._problem is None:
            raise RuntimeError("BPTT needs the problem's training data: run it through evorec.search")
        if self.theta is None:
            self.theta = self._initial()
        else:
            self._train()
        return self.theta[None, :].copy()

    def _train(self) -> None:
        train = self._problem.train
        sequences = steps = 0
        while sequences < self.check_every:
            size = min(self.batch_size, self.check_every - sequences)
            if self.training_data == "stream":
                batch = self._problem.task.sample(size, self.rng)
            else:
                batch = train[self.rng.integers(0, train.n_sequences, size=size)]
            value, grad, outputs = self._gradient(batch)
            if self.success == "online":
                self._remember(batch, value, outputs)
            if not np.all(np.isfinite(grad)):  # an exploding gradient: skip the update, keep going
                grad = np.zeros_like(grad)
            if self.clip is not None:
                grad = clip_norm(grad, self.clip)
            self.theta = self.update_rule.step(self.theta, grad)
            sequences += size
            steps += int(batch.lengths.sum())
        self._charge(sequences, steps)
        self.trained_sequences += sequences

    def _initial(self) -> np.ndarray:
        return self.rng.uniform(-self.init_range, self.init_range, size=self.space.n_params)

    def _gradient(self, batch: SequenceBatch) -> tuple[float, np.ndarray, np.ndarray]:
        """The batch's loss, its gradient, and the outputs (B, T, n_out) it was computed from."""
        return loss_and_grad(self.space, self.theta, batch, loss=self.loss, truncate=self.truncate,
                             with_outputs=True)

    def _remember(self, batch: SequenceBatch, value: float, outputs: np.ndarray) -> None:
        """Record whether each sequence of a training batch was right, and the batch's loss."""
        _, sequence, step = batch.scored_targets()
        entry_right = self._problem.criterion.entry_correct(outputs[None, sequence, step],
                                                            batch.scored_criterion_targets())
        right = per_sequence_all(entry_right, sequence)[0]
        for ok in right:
            slot = self.recent_count % self.success_window
            self.recent_right[slot], self.recent_loss[slot] = ok, value
            self.recent_count += 1

    def solved(self, problem: Problem, candidates: np.ndarray | Population, evaluation: Evaluation) -> np.ndarray:
        """By ``success``: the training set, ``success_sequences`` fresh sequences, or the
        recent training sequences."""
        if self.success == "train":
            return evaluation.solved
        if self.success == "online":
            full = self.recent_count >= self.success_window
            good = full and bool(self.recent_right.all()) and float(self.recent_loss.mean()) < self.success_error
            return np.full(len(evaluation.solved), good)
        fresh = problem.task.sample(self.success_sequences, self.rng)
        judged = problem.evaluate_batch(candidates, fresh, model=self.model)
        self._charge(int(judged.sequences.sum()), int(judged.steps.sum()))
        return judged.solved

    def _charge(self, sequences: int, steps: int) -> None:
        self._costs = (self._costs[0] + sequences, self._costs[1] + steps)

    def take_costs(self) -> tuple[int, int]:
        costs, self._costs = self._costs, (0, 0)
        return costs

    # ------------------------------------------------------------------ state
    saved = ("theta", "recent_right", "recent_loss", "recent_count", "trained_sequences")

    def describe(self, best: np.ndarray | Population) -> dict[str, Any]:
        """The training sequences presented until the end (until the solving proposal, when one
        solved), the count LSTM97 reports beside the run's own ``sequences``."""
        return {"training_sequences": self.trained_sequences}

    @property
    def state(self) -> dict[str, Any]:
        return super().state | {"optimizer": self.update_rule.state}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.update_rule.state = state["optimizer"]


GATE_BIASES = ("staggered", "random", "none")


class LSTMStrategy(BPTT):
    """An LSTM97-style LSTM (:class:`evorec.rnn.LSTM`) trained by BPTT on the problem's data.

    Works like ``bptt`` (train for ``check_every`` sequences, then propose the current
    weights; the first proposal is untrained), but the candidates are LSTM parameter vectors,
    not evorec networks: this strategy scores them itself (:meth:`evaluate`) with the
    problem's fitness and criterion, and the run's ``info`` holds the best LSTM
    (``{"model": "lstm", ..., "params": [...]}``) instead of ``best_W_h`` and friends, which
    are empty.  The LSTM has the problem's inputs, outputs and output activation; its output
    units see the memory cells only.

    Parameters
    ----------
    space : Architecture
        The problem's architecture: only its input and output sizes and output activation
        are used.
    rng : numpy.random.Generator
    n_blocks : int, default 2
        Memory blocks (our choice).
    n_cells : int, default 2
        Cells per block (our choice).
    forget_gate : bool, default False
        Add a forget gate per block (Gers et al. 2000); LSTM97 had none.
    gate_biases : {"staggered", "random", "none"}, sequence of float, or mapping, default "staggered"
        Initial biases of the input and output gates: ``"staggered"`` sets block ``k``'s to
        ``-(k + 1)`` (-1, -2, -3, ...: LSTM97's blocks start idle, one after another);
        ``"random"`` draws them like the other weights; ``"none"`` gives the gates no bias
        weights at all; a sequence gives one value per block to both; a mapping
        ``{"in": ..., "out": ...}`` sets each gate's biases apart, each ``"random"`` or one value
        per block (LSTM97's 3a: ``{in: [-1, -3, -5], out: [-2, -4, -6]}``).
    optimizer : {"adam", "sgd"}, default "adam"
    lr : float, default 0.01
    momentum : float, default 0.0
        For ``"sgd"`` only.
    batch_size : int, default 1
        Sequences per update; 1 is online learning as in LSTM97.
    check_every : int, default 100
        Sequences presented between two success tests on the whole training set.
    loss : {"mse", "cross_entropy", "sse"}, default "mse"
        ``"cross_entropy"`` needs sigmoid outputs.
    clip : float, optional
        Clip the gradient to this norm before each update; default none.
    init_range : float, default 0.1
        Initial weights uniform in ``[-init_range, init_range]`` (LSTM97: 0.1).
    truncated : bool, default False
        LSTM97's truncated gradient (``LSTM.loss_and_grad``): error reaching a gate's or cell
        input's net input changes its incoming weights but is not sent further back; only the
        cell states carry error back in time.  False: full BPTT (our default until the LSTM97
        set-ups are presets of their own).
    training_data, success, success_sequences, success_window, success_error
        As for ``bptt``: training on the training set or a stream of fresh sequences, and the
        success test on the training set or on fresh sequences.

    Notes
    -----
    Costs as for ``bptt``: every presented training sequence counts as one sequence and its
    length as the steps; every success test counts the training set.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, n_blocks: int = 2, n_cells: int = 2,
                 forget_gate: bool = False, gate_biases: str | Sequence[float] = "staggered",
                 optimizer: str = "adam", lr: float = 0.01, momentum: float = 0.0, batch_size: int = 1,
                 check_every: int = 100, loss: str = "mse", clip: float | None = None,
                 init_range: float = 0.1, truncated: bool = False, training_data: str = "train",
                 success: str = "train", success_sequences: int = 256, success_window: int = 2000,
                 success_error: float = 0.01) -> None:
        super().__init__(space, rng, optimizer=optimizer, lr=lr, momentum=momentum, batch_size=batch_size,
                         check_every=check_every, loss=loss, clip=clip, init_range=init_range,
                         training_data=training_data, success=success, success_sequences=success_sequences,
                         success_window=success_window, success_error=success_error)
        self.truncated = boolean(truncated, "truncated")
        self.n_blocks = integer(n_blocks, "n_blocks")
        self.n_cells = integer(n_cells, "n_cells")
        self.forget_gate = boolean(forget_gate, "forget_gate")
        self.gate_biases = gate_biases if isinstance(gate_biases, (str, dict)) else tuple(gate_biases) \
            if isinstance(gate_biases, (list, tuple)) else gate_biases
        #: The initial (input gate, output gate) biases, each one value per block or None (random).
        self.initial_gate_biases = self._initial_gate_biases(gate_biases)
        if loss == "cross_entropy" and space.output != "sigmoid":
            raise InvalidParameter("loss", f"'cross_entropy' needs sigmoid outputs; the problem's are "
                                   f"{space.output!r}")
        self.model = LSTM(space.n_in, space.n_out, self.n_blocks, self.n_cells, forget_gate=self.forget_gate,
                          gate_bias=not (isinstance(gate_biases, str) and gate_biases == "none"),
                          output=space.output)

    def _initial_gate_biases(self, value: Any) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
        """``gate_biases`` checked and resolved to (input gates, output gates)."""
        allowed = (f"must be one of {', '.join(GATE_BIASES)}, {self.n_blocks} finite numbers (one per block), "
                   f"or a mapping {{in: ..., out: ...}} of \"random\" or such numbers; got {value!r}")

        def per_block(part: Any) -> tuple[float, ...] | None:
            if isinstance(part, str) and part == "random":
                return None
            ok = isinstance(part, (list, tuple)) and len(part) == self.n_blocks and all(
                not isinstance(b, bool) and isinstance(b, (int, float)) and np.isfinite(b) for b in part)
            if not ok:
                raise InvalidParameter("gate_biases", allowed)
            return tuple(float(b) for b in part)

        if isinstance(value, str):
            if value not in GATE_BIASES:
                raise InvalidParameter("gate_biases", allowed)
            staggered = tuple(-float(k + 1) for k in range(self.n_blocks))
            return (staggered, staggered) if value == "staggered" else (None, None)
        if isinstance(value, dict):
            if set(value) != {"in", "out"}:
                raise InvalidParameter("gate_biases", allowed)
            return per_block(value["in"]), per_block(value["out"])
        both = per_block(value)  # not a str here, so never None
        return both, both

    def _initial(self) -> np.ndarray:
        input_biases, output_biases = self.initial_gate_biases
        return self.model.init(self.rng, self.init_range, input_biases, output_gate_bias=output_biases)

    def _gradient(self, batch: SequenceBatch) -> tuple[float, np.ndarray, np.ndarray]:
        return self.model.loss_and_grad(self.theta, batch, loss=self.loss, truncated=self.truncated,
                                        with_outputs=True)

    def describe(self, best: np.ndarray | Population) -> dict[str, Any]:
        """The training sequences presented, and the best LSTM: its shape and parameter vector
        (see :class:`evorec.rnn.LSTM`)."""
        counts = super().describe(best)
        if isinstance(best, Population):  # stopped before the first batch: no LSTM yet
            return counts
        return counts | {"model": "lstm", "n_blocks": self.n_blocks, "n_cells": self.n_cells,
                         "forget_gate": self.forget_gate, "gate_bias": self.model.gate_bias,
                         "output": self.model.output, "params": np.asarray(best, dtype=float)[0].tolist()}
