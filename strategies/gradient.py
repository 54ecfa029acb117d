"""Gradient baselines as strategies: BPTT training of the problem's own architecture (``bptt``)
and of an LSTM97-style LSTM (``lstm``, with ``preset: lstm97`` for the paper's own set-ups).

The chapter's subject is that these fail on long time lags; evorec runs them through the
same loop as the gradient-free strategies, so "sequences to solve" means the same in every
row of a table: the training sequences presented count, and so do the success tests, which
go through the shared evaluator on the whole training set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

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
from evorec.evaluate import Evaluation, forward
from evorec.network import Architecture, Population
from evorec.problem import Problem
from evorec.rnn import LOSSES, LSTM, RECURRENCE, SGD, SQUASH, Adam, clip_norm, loss_and_grad
from evorec.scoring import per_sequence_all
from evorec.strategy import Strategy
from evorec.task import ClosedLoopTask, Task

from .lstm97 import lstm97_setup

OPTIMISERS = ("adam", "sgd")
SUCCESS_RULES = ("train", "train_and_test", "fresh", "online")
#: Fresh success tests draw and judge their sequences in chunks of this many and stop at the
#: chunk that puts them over ``success_max_wrong``: a failing test of LSTM97's 10,000
#: sequences usually costs one chunk, and memory stays bounded.
SUCCESS_CHUNK = 256


def _optional(check: Any) -> Any:
    """``check`` for a value that may also be None (no bound)."""
    return lambda value, name: None if value is None else check(value, name)


def _window(value: Any, name: str) -> int:
    array_size(integer(value, name), name, "success_window flags and losses")
    return int(value)


#: Each training or success setting the gradient strategies share, with its check by name.
TRAINING_CHECKS: dict[str, Any] = {
    "optimizer": lambda value, name: one_of(value, name, OPTIMISERS),
    "loss": lambda value, name: one_of(value, name, LOSSES),
    "lr": positive_number, "init_range": positive_number,
    "training_data": lambda value, name: one_of(value, name, ("train", "stream")),
    "success": lambda value, name: one_of(value, name, SUCCESS_RULES),
    "success_sequences": integer, "success_window": _window,
    "success_error": _optional(positive_number), "success_mae": _optional(positive_number),
    "success_max_wrong": lambda value, name: integer(value, name, 0),
}


def check_training(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The training and success settings the gradient strategies share, each checked by name
    (those given; all of them for a run's set-up), and the rules between them."""
    s = dict(settings)
    for name in TRAINING_CHECKS.keys() & s.keys():
        s[name] = TRAINING_CHECKS[name](s[name], name)
    if s.get("success_mae") is not None and s.get("success", "fresh") != "fresh":
        raise InvalidParameter("success_mae", f"applies to success='fresh' only; success is {s['success']!r}")
    return s


def refuse_memories(space: Architecture, strategy: str, what: str) -> None:
    """Refuse, when a strategy is made (so an experiment file fails at validation), networks with
    time constants or delay lines, for gradient code whose ``what`` follows today's one-step
    recurrence only."""
    if isinstance(space, Architecture) and (space.leaky or space.delays > 1):
        raise ValueError(f"{strategy} trains networks without time constants or delay lines ({what} follows "
                         f"today's one-step recurrence); got " + space.describe())


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
        ``"sse"`` is LSTM97's objective, half the summed squared error (see
        :func:`evorec.rnn.loss_and_grad`).
    clip : float, optional
        Clip the gradient to this norm before each update; default none.
    init_range : float, default 0.2
        Initial weights uniform in ``[-init_range, init_range]`` (LSTM97 used 0.1 or 0.2).
    training_data : {"train", "stream"}, default "train"
        ``"train"``: sequences drawn at random from the problem's training set (our choice: every
        strategy learns from the same data).  ``"stream"``: every training sequence drawn afresh
        from the task with the strategy's generator, as LSTM97 trained on its later
        experiments; the training set then serves the success tests only.
    success : {"train", "train_and_test", "fresh", "online"}, default "train"
        ``"train"``: a proposal solves when it gets every training sequence right, as for every
        strategy.  ``"train_and_test"``: the training set and the problem's test set, both
        (LSTM97's rule for experiment 1; the test set is charged to the run's costs).
        ``"fresh"``: when it gets ``success_sequences`` sequences drawn afresh from the task
        right (LSTM97's stopping rule for experiments 2 and 3, e.g. 256 random test
        sequences); those are charged to the run's costs, drawn and judged
        :data:`SUCCESS_CHUNK` at a time, and the test stops at the first chunk that fails it.
        ``"online"``: when the last ``success_window`` training sequences were right as they
        were presented (each judged by the task's criterion on the outputs of the weights it
        then trained) and, with ``success_error``, their mean loss is below it (LSTM97's rule
        for experiments 4 to 6).  With either of the last two, the training-set test still
        runs (and is charged) for the loop's best-loss record.
    success_sequences : int, default 256
        Sequences of a ``"fresh"`` success test (LSTM97: 256 in experiment 3, 10,000 in 2).
    success_window : int, default 2000
        Training sequences an ``"online"`` success looks back over (LSTM97: the last 2,000).
    success_error : float, optional
        With ``"online"``: the window's mean loss must be below this (LSTM97's "average training
        error": 0.01 for adding, 0.1 for temporal order; which sequences it averages over the
        paper does not say: we take the same window).  Default: no bound.
    success_max_wrong : int, default 0
        Wrong sequences a success test may still have (LSTM97's 3b: fewer than 6 of 256, so 5;
        multiplication: fewer than 140 of the last 2,000, so 139).
    success_mae : float, optional
        With ``"fresh"``: the mean absolute error of the scored outputs against the task's
        criterion targets (the noise-free ones) must be below this too (LSTM97's 3c: 0.015).

    Notes
    -----
    Costs: every presented training sequence counts as one sequence, and its length as the
    network steps (the forward pass; the backward pass is not counted separately).
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, optimizer: str = "adam",
                 lr: float = 0.01, momentum: float = 0.0, batch_size: int = 1, check_every: int = 100,
                 truncate: int | None = None, loss: str = "mse", clip: float | None = None,
                 init_range: float = 0.2, training_data: str = "train", success: str = "train",
                 success_sequences: int = 256, success_window: int = 2000, success_error: float | None = None,
                 success_max_wrong: int = 0, success_mae: float | None = None) -> None:
        self._start_training(space, rng, momentum, batch_size, check_every, clip)
        self.truncate = optional_integer(truncate, "truncate")
        given = {"optimizer": optimizer, "lr": lr, "loss": loss, "init_range": init_range,
                 "training_data": training_data, "success": success, "success_sequences": success_sequences,
                 "success_window": success_window, "success_error": success_error,
                 "success_max_wrong": success_max_wrong, "success_mae": success_mae}
        self._take_settings(given)

    def _take_settings(self, given: Mapping[str, Any], fixed: Mapping[str, Any] | None = None) -> None:
        """:meth:`_start` from the parameters ``given`` (and settings ``fixed`` by the strategy),
        then keep each given parameter, as checked, under its own name."""
        self._start({**given, **(fixed or {})})
        for name in given:
            setattr(self, name, self.setup[name])

    def _start_training(self, space: Architecture, rng: np.random.Generator, momentum: float, batch_size: int,
                        check_every: int, clip: float | None) -> None:
        """What both gradient strategies hold from the start: the parameters that no preset
        sets, checked, and empty counts."""
        Strategy.__init__(self, space, rng)
        self.momentum = number_in(momentum, "momentum", 0.0, 1.0, high_open=True)
        self.batch_size = integer(batch_size, "batch_size")
        self.check_every = integer(check_every, "check_every")
        self.clip = None if clip is None else positive_number(clip, "clip")
        #: Training sequences presented so far: the count LSTM97 reports (ours, the run's
        #: ``sequences``, adds every success test).
        self.trained_sequences = 0
        self._costs = (0, 0)
        self._problem: Problem | None = None
        #: The training settings the run uses (the parameters, or an lstm preset resolved).
        self.setup: dict[str, Any] | None = None

    def _start(self, settings: Mapping[str, Any]) -> None:
        """Take the training settings the run uses (``setup``) and make what they need: the
        optimiser (its moments are part of the state) and the ring of the last
        ``success_window`` training sequences (right or not, and their loss)."""
        self.setup = check_training(settings)
        window = self.setup["success_window"]
        self.recent_right = np.zeros(window, dtype=bool)
        self.recent_loss = np.zeros(window)
        self.recent_count = 0
        lr = self.setup["lr"]
        self.update_rule = Adam(lr) if self.setup["optimizer"] == "adam" else SGD(lr, self.momentum)
        self.theta: np.ndarray | None = None

    def check_task(self, task: Task) -> None:
        if isinstance(task, ClosedLoopTask):
            raise ValueError(f"{type(self).__name__} trains on given sequences and cannot run the closed-loop "
                             f"task {task.name!r}; use a gradient-free strategy")

    def bind(self, problem: Problem) -> None:
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
            if self.setup["training_data"] == "stream":
                batch = self._problem.task.sample(size, self.rng)
            else:
                batch = train[self.rng.integers(0, train.n_sequences, size=size)]
            losses, outputs = self._learn(batch)
            if self.setup["success"] == "online":
                self._remember(batch, losses, outputs)
            sequences += size
            steps += int(batch.lengths.sum())
        self._charge(sequences, steps)
        self.trained_sequences += sequences

    def _learn(self, batch: SequenceBatch) -> tuple[np.ndarray, np.ndarray]:
        """One update from ``batch``; the loss of each sequence and the outputs (B, T, n_out),
        as they were presented."""
        value, grad, outputs = self._gradient(batch)
        if not np.all(np.isfinite(grad)):  # an exploding gradient: skip the update, keep going
            grad = np.zeros_like(grad)
        if self.clip is not None:
            grad = clip_norm(grad, self.clip)
        self.theta = self.update_rule.step(self.theta, grad)
        return np.full(batch.n_sequences, value), outputs

    def _initial(self) -> np.ndarray:
        r = self.setup["init_range"]
        return self.rng.uniform(-r, r, size=self.space.n_params)

    def _gradient(self, batch: SequenceBatch) -> tuple[float, np.ndarray, np.ndarray]:
        """The batch's loss, its gradient, and the outputs (B, T, n_out) it was computed from."""
        return loss_and_grad(self.space, self.theta, batch, loss=self.setup["loss"], truncate=self.truncate,
                             with_outputs=True)

    def _outputs(self, candidate: np.ndarray, batch: SequenceBatch) -> np.ndarray:
        """One candidate's outputs on ``batch``, shape (B, T, n_out)."""
        return forward(Population.from_params(self.space, candidate[None]), batch.inputs, batch.lengths)[0]

    def _remember(self, batch: SequenceBatch, losses: np.ndarray, outputs: np.ndarray) -> None:
        """Record whether each sequence of a training batch was right, and its loss."""
        _, sequence, step = batch.scored_targets()
        entry_right = self._problem.criterion.entry_correct(outputs[None, sequence, step],
                                                            batch.scored_criterion_targets())
        right = per_sequence_all(entry_right, sequence)[0]
        window = self.setup["success_window"]
        for ok, loss in zip(right, losses, strict=True):
            slot = self.recent_count % window
            self.recent_right[slot], self.recent_loss[slot] = ok, loss
            self.recent_count += 1

    def solved(self, problem: Problem, candidates: np.ndarray | Population, evaluation: Evaluation) -> np.ndarray:
        """By ``success``: the training set (and test set), ``success_sequences`` fresh
        sequences, or the recent training sequences."""
        rule, max_wrong = self.setup["success"], self.setup["success_max_wrong"]
        if rule == "train":
            return evaluation.solved if max_wrong == 0 else evaluation.wrong <= max_wrong
        if rule == "train_and_test":
            on_test = problem.evaluate_batch(candidates, problem.test, model=self.model)
            self._charge(int(on_test.sequences.sum()), int(on_test.steps.sum()))
            return evaluation.wrong + on_test.wrong <= max_wrong
        if rule == "online":
            error = self.setup["success_error"]
            window = self.setup["success_window"]
            good = (self.recent_count >= window and window - int(self.recent_right.sum()) <= max_wrong
                    and (error is None or float(self.recent_loss.mean()) < error))
            return np.full(len(evaluation.solved), good)
        rows = np.asarray(candidates).reshape(len(evaluation.solved), -1)
        return np.array([self._fresh_test(problem, row) for row in rows])

    def _fresh_test(self, problem: Problem, candidate: np.ndarray) -> bool:
        """Judge one candidate on ``success_sequences`` fresh sequences, chunk by chunk."""
        total, max_wrong = self.setup["success_sequences"], self.setup["success_max_wrong"]
        mae = self.setup["success_mae"]
        wrong, abs_error, entries, drawn = 0, 0.0, 0, 0
        while drawn < total:
            chunk = problem.task.sample(min(SUCCESS_CHUNK, total - drawn), self.rng)
            drawn += chunk.n_sequences
            judged = problem.evaluate_batch(candidate[None], chunk, model=self.model)
            self._charge(int(judged.sequences.sum()), int(judged.steps.sum()))
            wrong += int(judged.wrong[0])
            if wrong > max_wrong:
                return False
            if mae is not None:
                _, sequence, step = chunk.scored_targets()
                with np.errstate(over="ignore", invalid="ignore"):
                    outputs = self._outputs(candidate, chunk)[sequence, step]
                abs_error += float(np.abs(outputs - chunk.scored_criterion_targets()).sum())
                entries += outputs.size
        return mae is None or abs_error / entries < mae

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
PRESETS = ("lstm97",)
#: The lstm strategy's settings a preset may set, with their values when neither the preset nor
#: the user sets them (None for ``output``: the problem's output activation).
LSTM_DEFAULTS: dict[str, Any] = {
    "n_blocks": 2, "n_cells": 2, "gate_biases": "staggered", "output": None, "output_gate": True,
    "recurrence": "cells", "cell_bias": True, "output_bias": True, "input_to_output": False,
    "cell_input": "lstm_g", "cell_output": "lstm_h", "forget_gate": False, "optimizer": "adam", "lr": 0.01,
    "loss": "mse", "init_range": 0.1, "truncated": False, "training_data": "train", "success": "train",
    "success_sequences": 256, "success_window": 2000, "success_error": None, "success_max_wrong": 0,
    "success_mae": None, "update": "sequence",
}
UPDATES = ("sequence", "step")


def _finite_numbers(part: Any, count: int | None = None) -> bool:
    """Whether ``part`` is a list of finite numbers (not bools), ``count`` of them if given."""
    if not isinstance(part, (list, tuple)) or not part or (count is not None and len(part) != count):
        return False
    return all(not isinstance(b, bool) and isinstance(b, (int, float)) and np.isfinite(b) for b in part)


def _check_gate_biases_alone(value: Any) -> None:
    """``gate_biases`` as far as it can be checked without the number of blocks."""
    ok = (value in GATE_BIASES if isinstance(value, str) else
          set(value) == {"in", "out"} and all(part == "random" or _finite_numbers(part) for part in value.values())
          if isinstance(value, Mapping) else _finite_numbers(value))
    if not ok:
        raise InvalidParameter("gate_biases", f"must be one of {', '.join(GATE_BIASES)}, one finite number per "
                                              f"block, or a mapping {{in: ..., out: ...}} of \"random\" or such "
                                              f"numbers; got {value!r}")


#: Checks of the lstm strategy's settings that need no other setting.
_ALONE = {
    "n_blocks": integer, "n_cells": integer,
    **{name: boolean for name in ("forget_gate", "output_gate", "cell_bias", "output_bias", "input_to_output",
                                  "truncated")},
    "output": lambda value, name: one_of(value, name, ("linear", "sigmoid", "tanh")),
    "recurrence": lambda value, name: one_of(value, name, RECURRENCE),
    "cell_input": lambda value, name: one_of(value, name, tuple(SQUASH)),
    "cell_output": lambda value, name: one_of(value, name, tuple(SQUASH)),
    "update": lambda value, name: one_of(value, name, UPDATES),
    "gate_biases": lambda value, name: _check_gate_biases_alone(value),
    **TRAINING_CHECKS,
}


def _check_alone(name: str, value: Any) -> None:
    _ALONE[name](value, name)


class LSTMStrategy(BPTT):
    """An LSTM97-style LSTM (:class:`evorec.rnn.LSTM`) trained by gradient descent on the problem's data.

    Works like ``bptt`` (train for ``check_every`` sequences, then propose the current
    weights; the first proposal is untrained), but the candidates are LSTM parameter vectors,
    not evorec networks: the LSTM (:attr:`model`) scores them with the problem's fitness and
    criterion, and the run's ``info`` holds the best LSTM (``{"model": "lstm", ..., "params":
    [...]}``) instead of ``best_W_h`` and friends, which are empty.  The LSTM has the problem's
    inputs and outputs.

    ``preset: lstm97`` takes LSTM97's set-up for the run's task (:mod:`evorec.strategies.lstm97`:
    the net, its biases and squashing functions, plain online gradient descent on the summed
    squared error with the paper's α, the truncated gradient, the initial weights, the
    training data and the stopping rule); it is resolved when the run binds the problem.  Every
    parameter below whose default is None takes the preset's value when left at None, and
    the value listed when there is no preset; a value given explicitly overrides the preset
    (e.g. ``{preset: lstm97, lr: 0.1}`` for LSTM97's second Reber row).

    Parameters
    ----------
    space : Architecture
        The problem's architecture: only its input and output sizes and output activation
        are used.
    rng : numpy.random.Generator
    preset : {"lstm97"}, optional
        LSTM97's set-up for the run's task; default none.
    n_blocks : int, optional
        Memory blocks; 2 (our choice).
    n_cells : int, optional
        Cells per block; 2 (our choice).
    forget_gate : bool, optional
        Add a forget gate per block (Gers et al. 2000); False, as in LSTM97.
    gate_biases : {"staggered", "random", "none"}, sequence of float, or mapping, optional
        Initial biases of the input and output gates; ``"staggered"``.  ``"staggered"`` sets
        block ``k``'s to ``-(k + 1)`` (-1, -2, -3, ...: LSTM97's blocks start idle, one after
        another); ``"random"`` draws them like the other weights; ``"none"`` gives the gates no
        bias weights at all; a sequence gives one value per block to both; a mapping
        ``{"in": ..., "out": ...}`` sets each gate's biases apart, each ``"random"`` or one value
        per block (LSTM97's 3a: ``{in: [-1, -3, -5], out: [-2, -4, -6]}``).
    output : {"linear", "sigmoid", "tanh"}, optional
        The output units' activation; the problem's (LSTM97: logistic).
    output_gate : bool, optional
        True; False fixes the gates open (LSTM97's 2a and 2b).
    recurrence : {"cells", "cells_and_gates", "none"}, optional
        What the gates and cell inputs see of the previous step (:class:`evorec.rnn.LSTM`);
        ``"cells"`` (LSTM97: ``"cells_and_gates"``, ``"none"`` in 2a and 2b).
    cell_bias, output_bias : bool, optional
        Bias weights for the cell inputs, and the output units; True.
    input_to_output : bool, optional
        Link the inputs to the output units; False (LSTM97's 2a and 2b: True).
    cell_input, cell_output : str, optional
        The squashing functions g and h; ``"lstm_g"`` and ``"lstm_h"`` (LSTM97's 2a and 2b:
        ``"sigmoid"`` and ``"linear"``).
    optimizer : {"adam", "sgd"}, optional
        ``"adam"`` (LSTM97: ``"sgd"``, plain gradient descent).
    lr : float, optional
        0.01 (LSTM97's α per experiment).
    momentum : float, default 0.0
        For ``"sgd"`` only.
    batch_size : int, default 1
        Sequences per update; 1 is online learning as in LSTM97.
    check_every : int, default 100
        Sequences presented between two success tests.
    loss : {"mse", "cross_entropy", "sse"}, optional
        ``"mse"`` (LSTM97: ``"sse"``).  ``"cross_entropy"`` needs sigmoid outputs.
    clip : float, optional
        Clip the gradient to this norm before each update; default none.
    init_range : float, optional
        Initial weights uniform in ``[-init_range, init_range]``; 0.1 (LSTM97: 0.2 in its
        experiments 1 and 2).
    truncated : bool, optional
        LSTM97's truncated gradient (``LSTM.loss_and_grad``): error reaching a gate's or cell
        input's net input changes its incoming weights but is not sent further back; only the
        cell states carry error back in time.  False: full BPTT.
    training_data, success, success_sequences, success_window, success_error, success_max_wrong, success_mae : optional
        As for ``bptt``, with the same values when left at None and no preset.
    update : {"sequence", "step"}, optional
        When the weights change: ``"sequence"``, once per batch of ``batch_size`` sequences by
        ``optimizer``; ``"step"``, at every scored time step, LSTM97's online learning
        (:meth:`evorec.rnn.LSTM.train_online`: plain gradient descent on ``"sse"`` with the
        truncated gradient computed forward in time; needs those settings).  The preset
        takes ``"step"``, our reading of LSTM97's online learning, whose truncated gradient is
        computed forward in time as an update at every step needs.  The two coincide where
        only a sequence's last step is scored (LSTM97's experiments 3 to 6).

    Notes
    -----
    Costs as for ``bptt``: every presented training sequence counts as one sequence and its
    length as the steps; every success test counts the sequences it presents.
    """

    #: What each None default stands for without a preset (``evorec list`` shows it).
    none_means: ClassVar[dict[str, Any]] = {name: value for name, value in LSTM_DEFAULTS.items() if value is not None}

    def __init__(self, space: Architecture, rng: np.random.Generator, preset: str | None = None,
                 n_blocks: int | None = None, n_cells: int | None = None, forget_gate: bool | None = None,
                 gate_biases: str | Sequence[float] | Mapping[str, Any] | None = None, output: str | None = None,
                 output_gate: bool | None = None, recurrence: str | None = None, cell_bias: bool | None = None,
                 output_bias: bool | None = None, input_to_output: bool | None = None,
                 cell_input: str | None = None, cell_output: str | None = None, optimizer: str | None = None,
                 lr: float | None = None, momentum: float = 0.0, batch_size: int = 1, check_every: int = 100,
                 loss: str | None = None, clip: float | None = None, init_range: float | None = None,
                 truncated: bool | None = None, training_data: str | None = None, success: str | None = None,
                 success_sequences: int | None = None, success_window: int | None = None,
                 success_error: float | None = None, success_max_wrong: int | None = None,
                 success_mae: float | None = None, update: str | None = None) -> None:
        self._start_training(space, rng, momentum, batch_size, check_every, clip)
        self.preset = None if preset is None else one_of(preset, "preset", PRESETS)
        given = {"n_blocks": n_blocks, "n_cells": n_cells, "forget_gate": forget_gate, "gate_biases": gate_biases,
                 "output": output, "output_gate": output_gate, "recurrence": recurrence, "cell_bias": cell_bias,
                 "output_bias": output_bias, "input_to_output": input_to_output, "cell_input": cell_input,
                 "cell_output": cell_output, "optimizer": optimizer, "lr": lr, "loss": loss,
                 "init_range": init_range, "truncated": truncated, "training_data": training_data,
                 "success": success, "success_sequences": success_sequences, "success_window": success_window,
                 "success_error": success_error, "success_max_wrong": success_max_wrong, "success_mae": success_mae,
                 "update": update}
        for name, value in given.items():  # stored as given: None stays None (the preset's, or the default)
            setattr(self, name, tuple(value) if isinstance(value, list) else value)
        self._given = {name: value for name, value in given.items() if value is not None}
        self.model = None
        self.initial_gate_biases = None
        # Every value given is checked now by itself; without a preset everything is known, so
        # the whole set-up is built (and checked) now, with one when the task is known.
        for name, value in self._given.items():
            _check_alone(name, value)
        if self.preset is None:
            self._configure(LSTM_DEFAULTS | self._given)

    def _configure(self, settings: dict[str, Any]) -> None:
        """Build the LSTM and the training from the resolved ``settings`` (each value given was
        checked alone; the LSTM checks its own settings, :meth:`_start` the training's)."""
        output = self.space.output if settings["output"] is None else settings["output"]
        gate_biases = settings["gate_biases"]
        self.model = LSTM(self.space.n_in, self.space.n_out, settings["n_blocks"], settings["n_cells"],
                          forget_gate=settings["forget_gate"],
                          gate_bias=not (isinstance(gate_biases, str) and gate_biases == "none"), output=output,
                          cell_input=settings["cell_input"], cell_output=settings["cell_output"],
                          input_to_output=settings["input_to_output"], cell_bias=settings["cell_bias"],
                          output_bias=settings["output_bias"], output_gate=settings["output_gate"],
                          recurrence=settings["recurrence"])
        input_biases, output_biases = self._initial_gate_biases(gate_biases, self.model.n_blocks)
        if not settings["output_gate"] and isinstance(gate_biases, Mapping) and output_biases is not None:
            raise InvalidParameter("gate_biases", "sets output gate biases ('out'), but output_gate is False")
        if settings["loss"] == "cross_entropy" and output != "sigmoid":
            raise InvalidParameter("loss", f"'cross_entropy' needs sigmoid outputs; the LSTM's are {output!r}")
        if one_of(settings["update"], "update", UPDATES) == "step":
            # LSTM97's learning is one algorithm: refuse what it is not, by name.
            for name, wanted in (("optimizer", "sgd"), ("loss", "sse"), ("truncated", True), ("forget_gate", False)):
                if settings[name] != wanted:
                    raise InvalidParameter(name, f"update='step' (LSTM97's learning) needs {name}={wanted!r}; "
                                                 f"got {settings[name]!r}")
            for name, value in (("momentum", self.momentum), ("clip", self.clip)):
                if value:
                    raise InvalidParameter(name, f"update='step' (LSTM97's learning) takes no {name}")
        #: The initial (input gate, output gate) biases, each one value per block or None (random).
        self.initial_gate_biases = (input_biases, output_biases if self.model.output_gate else None)
        self._start(settings | {"output": output})

    @staticmethod
    def _initial_gate_biases(value: Any, n_blocks: int) -> tuple[tuple[float, ...] | None, tuple[float, ...] | None]:
        """``gate_biases`` checked and resolved to (input gates, output gates)."""
        allowed = (f"must be one of {', '.join(GATE_BIASES)}, {n_blocks} finite numbers (one per block), "
                   f"or a mapping {{in: ..., out: ...}} of \"random\" or such numbers; got {value!r}")

        def per_block(part: Any) -> tuple[float, ...] | None:
            if isinstance(part, str) and part == "random":
                return None
            if not _finite_numbers(part, n_blocks):
                raise InvalidParameter("gate_biases", allowed)
            return tuple(float(b) for b in part)

        if isinstance(value, str):
            if value not in GATE_BIASES:
                raise InvalidParameter("gate_biases", allowed)
            staggered = tuple(-float(k + 1) for k in range(n_blocks))
            return (staggered, staggered) if value == "staggered" else (None, None)
        if isinstance(value, Mapping):
            if set(value) != {"in", "out"}:
                raise InvalidParameter("gate_biases", allowed)
            return per_block(value["in"]), per_block(value["out"])
        both = per_block(value)  # not a str here, so never None
        return both, both

    def check_task(self, task: Task) -> None:
        """Refuse what :class:`BPTT` refuses; with a preset, take its set-up for ``task`` (and
        refuse a task the preset has none for)."""
        super().check_task(task)
        if self.preset is not None:
            try:
                preset = lstm97_setup(task)
            except ValueError as error:
                raise InvalidParameter("preset", str(error)) from None
            self._configure(LSTM_DEFAULTS | preset | self._given)

    def _initial(self) -> np.ndarray:
        input_biases, output_biases = self.initial_gate_biases
        return self.model.init(self.rng, self.setup["init_range"], input_biases, output_gate_bias=output_biases)

    def _learn(self, batch: SequenceBatch) -> tuple[np.ndarray, np.ndarray]:
        if self.setup["update"] == "sequence":
            return super()._learn(batch)
        self.theta, losses, outputs = self.model.train_online(self.theta, batch, self.setup["lr"])
        return losses, outputs

    def _gradient(self, batch: SequenceBatch) -> tuple[float, np.ndarray, np.ndarray]:
        return self.model.loss_and_grad(self.theta, batch, loss=self.setup["loss"], truncated=self.setup["truncated"],
                                        with_outputs=True)

    def _outputs(self, candidate: np.ndarray, batch: SequenceBatch) -> np.ndarray:
        return self.model.forward(candidate, batch.inputs, batch.lengths)

    def describe(self, best: np.ndarray | Population) -> dict[str, Any]:
        """The training sequences presented, and the best LSTM: its shape and parameter vector
        (see :class:`evorec.rnn.LSTM`)."""
        counts = super().describe(best)
        if isinstance(best, Population) or self.model is None:  # stopped before the first batch: no LSTM yet
            return counts
        net = self.model
        return counts | {"model": "lstm", "n_blocks": net.n_blocks, "n_cells": net.n_cells,
                         "forget_gate": net.forget_gate, "gate_bias": net.gate_bias, "output": net.output,
                         "output_gate": net.output_gate, "recurrence": net.recurrence,
                         "n_params": net.n_params, "params": np.asarray(best, dtype=float)[0].tolist()}
