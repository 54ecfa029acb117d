"""GNARL: mutation invariants, the padded population, DEAP without global state, state, solving."""

import json
import random

import numpy as np
import pytest
from deap import creator

from evorec import Architecture, Budget, Population, evaluate, make_problem, search
from evorec.codec import decode, encode
from evorec.strategies.gnarl import GNARL, Genome

N_IN, N_OUT = 2, 2
LEAD = 1 + N_IN  # bias and inputs: the first columns, never rows


@pytest.fixture(scope="module")
def small_parity():
    return make_problem("parity", task_params={"lengths": (6, 10)}, train_size=20, test_size=20, seed=1)


def _gnarl(worst_loss: float = 1.0, seed: int = 0, space: Architecture | None = None, **params) -> GNARL:
    strategy = GNARL(space or Architecture(N_IN, 1, N_OUT), np.random.default_rng(seed), **params)
    strategy.worst_loss = worst_loss
    return strategy


def _full_genome(strategy: GNARL, rng: np.random.Generator) -> Genome:
    """Every hidden unit present and every allowed link present, with non-zero weights."""
    H = strategy.max_hidden
    shape = (H + N_OUT, LEAD + H + N_OUT)
    return Genome(rng.uniform(1.0, 2.0, size=shape), np.ones(shape, dtype=bool), np.ones(H, dtype=bool))


def _assert_valid(genome: Genome, strategy: GNARL) -> None:
    H = strategy.max_hidden
    # Rows are the hidden and output units only: no link can enter the bias or an input.
    assert genome.weights.shape == genome.links.shape == (H + N_OUT, LEAD + H + N_OUT)
    assert not genome.weights[~genome.links].any(), "a weight without a link"
    absent = ~genome.hidden
    assert not genome.links[:H][absent].any(), "a link into a hidden unit that does not exist"
    assert not genome.links[:, LEAD:LEAD + H][:, absent].any(), "a link out of a hidden unit that does not exist"
    assert genome.links.sum() <= strategy.max_links
    assert genome.hidden.size == H


# ------------------------------------------------------------------------ parameters
@pytest.mark.parametrize("name, value", [
    ("population", 3), ("population", 0), ("population", 4.0), ("max_hidden", -1), ("max_links", 0),
    ("alpha", 0.0), ("alpha", float("inf")), ("alpha", True), ("weight_range", -1.0),
    ("add_nodes", (3, 1)), ("delete_nodes", (-1, 2)), ("add_links", (1,)), ("delete_links", (0.5, 2)),
    ("add_links", "15"),
])
def test_invalid_parameters_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        GNARL(Architecture(1, 1, 1), np.random.default_rng(0), **{name: value})


def test_ranges_from_yaml_lists_are_accepted():
    strategy = GNARL(Architecture(1, 1, 1), np.random.default_rng(0), add_links=[2, 4])
    assert strategy.add_links == (2, 4)


def test_an_unbounded_loss_is_refused_with_advice():
    strategy = GNARL(Architecture(1, 1, 1, output="linear"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="bounded"):
        strategy.ask()


def test_temperature_is_loss_over_worst_loss():
    strategy = _gnarl(worst_loss=4.0)
    assert strategy.temperature(1.0) == 0.25
    assert strategy.temperature(0.0) == 0.0
    assert strategy.temperature(np.inf) == 1.0


def test_the_population_has_the_tasks_units_padded_to_max_hidden():
    strategy = _gnarl(max_hidden=3, population=10)
    population = strategy.ask()
    arch = population.architecture
    assert (arch.n_in, arch.n_hidden, arch.n_out) == (N_IN, 3, N_OUT)
    assert len(population) == 10
    strategy.tell(population, np.linspace(0.1, 0.9, 10))
    assert len(strategy.ask()) == 5  # one child per parent of the best half


# ------------------------------------------------------------------------- mutation
def test_random_mutations_keep_every_invariant():
    strategy = _gnarl(max_hidden=3, max_links=12)
    rng = np.random.default_rng(1)
    for _ in range(20):
        genome = strategy.random_genome()
        _assert_valid(genome, strategy)
        for _ in range(30):
            genome = strategy.mutate(genome, loss=rng.uniform(0.0, 1.0))
            _assert_valid(genome, strategy)


def test_the_initial_population_is_within_the_bounds():
    strategy = _gnarl(max_hidden=3, max_links=7, weight_range=0.5)
    genomes = [strategy.random_genome() for _ in range(200)]
    for genome in genomes:
        _assert_valid(genome, strategy)
        assert np.abs(genome.weights).max() <= 0.5
        assert genome.links.sum() >= 1
    assert {int(g.hidden.sum()) for g in genomes} == {0, 1, 2, 3}


def test_deleting_a_node_removes_its_links_in_and_out():
    strategy = _gnarl(max_hidden=2, add_nodes=(0, 0), delete_nodes=(1, 1), add_links=(0, 0), delete_links=(0, 0))
    parent = _full_genome(strategy, np.random.default_rng(0))
    child = strategy.mutate(parent, loss=0.0)
    (unit,) = np.flatnonzero(parent.hidden & ~child.hidden)
    assert not child.links[unit].any() and not child.links[:, LEAD + unit].any()
    assert not child.weights[unit].any() and not child.weights[:, LEAD + unit].any()
    kept = np.ones_like(parent.links)
    kept[unit], kept[:, LEAD + unit] = False, False
    assert child.links[kept].all()
    _assert_valid(child, strategy)


def test_new_links_start_at_weight_zero_even_in_a_hot_network():
    strategy = _gnarl(max_hidden=2, add_nodes=(0, 0), delete_nodes=(0, 0), add_links=(1, 1), delete_links=(0, 0))
    rng = np.random.default_rng(0)
    for _ in range(20):
        parent = _full_genome(strategy, rng)
        parent.links &= rng.uniform(size=parent.links.shape) < 0.5  # room for a new link
        parent.weights[~parent.links] = 0.0
        child = strategy.mutate(parent, loss=1.0)
        new = child.links & ~parent.links
        assert new.sum() == 1
        assert child.weights[new][0] == 0.0


def test_new_hidden_units_start_without_links():
    strategy = _gnarl(max_hidden=3, add_nodes=(1, 1), delete_nodes=(0, 0), add_links=(0, 0), delete_links=(0, 0))
    parent = strategy._empty_genome()
    parent.links[-1, 0] = True  # one output bias link
    child = strategy.mutate(parent, loss=1.0)
    (unit,) = np.flatnonzero(child.hidden & ~parent.hidden)
    assert not child.links[unit].any() and not child.links[:, LEAD + unit].any()


def test_additions_stop_at_max_hidden_and_max_links():
    strategy = _gnarl(max_hidden=2, max_links=9, add_nodes=(3, 3), delete_nodes=(0, 0), add_links=(5, 5),
                      delete_links=(0, 0))
    genome = strategy.random_genome()
    for _ in range(10):
        genome = strategy.mutate(genome, loss=1.0)
    assert genome.hidden.sum() == 2
    assert genome.links.sum() == 9


def test_a_perfect_network_keeps_its_weights():
    strategy = _gnarl(max_hidden=3)  # the defaults: large alpha, so any leak would show
    for _ in range(50):
        parent = strategy.random_genome()
        child = strategy.mutate(parent, loss=0.0)
        common = parent.links & child.links
        assert common.any()
        np.testing.assert_array_equal(child.weights[common], parent.weights[common])


def test_hot_networks_change_more_than_cool_ones():
    strategy = _gnarl(max_hidden=2, alpha=1.0)
    parent = _full_genome(strategy, np.random.default_rng(0))

    def mean_change(loss: float) -> float:
        changes = []
        for _ in range(300):
            child = strategy.mutate(parent, loss)
            common = parent.links & child.links
            changes.append(np.abs(child.weights - parent.weights)[common])
        return float(np.mean(np.concatenate(changes)))

    hot, cool = mean_change(0.9), mean_change(0.1)
    # alpha * T^ is a variance, so the expected ratio is sqrt(0.9 / 0.1) = 3.
    assert 2.0 < hot / cool < 4.5


def test_hot_networks_get_more_structural_change():
    strategy = _gnarl(max_hidden=3, add_links=(1, 5), delete_links=(1, 5), add_nodes=(0, 0), delete_nodes=(0, 0))
    parent = _full_genome(strategy, np.random.default_rng(0))
    parent.links[:, ::2] = False
    parent.weights[~parent.links] = 0.0

    def mean_edits(loss: float) -> float:
        return np.mean([(strategy.mutate(parent, loss).links != parent.links).sum() for _ in range(300)])

    # At T = 0 each operation runs lo = 1 times; at T = 0.9 on average 0.5 times more.
    assert mean_edits(0.9) > mean_edits(0.0) + 0.5


def test_frozen_links_stay_present_and_unchanged():
    strategy = _gnarl(space=Architecture.latch_i(), worst_loss=2.56, max_hidden=2)
    noise_link = strategy.network_space.source_slices()["input"].start + 2
    genome = strategy.random_genome()
    for loss in np.random.default_rng(0).uniform(0.0, 2.56, size=200):
        genome = strategy.mutate(genome, loss)
        assert genome.links[-1, noise_link] and genome.weights[-1, noise_link] == 1.0


def test_frozen_links_of_hidden_units_are_refused():
    frozen = np.zeros((1, 4), dtype=bool)
    frozen[0, 1] = True
    with pytest.raises(ValueError, match="frozen links"):
        GNARL(Architecture(1, 1, 1, frozen_h=frozen), np.random.default_rng(0))


# ----------------------------------------------------------------------- evaluation
def _alone(network: Population) -> Population:
    """One network of a padded population in an architecture of just its own hidden units."""
    arch = network.architecture
    hidden = arch.source_slices()["hidden"]
    mask_h, mask_y = network.mask_h[0], network.mask_y[0]
    used = mask_h.any(axis=1) | mask_h[:, hidden].any(axis=0) | mask_y[:, hidden].any(axis=0)
    columns = np.r_[np.arange(hidden.start), hidden.start + np.flatnonzero(used), np.arange(hidden.stop, arch.n_units)]
    small = Architecture(arch.n_in, int(used.sum()), arch.n_out, hidden=arch.hidden, output=arch.output)
    return Population(small, network.W_h[:, used][:, :, columns], network.W_y[:, :, columns],
                      network.mask_h[:, used][:, :, columns], network.mask_y[:, :, columns])


def test_the_padded_population_scores_each_network_as_alone(small_parity):
    strategy = GNARL(small_parity.architecture, np.random.default_rng(5), population=30, max_hidden=4, alpha=1.0)
    strategy.worst_loss = small_parity.worst_loss
    for _ in range(6):  # a few generations, so units have been deleted and added again
        candidates = strategy.ask()
        strategy.tell(candidates, small_parity.evaluate(candidates).loss)
    population = strategy.ask()
    padded = small_parity.evaluate(population).loss
    alone = [_alone(population[i]) for i in range(len(population))]
    assert len({net.architecture.n_hidden for net in alone}) >= 3
    losses = [evaluate(net, small_parity.train, small_parity.fitness, small_parity.criterion).loss[0]
              for net in alone]
    np.testing.assert_allclose(losses, padded, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- DEAP
def test_no_deap_creator_classes_and_no_global_random_state(small_parity):
    names = set(vars(creator))
    numpy_state = np.random.get_state()  # noqa: NPY002
    python_state = random.getstate()
    search("gnarl", small_parity, Budget(evaluations=500), seed=0)
    assert set(vars(creator)) == names
    for name in ("FitnessMin", "Fitness", "Individual", "Network", "Genome", "LossFitness"):
        assert not hasattr(creator, name)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]
    assert random.getstate() == python_state


def test_the_logbook_records_every_generation(small_parity):
    strategy = GNARL(small_parity.architecture, np.random.default_rng(0), population=10)
    strategy.worst_loss = small_parity.worst_loss
    for _ in range(3):
        candidates = strategy.ask()
        strategy.tell(candidates, small_parity.evaluate(candidates).loss)
    assert strategy.logbook.select("gen") == [0, 1, 2]
    assert strategy.logbook.select("evals") == [10, 5, 5]
    best = strategy.logbook.select("min")
    assert all(b <= a for a, b in zip(best, best[1:], strict=False))  # elitist


# ---------------------------------------------------------------- search and state
def test_the_result_describes_the_best_networks_structure(small_parity):
    result = search("gnarl", small_parity, Budget(evaluations=300), seed=2, population=20, max_hidden=3)
    hidden = slice(2, 5)
    used = result.best_mask_h.any(axis=1) | result.best_mask_h[:, hidden].any(axis=0) \
        | result.best_mask_y[:, hidden].any(axis=0)
    assert result.info == {"hidden_units": int(used.sum()),
                           "links": int(result.best_mask_h.sum() + result.best_mask_y.sum())}


def test_the_budget_can_cut_the_last_generation(small_parity):
    result = search("gnarl", small_parity, Budget(evaluations=60), seed=0, population=50)
    assert result.solved or result.evaluations == 60


def test_same_seed_same_search(small_parity):
    a = search("gnarl", small_parity, Budget(evaluations=400), seed=7, population=20)
    b = search("gnarl", small_parity, Budget(evaluations=400), seed=7, population=20)
    assert {k: v for k, v in a.to_dict().items() if k != "seconds"} == \
        {k: v for k, v in b.to_dict().items() if k != "seconds"}


def test_state_survives_json_and_restores_the_strategy(small_parity):
    def fresh(seed: int) -> GNARL:
        strategy = GNARL(small_parity.architecture, np.random.default_rng(seed), population=12, max_hidden=3)
        strategy.worst_loss = small_parity.worst_loss
        return strategy

    original = fresh(0)
    for _ in range(4):
        candidates = original.ask()
        original.tell(candidates, small_parity.evaluate(candidates).loss)
    state = decode(json.loads(json.dumps(encode(original.state), allow_nan=False)))
    restored = fresh(99)
    restored.load_state(state)
    for _ in range(3):
        a, b = original.ask(), restored.ask()
        for name in ("W_h", "W_y", "mask_h", "mask_y"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        losses = small_parity.evaluate(a).loss
        original.tell(a, losses)
        restored.tell(b, losses)
    assert list(original.logbook) == list(restored.logbook)
    assert original.best_loss == restored.best_loss


def test_a_stopped_search_resumes_to_the_same_end():
    # The problem's architecture has max_hidden hidden units: the search loop decodes its own
    # saved best network with the problem's architecture (see the generic test in test_resume).
    problem = make_problem("parity", task_params={"lengths": (6, 10)}, train_size=20, test_size=20, seed=4,
                           architecture=Architecture(1, 3, 1))
    params = {"population": 20, "max_hidden": 3}
    whole = search("gnarl", problem, Budget(evaluations=600), seed=3, **params)
    part = search("gnarl", problem, Budget(evaluations=600), seed=3, stop_after=3, **params)
    assert part.stopped
    state = json.loads(json.dumps(part.state))
    resumed = search("gnarl", problem, Budget(evaluations=600), seed=3, resume=state, **params)
    drop = ("seconds", "stopped", "state")
    assert {k: v for k, v in resumed.to_dict().items() if k not in drop} == \
        {k: v for k, v in whole.to_dict().items() if k not in drop}


# -------------------------------------------------------------------------- solving
PROBLEMS = {"parity": {"task": "parity", "task_params": {"lengths": (25, 50)}},
            "latch": {"task": "latch", "task_params": {"variant": "II"}}}


# The defaults solve both in 30 of 30 seeds: parity (lengths 25..50) in 1,076 to 79,707
# evaluations (median 19,540), latch II in 51 to 267 (median 116).  Five seeds take ~15 s.
@pytest.mark.parametrize("task", ["parity", "latch"])
def test_solves_in_at_least_four_of_five_seeds_within_1e5_evaluations(task):
    problem = make_problem(**PROBLEMS[task])
    results = [search("gnarl", problem, Budget(evaluations=100_000), seed=seed) for seed in range(5)]
    solved = [r for r in results if r.solved]
    assert len(solved) >= 4, [(r.seed, r.evaluations, r.best_loss) for r in results]
    assert all(r.evaluations <= 100_000 and r.train_error == 0.0 for r in solved)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["parity", "latch"])
def test_solves_at_least_18_of_20_more_seeds(task):
    problem = make_problem(**PROBLEMS[task])
    solved = [search("gnarl", problem, Budget(evaluations=100_000), seed=seed).solved for seed in range(5, 25)]
    assert sum(solved) >= 18
