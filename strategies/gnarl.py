"""GNARL: evolutionary programming of recurrent network structure and weights.

Angeline, Saunders & Pollack, *An evolutionary algorithm that constructs recurrent neural
networks*, IEEE Trans. Neural Networks 5(1), 1994.  No crossover: each generation the best
half of the population survives and each survivor makes one child by mutation, whose size
is set by the parent's *temperature* (how far its loss is from perfect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from deap import base, tools

from evorec.checks import InvalidParameter, array_size, integer, integer_pair, positive_number
from evorec.network import Architecture, Population
from evorec.strategy import Strategy, clean_losses


class _LossFitness(base.Fitness):
    """DEAP fitness of one loss, lower is better (a plain subclass, not ``deap.creator``)."""

    weights = (-1.0,)


class _Individual:
    """What DEAP's selection and statistics see: a genome and its fitness."""

    __slots__ = ("genome", "fitness")

    def __init__(self, genome: Genome, loss: float) -> None:
        self.genome = genome
        self.fitness = _LossFitness((loss,))


@dataclass
class Genome:
    """One network as GNARL mutates it, in the population's padded layout.

    Attributes
    ----------
    weights : ndarray, shape (max_hidden + n_out, D)
        Incoming weights: rows are the hidden units then the output units (``W_h`` stacked on
        ``W_y``), columns the source units (bias, inputs, hidden, outputs).  0 where no link.
    links : ndarray of bool, same shape
        Which links exist.
    hidden : ndarray of bool, shape (max_hidden,)
        Which hidden units exist; the others are padding and have no links.
    """

    weights: np.ndarray
    links: np.ndarray
    hidden: np.ndarray

    def copy(self) -> Genome:
        return Genome(self.weights.copy(), self.links.copy(), self.hidden.copy())


class GNARL(Strategy):
    """GNARL: evolve the hidden units, links and weights of recurrent networks by mutation alone.

    The initial population has networks with a random number of hidden units (0 to
    ``max_hidden``) and of links (1 to ``max_links``, capped at the links the units allow), with
    weights uniform in ``[-weight_range, weight_range]``.  After each evaluation the best half
    of the population (parents and children together, so selection is elitist) become the
    parents, and each parent makes one child, so every :meth:`ask` after the first proposes
    ``population / 2`` networks.

    A child is its parent mutated according to the parent's temperature
    ``T = loss / worst_loss`` (GNARL's ``1 - f/f_max`` with the fitness ``f = worst_loss - loss``),
    through one instantaneous temperature ``T^ = U(0, 1) * T`` drawn per child:

    * parametric mutation: every present, unfrozen weight ``w += N(0, alpha * T^)``.  The
      notes (docs/literature.md) do not say whether ``alpha * T^`` is a variance or a standard
      deviation; we take the variance, the usual ``N(mu, sigma^2)`` reading (and, we
      believe, the paper's), so the step's standard deviation is ``sqrt(alpha * T^)`` and
      falls more slowly than the loss.  Under the other reading ``alpha`` would need
      retuning;
    * structural mutation: add-node, delete-node, add-link and delete-link, in that order,
      each applied ``k = lo + floor(U(0, 1) * T^ * (hi - lo))`` times for its ``(lo, hi)``.
      New hidden units have no links, new links weight 0 (structural mutation follows the
      parametric one, so they stay 0 in the child), deleting a unit deletes its links in and
      out, and additions beyond ``max_hidden`` or ``max_links`` are skipped.

    Selection keeps the best half with DEAP's ``tools.selBest``, a stable sort with the
    children listed first, so a child as good as its parent replaces it: new links start at
    weight 0 and leave the loss unchanged, and with parents winning ties a network stuck on
    a plateau (e.g. an output with no links, loss exactly that of a constant) could never
    take one up.  ``tools.Statistics`` and ``tools.Logbook`` record each generation; there
    is no ``HallOfFame``, as the base class already keeps the best network (and saves it
    with the state), and elitist selection keeps it among the parents.

    Links only ever enter hidden and output units (the rows of ``W_h`` and ``W_y``), from the
    bias, the inputs and the existing hidden and output units.  The search space's sizes,
    activations and frozen links are kept; its link structure is not (GNARL builds its own),
    and frozen links are present in every network, never mutated or deleted, and count
    towards ``max_links``.  Frozen links that touch a hidden unit are not supported.

    Parameters
    ----------
    space : Architecture
        The problem's architecture: ``n_in``, ``n_out``, activations and frozen links.
    rng : numpy.random.Generator
    population : int, default 50
        Networks per generation (even, at least 2).  Our choice: on parity (lengths 25..50)
        it solved 30/30 seeds; 20 and 100 solved 10/10 of the first ten seeds too, but 100
        and 200 solved 19/20 of the next twenty, with higher medians (20,000 and 27,000
        evaluations against 15,000).
    max_hidden : int, default 2
        Most hidden units a network can have; the population is padded to this many.  Our
        choice (GNARL's bound is problem specific): RG's parity and latch solutions need at
        most one hidden unit, and each extra unit adds weights to search.  Parity, ten seeds:
        10/10 solved with 1 or 2, 9/10 with 3, 4/10 with 5 (big networks settle on partial
        solutions of the training set).
    max_links : int, optional
        Most links a network can have, frozen ones included.  Default: no bound beyond the
        fully connected network of ``max_hidden`` units (our choice).
    alpha : float, default 1000.0
        Scale of parametric mutation; ``alpha * T^`` is the variance.  Our choice; the
        paper's is 1.  Long-lag solutions need weights of order 10 (a sigmoid unit latches
        only with ``|w| > 4``; RG's parity solutions have weights of tens), and on these tasks
        the loss is flat (``T`` near 0.25 for mse) until a network latches, so small steps
        only drift.  With 1000 a network at ``T = 0.25`` moves its weights with a standard
        deviation up to 16, and one at ``T = 0.01`` up to 3.  Parity (lengths 25..50) was
        solved in 0/10 seeds with 1, 3/10 with 100, 7/10 with 300, 10/10 with 1000 and 9/10
        with 3000.
    add_nodes : (int, int), default (1, 3)
        ``(lo, hi)`` of the add-node count (the paper's values).
    delete_nodes : (int, int), default (0, 3)
        ``(lo, hi)`` of the delete-node count.  Our choice; the paper's is (1, 3).
    add_links : (int, int), default (1, 5)
        ``(lo, hi)`` of the add-link count (the paper's values).
    delete_links : (int, int), default (0, 5)
        ``(lo, hi)`` of the delete-link count.  Our choice; the paper's is (1, 5).  With
        ``lo = 1`` every child, even of a nearly perfect parent, loses a hidden unit and a
        link, which kept networks too small for parity: 0/10 seeds with ``lo = 1`` (for
        both deletions) against 10/10 with ``lo = 0``, all else equal.  With 0, cool
        networks mostly keep their structure and hot ones still lose up to ``hi - 1`` units
        or links.
    weight_range : float, default 1.0
        Initial weights are uniform in ``[-weight_range, weight_range]`` (the paper's value;
        the large mutations soon make them bigger, and 10 did no better: 9/10 on parity).

    Attributes
    ----------
    network_space : Architecture
        The population's architecture: ``n_hidden = max_hidden``, the task's inputs, outputs
        and activations.  Also ``space``: GNARL searches networks of this size.
    logbook : deap.tools.Logbook
        One record per generation: loss ``min``/``median``/``max`` over the population, and
        the best network's ``hidden_units`` and ``links``.
    """

    def __init__(self, space: Architecture, rng: np.random.Generator, population: int = 50,
                 max_hidden: int = 2, max_links: int | None = None, alpha: float = 1000.0,
                 add_nodes: tuple[int, int] = (1, 3), delete_nodes: tuple[int, int] = (0, 3),
                 add_links: tuple[int, int] = (1, 5), delete_links: tuple[int, int] = (0, 5),
                 weight_range: float = 1.0) -> None:
        if not isinstance(space, Architecture):
            raise ValueError(f"space must be an Architecture; got {type(space).__name__}")
        if space.leaky or space.delays > 1:
            # GNARL grows and prunes units and links of today's networks; a leaky unit's time
            # constant or a delay line would need mutation rules of their own.
            raise ValueError("gnarl evolves networks without time constants or delay lines; got "
                             + space.describe())
        population = integer(population, "population", 2)
        if population % 2:
            raise InvalidParameter("population", f"must be even (half are parents, half children); got {population}")
        max_hidden = integer(max_hidden, "max_hidden", 0)
        try:
            network_space = _padded_architecture(space, max_hidden)
        except ValueError as error:  # too many links: say it of the parameter the user gave
            raise InvalidParameter("max_hidden", f"= {max_hidden} is too large: {error}") from None
        super().__init__(network_space, rng)
        self.network_space = network_space
        self.population = population
        array_size(population * (max_hidden + space.n_out) * network_space.n_units, "population",
                   "population x possible links")
        self.max_hidden = max_hidden
        n_rows = max_hidden + space.n_out
        self._frozen = np.concatenate([network_space.frozen_h, network_space.frozen_y])
        self._frozen_values = np.concatenate([network_space.frozen_values_h, network_space.frozen_values_y])
        self._unfrozen = ~self._frozen
        n_frozen = int(self._frozen.sum())
        all_links = n_rows * network_space.n_units
        self.max_links = all_links if max_links is None else integer(max_links, "max_links", n_frozen + 1)
        self.alpha = positive_number(alpha, "alpha")
        self.weight_range = positive_number(weight_range, "weight_range")
        self.add_nodes = integer_pair(add_nodes, "add_nodes")
        self.delete_nodes = integer_pair(delete_nodes, "delete_nodes")
        self.add_links = integer_pair(add_links, "add_links")
        self.delete_links = integer_pair(delete_links, "delete_links")
        self._n_lead = 1 + space.n_in  # bias and inputs: sources only, never targets of links
        self.generation = 0
        self._parents: list[Genome] = []
        self._parent_losses = np.empty(0)
        self._children: list[Genome] | None = None
        self._stats = tools.Statistics(key=lambda ind: ind.fitness.values[0])
        for name, function in (("min", np.min), ("median", np.median), ("max", np.max)):
            self._stats.register(name, function)
        self.logbook = _new_logbook()

    # ---------------------------------------------------------------- ask / tell
    def ask(self) -> Population:
        """The initial population on the first call, then one child per parent."""
        self._check_worst_loss()
        if not self._parents:
            self._children = [self.random_genome() for _ in range(self.population)]
        else:
            self._children = [self.mutate(g, loss) for g, loss in zip(self._parents, self._parent_losses,
                                                                      strict=True)]
        return self.to_population(self._children)

    def tell(self, candidates: Population, losses: np.ndarray) -> None:
        """Keep the best half of parents and the children just evaluated as the next parents.

        ``losses`` may cover only the first children asked for (the search loop cuts the last
        batch to the budget).
        """
        super().tell(candidates, losses)
        losses = clean_losses(losses)
        if self._children is None or losses.size > len(self._children):
            raise ValueError("tell() got losses for networks that ask() did not propose")
        # Children first: selBest is a stable sort, so a child as good as its parent wins.
        # With parents first a network could never take up a new link, which starts at weight
        # 0 and so leaves the loss unchanged until a later parametric mutation moves it (a
        # latch II run with alpha = 1 sat at exactly the loss of a constant 0 output for 20,000
        # evaluations).
        pool = [_Individual(g, float(loss)) for g, loss in zip(
            self._children[: losses.size] + self._parents, np.r_[losses, self._parent_losses], strict=True)]
        survivors = tools.selBest(pool, min(self.population // 2, len(pool)))
        self._parents = [ind.genome for ind in survivors]
        self._parent_losses = np.array([ind.fitness.values[0] for ind in survivors])
        self._children = None
        best = self.describe_genome(self._parents[0])
        self.logbook.record(gen=self.generation, evals=int(losses.size), **self._stats.compile(pool), **best)
        self.generation += 1

    def _check_worst_loss(self) -> None:
        if not (math.isfinite(self.worst_loss) and self.worst_loss > 0):
            raise ValueError(f"GNARL's temperature needs a bounded loss, but the worst loss is {self.worst_loss}: "
                             "use a bounded fitness (e.g. 'mse' with sigmoid or tanh outputs, or "
                             "'fraction_wrong'), or set worst_loss before ask()")

    # ------------------------------------------------------------------- genomes
    def random_genome(self) -> Genome:
        """A network of the initial population (see the class docstring)."""
        genome = self._empty_genome()
        genome.hidden[: self.rng.integers(0, self.max_hidden + 1)] = True
        free = np.flatnonzero(self._allowed(genome))
        n_frozen = int(self._frozen.sum())
        n_links = min(int(self.rng.integers(1, self.max_links - n_frozen + 1)), free.size)
        chosen = self.rng.choice(free, size=n_links, replace=False)
        genome.links.flat[chosen] = True
        genome.weights.flat[chosen] = self.rng.uniform(-self.weight_range, self.weight_range, size=n_links)
        return genome

    def _empty_genome(self) -> Genome:
        """No hidden units, only the frozen links."""
        return Genome(self._frozen_values.copy(), self._frozen.copy(), np.zeros(self.max_hidden, dtype=bool))

    def temperature(self, loss: float) -> float:
        """``T = 1 - f/f_max = loss / worst_loss``, in [0, 1] (a non-finite loss is hottest)."""
        self._check_worst_loss()
        if not math.isfinite(loss):
            return 1.0
        return float(np.clip(loss / self.worst_loss, 0.0, 1.0))

    def mutate(self, parent: Genome, loss: float) -> Genome:
        """The child of a parent with this loss: parametric, then structural mutation."""
        t_hat = self.rng.uniform() * self.temperature(loss)
        child = parent.copy()
        self._perturb(child, t_hat)
        for operation, (lo, hi) in ((self._add_node, self.add_nodes), (self._delete_node, self.delete_nodes),
                                    (self._add_link, self.add_links), (self._delete_link, self.delete_links)):
            for _ in range(lo + math.floor(self.rng.uniform() * t_hat * (hi - lo))):
                operation(child)
        return child

    def _perturb(self, genome: Genome, t_hat: float) -> None:
        mutable = genome.links & self._unfrozen
        genome.weights[mutable] += self.rng.normal(0.0, math.sqrt(self.alpha * t_hat), size=int(mutable.sum()))

    def _allowed(self, genome: Genome) -> np.ndarray:
        """Links this network's units allow: into existing hidden units and outputs, from the
        bias, the inputs and existing hidden and output units; frozen ones excluded."""
        H, lead = self.max_hidden, self._n_lead
        targets = np.ones(H + self.network_space.n_out, dtype=bool)
        sources = np.ones(self.network_space.n_units, dtype=bool)
        targets[:H] = sources[lead:lead + H] = genome.hidden
        return np.outer(targets, sources) & self._unfrozen

    def _add_node(self, genome: Genome) -> None:
        free = np.flatnonzero(~genome.hidden)
        if free.size:  # at max_hidden: skipped
            genome.hidden[free[0]] = True  # no links yet: links come from add-link

    def _delete_node(self, genome: Genome) -> None:
        present = np.flatnonzero(genome.hidden)
        if not present.size:
            return
        unit = present[self.rng.integers(present.size)]
        genome.hidden[unit] = False
        column = self._n_lead + unit
        for index in (np.s_[unit, :], np.s_[:, column]):  # its links in, then out
            genome.links[index] = False
            genome.weights[index] = 0.0

    def _add_link(self, genome: Genome) -> None:
        if genome.links.sum() >= self.max_links:
            return
        candidates = np.flatnonzero(self._allowed(genome) & ~genome.links)
        if candidates.size:
            position = candidates[self.rng.integers(candidates.size)]
            genome.links.flat[position] = True
            genome.weights.flat[position] = 0.0

    def _delete_link(self, genome: Genome) -> None:
        present = np.flatnonzero(genome.links & self._unfrozen)
        if present.size:
            position = present[self.rng.integers(present.size)]
            genome.links.flat[position] = False
            genome.weights.flat[position] = 0.0

    def to_population(self, genomes: list[Genome]) -> Population:
        """The padded Population of these genomes, evaluated in one pass."""
        H = self.max_hidden
        weights = np.stack([g.weights for g in genomes])
        links = np.stack([g.links for g in genomes])
        return Population(self.network_space, weights[:, :H].copy(), weights[:, H:].copy(),
                          links[:, :H].copy(), links[:, H:].copy())

    # ----------------------------------------------------------------- reporting
    def describe_genome(self, genome: Genome) -> dict[str, int]:
        return {"hidden_units": int(genome.hidden.sum()), "links": int(genome.links.sum())}

    def describe(self, best: Population) -> dict[str, int]:
        """The structure of the first network of ``best``: hidden units and links.

        A Population does not record which padded units exist, so a hidden unit counts when
        it has a link in or out (a unit without links does nothing).
        """
        hidden = best.architecture.source_slices()["hidden"]
        mask_h, mask_y = best.mask_h[0], best.mask_y[0]
        used = mask_h.any(axis=1) | mask_h[:, hidden].any(axis=0) | mask_y[:, hidden].any(axis=0)
        return {"hidden_units": int(used.sum()), "links": int(mask_h.sum() + mask_y.sum())}

    # --------------------------------------------------------------------- state
    saved = ("generation", "_parent_losses")

    @property
    def state(self) -> dict[str, Any]:
        return super().state | {"parents": [vars(g) for g in self._parents], "logbook": list(self.logbook),
                                "children": None if self._children is None else [vars(g) for g in self._children]}

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self._parents = [Genome(**g) for g in state["parents"]]
        self._children = None if state["children"] is None else [Genome(**g) for g in state["children"]]
        self.logbook = _new_logbook()
        for record in state["logbook"]:
            self.logbook.record(**record)


# ------------------------------------------------------------------------- helpers
def _new_logbook() -> tools.Logbook:
    logbook = tools.Logbook()
    logbook.header = ["gen", "evals", "min", "median", "max", "hidden_units", "links"]
    return logbook


def _padded_architecture(space: Architecture, max_hidden: int) -> Architecture:
    """The task's sizes, activations and frozen links, with ``max_hidden`` hidden units."""
    src = space.source_slices()
    if space.frozen_h.any() or space.frozen_y[:, src["hidden"]].any():
        raise ValueError("GNARL does not support frozen links into or out of hidden units "
                         "(hidden units come and go); only frozen links into outputs")
    padded = Architecture(space.n_in, max_hidden, space.n_out, hidden=space.hidden, output=space.output,
                          update=space.update)
    outputs = padded.source_slices()["output"]
    frozen_y = np.zeros((space.n_out, padded.n_units), dtype=bool)
    values_y = np.zeros(frozen_y.shape)
    for target, source in ((src["bias"], src["bias"]), (src["input"], src["input"]), (outputs, src["output"])):
        frozen_y[:, target] = space.frozen_y[:, source]
        values_y[:, target] = space.frozen_values_y[:, source]
    if not frozen_y.any():
        return padded
    return Architecture(space.n_in, max_hidden, space.n_out, frozen_y=frozen_y, frozen_values_y=values_y,
                        hidden=space.hidden, output=space.output, update=space.update)
