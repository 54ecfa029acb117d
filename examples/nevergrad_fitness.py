"""A nevergrad optimiser's ``minimize`` with evorec's ``problem.loss`` as the objective.

nevergrad calls its objective with one candidate at a time, so it takes ``problem.loss``, the
loss of one network as a float, through the same evaluator as every evorec strategy.  The
problem is the latch, variant II: keep the sign of the first input of a sequence of 25..50
noisy inputs in one tanh unit with three free weights (bias, input, self).

The optimiser is particle swarm optimisation (``PSO``).  The latch has a wide local minimum
around small weights (the unit follows the noise, loss about 0.97), separated from the latching
networks by worse ones, so a population that spreads out does better than a local search.
Seeds 0..19, 300 evaluations each, this set-up: PSO solved 20 (and all of seeds 0..39),
TwoPointsDE 17, NGOpt 7, OnePlusOne 4, nevergrad's CMA 1; NGOpt's choice for three parameters
and this budget also took about ten times as long, in its own model fitting.

No global random state: nevergrad draws from its parametrization's ``random_state``, a
``numpy.random.RandomState`` of its own, seeded here from the numpy Generator derived from the
seed.  It must be set before anything reads the parametrization's value, or nevergrad seeds one
from numpy's global generator (see :func:`main`).

Run ``python examples/nevergrad_fitness.py [--seed S] [--budget N] [--optimizer NAME]`` (about
a third of a second).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import nevergrad as ng
import numpy as np

import evorec

#: RG's latch variant II with short sequences (as experiments/strategies.yaml), so that one
#: network is scored in about a millisecond.
TASK_PARAMS = {"variant": "II", "lengths": (25, 50)}

#: The weights are searched in [-BOUND, BOUND]: the latching networks lie well inside.
BOUND = 20.0


@dataclass(frozen=True)
class Result:
    """What :func:`main` found.

    Attributes
    ----------
    problem : evorec.Problem
        The problem searched (its data drawn from the seed).
    best : ndarray, shape (n_params,)
        The optimiser's recommendation.
    loss : float
        Its training loss, as the objective returned it to the optimiser.
    solved : bool
        Whether it gets every training sequence right.
    initial_loss : float
        The training loss of the starting point.
    evaluations : int
        Objective calls.
    """

    problem: evorec.Problem
    best: np.ndarray
    loss: float
    solved: bool
    initial_loss: float
    evaluations: int


def main(seed: int = 0, budget: int = 300, optimizer: str = "PSO", sigma: float = 2.0) -> Result:
    """Minimise the latch's training loss with a nevergrad optimiser.

    Parameters
    ----------
    seed : int, default 0
        Seeds both the problem's data and the search, through two independent streams.
    budget : int, default 300
        Objective calls (networks scored).  nevergrad spends all of them: ``minimize`` has no
        notion of a solved problem.
    optimizer : str, default "PSO"
        A name in ``nevergrad.optimizers.registry``.
    sigma : float, default 2.0
        The parametrization's mutation scale, which also sets how widely PSO spreads its first
        particles around the starting point.  The latching networks have self-weights above
        about 2 and input weights of about 1: a spread of 2 reaches them from small weights
        (PSO solved 18 of seeds 0..19 with 1, all with 2 and with 5).

    Returns
    -------
    Result
    """
    # Two streams spawned from the seed: make_problem spawns its training and test streams
    # from SeedSequence(problem seed), and the search must not share them.
    data_stream, search_stream = np.random.SeedSequence(seed).spawn(2)
    problem = evorec.make_problem("latch", task_params=TASK_PARAMS, seed=int(data_stream.generate_state(1)[0]))
    rng = np.random.default_rng(search_stream)

    start = rng.uniform(-1.0, 1.0, problem.architecture.n_params)  # small weights: no network latches
    parametrization = ng.p.Array(init=start).set_mutation(sigma=sigma)
    # nevergrad's own generator, seeded from ours.  Set after set_mutation, whose sigma is a
    # parameter of its own (the setter hands the generator down to it), and before anything
    # reads a value (set_bounds does): on the first read, nevergrad seeds a parameter that has
    # no random_state from numpy's global generator, drawing from it.
    parametrization.random_state = np.random.RandomState(int(rng.integers(2**32)))
    # Bounded, because nevergrad's PSO maps an unbounded array through arctan, and particles
    # that reach the edge of that map come back as weights of about 3e16.  Without
    # full_range_sampling=False, bounds make PSO draw its first particles uniformly from the
    # whole box, which is random guessing rather than a search from the starting point.
    parametrization.set_bounds(-BOUND, BOUND, full_range_sampling=False)
    search = ng.optimizers.registry[optimizer](parametrization=parametrization, budget=budget)
    recommendation = search.minimize(problem.loss)

    best = np.array(recommendation.value, dtype=float)
    # The recommendation carries the loss the objective returned for it (optimisers that
    # recommend a point they never evaluated leave it None; then score it here).
    loss = recommendation.loss if recommendation.loss is not None else problem.loss(best)
    solved = bool(problem.evaluate(best[None, :]).solved[0])
    return Result(problem, best, float(loss), solved, problem.loss(start), search.num_tell)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--optimizer", default="PSO", choices=sorted(ng.optimizers.registry))
    args = parser.parse_args()
    result = main(seed=args.seed, budget=args.budget, optimizer=args.optimizer)
    print(f"solved: {result.solved} after {result.evaluations} networks; best weights (bias, input, self) "
          f"{np.round(result.best, 3).tolist()}, training loss {result.loss:.3g} (start: {result.initial_loss:.3g})")
