"""Tests of the pseudo_newton strategy (Bengio and Frasconi 1993, eq. 3): its per-step Gauss-Newton
curvature against a plain-numpy reference and finite differences, its limit (BPTT's gradient),
its two variants, and bptt's training loop around it."""

import numpy as np
import pytest

import evorec
from evorec import Architecture, Budget, make_problem, search
from evorec.batch import SequenceBatch
from evorec.network import ACTIVATIONS
from evorec.rnn import loss_and_grad, pseudo_newton_step

F = {"tanh": (np.tanh, lambda f: 1.0 - f * f), "sigmoid": (lambda a: 1.0 / (1.0 + np.exp(-a)), lambda f: f * (1 - f)),
     "linear": (lambda a: a, np.ones_like)}
assert set(F) == set(ACTIVATIONS)


def _run(arch, W_h, W_y, x):
    """One sequence forward with per-step weights ``W_h[t]``, ``W_y[t]`` (T, ·, D): the hidden
    units' and outputs' sources ``u``, ``v`` and activations ``h``, ``y`` at every step."""
    f_h, f_y = F[arch.hidden][0], F[arch.output][0]
    T, H, n_out = x.shape[0], arch.n_hidden, arch.n_out
    h, y = np.zeros(H), np.zeros(n_out)
    us, vs, hs, ys = [], [], [], []
    for t in range(T):
        u = np.concatenate([[1.0], x[t], h, y])
        h = f_h(W_h[t] @ u)
        v = np.concatenate([[1.0], x[t], h, y])
        y = f_y(W_y[t] @ v)
        us.append(u)
        vs.append(v)
        hs.append(h)
        ys.append(y)
    return np.array(us), np.array(vs), np.array(hs), np.array(ys)


def _reference(arch, W_h, W_y, x, targets, scored):
    """The recursion of ``network_pseudo_newton`` in plain numpy, for ``"sse"``: per-step gradients
    and Gauss-Newton curvatures of every weight copy, shapes (T, H, D) and (T, n_out, D) each."""
    T = x.shape[0]
    u, v, h, y = _run(arch, np.repeat(W_h[None], T, 0), np.repeat(W_y[None], T, 0), x)
    slope_h, slope_y = F[arch.hidden][1](h), F[arch.output][1](y)
    hid, out = 1 + arch.n_in, 1 + arch.n_in + arch.n_hidden
    g_h, c_h = np.zeros((T, *W_h.shape)), np.zeros((T, *W_h.shape))
    g_y, c_y = np.zeros((T, *W_y.shape)), np.zeros((T, *W_y.shape))
    da, sa = np.zeros(arch.n_hidden), np.zeros(arch.n_hidden)  # at step t + 1
    dz, sz = np.zeros(arch.n_out), np.zeros(arch.n_out)
    for t in range(T - 1, -1, -1):
        to_y = W_y[:, out:].T @ dz + W_h[:, out:].T @ da  # dC/dy_t from step t + 1
        curve_y = (W_y[:, out:] ** 2).T @ sz + (W_h[:, out:] ** 2).T @ sa
        e = (y[t] - targets[t]) if scored[t] else np.zeros(arch.n_out)
        dz = slope_y[t] * (e + to_y)
        sz = slope_y[t] ** 2 * (float(scored[t]) + curve_y)
        to_h = W_y[:, hid:out].T @ dz + W_h[:, hid:out].T @ da
        curve_h = (W_y[:, hid:out] ** 2).T @ sz + (W_h[:, hid:out] ** 2).T @ sa
        da, sa = slope_h[t] * to_h, slope_h[t] ** 2 * curve_h
        g_y[t], c_y[t] = np.outer(dz, v[t]), np.outer(sz, v[t] ** 2)
        g_h[t], c_h[t] = np.outer(da, u[t]), np.outer(sa, u[t] ** 2)
    return g_h, c_h, g_y, c_y


def _direction(arch, per_step, mu, time_weighted):
    g_h, c_h, g_y, c_y = per_step
    if time_weighted:
        return arch.pack_weights((g_h / (c_h + mu)).sum(0), (g_y / (c_y + mu)).sum(0))
    return arch.pack_weights(g_h.sum(0) / (c_h.sum(0) + mu), g_y.sum(0) / (c_y.sum(0) + mu))


def _chain():
    """1 input, 1 tanh hidden unit with a self-loop, 1 linear output, T = 3, the last step
    scored: every weight copy reaches the cost along one path, so the diagonal Gauss-Newton
    recursion is exact (``(∂y_3/∂w_it)^2``)."""
    D = 4  # (1, x, h, y)
    mask_h = np.array([[True, True, True, False]])
    mask_y = np.array([[True, False, True, False]])
    arch = Architecture(1, 1, 1, mask_h=mask_h, mask_y=mask_y, hidden="tanh", output="linear")
    rng = np.random.default_rng(3)
    theta = rng.uniform(-1.5, 1.5, arch.n_params)
    x = np.array([[1.0], [-0.5], [0.3]])
    batch = SequenceBatch(x[None], np.full((1, 3, 1), 0.7), np.array([[False, False, True]]), np.array([3]))
    assert arch.unpack(theta)[0].shape == (1, D)
    return arch, theta, batch


def test_per_step_gradient_and_curvature_match_finite_differences_on_a_single_path():
    arch, theta, batch = _chain()
    W_h, W_y = arch.unpack(theta)
    x, target = batch.inputs[0], 0.7
    T, eps = 3, 1e-5
    per_step = [np.zeros((T, *W_h.shape)), np.zeros((T, *W_h.shape)), np.zeros((T, *W_y.shape)),
                np.zeros((T, *W_y.shape))]
    for t in range(T):
        for which, W in ((0, W_h), (2, W_y)):
            for index in zip(*np.nonzero(W), strict=True):
                ends = []
                for sign in (1.0, -1.0):
                    Ws = [np.repeat(W_h[None], T, 0), np.repeat(W_y[None], T, 0)]
                    Ws[which // 2][(t, *index)] += sign * eps
                    ends.append(_run(arch, *Ws, x)[3][-1, 0])
                slope = (ends[0] - ends[1]) / (2 * eps)  # ∂y_3/∂w_it
                y3 = _run(arch, np.repeat(W_h[None], T, 0), np.repeat(W_y[None], T, 0), x)[3][-1, 0]
                per_step[which][(t, *index)] = (y3 - target) * slope
                per_step[which + 1][(t, *index)] = slope * slope
    reference = _reference(arch, W_h, W_y, x, np.full((T, 1), target), [False, False, True])
    masks = (arch.mask_h, arch.mask_h, arch.mask_y, arch.mask_y)  # absent links have no copies
    for ours, theirs, mask in zip(reference, per_step, masks, strict=True):
        np.testing.assert_allclose(np.where(mask, ours, 0.0), theirs, rtol=1e-6, atol=1e-9)
    for time_weighted in (True, False):
        _, _, direction, _ = pseudo_newton_step(arch, theta, batch, mu=0.05, time_weighted=time_weighted)
        np.testing.assert_allclose(direction, _direction(arch, per_step, 0.05, time_weighted), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("hidden", "output"), [("tanh", "sigmoid"), ("sigmoid", "tanh"), ("tanh", "linear")])
@pytest.mark.parametrize("time_weighted", [True, False])
def test_the_kernel_follows_the_numpy_recursion_on_fully_recurrent_nets(hidden, output, time_weighted):
    arch = Architecture(2, 3, 2, hidden=hidden, output=output)
    rng = np.random.default_rng(5)
    theta = rng.uniform(-1, 1, arch.n_params)
    T = 5
    inputs = rng.normal(size=(2, T, 2))
    targets = rng.uniform(-0.5, 0.5, size=(2, T, 2))
    mask = np.array([[True, False, True, False, True], [False, True, True, False, False]])
    batch = SequenceBatch(inputs, targets, mask, np.array([5, 3]))
    W_h, W_y = arch.unpack(theta)
    expected = np.zeros(arch.n_params)
    for b, length in enumerate((5, 3)):
        per_step = _reference(arch, W_h, W_y, inputs[b, :length], targets[b, :length], mask[b, :length])
        expected += _direction(arch, per_step, 0.1, time_weighted)
    value, grad, direction, _ = pseudo_newton_step(arch, theta, batch, mu=0.1, time_weighted=time_weighted)
    np.testing.assert_allclose(direction, expected, rtol=1e-10, atol=1e-13)
    reference_value, reference_grad = loss_and_grad(arch, theta, batch, loss="sse")
    assert value == reference_value
    np.testing.assert_allclose(grad, reference_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("variant", ["time_weighted", "plain"])
@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_with_a_huge_mu_the_update_is_bptts_gradient_step(variant, loss):
    problem = make_problem("embedded_reber", train_size=10, test_size=5, seed=2)
    lr, mu = 0.05, 1e12
    strategy = evorec.STRATEGIES.create("pseudo_newton", problem.architecture, np.random.default_rng(0), eta=mu * lr,
                                        mu=mu, variant=variant, loss=loss)
    strategy.bind(problem)
    strategy.theta = start = np.random.default_rng(1).uniform(-1, 1, problem.architecture.n_params)
    batch = problem.train[np.array([3])]
    strategy._learn(batch)
    _, grad = loss_and_grad(problem.architecture, start, batch, loss=loss)
    np.testing.assert_allclose(strategy.theta - start, -lr * grad, rtol=1e-8, atol=1e-8 * lr * np.abs(grad).max())


def test_plain_and_time_weighted_differ_when_the_curvature_varies_over_time():
    arch, theta, batch = _chain()
    _, _, time_weighted, _ = pseudo_newton_step(arch, theta, batch, mu=0.01)
    _, _, plain, _ = pseudo_newton_step(arch, theta, batch, mu=0.01, time_weighted=False)
    assert np.max(np.abs(time_weighted - plain)) > 0.01 * np.max(np.abs(plain))
    # One step: one copy per weight, so the two rules are the same.
    one_step = batch[np.array([0])]
    one_step = SequenceBatch(one_step.inputs[:, :1], one_step.targets[:, :1], np.array([[True]]), np.array([1]))
    _, _, time_weighted, _ = pseudo_newton_step(arch, theta, one_step, mu=0.01)
    _, _, plain, _ = pseudo_newton_step(arch, theta, one_step, mu=0.01, time_weighted=False)
    np.testing.assert_allclose(time_weighted, plain, rtol=1e-14)


def test_pseudo_newton_lowers_the_training_loss_and_counts_as_bptt():
    problem = make_problem("two_sequence", task_params={"lengths": (4, 6), "N": 3}, train_size=40, test_size=40,
                           seed=1)
    result = search("pseudo_newton", problem, Budget(sequences=3000), seed=0, check_every=50, eta=0.1,
                    init_range=1.0)
    assert result.best_loss < 0.7 * result.history[0][1]
    trained = 50 * (result.evaluations - 1)
    assert result.sequences == trained + 40 * result.evaluations
    assert result.info["training_sequences"] == trained


@pytest.mark.parametrize("settings", [{"time_constants": 5.0}, {"delays": 3}, {"update": "synchronous"}])
def test_refuses_memories_and_synchronous_nets_when_made(settings):
    arch = Architecture(1, 2, 1, **settings)
    with pytest.raises(ValueError, match="pseudo_newton"):
        evorec.STRATEGIES.create("pseudo_newton", arch, np.random.default_rng(0))


@pytest.mark.parametrize(("name", "value"), [("eta", 0.0), ("mu", -1.0), ("variant", "newton")])
def test_refuses_bad_parameters_by_name(name, value):
    with pytest.raises(ValueError, match=name):
        evorec.STRATEGIES.create("pseudo_newton", Architecture(1, 2, 1), np.random.default_rng(0), **{name: value})
