import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evorec import Architecture, Population


def test_fully_recurrent_links_every_unit_to_every_non_input_unit():
    arch = Architecture.fully_recurrent(2, 3, 1)
    assert arch.n_units == 1 + 2 + 3 + 1
    assert arch.mask_h.all() and arch.mask_y.all()
    assert arch.n_params == (3 + 1) * 7


def test_rg_a2_hidden_units_see_bias_input_output_and_themselves():
    arch = Architecture.rg_a2(n_hidden=10)
    src = arch.source_slices()
    for j in range(10):
        sees = set(np.flatnonzero(arch.mask_h[j]))
        assert sees == {0, 1, src["output"].start, src["hidden"].start + j}
    assert arch.mask_y.all()
    assert arch.n_params == 10 * 4 + 13


def test_rg_a2_without_self_links():
    arch = Architecture.rg_a2(n_hidden=10, self_links=False)
    assert not arch.mask_h[:, arch.source_slices()["hidden"]].any()
    assert arch.n_params == 10 * 3 + 13


def test_latch_architectures_have_three_free_parameters():
    latch_i, latch_ii = Architecture.latch_i(), Architecture.latch_ii()
    assert latch_i.n_params == 3 and latch_ii.n_params == 3
    W_h, W_y = latch_i.unpack(np.array([0.5, -0.5, 2.0]))
    # bias absent; two pulse weights free; noise weight frozen at 1; self-weight free
    np.testing.assert_array_equal(W_y, [[0.0, 0.5, -0.5, 1.0, 2.0]])
    assert W_h.shape == (0, 5)
    np.testing.assert_array_equal(latch_ii.unpack(np.array([1.0, 2.0, 3.0]))[1], [[1.0, 2.0, 3.0]])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 3), st.integers(0, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_pack_unpack_round_trip_with_masks_and_frozen_weights(n_in, n_hidden, n_out, seed):
    rng = np.random.default_rng(seed)
    D = 1 + n_in + n_hidden + n_out
    arch = Architecture(n_in, n_hidden, n_out,
                        mask_h=rng.random((n_hidden, D)) < 0.7, mask_y=rng.random((n_out, D)) < 0.7,
                        frozen_h=rng.random((n_hidden, D)) < 0.2, frozen_y=rng.random((n_out, D)) < 0.2,
                        frozen_values_h=rng.normal(size=(n_hidden, D)),
                        frozen_values_y=rng.normal(size=(n_out, D)))
    theta = rng.normal(size=(4, arch.n_params))
    W_h, W_y = arch.unpack(theta)
    np.testing.assert_array_equal(arch.pack(W_h, W_y), theta)
    assert np.all(W_h[:, ~arch.mask_h] == 0) and np.all(W_y[:, ~arch.mask_y] == 0)
    np.testing.assert_array_equal(W_h[:, arch.frozen_h], np.broadcast_to(
        arch.frozen_values_h[arch.frozen_h], W_h[:, arch.frozen_h].shape))
    assert arch.n_params == (arch.mask_h & ~arch.frozen_h).sum() + (arch.mask_y & ~arch.frozen_y).sum()


def test_unpack_rejects_wrong_length():
    with pytest.raises(ValueError, match="n_params=8"):
        Architecture.fully_recurrent().unpack(np.zeros(7))


@pytest.mark.parametrize("kwargs, field", [
    ({"n_in": -1, "n_hidden": 1, "n_out": 1}, "n_in"),
    ({"n_in": 1, "n_hidden": 1, "n_out": 0}, "n_out"),
    ({"n_in": 1, "n_hidden": 1, "n_out": 1, "hidden": "relu"}, "hidden activation"),
    ({"n_in": 1, "n_hidden": 1, "n_out": 1, "mask_h": np.ones((2, 4), bool)}, "mask_h"),
])
def test_architecture_rejects_bad_input(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Architecture(**kwargs)


def test_random_population_respects_range_masks_and_frozen_weights():
    arch = Architecture.latch_i()
    pop = Population.random(arch, 500, np.random.default_rng(0), -3.0, 3.0)
    assert len(pop) == 500 and pop.W_h.shape == (500, 0, 5) and pop.W_y.shape == (500, 1, 5)
    assert np.all(pop.W_y[:, 0, 0] == 0) and np.all(pop.W_y[:, 0, 3] == 1.0)
    free = pop.params()
    assert free.min() >= -3.0 and free.max() < 3.0 and free.min() < -2.5 and free.max() > 2.5


def test_from_weights_zeroes_absent_links_and_pins_frozen_ones():
    arch = Architecture.latch_i()
    pop = Population.from_weights(arch, np.zeros((2, 0, 5)), np.full((2, 1, 5), 7.0))
    np.testing.assert_array_equal(pop.W_y[0, 0], [0.0, 7.0, 7.0, 1.0, 7.0])


def test_population_slicing_and_concatenation():
    arch = Architecture.fully_recurrent(1, 2, 1)
    rng = np.random.default_rng(1)
    a, b = Population.random(arch, 3, rng), Population.random(arch, 2, rng)
    both = Population.concatenate([a, b])
    assert len(both) == 5
    np.testing.assert_array_equal(both[3:].W_h, b.W_h)
    np.testing.assert_array_equal(both[1].W_y, a.W_y[1:2])
    np.testing.assert_array_equal(both[np.array([4, 0])].W_h, np.stack([b.W_h[1], a.W_h[0]]))
    with pytest.raises(ValueError, match="share one Architecture"):
        Population.concatenate([a, Population.random(Architecture.fully_recurrent(1, 2, 1), 1, rng)])


def test_population_rejects_bad_sizes():
    arch = Architecture.fully_recurrent()
    with pytest.raises(ValueError, match="size"):
        Population.random(arch, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="W_h and W_y"):
        Population.from_weights(arch, np.zeros((2, 1, 3)), np.zeros((2, 1, 4)))
