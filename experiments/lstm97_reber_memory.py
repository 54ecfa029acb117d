"""Where the lstm97 preset's embedded-Reber nets lose the embedding symbol.

The preset's Reber runs predict the Reber part of the strings but the embedding symbol (T or P,
the second symbol, to be named again after the inner E) at chance.  This script follows the
symbol through a trained net.  For each seed it trains the preset as ``evorec run`` would (one
run through ``evorec.search``, budget as in experiments/lstm97.yaml), stopping after several
numbers of presented sequences (each a fresh run from the start, so each is exactly the run's
state at that point), and runs 256 fresh test strings through the net.  For every memory cell
it measures how well the embedding symbol separates the T-strings from the P-strings
(d' = |mean_T - mean_P| / pooled standard deviation):

- in the cell state ``s`` right after the symbol was read (step 1): was it stored?  (There all
  T-strings share one state and all P-strings another, so this column is the plain difference
  |s_T - s_P| of the cell with the largest one.)
- in ``s`` at the step that must name it (input: the inner E): did it survive the Reber string?
- in the cell output ``c = y_out * h(s)`` at that step, what the output units see: is it visible?

Each block's input gate, its mean activation over the inner Reber string (open, the block
writes the string over what it stored).  And, at the
step that must name the symbol, the cells' mean ``|s|`` and the mean gain from state to cell output,
``y_out * h'(s)``, the factor every error signal that reaches the state through the cell's
output is multiplied by.  Per line: the cell with the best d' in each column (they need not be
the same cell), and the share of test strings whose embedding symbol the net gets wrong.

    OPENBLAS_CORETYPE=Haswell python experiments/lstm97_reber_memory.py > reber_memory.jsonl

Options (``--help``): seeds, checkpoints and extra lstm parameters (a reading to compare).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from evorec import Budget, make_problem, search
from evorec.registry import STRATEGIES
from evorec.rnn import sigmoid

#: The budget of experiments/lstm97.yaml's Reber cell, in sequences presented (checks included).
BUDGET = 80_000
CHECK_EVERY = 256
#: h'(s) for the cell output squashing functions a preset can choose.
H_SLOPES = {"lstm_h": lambda s: 0.5 * (1 - np.tanh(s / 2) ** 2),   # h = 2 sigma(s) - 1 = tanh(s / 2)
            "tanh": lambda s: 1 - np.tanh(s) ** 2,
            "identity": np.ones_like}


def separation(values: np.ndarray, is_p: np.ndarray) -> np.ndarray:
    """d' per column of ``values`` (strings x cells) between the P- and the T-strings."""
    p, t = values[is_p], values[~is_p]
    pooled = np.sqrt((p.var(axis=0) + t.var(axis=0)) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.abs(p.mean(axis=0) - t.mean(axis=0)) / pooled
    return np.where(pooled > 0, d, 0.0)


def measure(strategy, problem, seed: int) -> dict:
    """The embedding symbol's trace through the net on 256 fresh test strings."""
    model = strategy.model
    test = problem.task.sample(256, np.random.default_rng([seed, 1]))
    rec = model.record(model.unpack(strategy.theta), test)
    rows = np.arange(test.n_sequences)
    lag_step = test.lengths - 2                     # input: the inner E; target: the embedding symbol
    is_p = test.labels == 1
    s_stored, s_end, c_end = rec["s"][:, 1], rec["s"][rows, lag_step], rec["c"][rows, lag_step]
    # y_out of each cell's block at that step (the LSTM's cells are numbered block by block).
    # (``record`` keeps net inputs: y_out is the logistic of a_out.)
    y_out = np.repeat(sigmoid(rec["a_out"][rows, lag_step]), model.n_cells, axis=1) if model.output_gate else 1.0
    h_slope = H_SLOPES[model.cell_output](s_end)
    _, sequence, step = test.scored_targets()
    right = problem.criterion.entry_correct(rec["y"][None, sequence, step], test.scored_criterion_targets())[0]
    at_lag = step == lag_step[sequence]
    # Right after the symbol every T-string has the same state, every P-string too (nothing else
    # was read yet), so the stored difference is a plain difference, not a d'.
    stored = np.abs(s_stored[is_p].mean(axis=0) - s_stored[~is_p].mean(axis=0))
    # Each block's input gate over the inner Reber string (inputs: the inner B up to the last
    # symbol before the inner E): open, the block writes the string over what it stored.
    steps = np.arange(rec["s"].shape[1])[None, :]
    inner = (steps >= 2) & (steps < lag_step[:, None])
    in_gates = sigmoid(rec["a_in"][inner]).mean(axis=0)
    d_end = separation(s_end, is_p)
    return {"delta_s_stored": round(float(stored.max()), 3),
            "in_gates_inner": [round(float(g), 2) for g in in_gates],
            "d_s_end": round(float(d_end.max()), 2),
            "d_c_end": round(float(separation(c_end, is_p).max()), 2),
            "mean_abs_s_end": round(float(np.abs(s_end).mean()), 2),
            "mean_gain_end": float(f"{float(np.mean(y_out * h_slope)):.2e}"),
            "wrong_at_embedding_step": round(float(1 - right[at_lag].mean()), 3)}


def trace(seed: int, checkpoints: list[int], extra: dict) -> list[dict]:
    lines = []
    for presented in checkpoints:
        problem = make_problem("embedded_reber", train_size=256, test_size=256, seed=seed)
        strategy = STRATEGIES.create("lstm", problem.architecture, np.random.default_rng(seed), preset="lstm97",
                                     check_every=CHECK_EVERY, **extra)
        result = search(strategy, problem, Budget(sequences=presented))
        lines.append({"seed": seed, "extra": extra, "presented": presented,
                      "training_sequences": result.info["training_sequences"], "solved": bool(result.solved),
                      **measure(strategy, problem, seed)})
        if result.solved:
            break
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[1_000, 5_000, 20_000, BUDGET],
                        help="sequences presented (checks included) at which to look")
    parser.add_argument("--extra", type=json.loads, default={}, help="lstm parameters as JSON, e.g. '{\"lr\": 0.1}'")
    args = parser.parse_args()
    for seed in range(args.seeds):
        for line in trace(seed, args.checkpoints, args.extra):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
