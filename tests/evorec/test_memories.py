"""Leaky-integrator hidden units (time constants) and NARX output delay lines (issue 17):
architecture and parameters, the shared evaluator, the stepper, BPTT, searches and YAML."""

from __future__ import annotations

import numpy as np
import pytest

from evorec import Architecture, Budget, Population, SequenceBatch, evaluate, forward, make_problem, search
from evorec.checks import InvalidParameter
from evorec.config import build_architecture, load
from evorec.gradflow import gradflow
from evorec.rnn import loss_and_grad
from evorec.stepper import Stepper
from evorec.strategy import candidates_from_state, candidates_state
from evorec.tasks.fitness import MeanSquaredError, WithinTolerance
from tests.evorec.test_rnn import _assert_close, _batch, _fd_grad
from tests.memory_reference import reference_outputs, run_steps

DATA = __import__("pathlib").Path(__file__).parents[1] / "data"


def _masked(rng, arch_kwargs, p_link=0.75, p_frozen=0.2):
    """A random structure with frozen weights, over the source vector of ``arch_kwargs``."""
    base = Architecture(**arch_kwargs)
    D = base.n_units
    H, n_out = base.n_hidden, base.n_out
    return Architecture(**arch_kwargs, mask_h=rng.random((H, D)) < p_link, mask_y=rng.random((n_out, D)) < p_link,
                        frozen_h=rng.random((H, D)) < p_frozen, frozen_y=rng.random((n_out, D)) < p_frozen,
                        frozen_values_h=rng.normal(size=(H, D)), frozen_values_y=rng.normal(size=(n_out, D)))


def _narx_with_output_recurrence(rng):
    """NARX links plus the outputs' own y_{t-1}: the outputs read the line's newest slot only."""
    narx = Architecture.narx(1, 2, 2, delays=3, hidden="tanh", output="tanh")
    mask_y = narx.mask_y.copy()
    mask_y[:, narx.source_slices()["output"]] = True
    return Architecture(1, 2, 2, mask_h=narx.mask_h, mask_y=mask_y, hidden="tanh", output="tanh", delays=3)


ARCHS = {
    "tau fixed": lambda rng: Architecture(2, 3, 2, time_constants=[1.0, 2.5, 7.0]),
    "tau free": lambda rng: Architecture(1, 2, 1, hidden="tanh", output="linear", time_constants="free",
                                         tau_range=(1.0, 20.0)),
    "narx": lambda rng: Architecture.narx(2, 3, 2, delays=4, hidden="tanh"),
    "narx + tau free": lambda rng: Architecture.narx(1, 2, 1, delays=3).with_time_constants("free", (1.5, 30.0)),
    "narx + output recurrence": _narx_with_output_recurrence,
    "dense delays + tau, masked": lambda rng: _masked(rng, dict(n_in=2, n_hidden=3, n_out=2, delays=3, hidden="tanh",
                                                                 output="sigmoid", time_constants=(2.0, 1.0, 5.0))),
}


# ------------------------------------------------------------------- today's units, exactly
@pytest.mark.parametrize("tc", [1, 1.0, [1, 1, 1], np.ones(3)])
def test_tau_one_is_bit_identical_to_todays_network(tc):
    rng = np.random.default_rng(0)
    plain = Architecture.rg_a1(3, hidden="tanh")
    leaky = plain.with_time_constants(tc)
    assert not leaky.leaky and leaky.n_params == plain.n_params
    theta = rng.uniform(-3, 3, size=(20, plain.n_params))
    batch = _batch(rng, 1, 1, B=6, T=15, nan_padding=False)
    fitness, criterion = MeanSquaredError(), WithinTolerance(0.3)
    a = evaluate(Population.from_params(plain, theta), batch, fitness, criterion)
    b = evaluate(Population.from_params(leaky, theta), batch, fitness, criterion)
    assert np.array_equal(a.loss, b.loss) and np.array_equal(a.wrong, b.wrong)
    out_a = forward(Population.from_params(plain, theta), batch.inputs, batch.lengths)
    out_b = forward(Population.from_params(leaky, theta), batch.inputs, batch.lengths)
    assert np.array_equal(out_a, out_b, equal_nan=True)
    for th in theta[:3]:
        la, ga = loss_and_grad(plain, th, batch)
        lb, gb = loss_and_grad(leaky, th, batch)
        assert la == lb and np.array_equal(ga, gb)


def test_delays_one_is_todays_network():
    assert Architecture(1, 2, 1, delays=1).n_units == Architecture(1, 2, 1).n_units == 5


def test_time_constants_change_the_outputs():
    # Guards against time constants that are accepted and then ignored.
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(2, Architecture.rg_a1(2).n_params))
    x = rng.normal(size=(2, 8, 1))
    plain = forward(Population.from_params(Architecture.rg_a1(2), theta), x)
    leaky = forward(Population.from_params(Architecture.rg_a1(2).with_time_constants(3.0), theta), x)
    assert np.abs(plain - leaky).max() > 1e-3


# -------------------------------------------------------------------------- definitions
def test_leaky_unit_integrates_with_its_time_constant():
    # A linear hidden unit driven by a constant 1 without recurrence: h_t = 1 - (1 - 1/tau)^(t+1).
    tau = 4.0
    arch = Architecture(1, 1, 1, hidden="linear", output="linear", time_constants=tau)
    W_h = np.array([[[0.0, 1.0, 0.0, 0.0]]])  # from the input only
    W_y = np.array([[[0.0, 0.0, 1.0, 0.0]]])  # the output copies h_t
    y = forward(Population.from_weights(arch, W_h, W_y), np.ones((1, 10, 1)))[0, 0, :, 0]
    np.testing.assert_allclose(y, 1.0 - (1.0 - 1.0 / tau) ** np.arange(1, 11), rtol=1e-14)


def test_narx_delay_line_starts_at_zero_and_delays_by_d_steps():
    # y_t = x_t + y_{t-3} with linear units: a pulse at t = 0 comes back every 3 steps.
    arch = Architecture.narx(1, 1, 1, delays=3, hidden="linear", output="linear")
    src = arch.source_slices()
    W_h = np.zeros((1, 1, arch.n_units))
    W_h[0, 0, src["input"]] = 1.0
    W_h[0, 0, src["delayed"].stop - 1] = 1.0  # y_{t-3}, the oldest tap
    W_y = np.zeros((1, 1, arch.n_units))
    W_y[0, 0, src["hidden"]] = 1.0
    x = np.zeros((1, 9, 1))
    x[0, 0, 0] = 1.0
    y = forward(Population.from_weights(arch, W_h, W_y), x)[0, 0, :, 0]
    np.testing.assert_array_equal(y, [1, 0, 0, 1, 0, 0, 1, 0, 0])


def test_narx_preset_links():
    arch = Architecture.narx(2, 3, 2, delays=4)
    src = arch.source_slices()
    assert arch.n_units == 1 + 2 + 3 + 4 * 2
    for name, seen in (("bias", True), ("input", True), ("hidden", False), ("output", True), ("delayed", True)):
        assert arch.mask_h[:, src[name]].all() == seen and arch.mask_h[:, src[name]].any() == seen
    for name, seen in (("bias", True), ("input", False), ("hidden", True), ("output", False), ("delayed", False)):
        assert arch.mask_y[:, src[name]].all() == seen and arch.mask_y[:, src[name]].any() == seen
    assert arch.n_params == 3 * (1 + 2 + 4 * 2) + 2 * (1 + 3)


# ------------------------------------------------------------------ parameters and checks
def test_free_time_constants_are_parameters_after_the_weights():
    arch = Architecture.rg_a1(3).with_time_constants("free", (2.0, 50.0))
    assert arch.n_params == arch.n_weights + 3
    theta = np.random.default_rng(2).normal(size=(4, arch.n_params))
    pop = Population.from_params(arch, theta)
    np.testing.assert_allclose(pop.tau, arch.tau_from_params(theta[:, -3:]))
    np.testing.assert_allclose(pop.params(), theta, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(arch.tau_from_params(0.0), np.sqrt(2.0 * 50.0))  # the geometric mean
    extreme = arch.tau_from_params(np.array([-1e300, -50.0, 0.0, 50.0, 1e300]))
    assert np.all(np.isfinite(extreme)) and extreme.min() >= 2.0 and extreme.max() <= 50.0
    both = Population.concatenate([pop[:2], pop[2:]])
    np.testing.assert_array_equal(both.tau, pop.tau)
    back = candidates_from_state(candidates_state(pop), arch)
    np.testing.assert_array_equal(back.tau, pop.tau)


def test_population_tau_defaults_and_checks():
    fixed = Architecture(1, 2, 1, time_constants=(3.0, 5.0))
    pop = Population.random(fixed, 3, np.random.default_rng(0))
    np.testing.assert_array_equal(pop.tau, [[3.0, 5.0]] * 3)
    assert Population.random(Architecture(1, 2, 1), 3, np.random.default_rng(0)).tau is None
    with pytest.raises(ValueError, match="tau must have shape"):
        Population.from_weights(fixed, pop.W_h, pop.W_y, tau=np.full((3, 2), 0.5))


@pytest.mark.parametrize(("kwargs", "name", "message"), [
    ({"time_constants": 0.5}, "time_constants", "finite numbers >= 1"),
    ({"time_constants": [1.0, float("nan")]}, "time_constants", "finite numbers >= 1"),
    ({"time_constants": [2.0]}, "time_constants", "one value per hidden unit (2)"),
    ({"time_constants": "fre"}, "time_constants", "'free'"),
    ({"time_constants": True}, "time_constants", "got True"),
    ({"time_constants": "free", "tau_range": (0.5, 10)}, "tau_range", "[1, inf)"),
    ({"time_constants": "free", "tau_range": (10, 10)}, "tau_range", "low < high"),
    ({"tau_range": (1, 10)}, "tau_range", "only for time_constants='free'"),
    ({"delays": 0}, "delays", "integer >= 1"),
    ({"delays": 2.0}, "delays", "integer >= 1"),
])
def test_invalid_memories_are_refused_in_one_line_naming_the_field(kwargs, name, message):
    with pytest.raises(InvalidParameter) as info:
        Architecture(1, 2, 1, **kwargs)
    assert info.value.name == name and message in str(info.value) and "\n" not in str(info.value)


def test_time_constants_need_hidden_units():
    with pytest.raises(InvalidParameter, match="needs hidden units"):
        Architecture(1, 0, 1, time_constants=2.0)


# ------------------------------------------------------------ evaluator, forward, stepper
@pytest.mark.parametrize("update", ["hidden_first", "synchronous"])
@pytest.mark.parametrize("name", list(ARCHS))
def test_forward_matches_the_definitions(name, update):
    rng = np.random.default_rng(3)
    base = ARCHS[name](rng)
    arch = Architecture(base.n_in, base.n_hidden, base.n_out, base.mask_h, base.mask_y, base.frozen_h, base.frozen_y,
                        base.frozen_values_h, base.frozen_values_y, base.hidden, base.output, update,
                        base.time_constants, base.tau_range, base.delays)
    pop = Population.random(arch, 3, rng, -2.0, 2.0)
    x = rng.normal(size=(4, 11, arch.n_in))
    got = forward(pop, x)
    for i in range(3):
        tau = None if pop.tau is None else pop.tau[i]
        np.testing.assert_allclose(got[i], reference_outputs(arch, pop.W_h[i], pop.W_y[i], tau, x),
                                   rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(ARCHS))
def test_stepper_runs_exactly_as_the_evaluator(name):
    rng = np.random.default_rng(4)
    arch = ARCHS[name](rng)
    pop = Population.random(arch, 3, rng, -2.0, 2.0)
    x = rng.normal(size=(2, 7, arch.n_in))
    stepper = Stepper(pop, 2)
    stepped = np.stack([stepper.step(np.broadcast_to(x[:, t].T, (3, arch.n_in, 2))) for t in range(7)])
    # The same arithmetic; BLAS may sum the products in another order for the other layout.
    np.testing.assert_allclose(stepped.transpose(1, 3, 0, 2), forward(pop, x), rtol=1e-12, atol=1e-12)
    stepper.reset()
    np.testing.assert_allclose(stepper.step(np.broadcast_to(x[:, 0].T, (3, arch.n_in, 2))).transpose(0, 2, 1),
                               forward(pop, x)[:, :, 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(ARCHS))
def test_early_exit_and_chunks_give_the_full_evaluation(name):
    # Early exit drops networks mid-sequence, and small chunks split the population: the
    # time constants must follow their networks through both.
    rng = np.random.default_rng(5)
    arch = ARCHS[name](rng)
    pop = Population.random(arch, 40, rng, -1.5, 1.5)
    batch = _batch(rng, arch.n_in, arch.n_out, B=30, T=12, targets01=True, nan_padding=False)
    fitness, criterion = MeanSquaredError(), WithinTolerance(0.45)
    full = evaluate(pop, batch, fitness, criterion)
    assert 0 < full.solved.sum() or full.wrong.min() < batch.n_sequences  # not all equally wrong
    small = evaluate(pop, batch, fitness, criterion, memory_budget=120_000)
    np.testing.assert_array_equal(small.loss, full.loss)
    early = evaluate(pop, batch, fitness, criterion, early_exit=True, early_exit_block=4)
    np.testing.assert_array_equal(early.solved, full.solved)
    np.testing.assert_array_equal(early.loss[early.complete], full.loss[early.complete])
    assert (early.wrong[~early.complete] > 0).all()


# --------------------------------------------------------------------------------- BPTT
@pytest.mark.parametrize("name", list(ARCHS))
def test_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(6)
    arch = ARCHS[name](rng)
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, arch.n_in, arch.n_out, B=3, T=9)
    _, g = loss_and_grad(arch, theta, batch)
    g_fd = _fd_grad(lambda th: loss_and_grad(arch, th, batch)[0], theta)
    _assert_close(g, g_fd)
    if arch.time_constants == "free":  # the time constants' own gradient is there, and right
        tau_part = slice(arch.n_weights, None)
        assert np.abs(g[tau_part]).min() > 0
        _assert_close(g[tau_part], g_fd[tau_part])


@pytest.mark.parametrize("name", list(ARCHS))
def test_bptt_outputs_are_the_evaluators(name):
    rng = np.random.default_rng(7)
    arch = ARCHS[name](rng)
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, arch.n_in, arch.n_out, B=3, T=9)
    _, _, y = loss_and_grad(arch, theta, batch, with_outputs=True)
    out = forward(Population.from_params(arch, theta[None]), batch.inputs, batch.lengths)[0]
    alive = np.isfinite(out)
    np.testing.assert_allclose(y[alive], out[alive], rtol=1e-12, atol=1e-13)


def _truncated_reference(arch, theta0, batch, k):
    """The loss whose gradient truncated BPTT is: for each scored step s, the state entering step
    s - k + 1 (hidden units and the whole delay line) comes from ``theta0``."""
    W_h0, W_y0 = arch.unpack(theta0)
    tau0 = arch.time_constants_of(theta0)

    def f(theta):
        W_h, W_y = arch.unpack(theta)
        tau = arch.time_constants_of(theta)
        total, count = 0.0, 0
        for b in range(batch.n_sequences):
            x = batch.inputs[b]
            for s in np.flatnonzero(batch.target_mask[b]):
                start = max(s - k + 1, 0)
                h, line, _ = run_steps(arch, W_h0, W_y0, tau0, x[:start], np.zeros(arch.n_hidden),
                                       np.zeros((arch.delays, arch.n_out)))
                _, _, y = run_steps(arch, W_h, W_y, tau, x[start:s + 1], h, line)
                total += np.sum((y[-1] - batch.targets[b, s]) ** 2)
                count += arch.n_out
        return total / count

    return f


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("name", ["narx + tau free", "dense delays + tau, masked", "narx"])
def test_truncated_gradient_matches_finite_differences_of_reference(name, k):
    rng = np.random.default_rng(8)
    arch = ARCHS[name](rng)
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, arch.n_in, arch.n_out, B=3, T=9)
    value, g = loss_and_grad(arch, theta, batch, truncate=k)
    reference = _truncated_reference(arch, theta, batch, k)
    assert value == pytest.approx(reference(theta), rel=1e-12)
    _assert_close(g, _fd_grad(reference, theta))


@pytest.mark.parametrize("name", list(ARCHS))
def test_truncation_at_least_the_length_is_full_bptt(name):
    rng = np.random.default_rng(9)
    arch = ARCHS[name](rng)
    theta = rng.normal(size=arch.n_params)
    batch = _batch(rng, arch.n_in, arch.n_out, B=3, T=7)
    _, full = loss_and_grad(arch, theta, batch)
    np.testing.assert_allclose(loss_and_grad(arch, theta, batch, truncate=7)[1], full, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ strategies and YAML
@pytest.fixture(scope="module")
def parity_memories():
    leaky = Architecture.rg_a1(2).with_time_constants("free", (1.0, 20.0))
    narx = Architecture.narx(1, 2, 1, delays=3)
    return {name: make_problem("parity", arch, train_size=20, test_size=20, seed=0,
                               task_params={"lengths": (5, 8)})
            for name, arch in (("leaky", leaky), ("narx", narx))}


@pytest.mark.parametrize("strategy", ["guessing", "annealing"])
@pytest.mark.parametrize("net", ["leaky", "narx"])
def test_flat_vector_strategies_search_leaky_and_narx_nets(parity_memories, strategy, net):
    problem = parity_memories[net]
    params = {"batch_size": 100} if strategy == "guessing" else {}
    a = search(strategy, problem, Budget(evaluations=300), seed=3, **params)
    b = search(strategy, problem, Budget(evaluations=300), seed=3, **params)
    assert 0 < a.evaluations <= 300 and np.isfinite(a.best_loss)
    assert a.best_loss == b.best_loss  # reproducible through pack/unpack
    if net == "leaky":
        assert a.best_tau.shape == (2,) and np.all((a.best_tau >= 1.0) & (a.best_tau <= 20.0))
    else:
        assert a.best_tau is None and a.best_W_h.shape == (2, 1 + 1 + 2 + 3)


@pytest.mark.parametrize("net", ["leaky", "narx"])
def test_bptt_strategy_trains_leaky_and_narx_nets(parity_memories, net):
    result = search("bptt", parity_memories[net], Budget(sequences=200), seed=0, check_every=50)
    assert result.sequences >= 200 or result.solved
    assert np.isfinite(result.best_loss)


def test_yaml_memories():
    experiment = load(DATA / "valid" / "leaky_and_narx.yaml")
    archs = [build_architecture(dict(spec.architecture)) for spec in experiment.runs]
    assert [a.time_constants for a in archs] == ["free", (1.0, 4.0), None]
    assert archs[0].tau_range == (1.0, 20.0) and archs[2].delays == 3


def test_gnarl_and_gradflow_refuse_memories():
    from evorec.strategies.gnarl import GNARL

    rng = np.random.default_rng(0)
    for arch in (Architecture.narx(1, 2, 1, delays=2), Architecture.rg_a1(2).with_time_constants(2.0)):
        with pytest.raises(ValueError, match="without time constants or delay lines"):
            GNARL(arch, rng)
        batch = SequenceBatch(np.zeros((2, 6, 1)), np.zeros((2, 6, 1)), np.ones((2, 6), bool), np.full(2, 6))
        with pytest.raises(ValueError, match="without time constants or delay lines"):
            gradflow(arch, batch, 3, scale=1.0, rng=rng)
