"""The network step function, for closed-loop tasks that drive the networks themselves.

An agent task (the ant on the Santa Fe trail) cannot hand the evaluator its inputs in
advance: each input depends on the previous outputs.  :class:`Stepper` runs a whole
population in lock-step over several environments each, one time step per call, with the
same semantics and the same tanh-space arithmetic as :func:`evorec.evaluate` (see that
module's docstring), so a network behaves identically in both.
"""

from __future__ import annotations

import numpy as np

from .checks import integer
from .evaluate import compile_network
from .network import Population


class Stepper:
    """Step ``P`` networks over ``n_envs`` environments each, one time step per call.

    Parameters
    ----------
    population : Population
        The networks; all activations start at 0 (docs/design.md).
    n_envs : int
        Environments (independent sequences) per network.

    Examples
    --------
    >>> stepper = Stepper(population, n_envs=1)
    >>> y = stepper.step(x)            # x: (P, n_in, n_envs) -> y: (P, n_out, n_envs)
    """

    def __init__(self, population: Population, n_envs: int) -> None:
        self.n_envs = integer(n_envs, "n_envs")
        self.architecture = population.architecture
        self._net = compile_network(self.architecture, population.W_h, population.W_y, population.tau)
        self.reset()

    @property
    def n_networks(self) -> int:
        return self._net.W_h.shape[0]

    def reset(self) -> None:
        """Start every environment afresh: bias 1, all activations 0."""
        D = self._net.initial.size
        # (network, unit, environment): one batched product per unit group and step.
        self._state = np.empty((self.n_networks, D, self.n_envs))
        self._state[:] = self._net.initial[None, :, None]

    def step(self, inputs: np.ndarray) -> np.ndarray:
        """Feed one step of inputs and return the outputs of that step.

        Parameters
        ----------
        inputs : array_like, shape (P, n_in, n_envs)
            Anything that broadcasts to it.

        Returns
        -------
        ndarray, shape (P, n_out, n_envs)
            Real output activations (sigmoid outputs in [0, 1]).
        """
        arch, net, state = self.architecture, self._net, self._state
        n_in, H, n_out = arch.n_in, arch.n_hidden, arch.n_out
        state[:, 1:1 + n_in] = inputs
        y_end = 1 + n_in + H + n_out
        h_rows, y_rows = slice(1 + n_in, 1 + n_in + H), slice(1 + n_in + H, y_end)
        with np.errstate(all="ignore"):
            D_y = net.W_y.shape[-1]  # the outputs may not read the delay line (compile_network)
            pre_y = net.W_y @ state[:, :D_y] if net.synchronous else None  # from the previous hidden state
            if H:
                pre = net.W_h @ state
                value = np.tanh(pre) if net.squash_h else pre
                if net.alpha is not None:  # leaky units, as in the evaluator
                    alpha = net.alpha[:, :, None]
                    value = (1.0 - alpha) * state[:, h_rows] + alpha * value
                state[:, h_rows] = value
            pre = net.W_y @ state[:, :D_y] if pre_y is None else pre_y
            if net.delays > 1:  # shift the output delay line after every product has read it
                state[:, y_end:] = state[:, 1 + n_in + H:-n_out].copy()
            state[:, y_rows] = np.tanh(pre) if net.squash_y else pre
        return state[:, y_rows] * net.out_scale[:, None] + net.out_shift[:, None]
