import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evorec import Architecture, Population, forward
from tests.reference import reference_forward

activations = st.sampled_from(["tanh", "sigmoid", "linear"])


def _check_against_reference(pop, inputs, lengths):
    got = forward(pop, inputs, lengths)
    want = reference_forward(pop.architecture, pop.W_h, pop.W_y, inputs, lengths)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _inputs(rng, B, T, n_in):
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    return rng.normal(size=(B, T, n_in)), lengths


@settings(max_examples=60, deadline=None)
@given(n_hidden=st.integers(1, 6), P=st.integers(1, 5), B=st.integers(1, 5), T=st.integers(1, 12),
       seed=st.integers(0, 2**32 - 1))
def test_forward_matches_loop_on_a1(n_hidden, P, B, T, seed):
    rng = np.random.default_rng(seed)
    pop = Population.random(Architecture.fully_recurrent(1, n_hidden, 1), P, rng, -3, 3)
    _check_against_reference(pop, *_inputs(rng, B, T, 1))


@settings(max_examples=30, deadline=None)
@given(self_links=st.booleans(), P=st.integers(1, 4), B=st.integers(1, 4), T=st.integers(1, 12),
       seed=st.integers(0, 2**32 - 1))
def test_forward_matches_loop_on_a2(self_links, P, B, T, seed):
    rng = np.random.default_rng(seed)
    pop = Population.random(Architecture.rg_a2(10, self_links=self_links), P, rng, -2, 2)
    _check_against_reference(pop, *_inputs(rng, B, T, 1))


@settings(max_examples=80, deadline=None)
@given(n_in=st.integers(0, 3), n_hidden=st.integers(0, 5), n_out=st.integers(1, 3), hidden=activations,
       output=activations, P=st.integers(1, 5), B=st.integers(1, 5), T=st.integers(1, 10),
       seed=st.integers(0, 2**32 - 1))
def test_forward_matches_loop_on_masked_padded_populations(n_in, n_hidden, n_out, hidden, output, P, B, T,
                                                           seed):
    rng = np.random.default_rng(seed)
    D = 1 + n_in + n_hidden + n_out
    arch = Architecture(n_in, n_hidden, n_out, frozen_y=rng.random((n_out, D)) < 0.3,
                        frozen_values_y=rng.normal(size=(n_out, D)), hidden=hidden, output=output)
    # Per-network structure; some networks use fewer hidden units (the rest are padding).
    mask_h = rng.random((P, n_hidden, D)) < 0.6
    mask_y = rng.random((P, n_out, D)) < 0.6
    used = rng.integers(0, n_hidden + 1, size=P)
    for p in range(P):
        unused = slice(1 + n_in + used[p], 1 + n_in + n_hidden)
        mask_h[p, used[p]:] = False
        mask_h[p, :, unused] = False
        mask_y[p, :, unused] = False
    W_h = rng.normal(size=(P, n_hidden, D)) * 1.5
    W_y = rng.normal(size=(P, n_out, D)) * 1.5
    pop = Population.from_weights(arch, W_h, W_y, mask_h, mask_y)
    _check_against_reference(pop, *_inputs(rng, B, T, n_in))


def test_forward_defaults_to_full_length_and_starts_from_zero_activations():
    arch = Architecture.fully_recurrent(1, 1, 1, hidden="sigmoid", output="sigmoid")
    W_h = np.zeros((1, 1, 4))
    W_y = np.zeros((1, 1, 4))
    W_y[0, 0, 3] = 5.0  # output self-link: y_1 = sigmoid(5 * y_0) with y_0 = 0 gives 0.5
    out = forward(Population.from_weights(arch, W_h, W_y), np.zeros((1, 2, 1)))
    np.testing.assert_allclose(out[0, 0, :, 0], [0.5, 1 / (1 + np.exp(-2.5))])


def test_forward_rejects_inputs_that_do_not_fit():
    pop = Population.random(Architecture.fully_recurrent(2, 1, 1), 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_in=2"):
        forward(pop, np.zeros((3, 5, 1)))
    with pytest.raises(ValueError, match="lengths"):
        forward(pop, np.zeros((3, 5, 2)), lengths=[5, 6, 1])
    with pytest.raises(ValueError, match="lengths"):
        forward(pop, np.zeros((3, 5, 2)), lengths=[5, 0, 1])


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(0, 2), n_hidden=st.integers(1, 4), n_out=st.integers(1, 2), hidden=activations,
       output=activations, P=st.integers(1, 4), B=st.integers(1, 4), T=st.integers(1, 10),
       seed=st.integers(0, 2**32 - 1))
def test_synchronous_update_reads_the_previous_hidden_state(n_in, n_hidden, n_out, hidden, output, P, B, T, seed):
    rng = np.random.default_rng(seed)
    arch = Architecture.fully_recurrent(n_in, n_hidden, n_out, hidden=hidden, output=output, update="synchronous")
    pop = Population.random(arch, P, rng, -3, 3)
    _check_against_reference(pop, *_inputs(rng, B, T, n_in))


def test_the_two_update_orders_differ_only_through_hidden_to_output_links():
    rng = np.random.default_rng(3)
    inputs, lengths = _inputs(rng, 3, 8, 1)
    first = Population.random(Architecture.rg_a1(2), 4, rng, -3, 3)
    synchronous = Population.from_weights(Architecture.rg_a1(2, update="synchronous"), first.W_h, first.W_y)
    assert not np.allclose(forward(first, inputs, lengths), forward(synchronous, inputs, lengths), equal_nan=True)
    W_y = first.W_y.copy()
    W_y[:, :, 2:4] = 0.0  # no hidden -> output links: both orders compute the same
    a = forward(Population.from_weights(first.architecture, first.W_h, W_y), inputs, lengths)
    b = forward(Population.from_weights(synchronous.architecture, first.W_h, W_y), inputs, lengths)
    np.testing.assert_array_equal(a, b)


def test_update_order_is_checked():
    with pytest.raises(ValueError, match="update must be one of 'hidden_first', 'synchronous'"):
        Architecture.fully_recurrent(update="parallel")


def test_rg_a1_biases_the_hidden_units_and_not_the_output():
    arch = Architecture.rg_a1(3, n_in=2, n_out=2)
    src = arch.source_slices()
    assert arch.mask_h.all()
    assert not arch.mask_y[:, src["bias"]].any() and arch.mask_y[:, 1:].all()
    assert arch.n_params == 3 * 8 + 2 * 7
    assert Architecture.rg_a1(1).n_params == Architecture.fully_recurrent(1, 1, 1).n_params - 1
    assert (arch.hidden, arch.output, arch.update) == ("sigmoid", "sigmoid", "hidden_first")
