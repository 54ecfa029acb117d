"""Gradient flow over time lags: how the back-propagated error shrinks or grows with the lag.

The chapter's analysis (docs/literature.md): the error back-propagated from time ``T`` to time
``T - q`` is a product of ``q`` one-step Jacobians, each a product of activation derivatives
and recurrent weights, so its norm is at most ``(f'_max * ||W||)^q``; with logistic sigmoids
``f' <= 0.25``, so with weights ``|w| < 4`` errors always vanish exponentially.

What is measured (evorec networks, docs/design.md semantics)
--------------------------------------------------------
The recurrent state of the network after step ``t`` is ``s_t = [h_t, y_t]`` (``H + O``
numbers); step ``t`` maps ``s_{t-1}`` to ``s_t``, with one-step Jacobian
``J_t = d s_t / d s_{t-1}``.  For each sequence ``b`` of length ``L_b`` (last step
``T = L_b - 1``) the error starts as the unit vector ``e`` on the outputs of the last step
(``e = [0, ..., 0, 1, ..., 1] / sqrt(O)``: zero on ``h``, equal on ``y``) and::

    delta_0 = e,   delta_q = J_{T-q+1}^T delta_{q-1} = d (e . s_T) / d s_{T-q}

that is, the gradient of the last step's (unit) output error with respect to the whole
recurrent state ``q`` steps back.  :func:`error_norms` returns ``||delta_q||_2`` per sequence
for ``q = 0..Q`` (so the ``q = 0`` norm is ``||e|| = 1``), and :func:`gradflow` averages it
over the sequences (``mean_norm``).

The bound, and why it holds
---------------------------
Write ``R_h = W_h[:, hidden + output]`` (``H x (H+O)``, the delayed links into the hidden
units), ``W_yh = W_y[:, hidden]`` (within-step hidden->output links) and
``W_yy = W_y[:, output]`` (delayed output->output links).  The *recurrent weight matrix of the
state* is the ``(H+O) x (H+O)`` matrix::

    K = [[ R_h          ],
         [ 0_{OxH}, W_yy ]]

of all one-step-delayed links between state units.  With ``D_h = diag f_h'(.)`` and
``D_y = diag f_y'(.)`` at step ``t``::

    J_t = diag(D_h, D_y) @ [[I, 0], [W_yh D_h, I]] @ K

The middle factor is there because hidden->output links act within the step (a path
``y_{t-1} -> h_t -> y_t`` crosses two units in one step).  Its spectral norm is at most
``gamma(f'_h,max ||W_yh||)`` with ``gamma(a) = (a + sqrt(a^2 + 4)) / 2`` (the largest
singular value of ``[[1, 0], [a, 1]]``, and a block matrix ``[[I, 0], [A, I]]`` splits
along A's singular vectors into such 2x2 blocks).  Hence, with
``f'_max = max(f'_h,max, f'_y,max)`` (0.25 for the logistic sigmoid, 1 for tanh and linear)::

    ||J_t|| <= f'_max * ||W||,   ||W|| := gamma(f'_h,max * ||W_yh||_2) * ||K||_2

and ``||delta_q|| <= prod ||J|| * ||e|| <= (f'_max * ||W||)^q`` for every sequence, so also
for their mean.  Without hidden->output links (or without hidden units) ``gamma = 1`` and
``||W|| = ||K||`` is exactly the chapter's spectral norm of the recurrent weight matrix; for a
single linear self-recurrent unit with weight ``w``, ``delta_q = w^q`` and the bound is tight.

LSTM
----
:func:`lstm_cell_error_norms` does the same for the cell states ``s`` of an
:class:`evorec.rnn.LSTM`: a unit error on the cell states at the last step, back-propagated
to the cell states ``q`` steps back.  Without a forget gate the carousel
``s_t = s_{t-1} + ...`` passes it on unchanged (LSTM97's constant error carousel): with
LSTM97's truncation (``truncate=True``: no error through the recurrent links into gates and
cell inputs) the norm is exactly 1 at every lag; with full back-propagation the other paths
add small terms but the error does not decay exponentially.

Nothing here prints; :mod:`evorec.cli` does.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evorec.batch import SequenceBatch
from evorec.network import Architecture
from evorec.rnn import LSTM, SQUASH, activation_derivative, forward_record, sigmoid

F_MAX = {"sigmoid": 0.25, "tanh": 1.0, "linear": 1.0}
CSV_COLUMNS = ("scale", "net", "q", "mean_norm", "bound")


def _check_lags(lags: int, batch: SequenceBatch) -> int:
    if isinstance(lags, bool) or not isinstance(lags, (int, np.integer)) or lags < 0:
        raise ValueError(f"lags must be an integer >= 0; got {lags!r}")
    shortest = int(batch.lengths.min())
    if lags > shortest - 1:
        raise ValueError(f"lags must be at most the shortest sequence's length - 1 = {shortest - 1}; got {lags}")
    return int(lags)


def recurrent_matrix(architecture: Architecture, W_h: np.ndarray, W_y: np.ndarray) -> np.ndarray:
    """``K``, the ``(H+O) x (H+O)`` matrix of one-step-delayed links between state units.

    Rows: hidden units, then output units; columns: hidden units, then output units of the
    previous step.  The hidden->output links act within the step and are not in ``K``.
    """
    src = architecture.source_slices()
    H, n_out = architecture.n_hidden, architecture.n_out
    K = np.zeros((H + n_out, H + n_out))
    K[:H, :H] = W_h[:, src["hidden"]]
    K[:H, H:] = W_h[:, src["output"]]
    K[H:, H:] = W_y[:, src["output"]]
    return K


def bound_factor(architecture: Architecture, W_h: np.ndarray, W_y: np.ndarray) -> tuple[float, float, float]:
    """``(f'_max, ||W||, f'_max * ||W||)`` for one network (see the module docstring).

    ``||W|| = gamma(f'_h,max ||W_yh||) * ||K||``; equal to ``||K||`` when there are no
    hidden->output links.
    """
    f_h, f_y = F_MAX[architecture.hidden], F_MAX[architecture.output]
    f_max = max(f_h, f_y) if architecture.n_hidden else f_y
    K = recurrent_matrix(architecture, W_h, W_y)
    norm_k = float(np.linalg.norm(K, 2)) if K.size else 0.0
    W_yh = W_y[:, architecture.source_slices()["hidden"]]
    a = f_h * float(np.linalg.norm(W_yh, 2)) if W_yh.size else 0.0
    gamma = (a + math.sqrt(a * a + 4.0)) / 2.0
    weight_norm = gamma * norm_k
    return f_max, weight_norm, f_max * weight_norm


def error_norms(architecture: Architecture, theta: np.ndarray, batch: SequenceBatch, lags: int) -> np.ndarray:
    """``||delta_q||`` per sequence, shape ``(B, lags + 1)`` (module docstring: definition).

    Each sequence is aligned at its own last step; ``lags`` must be below the shortest length.
    """
    lags = _check_lags(lags, batch)
    if architecture.leaky or architecture.delays > 1:
        # The measurement follows the one-step recurrence of today's units only.
        raise ValueError("gradflow measures networks without time constants or delay lines; got "
                         + architecture.describe())
    if batch.n_in != architecture.n_in or batch.n_out != architecture.n_out:
        raise ValueError(f"batch has {batch.n_in} inputs and {batch.n_out} outputs; the architecture "
                         f"{architecture.n_in} and {architecture.n_out}")
    W_h, W_y = architecture.unpack(np.asarray(theta, dtype=float))
    fwd = forward_record(architecture, W_h, W_y, batch)
    src = architecture.source_slices()
    B, H, n_out = batch.n_sequences, architecture.n_hidden, architecture.n_out
    rows = np.arange(B)
    last = batch.lengths - 1
    delta_h = np.zeros((B, H))
    delta_y = np.full((B, n_out), 1.0 / math.sqrt(n_out))
    norms = np.zeros((B, lags + 1))
    for q in range(lags + 1):
        norms[:, q] = np.sqrt(np.sum(delta_h**2, axis=1) + np.sum(delta_y**2, axis=1))
        if q == lags:
            break
        t = last - q  # step whose Jacobian J_t maps s_{t-1} to s_t
        dz = delta_y * activation_derivative(architecture.output, fwd["y"][rows, t])
        da = (delta_h + dz @ W_y[:, src["hidden"]]) * activation_derivative(architecture.hidden, fwd["h"][rows, t])
        delta_h = da @ W_h[:, src["hidden"]]
        delta_y = da @ W_h[:, src["output"]] + dz @ W_y[:, src["output"]]
    return norms


def fit_factor(lags: np.ndarray, norms: np.ndarray) -> float:
    """Per-step factor ``r`` of the geometric fit ``norm ~ c r^q``.

    Least squares of ``log norm`` against ``q`` over the lags where the norm is positive and
    finite; NaN when fewer than two such lags remain.
    """
    lags, norms = np.asarray(lags, float), np.asarray(norms, float)
    keep = np.isfinite(norms) & (norms > 0)
    if keep.sum() < 2:
        return math.nan
    slope = np.polyfit(lags[keep], np.log(norms[keep]), 1)[0]
    return float(np.exp(slope))


@dataclass(frozen=True)
class GradFlow:
    """The error norms of one network against the lag, with the chapter's bound.

    Attributes
    ----------
    scale : float or None
        Weight scale the network was drawn at (None for an explicit ``theta``).
    norms : ndarray, shape (B, Q + 1)
        ``||delta_q||`` per sequence.
    f_max, weight_norm, bound_factor : float
        ``f'_max``, ``||W||`` and ``f'_max * ||W||`` (module docstring).
    """

    scale: float | None
    norms: np.ndarray
    f_max: float
    weight_norm: float
    bound_factor: float

    @property
    def lags(self) -> np.ndarray:
        return np.arange(self.norms.shape[1])

    @property
    def mean_norm(self) -> np.ndarray:
        return self.norms.mean(axis=0)

    @property
    def bound(self) -> np.ndarray:
        """``(f'_max * ||W||)^q`` for each lag ``q``."""
        return self.bound_factor ** self.lags.astype(float)

    @property
    def fitted_factor(self) -> float:
        return fit_factor(self.lags, self.mean_norm)


def gradflow(architecture: Architecture, batch: SequenceBatch, lags: int, scale: float | None = None,
             rng: np.random.Generator | None = None, theta: np.ndarray | None = None) -> GradFlow:
    """Error norms against lag for one network: ``theta``, or weights drawn at ``scale``.

    Parameters
    ----------
    architecture : Architecture
    batch : SequenceBatch
        The task's sequences (``make_task(name, **params).sample(n, rng)``).
    lags : int
        Largest lag ``Q``; below the shortest sequence's length.
    scale : float, optional
        Draw every free parameter uniformly from ``[-scale, scale]`` with ``rng``.
    rng : numpy.random.Generator, optional
        Needed with ``scale``.
    theta : array_like, optional
        Explicit free parameters instead (``Architecture.pack`` order).
    """
    if theta is None:
        if scale is None or rng is None:
            raise ValueError("gradflow needs either theta, or scale and rng")
        if not (isinstance(scale, (int, float, np.floating)) and math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive number; got {scale!r}")
        theta = rng.uniform(-scale, scale, size=architecture.n_params)
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (architecture.n_params,):
        raise ValueError(f"theta must have shape ({architecture.n_params},); got {theta.shape}")
    norms = error_norms(architecture, theta, batch, lags)
    f_max, weight_norm, factor = bound_factor(architecture, *architecture.unpack(theta))
    return GradFlow(None if scale is None else float(scale), norms, f_max, weight_norm, factor)


def lstm_cell_error_norms(lstm: LSTM, params: np.ndarray, batch: SequenceBatch, lags: int,
                          truncate: bool = False) -> np.ndarray:
    """Norm of the error on the LSTM's cell states ``q`` steps back, shape ``(B, lags + 1)``.

    The error starts as the unit vector ``ones / sqrt(N)`` on the ``N`` cell states ``s_T`` of
    each sequence's last step and is back-propagated to ``s_{T-q}``: the total derivative
    ``d (e . s_T) / d s_{T-q}``, through the carousel ``s_t = f_t s_{t-1} + ...`` and (unless
    ``truncate``) through the cell outputs ``c_{t-1} = o h(s_{t-1})`` that feed the gates and
    cell inputs of step ``t``.  ``truncate=True`` is LSTM97's truncated error flow: only the
    carousel, so the norm is exactly 1 at every lag without a forget gate.
    """
    lags = _check_lags(lags, batch)
    w = lstm.unpack(params)
    rec = lstm.record(w, batch)
    B, N, C, nb = batch.n_sequences, lstm.n_cells_total, lstm.n_cells, lstm.n_blocks
    g_fn, g_d = SQUASH[lstm.cell_input]
    h_fn, h_d = SQUASH[lstm.cell_output]
    cells = slice(1 + lstm.n_in, lstm.n_source)
    rows, last = np.arange(B), batch.lengths - 1

    def block_sum(v: np.ndarray) -> np.ndarray:
        return v.reshape(B, nb, C).sum(axis=2)

    d_s = np.full((B, N), 1.0 / math.sqrt(N))  # total error on s_t at the current lag
    d_c = np.zeros((B, N))  # total error on c_t (c_T does not influence s_T)
    norms = np.zeros((B, lags + 1))
    for q in range(lags + 1):
        norms[:, q] = np.linalg.norm(d_s, axis=1)
        if q == lags:
            break
        t = last - q  # >= 1, since lags < every length
        s_prev = rec["s"][rows, t - 1]
        if lstm.forget_gate:
            f_gate = sigmoid(rec["a_forget"][rows, t])
            carry = d_s * np.repeat(f_gate, C, axis=1)
        else:
            carry = d_s
        if truncate:
            d_s = carry
            continue
        i_gate, o_gate = sigmoid(rec["a_in"][rows, t]), sigmoid(rec["a_out"][rows, t])
        a_cell = rec["a_cell"][rows, t]
        d_a = {"in": block_sum(d_s * g_fn(a_cell)) * i_gate * (1.0 - i_gate),
               "out": block_sum(d_c * h_fn(rec["s"][rows, t])) * o_gate * (1.0 - o_gate),
               "cell": d_s * np.repeat(i_gate, C, axis=1) * g_d(a_cell)}
        if lstm.forget_gate:
            d_a["forget"] = block_sum(d_s * s_prev) * f_gate * (1.0 - f_gate)
        d_c = sum(d_a[name] @ w[f"W_{name}"][:, cells] for name in d_a)
        o_prev = sigmoid(rec["a_out"][rows, t - 1])
        d_s = carry + d_c * np.repeat(o_prev, C, axis=1) * h_d(s_prev)
    return norms


# ------------------------------------------------------------------------- output
def write_csv(path: str | Path, results: list[GradFlow]) -> Path:
    """One row per (scale, net, q): ``scale, net, q, mean_norm, bound`` (bound empty when unknown).

    ``net`` numbers the networks drawn at the same scale, from 0, in ``results`` order.
    """
    path = Path(path)
    seen: dict[float | None, int] = {}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for result in results:
            net = seen.get(result.scale, 0)
            seen[result.scale] = net + 1
            bound = result.bound if math.isfinite(result.bound_factor) else [None] * len(result.lags)
            for q, norm, b in zip(result.lags, result.mean_norm, bound, strict=True):
                writer.writerow([result.scale, net, int(q), repr(float(norm)),
                                 "" if b is None else repr(float(b))])
    return path


@dataclass(frozen=True)
class ScaleSummary:
    """The networks drawn at one weight scale, summarised.

    Single random nets differ a lot (one may grow while the next decays), so the CLI reports
    the median over several nets and the fraction whose fitted factor exceeds 1.
    """

    scale: float
    nets: list[GradFlow]

    @property
    def factors(self) -> np.ndarray:
        return np.array([net.fitted_factor for net in self.nets])

    @property
    def median_factor(self) -> float:
        """Median fitted factor; a net whose error vanished to 0 counts as factor 0."""
        return float(np.median(np.nan_to_num(self.factors, nan=0.0)))

    @property
    def fraction_growing(self) -> float:
        return float(np.mean(self.factors > 1))

    @property
    def median_bound_factor(self) -> float:
        return float(np.median([net.bound_factor for net in self.nets]))

    @property
    def lags(self) -> np.ndarray:
        return self.nets[0].lags

    @property
    def median_norm(self) -> np.ndarray:
        """Median over the nets of their mean error norm, per lag."""
        return np.median(np.stack([net.mean_norm for net in self.nets]), axis=0)


def by_scale(results: list[GradFlow]) -> list[ScaleSummary]:
    """Group per-network results by scale, in first-seen order."""
    groups: dict[float, list[GradFlow]] = {}
    for result in results:
        groups.setdefault(result.scale, []).append(result)
    return [ScaleSummary(scale, nets) for scale, nets in groups.items()]


def plot(path: str | Path, results: list[GradFlow], title: str = "", lstm: GradFlow | None = None) -> bool:
    """A PNG of mean error norm against lag (log scale), one line per scale, bounds dashed.

    Returns False (and writes nothing) when matplotlib is not installed (the ``plot`` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = by_scale(results)
    for group in groups:
        norm = group.median_norm
        positive = norm > 0
        line, = ax.semilogy(group.lags[positive], norm[positive],
                            label=f"scale {group.scale:g}: median of {len(group.nets)} nets "
                                  f"(fit {group.median_factor:.3g}/step)")
        bound = group.median_bound_factor ** group.lags.astype(float)
        keep = (bound > 0) & np.isfinite(bound)
        ax.semilogy(group.lags[keep], bound[keep], "--", color=line.get_color(), alpha=0.5,
                    label=f"bound, median ({group.median_bound_factor:.3g})^q")
    if lstm is not None:
        ax.semilogy(lstm.lags, lstm.mean_norm, "k-", lw=2, label=f"LSTM cell state (scale {lstm.scale:g})")
    ax.set_xlabel("lag q (steps back from the last step)")
    ax.set_ylabel("norm of back-propagated error (mean over sequences)")
    ax.set_title(title or "Error flow against time lag")
    ax.legend(fontsize="small")
    finite = [g.median_norm[g.median_norm > 0] for g in groups if np.any(g.median_norm > 0)]
    if finite:  # keep the measured curves in view even when a bound explodes
        low = min(float(f.min()) for f in finite)
        high = max([float(f.max()) for f in finite] + [1.0])
        ax.set_ylim(max(low / 10, 1e-300), high * 1e3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


@dataclass(frozen=True)
class GradFlowRun:
    """What :func:`run` computed and wrote."""

    results: list[GradFlow]
    lstm: GradFlow | None
    csv_path: Path
    lstm_csv_path: Path | None
    png_path: Path | None


#: Keys of the independent random streams of :func:`run` under its seed.
DATA_STREAM, LSTM_STREAM, SCALE_STREAM = 0, 1, 2


def _stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of one stream: a child of ``SeedSequence(seed)`` named by ``key``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def run(task: str, task_params: dict | None = None, hidden: str = "sigmoid", output: str = "sigmoid",
        n_hidden: int = 32, scales: tuple[float, ...] = (1.0, 4.0, 16.0), lags: int = 50, sequences: int = 20,
        nets: int = 10, seed: int = 0, out: str | Path = ".", lstm_scale: float | None = 0.1, lstm_blocks: int = 2,
        plot_png: bool = True) -> GradFlowRun:
    """The ``evorec gradflow`` computation: ``nets`` fully recurrent nets per scale, and an LSTM.

    Randomness comes from ``numpy.random.SeedSequence(seed)`` in independent streams: one for
    the sequences (``make_task(task, **task_params).sample(sequences, rng)``), one for the
    LSTM, and one per scale for its ``nets`` nets, keyed by the scale's value, so a scale's row
    is the same whichever other scales are asked for.
    The net is RG's A1 (fully recurrent) with ``n_hidden`` hidden units and the task's inputs
    and outputs.  ``n_hidden`` defaults to 32 because growth needs a large enough net: with
    sigmoid units the one-step factor ``f'(net) w`` exceeds 1 only where ``|w| > 4`` *and* the
    unit is unsaturated, and large random weights saturate most units, so with 4 hidden units no
    scale grows (median fitted factors 0.24 / 0.40 / 0.08 at scales 1 / 4 / 16, 20 nets each),
    while with 32 the median is 0.54 / 1.0 / 1.3 (README, "Gradient flow").  The LSTM
    (``lstm_blocks`` blocks of one cell, no forget gate, parameters uniform in
    ``[-lstm_scale, lstm_scale]``; ``None`` skips it) gives the cell-state error norms.
    Writes ``gradflow.csv`` (and ``gradflow_lstm.csv``, bound empty) in ``out``, and
    ``gradflow.png`` when ``plot_png`` and matplotlib is importable.
    """
    from evorec.registry import make_task

    if not scales:
        raise ValueError("scale needs at least one value")
    for scale in scales:
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale values must be positive numbers; got {scale!r}")
    if isinstance(sequences, bool) or not isinstance(sequences, int) or sequences < 1:
        raise ValueError(f"sequences must be an integer >= 1; got {sequences!r}")
    if isinstance(nets, bool) or not isinstance(nets, int) or nets < 1:
        raise ValueError(f"nets must be an integer >= 1; got {nets!r}")
    if lstm_scale is not None and not (math.isfinite(lstm_scale) and lstm_scale > 0):
        raise ValueError(f"lstm-scale must be a positive number; got {lstm_scale!r}")
    task_obj = make_task(task, **(task_params or {}))
    batch = task_obj.sample(sequences, _stream(seed, DATA_STREAM))
    architecture = Architecture.fully_recurrent(task_obj.n_in, n_hidden, task_obj.n_out, hidden=hidden,
                                                output=output)
    results = []
    for s in scales:
        scale_rng = _stream(seed, SCALE_STREAM, *np.array([s], dtype=np.float64).view(np.uint32).tolist())
        results += [gradflow(architecture, batch, lags, scale=float(s), rng=scale_rng) for _ in range(nets)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = write_csv(out / "gradflow.csv", results)
    lstm_result, lstm_csv = None, None
    if lstm_scale is not None:
        model = LSTM(task_obj.n_in, task_obj.n_out, n_blocks=lstm_blocks, n_cells=1)
        params = model.init(_stream(seed, LSTM_STREAM), scale=lstm_scale)
        norms = lstm_cell_error_norms(model, params, batch, lags)
        lstm_result = GradFlow(float(lstm_scale), norms, math.nan, math.nan, math.nan)
        lstm_csv = write_csv(out / "gradflow_lstm.csv", [lstm_result])
    png = None
    if plot_png:
        title = f"{task}: {n_hidden} hidden ({hidden}), output {output}"
        if plot(out / "gradflow.png", results, title=title, lstm=lstm_result):
            png = out / "gradflow.png"
    return GradFlowRun(results, lstm_result, csv_path, lstm_csv, png)
