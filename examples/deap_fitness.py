"""A DEAP evolutionary loop with evorec as its fitness function, one batched call per generation.

The genetic algorithm is the textbook one (tournament selection, blend crossover, Gaussian
mutation, two elites) on the latch problem, variant II: keep the sign of the first input of a
sequence of 25..50 noisy inputs in one tanh unit with three free weights (bias, input, self).
The networks start small (weights uniform in [-1, 1]), where no network latches, and evolve
until one gets every training sequence right.

What evorec gives the loop: ``problem.evaluate(np.array(offspring))`` scores the whole
generation at once, all networks over all sequences as one array computation, instead of one
call per individual through ``toolbox.map`` (about 20 times faster here: 0.03 ms against
0.7 ms per network, on one core).

What DEAP gives the loop: ``base.Toolbox``, ``tools.selBest`` (the elites), ``tools.Statistics``,
``tools.Logbook`` and ``tools.HallOfFame``.  Randomness comes only from a numpy Generator
derived from the seed.  DEAP's own variation and random selection operators (``selTournament``,
``cxBlend``, ``mutGaussian``, ``varAnd``) draw from Python's module-level ``random``: a global
state that any other code in the process also draws from, so a run could not be repeated from
its seed, and ``random.seed`` would reseed everyone's.  So the three operators below are
DEAP's rules written with the Generator, registered in the Toolbox like DEAP's own, and DEAP is
used for what needs no randomness.  Nor are ``deap.creator``'s classes used: they are created
in a global module at run time (and cannot be pickled into worker processes without it);
ordinary classes do the same job.

Run ``python examples/deap_fitness.py [--seed S] [--generations G]`` (well under a second).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from deap import base, tools

import evorec

#: RG's latch variant II with short sequences (as experiments/strategies.yaml), so that a
#: generation of 40 networks on the 100 training sequences takes milliseconds.
TASK_PARAMS = {"variant": "II", "lengths": (25, 50)}


class LossFitness(base.Fitness):
    """One loss to minimise (evorec's convention: lower is better, 0 perfect)."""

    weights = (-1.0,)


class Individual(list):
    """A network's free parameters with its DEAP fitness (what ``deap.creator`` would make)."""

    def __init__(self, values: Iterable[float]) -> None:
        super().__init__(float(value) for value in values)
        self.fitness = LossFitness()


def select_tournament(individuals: list[Individual], k: int, rng: np.random.Generator,
                      tournsize: int) -> list[Individual]:
    """``tools.selTournament``'s rule with entrants drawn from ``rng``.

    Each of ``k`` tournaments draws ``tournsize`` individuals with replacement; the one with the
    lowest loss wins (the first of them on a tie).
    """
    losses = np.array([ind.fitness.values[0] for ind in individuals])
    entrants = rng.integers(len(individuals), size=(k, tournsize))
    winners = entrants[np.arange(k), np.argmin(losses[entrants], axis=1)]
    return [individuals[i] for i in winners]


def blend(parents: np.ndarray, rng: np.random.Generator, alpha: float, cxpb: float) -> np.ndarray:
    """``tools.cxBlend`` on consecutive pairs of rows, each pair mated with probability ``cxpb``.

    Children of ``x1, x2`` are ``(1 - g) x1 + g x2`` and ``g x1 + (1 - g) x2``, with ``g`` drawn
    per value uniformly from ``[-alpha, 1 + alpha]``.  An odd last row is copied.
    """
    children = parents.copy()
    m = len(parents) // 2
    first, second = parents[0:2 * m:2], parents[1:2 * m:2]
    gamma = (1.0 + 2.0 * alpha) * rng.random(first.shape) - alpha
    mate = (rng.random(m) < cxpb)[:, None]
    children[0:2 * m:2] = np.where(mate, (1.0 - gamma) * first + gamma * second, first)
    children[1:2 * m:2] = np.where(mate, gamma * first + (1.0 - gamma) * second, second)
    return children


def gaussian(rows: np.ndarray, rng: np.random.Generator, sigma: float, indpb: float) -> np.ndarray:
    """``tools.mutGaussian`` on every row: each value, with probability ``indpb``, gets N(0, sigma^2) added."""
    return rows + (rng.random(rows.shape) < indpb) * rng.normal(0.0, sigma, rows.shape)


def evaluate_population(individuals: list[Individual], problem: evorec.Problem) -> evorec.Evaluation:
    """Score every individual with one batched evorec call and set their DEAP fitnesses."""
    evaluation = problem.evaluate(np.array(individuals))
    # evorec's losses are never NaN for evorec's own fitness functions; should a user's be,
    # +inf keeps DEAP's comparisons (which NaN breaks) and ranks the network last.
    losses = np.where(np.isnan(evaluation.loss), np.inf, evaluation.loss)
    for individual, loss in zip(individuals, losses, strict=True):
        individual.fitness.values = (float(loss),)
    return evaluation


@dataclass(frozen=True)
class Result:
    """What :func:`main` found.

    Attributes
    ----------
    problem : evorec.Problem
        The problem searched (its data drawn from the seed).
    best : ndarray, shape (n_params,)
        The hall of fame's network: the lowest training loss seen.
    loss : float
        Its training loss.
    solved : bool
        Whether it gets every training sequence right.
    evaluations : int
        Networks evaluated on the training set.
    logbook : deap.tools.Logbook
        One record per generation: ``gen``, ``nevals``, and the loss's ``min`` and ``median``.
    """

    problem: evorec.Problem
    best: np.ndarray
    loss: float
    solved: bool
    evaluations: int
    logbook: tools.Logbook


def main(seed: int = 0, generations: int = 50, population_size: int = 40) -> Result:
    """Evolve latch networks with DEAP until one solves the training set or the generations run out.

    Parameters
    ----------
    seed : int, default 0
        Seeds both the problem's data and the search, through two independent streams.
    generations : int, default 50
        Generations after the first.  Seeds 0..19 solve within 21 (at most 838 networks).
    population_size : int, default 40

    Returns
    -------
    Result
    """
    # Two streams spawned from the seed: make_problem spawns its training and test streams
    # from SeedSequence(problem seed), and the search must not share them.
    data_stream, search_stream = np.random.SeedSequence(seed).spawn(2)
    problem = evorec.make_problem("latch", task_params=TASK_PARAMS, seed=int(data_stream.generate_state(1)[0]))
    rng = np.random.default_rng(search_stream)
    n_elite = 2

    toolbox = base.Toolbox()
    toolbox.register("evaluate", evaluate_population, problem=problem)
    toolbox.register("select", select_tournament, rng=rng, tournsize=3)
    toolbox.register("mate", blend, rng=rng, alpha=0.5, cxpb=0.5)
    toolbox.register("mutate", gaussian, rng=rng, sigma=1.0, indpb=0.5)

    stats = tools.Statistics(key=lambda individual: individual.fitness.values[0])
    stats.register("min", np.min)
    stats.register("median", np.median)
    logbook = tools.Logbook()
    logbook.header = ["gen", "nevals", "min", "median"]
    hall_of_fame = tools.HallOfFame(1)

    # Small initial weights: no network latches yet (the unit forgets the class within a few
    # steps), so what is found is found by the search, not by the first draw.
    population = [Individual(row) for row in rng.uniform(-1.0, 1.0, (population_size, problem.architecture.n_params))]
    evaluation = toolbox.evaluate(population)
    evaluations = len(population)
    hall_of_fame.update(population)
    logbook.record(gen=0, nevals=len(population), **stats.compile(population))

    for generation in range(1, generations + 1):
        if evaluation.solved.any():
            break
        elite = tools.selBest(population, n_elite)  # sorts by fitness: no randomness involved
        parents = toolbox.select(population, len(population) - n_elite)
        offspring = [Individual(row) for row in toolbox.mutate(toolbox.mate(np.array(parents)))]
        # The elites keep their fitness; every new network is scored in this one call.
        evaluation = toolbox.evaluate(offspring)
        evaluations += len(offspring)
        population = elite + offspring
        hall_of_fame.update(population)
        logbook.record(gen=generation, nevals=len(offspring), **stats.compile(population))

    best = np.array(hall_of_fame[0])
    # One more evaluation to report: the hall of fame keeps losses, not whether a net solves.
    final = problem.evaluate(best[None, :])
    return Result(problem, best, float(final.loss[0]), bool(final.solved[0]), evaluations, logbook)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generations", type=int, default=50)
    args = parser.parse_args()
    result = main(seed=args.seed, generations=args.generations)
    print(result.logbook)
    print(f"solved: {result.solved} after {result.evaluations} networks; best weights (bias, input, self) "
          f"{np.round(result.best, 3).tolist()}, training loss {result.loss:.3g}")
