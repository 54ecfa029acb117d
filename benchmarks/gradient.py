"""Online gradient training: evorec's ``bptt`` and ``lstm`` strategies against the same training in JAX.

Workloads (one sequence per update, as LSTM97 trained; Adam, lr 0.01, float64):

* ``lstm`` 2 blocks x 2 cells on adding, T = 100 (lengths 100..110, 1 sigmoid output);
* ``bptt`` on a fully recurrent net with 10 sigmoid hidden units, parity, lengths 500..600;
* ``lstm`` 2 blocks x 2 cells on temporal order 6a (lengths 100..110, 4 sigmoid outputs).

Compared, in one run:

(a) ``evorec.search`` with the strategy and a budget of ``--sequences`` presented sequences,
    as an experiment runs it: the steps it reports (training presentations and the success
    tests on the training set every 100 updates) per wall second;
(a') the same with the success tests pushed beyond the budget (``check_every`` larger than
    it): training alone, what (b) measures;
(b) the same training written in JAX: the same model and loss (the script checks that
    JAX's loss and gradient equal evorec's on one sequence, ``rtol=1e-9``), ``jax.jit`` of
    ``value_and_grad`` plus the Adam update per sequence, ``lax.scan`` over the steps,
    sequences padded to the task's longest length (one compiled shape, no recompiling) and
    masked, on the problem's own training sequences; compile time excluded (one warm-up
    update).  Skipped with a note if jax is not installed (it is not a dependency).

The metric is network time steps per second (a sequence of length L is L steps; padding does
not count).  Also printed: the time a fresh process takes to its first ``bptt`` result, with
numba's on-disk cache warm, which is what a loky or Dask worker pays.

Usage::

    python benchmarks/gradient.py [--sequences N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

import evorec
from evorec import Architecture, Budget, make_problem, search
from evorec.rnn import LSTM, loss_and_grad


@dataclass(frozen=True)
class Workload:
    label: str
    strategy: str
    task: str
    task_params: dict
    params: dict
    architecture: Architecture | None = None


WORKLOADS = [
    Workload("lstm 2x2, adding T=100", "lstm", "adding", {"T": 100}, {"n_blocks": 2, "n_cells": 2}),
    Workload("bptt n=10, parity 500..600", "bptt", "parity", {}, {},
             Architecture.fully_recurrent(1, 10, 1, hidden="sigmoid", output="sigmoid")),
    Workload("lstm 2x2, temporal order 6a", "lstm", "temporal_order", {"variant": "6a"},
             {"n_blocks": 2, "n_cells": 2}),
]
LR = 0.01


def problem_of(workload: Workload):
    return make_problem(workload.task, architecture=workload.architecture, task_params=workload.task_params, seed=0)


def evorec_rate(workload: Workload, sequences: int, checks: bool) -> tuple[float, int]:
    """Steps per second of ``evorec.search`` over ``sequences`` presented sequences."""
    problem = problem_of(workload)
    params = dict(workload.params, lr=LR, optimizer="adam")
    if not checks:
        params["check_every"] = 10 * sequences
    search(workload.strategy, problem, Budget(sequences=20), seed=0, **params)  # compiled kernels loaded
    start = time.perf_counter()
    result = search(workload.strategy, problem, Budget(sequences=sequences), seed=0, **params)
    seconds = time.perf_counter() - start
    return result.steps / seconds, result.sequences


# ------------------------------------------------------------------------------------ JAX
def jax_available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def jax_trainer(workload: Workload, problem):
    """(init params, update(params, opt, x, alive, target, last) -> (params, opt, loss), loss_and_grad, to_flat)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    sig = jax.nn.sigmoid
    if workload.strategy == "bptt":
        arch = problem.architecture
        H = arch.n_hidden

        def outputs(w, x, alive):
            def step(state, inputs):
                h, y = state
                xt, live = inputs
                h_new = sig(w["W_h"] @ jnp.concatenate([jnp.ones(1), xt, h, y]))
                y_new = sig(w["W_y"] @ jnp.concatenate([jnp.ones(1), xt, h_new, y]))
                return (jnp.where(live, h_new, h), jnp.where(live, y_new, y)), y_new
            return jax.lax.scan(step, (jnp.zeros(H), jnp.zeros(arch.n_out)), (x, alive))[1]

        W_h, W_y = arch.unpack(np.random.default_rng(1).uniform(-0.2, 0.2, arch.n_params))
        init = {"W_h": jnp.asarray(W_h), "W_y": jnp.asarray(W_y)}

        def to_flat(grads):
            return arch.pack(np.asarray(grads["W_h"]), np.asarray(grads["W_y"]))

        def evorec_loss_and_grad(w, batch):
            return loss_and_grad(arch, arch.pack(np.asarray(w["W_h"]), np.asarray(w["W_y"])), batch)
    else:
        task = problem.task
        net = LSTM(task.n_in, task.n_out, workload.params["n_blocks"], workload.params["n_cells"],
                   output=problem.architecture.output)
        C = net.n_cells
        # Which weights exist (no input-to-output links): the entries that a vector of ones fills.
        mask_y = jnp.asarray(net.unpack(np.ones(net.n_params))["W_y"])

        def g(a):  # LSTM97's cell input squashing, range (-2, 2)
            return 4.0 * sig(a) - 2.0

        def h(a):  # and its cell output squashing, range (-1, 1)
            return 2.0 * sig(a) - 1.0

        def outputs(w, x, alive):
            def step(state, inputs):
                s, c = state
                xt, live = inputs
                r = jnp.concatenate([jnp.ones(1), xt, c])
                s_new = s + jnp.repeat(sig(w["W_in"] @ r), C) * g(w["W_cell"] @ r)
                c_new = jnp.repeat(sig(w["W_out"] @ r), C) * h(s_new)
                y = sig((w["W_y"] * mask_y) @ jnp.concatenate([jnp.ones(1), xt, c_new]))
                return (jnp.where(live, s_new, s), jnp.where(live, c_new, c)), y
            N = net.n_cells_total
            return jax.lax.scan(step, (jnp.zeros(N), jnp.zeros(N)), (x, alive))[1]

        start = net.unpack(net.init(np.random.default_rng(1), 0.1, tuple(-float(k + 1) for k in range(net.n_blocks))))
        init = {name: jnp.asarray(W) for name, W in start.items()}

        def to_flat(grads):
            return net.pack({name: np.asarray(W) for name, W in grads.items()})

        def evorec_loss_and_grad(w, batch):
            return net.loss_and_grad(net.pack({name: np.asarray(W) for name, W in w.items()}), batch)

    def loss(w, x, alive, target, last):
        y = outputs(w, x, alive)[last]
        return jnp.mean((y - target) ** 2)  # evorec's mse: the mean over the scored entries

    value_and_grad = jax.value_and_grad(loss)

    @jax.jit
    def update(w, opt, x, alive, target, last):
        value, grads = value_and_grad(w, x, alive, target, last)
        m, v, t = opt
        t = t + 1
        m = jax.tree_util.tree_map(lambda m_, g_: 0.9 * m_ + 0.1 * g_, m, grads)
        v = jax.tree_util.tree_map(lambda v_, g_: 0.999 * v_ + 0.001 * g_ * g_, v, grads)
        w = jax.tree_util.tree_map(
            lambda w_, m_, v_: w_ - LR * (m_ / (1 - 0.9 ** t)) / (jnp.sqrt(v_ / (1 - 0.999 ** t)) + 1e-8), w, m, v)
        return w, (m, v, t), value

    zeros = jax.tree_util.tree_map(jnp.zeros_like, init)
    return init, (zeros, zeros, 0), update, jax.jit(value_and_grad), to_flat, evorec_loss_and_grad


def padded_sequences(problem):
    """The training sequences padded to the longest (one compiled shape), with masks and targets."""
    train = problem.train
    last = train.lengths - 1
    alive = np.arange(train.n_steps)[None, :] < train.lengths[:, None]
    x = np.where(alive[:, :, None], train.inputs, 0.0)
    return x, alive, train.targets[np.arange(train.n_sequences), last], last, train.lengths


def jax_rate(workload: Workload, sequences: int) -> tuple[float, float]:
    """Steps per second of the JAX training, and the largest relative gradient difference to evorec's."""
    import jax

    problem = problem_of(workload)
    w, opt, update, value_and_grad, to_flat, evorec_loss_and_grad = jax_trainer(workload, problem)
    x, alive, target, last, lengths = padded_sequences(problem)
    # The same mathematics: loss and gradient on the first training sequence.
    value, grads = value_and_grad(w, x[0], alive[0], target[0], last[0])
    want_value, want_grad = evorec_loss_and_grad(w, problem.train[0:1])
    difference = float(np.max(np.abs(to_flat(grads) - want_grad)) / np.max(np.abs(want_grad)))
    if not np.isclose(float(value), want_value, rtol=1e-9) or difference > 1e-9:
        raise SystemExit(f"{workload.label}: JAX and evorec disagree (loss {float(value)} vs {want_value}, "
                         f"gradient difference {difference:.1e})")
    w, opt, _ = update(w, opt, x[0], alive[0], target[0], last[0])  # compile
    jax.block_until_ready(w)
    B, steps = len(lengths), 0
    start = time.perf_counter()
    for k in range(sequences):
        i = k % B
        w, opt, _ = update(w, opt, x[i], alive[i], target[i], last[i])
        steps += int(lengths[i])
    jax.block_until_ready(w)
    return steps / (time.perf_counter() - start), difference


# -------------------------------------------------------------------------- first result
FIRST_RESULT = ("import time; t = time.perf_counter(); import evorec; "
                "p = evorec.make_problem('parity', task_params={'lengths': (5, 10)}, train_size=10, test_size=10); "
                "evorec.search('bptt', p, evorec.Budget(sequences=50)); "
                "evorec.search('lstm', p, evorec.Budget(sequences=50), n_blocks=1, n_cells=1); "
                "print(time.perf_counter() - t)")


def first_result_seconds() -> float:
    """Seconds from a fresh interpreter's start to its first bptt and lstm results (numba cache warm)."""
    subprocess.run([sys.executable, "-c", FIRST_RESULT], check=True, capture_output=True)  # fills the cache
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", FIRST_RESULT], check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=3000, help="sequences per timing (default 3000)")
    parser.add_argument("--quick", action="store_true", help="300 sequences: a smoke test, not a measurement")
    args = parser.parse_args(argv)
    sequences = 300 if args.quick else args.sequences
    have_jax = jax_available()
    print(f"python {platform.python_version()}, numpy {np.__version__}, evorec {evorec.__version__}, "
          f"{os.cpu_count()} cpus; jax: {__import__('jax').__version__ if have_jax else 'not installed'}")
    print(f"{sequences} sequences per timing; steps per second (one time step of one sequence)\n")
    print("| workload | (a) evorec.search | (a') training alone | (b) JAX | (a')/(b) | (a)/(b) |")
    print("|---|---|---|---|---|---|")
    for workload in WORKLOADS:
        with_checks, _ = evorec_rate(workload, sequences, checks=True)
        alone, _ = evorec_rate(workload, sequences, checks=False)
        if have_jax:
            peer, difference = jax_rate(workload, sequences)
            print(f"| {workload.label} | {with_checks:,.0f} | {alone:,.0f} | {peer:,.0f} | {alone / peer:.2f}x | "
                  f"{with_checks / peer:.2f}x |")
        else:
            print(f"| {workload.label} | {with_checks:,.0f} | {alone:,.0f} | (jax not installed) | - | - |")
    print(f"\nfresh process to the first bptt and lstm results (numba cache warm): {first_result_seconds():.1f} s")
    if not have_jax:
        print("JAX side skipped: pip install jax to compare (it is not a dependency of evorec).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
