"""Recurrent network architectures and populations of networks.

The network semantics every part of evorec shares (docs/design.md):

Units, in this order: a bias unit (always 1), ``n_in`` inputs, ``n_hidden`` hidden units and
``n_out`` output units.  Each network has two weight matrices over the same source vector
of ``D = 1 + n_in + n_hidden + n_out`` units::

    h_t = f_h(W_h @ [1, x_t, h_{t-1}, y_{t-1}])   # hidden units first, from the previous step
    y_t = f_y(W_y @ [1, x_t, h_t,     y_{t-1}])   # outputs, from the *current* hidden state

Two optional memories extend this (docs/literature.md, "Time constants" and "NARX"):
hidden units with time constants ``tau`` are leaky integrators,
``h_t = (1 - 1/tau) h_{t-1} + (1/tau) f_h(...)``, and with ``delays = d > 1`` the source vector
ends with a tapped delay line of the outputs of steps ``t-2 .. t-d`` (``y_{t-1}`` is already
there), so ``D = 1 + n_in + n_hidden + d * n_out``.

All hidden and output activations are 0 at the start of every sequence.  A structure mask
says which links exist (absent links have weight 0); an optional frozen mask pins some
present links to fixed values.  The *free parameters* are the present, unfrozen links,
ordered row-major through ``W_h`` and then row-major through ``W_y``, followed (with
``time_constants="free"``) by one time-constant parameter per hidden unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .checks import InvalidParameter, integer, number_in

ACTIVATIONS = ("tanh", "sigmoid", "linear")
#: Orders of the units' updates within a step (see :class:`Architecture`, ``update``).
UPDATES = ("hidden_first", "synchronous")
#: Most possible links (weights) of one network: 128 MiB of float64, an eighth of the
#: evaluator's default memory budget, so that a population still fits in chunks.  Far above
#: any network of the papers (A1 with 32 hidden units has about 1,200).
MAX_LINKS = 2**24
#: Default range of searched time constants, ``time_constants="free"``: from today's unit
#: (tau = 1) to a memory of about 100 steps, the order of the BSF94/RG tasks' lags (our choice;
#: docs/literature.md, "Time constants").
TAU_RANGE = (1.0, 100.0)
#: Most taps of a NARX delay line: a guard against a mistyped ``delays`` (Lin et al. 1996 used
#: up to 30); the source vector grows by ``n_out`` per tap.
MAX_DELAYS = 10_000


def _check_time_constants(value: object, n_hidden: int) -> tuple[float, ...] | str | None:
    """None, ``"free"``, or one finite time constant >= 1 per hidden unit."""
    if value is None:
        return None
    if isinstance(value, str):
        if value != "free":
            raise InvalidParameter("time_constants", f"must be None, a number >= 1, one number >= 1 per hidden "
                                   f"unit or 'free'; got {value!r}")
        values: object = value
    elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        values = (value,) * n_hidden
    elif isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) == 1:
        values = tuple(value)
        if len(values) != n_hidden:
            raise InvalidParameter("time_constants", f"must have one value per hidden unit ({n_hidden}); "
                                   f"got {len(values)}")
    else:
        raise InvalidParameter("time_constants", f"must be None, a number >= 1, one number >= 1 per hidden "
                               f"unit or 'free'; got {value!r}")
    if n_hidden == 0:
        raise InvalidParameter("time_constants", "needs hidden units (n_hidden >= 1); got n_hidden=0")
    if values == "free":
        return "free"
    for tau in values:  # type: ignore[union-attr]
        if isinstance(tau, bool) or not isinstance(tau, (int, float, np.integer, np.floating)) \
                or not math.isfinite(tau) or tau < 1:
            raise InvalidParameter("time_constants", f"must be finite numbers >= 1 (tau = 1 is a plain unit); "
                                   f"got {tau!r}")
    return tuple(float(tau) for tau in values)  # type: ignore[union-attr]


def _check_tau_range(value: object) -> tuple[float, float]:
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    if ok:
        low = number_in(value[0], "tau_range", 1.0, math.inf, high_open=True)
        high = number_in(value[1], "tau_range", 1.0, math.inf, high_open=True)
        ok = low < high
    if not ok:
        raise InvalidParameter("tau_range", f"must be a pair (low, high) of finite numbers with 1 <= low < high; "
                               f"got {value!r}")
    return low, high


def _check_activation(name: str, which: str) -> str:
    if name not in ACTIVATIONS:
        raise InvalidParameter(which, f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")
    return name


def _bool_mask(mask: np.ndarray | None, shape: tuple[int, int], name: str, default: bool) -> np.ndarray:
    if mask is None:
        return np.full(shape, default, dtype=bool)
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {mask.shape}")
    return mask.astype(bool)


@dataclass(frozen=True, eq=False)
class Architecture:
    """Sizes, link structure, frozen weights and activations of a recurrent network.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Numbers of input, hidden and output units (``n_hidden`` may be 0, ``n_out`` >= 1).
    mask_h, mask_y : array of bool, optional
        Which links exist, shapes ``(n_hidden, D)`` and ``(n_out, D)``.  Default: every link.
    frozen_h, frozen_y : array of bool, optional
        Which present links are frozen (not free parameters).  Default: none.
    frozen_values_h, frozen_values_y : array of float, optional
        Values of the frozen links (entries elsewhere are ignored).  Default: 0.
    hidden, output : {"tanh", "sigmoid", "linear"}
        Activation of the hidden units and of the output units; ``sigmoid`` is the logistic
        function with range (0, 1).
    update : {"hidden_first", "synchronous"}, default "hidden_first"
        Order of the updates within a step.  ``"hidden_first"`` (docs/design.md's semantics): the
        hidden units from the previous step, then the outputs from the *current* hidden state,
        ``y_t = f(W_y [1, x_t, h_t, y_{t-1}])``.  ``"synchronous"``: every unit from the previous
        step's activations, ``y_t = f(W_y [1, x_t, h_{t-1}, y_{t-1}])``, as in a fully recurrent
        net updated in lock-step; the inputs are the current step's in both.  RG does not say
        which it used; the evaluator, :func:`evorec.forward` and the closed-loop stepper
        support both, the gradient baselines and ``gradflow`` only the first.
    time_constants : None, float, sequence of float or "free", default None
        Leaky-integrator hidden units (Mozer 1992): hidden unit ``j`` with time constant
        ``tau_j >= 1`` computes ``h_t = (1 - 1/tau_j) h_{t-1} + (1/tau_j) f_h(W_h u_t)``.
        None: today's units (``tau = 1``, bit-identical).  A number: that ``tau`` for every
        hidden unit; a sequence: one per hidden unit (fixed, not searched).  ``"free"``: one
        extra free parameter ``s_j`` per hidden unit, appended after the weights, with
        ``tau_j = low * (high / low) ** sigmoid(s_j)`` in ``tau_range`` (:meth:`tau_from_params`).
    tau_range : pair of float, default (1, 100)
        ``(low, high)``, ``1 <= low < high``: the range of free time constants; only with
        ``time_constants="free"``.
    delays : int, default 1
        NARX tapped delay line (Lin et al. 1996): the source vector holds the outputs of the
        last ``delays`` steps, ``[1, x_t, h, y_{t-1}, y_{t-2}, ..., y_{t-d}]``; the taps
        ``y_{t-2} .. y_{t-d}`` (``(d - 1) * n_out`` sources, delay-major) come after the outputs
        and are 0 before a sequence reaches them.  1 is today's network.  Which units see
        the taps is the masks' business (:meth:`narx`: the hidden units only).
    """

    n_in: int
    n_hidden: int
    n_out: int
    mask_h: np.ndarray | None = None
    mask_y: np.ndarray | None = None
    frozen_h: np.ndarray | None = None
    frozen_y: np.ndarray | None = None
    frozen_values_h: np.ndarray | None = None
    frozen_values_y: np.ndarray | None = None
    hidden: str = "sigmoid"
    output: str = "sigmoid"
    update: str = "hidden_first"
    time_constants: tuple[float, ...] | str | None = None
    tau_range: tuple[float, float] | None = None
    delays: int = 1
    _free_index: tuple[np.ndarray, np.ndarray] = field(init=False, repr=False)
    _leaky: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: normalise fields once, here
        set_(self, "n_in", integer(self.n_in, "n_in", 0))
        set_(self, "n_hidden", integer(self.n_hidden, "n_hidden", 0))
        set_(self, "n_out", integer(self.n_out, "n_out", 1))
        set_(self, "delays", integer(self.delays, "delays", 1))
        if self.delays > MAX_DELAYS:
            raise InvalidParameter("delays", f"must be at most {MAX_DELAYS} (network.MAX_DELAYS); got {self.delays}")
        set_(self, "time_constants", _check_time_constants(self.time_constants, self.n_hidden))
        if self.time_constants == "free":
            set_(self, "tau_range", _check_tau_range(TAU_RANGE if self.tau_range is None else self.tau_range))
        elif self.tau_range is not None:
            raise InvalidParameter("tau_range", f"is only for time_constants='free'; got time_constants="
                                   f"{self.time_constants!r}")
        if (self.n_hidden + self.n_out) * self.n_units > MAX_LINKS:
            raise InvalidParameter("n_hidden", f"= {self.n_hidden} with n_in={self.n_in} and n_out={self.n_out} "
                                   f"gives {(self.n_hidden + self.n_out) * self.n_units} possible links, more than "
                                   f"the limit of {MAX_LINKS} (network.MAX_LINKS)")
        _check_activation(self.hidden, "hidden")
        _check_activation(self.output, "output")
        if self.update not in UPDATES:
            raise InvalidParameter("update", f"must be one of {', '.join(map(repr, UPDATES))}; got {self.update!r}")
        shape_h, shape_y = (self.n_hidden, self.n_units), (self.n_out, self.n_units)
        mask_h = _bool_mask(self.mask_h, shape_h, "mask_h", True)
        mask_y = _bool_mask(self.mask_y, shape_y, "mask_y", True)
        frozen_h = _bool_mask(self.frozen_h, shape_h, "frozen_h", False) & mask_h
        frozen_y = _bool_mask(self.frozen_y, shape_y, "frozen_y", False) & mask_y
        values_h = np.zeros(shape_h) if self.frozen_values_h is None else np.asarray(self.frozen_values_h, float)
        values_y = np.zeros(shape_y) if self.frozen_values_y is None else np.asarray(self.frozen_values_y, float)
        if values_h.shape != shape_h or values_y.shape != shape_y:
            raise ValueError(f"frozen_values_h/_y must have shapes {shape_h} and {shape_y}")
        for name, value in (("mask_h", mask_h), ("mask_y", mask_y), ("frozen_h", frozen_h),
                            ("frozen_y", frozen_y)):
            value.setflags(write=False)
            set_(self, name, value)
        set_(self, "frozen_values_h", np.where(frozen_h, values_h, 0.0))
        set_(self, "frozen_values_y", np.where(frozen_y, values_y, 0.0))
        # Where each free parameter lives in the flattened [W_h; W_y] matrix.
        free = np.concatenate([(mask_h & ~frozen_h).ravel(), (mask_y & ~frozen_y).ravel()])
        set_(self, "_free_index", np.flatnonzero(free))
        tc = self.time_constants
        set_(self, "_leaky", tc == "free" or (tc is not None and any(tau != 1.0 for tau in tc)))

    # ----------------------------------------------------------------- sizes
    @property
    def n_units(self) -> int:
        """``D = 1 + n_in + n_hidden + delays * n_out``: length of the source vector.

        Without a delay line (``delays = 1``) that is one entry per unit; the NARX taps
        ``y_{t-2} .. y_{t-d}`` are sources, not units, but every weight matrix has a column
        for each.
        """
        return 1 + self.n_in + self.n_hidden + self.delays * self.n_out

    @property
    def n_weights(self) -> int:
        """Number of free weights (present, unfrozen links)."""
        return int(self._free_index.size)

    @property
    def n_params(self) -> int:
        """Number of free parameters: the free weights, then (``time_constants="free"``) one
        time-constant parameter per hidden unit."""
        return self.n_weights + (self.n_hidden if self.time_constants == "free" else 0)

    @property
    def leaky(self) -> bool:
        """Whether any hidden unit may have ``tau != 1`` (else the units are today's, exactly)."""
        return self._leaky

    def tau_from_params(self, s: np.ndarray) -> np.ndarray:
        """Free time constants from their parameters: ``tau = low * (high / low) ** sigmoid(s)``.

        Every real ``s`` gives a ``tau`` in ``[low, high]`` (``tau_range``), so any search over
        unbounded vectors and BPTT stay valid, ``tau >= 1`` always holds, and the search has the
        same resolution in every decade of ``tau`` (a memory of 2 or of 50 steps is equally easy
        to reach); ``s = 0`` is the geometric mean of the range.
        """
        low, high = self.tau_range  # type: ignore[misc]
        sig = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(s, dtype=float)))  # overflow-free sigmoid
        return low * (high / low) ** sig

    def params_from_tau(self, tau: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`tau_from_params`; ``tau`` is clipped just inside ``tau_range``
        (at the ends the parameter would be infinite)."""
        low, high = self.tau_range  # type: ignore[misc]
        frac = np.clip(np.log(np.asarray(tau, dtype=float) / low) / math.log(high / low), 1e-12, 1 - 1e-12)
        return np.log(frac) - np.log1p(-frac)

    def time_constants_of(self, theta: np.ndarray) -> np.ndarray | None:
        """Time constants, shape ``(..., n_hidden)``, of free-parameter vector(s) ``(..., n_params)``.

        None for today's units (:attr:`leaky` False).
        """
        if not self.leaky:
            return None
        theta = np.asarray(theta, dtype=float)
        if self.time_constants == "free":
            return self.tau_from_params(theta[..., self.n_weights:])
        return np.broadcast_to(np.asarray(self.time_constants), (*theta.shape[:-1], self.n_hidden)).copy()

    @property
    def n_links(self) -> int:
        """Number of present links, frozen ones included."""
        return int(self.mask_h.sum() + self.mask_y.sum())

    @property
    def output_range(self) -> tuple[float, float]:
        """The range of the output activation (sigmoid (0, 1), tanh (-1, 1), linear unbounded)."""
        return {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "linear": (-math.inf, math.inf)}[self.output]

    def source_slices(self) -> dict[str, slice]:
        """Positions of the bias, input, hidden and output units in the source vector."""
        i, h = 1 + self.n_in, 1 + self.n_in + self.n_hidden
        return {"bias": slice(0, 1), "input": slice(1, i), "hidden": slice(i, h),
                "output": slice(h, h + self.n_out), "delayed": slice(h + self.n_out, self.n_units)}

    # ------------------------------------------------------- pack and unpack
    def pack(self, W_h: np.ndarray, W_y: np.ndarray, tau: np.ndarray | None = None) -> np.ndarray:
        """Flat free-parameter vector(s) from weight matrices (and free time constants).

        Parameters
        ----------
        W_h, W_y : ndarray
            Shapes ``(..., n_hidden, D)`` and ``(..., n_out, D)`` with the same leading shape.
        tau : ndarray, shape ``(..., n_hidden)``, optional
            Time constants; required with ``time_constants="free"`` (appended as
            :meth:`params_from_tau`), ignored otherwise.

        Returns
        -------
        ndarray, shape ``(..., n_params)``
        """
        weights = self.pack_weights(W_h, W_y)
        lead = weights.shape[:-1]
        if self.time_constants != "free":
            return weights
        if tau is None:
            raise ValueError("tau is required to pack an architecture with time_constants='free'")
        tau = np.broadcast_to(np.asarray(tau, float), (*lead, self.n_hidden))
        return np.concatenate([weights, self.params_from_tau(tau)], axis=-1)

    def pack_weights(self, W_h: np.ndarray, W_y: np.ndarray) -> np.ndarray:
        """The free weights alone, shape ``(..., n_weights)``: :meth:`pack` without time constants."""
        W_h, W_y = np.asarray(W_h, float), np.asarray(W_y, float)
        lead = self._leading_shape(W_h, W_y)
        flat = np.concatenate([W_h.reshape(*lead, -1), W_y.reshape(*lead, -1)], axis=-1)
        return flat[..., self._free_index]

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight matrices from free-parameter vector(s); the inverse of :meth:`pack`.

        Absent links are 0 and frozen links carry their frozen values.  Free time constants
        are read by :meth:`time_constants_of`.

        Parameters
        ----------
        theta : ndarray, shape ``(..., n_params)``

        Returns
        -------
        W_h, W_y : ndarray
            Shapes ``(..., n_hidden, D)`` and ``(..., n_out, D)``.
        """
        theta = np.asarray(theta, dtype=float)
        if theta.ndim == 0 or theta.shape[-1] != self.n_params:
            raise ValueError(f"theta must have last dimension n_params={self.n_params}; "
                             f"got shape {theta.shape}")
        lead = theta.shape[:-1]
        frozen = np.concatenate([self.frozen_values_h.ravel(), self.frozen_values_y.ravel()])
        flat = np.broadcast_to(frozen, (*lead, frozen.size)).copy()
        flat[..., self._free_index] = theta[..., :self.n_weights]
        n_h = self.n_hidden * self.n_units
        W_h = flat[..., :n_h].reshape(*lead, self.n_hidden, self.n_units)
        W_y = flat[..., n_h:].reshape(*lead, self.n_out, self.n_units)
        return W_h, W_y

    def _leading_shape(self, W_h: np.ndarray, W_y: np.ndarray) -> tuple[int, ...]:
        shape_h, shape_y = (self.n_hidden, self.n_units), (self.n_out, self.n_units)
        if W_h.shape[-2:] != shape_h or W_y.shape[-2:] != shape_y or W_h.shape[:-2] != W_y.shape[:-2]:
            raise ValueError(f"W_h and W_y must have shapes (..., {shape_h[0]}, {shape_h[1]}) and "
                             f"(..., {shape_y[0]}, {shape_y[1]}); got {W_h.shape} and {W_y.shape}")
        return W_h.shape[:-2]

    # --------------------------------------------------------------- presets
    @classmethod
    def fully_recurrent(cls, n_in: int = 1, n_hidden: int = 1, n_out: int = 1,
                        hidden: str = "sigmoid", output: str = "sigmoid", update: str = "hidden_first") -> Architecture:
        """The generic fully recurrent net: every non-input unit is biased and linked from every unit.

        RG's A1 differs in one link: its output unit has no bias (:meth:`rg_a1`).
        """
        return cls(n_in, n_hidden, n_out, hidden=hidden, output=output, update=update)

    @classmethod
    def rg_a1(cls, n_hidden: int = 1, hidden: str = "sigmoid", output: str = "sigmoid", n_in: int = 1,
              n_out: int = 1, update: str = "hidden_first") -> Architecture:
        """RG's architecture A1: fully recurrent, the hidden units biased, the output units not.

        RG: "each hidden unit has a bias weight on a connection from a 'true' unit" (NIPS 1996:
        "n biased hidden units"), where for A2 it says "all units are biased"; so A1's output
        has no bias link.  Every non-input unit is linked from every input, hidden and output
        unit.  With one hidden unit it is parity's net, "identical to Bengio et al.'s 1994
        architecture".
        """
        base = cls(n_in, n_hidden, n_out)
        mask_y = np.ones((n_out, base.n_units), dtype=bool)
        mask_y[:, base.source_slices()["bias"]] = False
        return cls(n_in, n_hidden, n_out, mask_y=mask_y, hidden=hidden, output=output, update=update)

    @classmethod
    def rg_a2(cls, n_hidden: int = 10, self_links: bool = True, n_in: int = 1, n_out: int = 1,
              hidden: str = "sigmoid", output: str = "sigmoid", update: str = "hidden_first") -> Architecture:
        """RG's architecture A2.

        Each hidden unit sees the bias, the inputs, the outputs and (with ``self_links``)
        itself; each output unit sees every unit.  All units are biased.
        """
        base = cls(n_in, n_hidden, n_out)
        src = base.source_slices()
        mask_h = np.zeros((n_hidden, base.n_units), dtype=bool)
        mask_h[:, src["bias"]] = mask_h[:, src["input"]] = mask_h[:, src["output"]] = True
        if self_links:
            hidden_idx = np.arange(n_hidden)
            mask_h[hidden_idx, src["hidden"].start + hidden_idx] = True
        return cls(n_in, n_hidden, n_out, mask_h=mask_h, hidden=hidden, output=output, update=update)

    @classmethod
    def latch_i(cls) -> Architecture:
        """BSF94's latch, variant I: one tanh unit with three free parameters.

        Inputs are ``[class-1 pulse, class-2 pulse, noise]``.  The free parameters are the
        unit's self-weight and the weights of the two pulse inputs, which are the two
        class-specific initial inputs (each pulse is 1 at t = 0 for its class).  The noise
        input enters with the frozen weight 1 and there is no bias link.
        """
        mask_y = np.array([[False, True, True, True, True]])
        frozen_y = np.array([[False, False, False, True, False]])
        values_y = np.array([[0.0, 0.0, 0.0, 1.0, 0.0]])
        return cls(3, 0, 1, mask_y=mask_y, frozen_y=frozen_y, frozen_values_y=values_y,
                   hidden="tanh", output="tanh")

    @classmethod
    def latch_ii(cls, noise_line: bool = False) -> Architecture:
        """The latch, variant II: one tanh unit with free bias, input and self weights.

        With ``noise_line`` the inputs are ``[signal, noise]`` and the noise enters on its own
        line with the frozen weight 1 (as in variant I) instead of through the input weight.
        """
        if not noise_line:
            return cls(1, 0, 1, hidden="tanh", output="tanh")
        frozen_y = np.array([[False, False, True, False]])
        values_y = np.array([[0.0, 0.0, 1.0, 0.0]])
        return cls(2, 0, 1, frozen_y=frozen_y, frozen_values_y=values_y, hidden="tanh", output="tanh")

    @classmethod
    def narx(cls, n_in: int = 1, n_hidden: int = 1, n_out: int = 1, delays: int = 2, hidden: str = "sigmoid",
             output: str = "sigmoid", update: str = "hidden_first") -> Architecture:
        """A NARX network with output memory of order ``delays`` (Lin, Horne, Tino & Giles 1996).

        Each hidden unit sees the bias, the current inputs ``x_t`` and every output of the last
        ``delays`` steps, ``y_{t-1} .. y_{t-delays}`` (0 before the sequence reaches them);
        each output unit sees the bias and the hidden units of the same step.  There are no
        other links: no hidden-to-hidden recurrence, so the tapped delay line of the outputs
        is the only memory, as in the paper's NARX nets (which have no input delay line here:
        the inputs are only those of the current step).  ``delays=1`` is a Jordan-like net
        whose hidden units see the previous outputs.
        """
        base = cls(n_in, n_hidden, n_out, delays=delays)
        src = base.source_slices()
        mask_h = np.zeros((base.n_hidden, base.n_units), dtype=bool)
        for name in ("bias", "input", "output", "delayed"):
            mask_h[:, src[name]] = True
        mask_y = np.zeros((base.n_out, base.n_units), dtype=bool)
        mask_y[:, src["bias"]] = mask_y[:, src["hidden"]] = True
        return cls(n_in, n_hidden, n_out, mask_h=mask_h, mask_y=mask_y, hidden=hidden, output=output,
                   update=update, delays=delays)

    def with_time_constants(self, time_constants: object, tau_range: tuple[float, float] | None = None
                            ) -> Architecture:
        """This architecture (structure, frozen weights, delays) with other time constants."""
        return Architecture(self.n_in, self.n_hidden, self.n_out, self.mask_h, self.mask_y, self.frozen_h,
                            self.frozen_y, self.frozen_values_h, self.frozen_values_y, self.hidden, self.output,
                            self.update, time_constants, tau_range, self.delays)  # type: ignore[arg-type]

    def describe(self) -> str:
        """One line: sizes, links, free parameters and activations."""
        order = "" if self.update == "hidden_first" else f"; {self.update} update"
        memory = ""
        if self.time_constants == "free":
            memory += f"; free time constants in [{self.tau_range[0]:g}, {self.tau_range[1]:g}]"  # type: ignore[index]
        elif self.leaky:
            memory += f"; time constants {', '.join(f'{t:g}' for t in self.time_constants)}"  # type: ignore[union-attr]
        if self.delays > 1:
            memory += f"; output delay line of {self.delays} steps"
        return (f"{self.n_in} in, {self.n_hidden} hidden ({self.hidden}), {self.n_out} out "
                f"({self.output}); {self.n_links} links, {self.n_params} free parameters{order}{memory}")


@dataclass(frozen=True, eq=False)
class Population:
    """``P`` networks of one architecture's sizes, as padded weight arrays and masks.

    Attributes
    ----------
    architecture : Architecture
        Sizes and activations shared by all networks (its masks are the default structure).
    W_h, W_y : ndarray
        Shapes ``(P, n_hidden, D)`` and ``(P, n_out, D)``; 0 wherever a link is absent.
    mask_h, mask_y : ndarray of bool
        Per-network link structure, same shapes.  Networks with fewer hidden units than
        ``n_hidden`` are padded with units that have no links.
    tau : ndarray, shape (P, n_hidden), or None
        Time constants of the hidden units, for a :attr:`Architecture.leaky` architecture
        (None otherwise).  Left out, they are the architecture's fixed ones, or for
        ``time_constants="free"`` those of parameter 0 (the geometric mean of ``tau_range``).
    """

    architecture: Architecture
    W_h: np.ndarray
    W_y: np.ndarray
    mask_h: np.ndarray
    mask_y: np.ndarray
    tau: np.ndarray | None = None

    def __post_init__(self) -> None:
        arch = self.architecture
        P = self.W_h.shape[0] if self.W_h.ndim == 3 else -1
        expected = {"W_h": (P, arch.n_hidden, arch.n_units), "W_y": (P, arch.n_out, arch.n_units)}
        expected.update(mask_h=expected["W_h"], mask_y=expected["W_y"])
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must have shape (P, {shape[1]}, {shape[2]}) for this "
                                 f"architecture; got {getattr(self, name).shape}")
        if not arch.leaky:
            object.__setattr__(self, "tau", None)
            return
        tau = self.tau
        if tau is None:
            tau = arch.time_constants_of(np.zeros((P, arch.n_params)))
        tau = np.asarray(tau, dtype=float)
        if tau.shape != (P, arch.n_hidden) or not np.all(tau >= 1):
            raise ValueError(f"tau must have shape (P, n_hidden) = ({P}, {arch.n_hidden}) with values >= 1; "
                             f"got shape {tau.shape}")
        object.__setattr__(self, "tau", tau)

    @classmethod
    def from_weights(cls, architecture: Architecture, W_h: np.ndarray, W_y: np.ndarray,
                     mask_h: np.ndarray | None = None, mask_y: np.ndarray | None = None,
                     tau: np.ndarray | None = None) -> Population:
        """Population from weight arrays.

        Parameters
        ----------
        architecture : Architecture
        W_h, W_y : array_like
            Shapes ``(P, n_hidden, D)`` and ``(P, n_out, D)``.
        mask_h, mask_y : array_like of bool, optional
            Per-network structure (same shapes, or one ``(n_hidden, D)`` / ``(n_out, D)`` mask
            for all); default: the architecture's masks.  Weights at absent links are set to 0
            and frozen links to their frozen values, so the population always obeys its masks.
        tau : array_like, shape (P, n_hidden), optional
            Time constants (see the class's ``tau``).
        """
        W_h = np.array(W_h, dtype=float, ndmin=3)
        W_y = np.array(W_y, dtype=float, ndmin=3)
        P = W_h.shape[0]
        mask_h = np.broadcast_to(architecture.mask_h if mask_h is None else np.asarray(mask_h, bool),
                                 (P, architecture.n_hidden, architecture.n_units)).copy()
        mask_y = np.broadcast_to(architecture.mask_y if mask_y is None else np.asarray(mask_y, bool),
                                 (P, architecture.n_out, architecture.n_units)).copy()
        if W_h.shape != mask_h.shape or W_y.shape != mask_y.shape:
            raise ValueError(f"W_h and W_y must have shapes {mask_h.shape} and {mask_y.shape}; "
                             f"got {W_h.shape} and {W_y.shape}")
        W_h = np.where(architecture.frozen_h, architecture.frozen_values_h, W_h) * mask_h
        W_y = np.where(architecture.frozen_y, architecture.frozen_values_y, W_y) * mask_y
        return cls(architecture, W_h, W_y, mask_h, mask_y, tau)

    @classmethod
    def from_params(cls, architecture: Architecture, theta: np.ndarray) -> Population:
        """Population from free-parameter vectors, shape ``(P, n_params)``."""
        theta = np.asarray(theta, dtype=float)
        if theta.ndim != 2:
            raise ValueError(f"theta must have shape (P, n_params={architecture.n_params}); "
                             f"got {theta.shape}")
        W_h, W_y = architecture.unpack(theta)
        return cls.from_weights(architecture, W_h, W_y, tau=architecture.time_constants_of(theta))

    @classmethod
    def random(cls, architecture: Architecture, size: int, rng: np.random.Generator,
               low: float = -1.0, high: float = 1.0) -> Population:
        """``size`` networks with free parameters drawn uniformly from ``[low, high)``."""
        size = integer(size, "size", 1)
        if not low <= high:
            raise ValueError(f"low must be <= high; got low={low}, high={high}")
        theta = rng.uniform(low, high, size=(size, architecture.n_params))
        return cls.from_params(architecture, theta)

    @classmethod
    def concatenate(cls, populations: list[Population]) -> Population:
        """Join populations that share one architecture."""
        if not populations:
            raise ValueError("populations must not be empty")
        arch = populations[0].architecture
        if any(p.architecture is not arch for p in populations):
            raise ValueError("populations must share one Architecture object to be concatenated")
        tau = None if not arch.leaky else np.concatenate([p.tau for p in populations])
        return cls(arch, *(np.concatenate([getattr(p, name) for p in populations])
                           for name in ("W_h", "W_y", "mask_h", "mask_y")), tau)

    def __len__(self) -> int:
        return self.W_h.shape[0]

    def __getitem__(self, index: int | slice | np.ndarray) -> Population:
        if isinstance(index, (int, np.integer)):
            index = slice(index, index + 1 if index != -1 else None)
        return Population(self.architecture, self.W_h[index], self.W_y[index],
                          self.mask_h[index], self.mask_y[index], None if self.tau is None else self.tau[index])

    def params(self) -> np.ndarray:
        """Free-parameter vectors, shape ``(P, n_params)`` (of the architecture's structure)."""
        return self.architecture.pack(self.W_h, self.W_y, self.tau)
