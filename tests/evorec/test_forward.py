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
