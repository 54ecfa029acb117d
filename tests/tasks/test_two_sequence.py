"""The two-sequence task, BSF94 / RG flavour (docs/literature.md, "BSF94 / RG tasks")."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evorec
from evorec import Architecture, Population


def noise_part(batch, N):
    """All inputs after the first N elements, within each sequence's length."""
    return np.concatenate([batch.inputs[b, N:length, 0] for b, length in enumerate(batch.lengths)])


def test_defaults_are_the_papers():
    task = evorec.make_task("two_sequence")
    assert task.N == 1
    assert task.noise_var == 0.2
    assert task.lengths == (500, 600)
    assert task.targets == (1.0, 0.0)
    assert task.criterion().tol == 0.1


@pytest.mark.parametrize("N", [1, 3])
def test_first_n_elements_give_the_class(N):
    batch = evorec.make_task("two_sequence", N=N, lengths=(N + 1, 20)).sample(60, np.random.default_rng(0))
    sign = np.where(batch.labels == 0, 1.0, -1.0)
    np.testing.assert_array_equal(batch.inputs[:, :N, 0], np.repeat(sign[:, None], N, axis=1))
    # Element N is already noise, not a further informative element.
    assert not np.all(np.abs(batch.inputs[:, N, 0]) == 1.0)


@pytest.mark.parametrize(("N", "noise_var"), [(1, 0.2), (3, 0.2), (3, 0.5)])
def test_rest_is_gaussian_noise_with_variance(N, noise_var):
    task = evorec.make_task("two_sequence", N=N, lengths=(400, 500), noise_var=noise_var)
    noise = noise_part(task.sample(250, np.random.default_rng(1)), N)
    sd = math.sqrt(noise_var)
    assert noise.size > 50_000
    assert abs(noise.mean()) < 0.01
    assert abs(noise.var() - noise_var) < 0.05 * noise_var  # 0.01 for variance 0.2
    assert abs(np.mean(np.abs(noise) < sd) - 0.6827) < 0.01  # Gaussian, not uniform (0.577)
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.02


def test_zero_noise_leaves_only_the_informative_elements():
    batch = evorec.make_task("two_sequence", N=3, lengths=(5, 9), noise_var=0).sample(20, np.random.default_rng(2))
    assert np.all(batch.inputs[:, 3:, 0] == 0.0)


def test_default_targets_are_one_and_zero():
    batch = evorec.make_task("two_sequence", lengths=(5, 9)).sample(40, np.random.default_rng(3))
    last = batch.targets[np.arange(40), batch.lengths - 1, 0]
    np.testing.assert_array_equal(last, np.where(batch.labels == 0, 1.0, 0.0))


@pytest.mark.parametrize("targets", [(0.2, 0.8), [-1, 1], (0.0, 0.0)])
def test_targets_parameter(targets):
    batch = evorec.make_task("two_sequence", lengths=(5, 9), targets=targets).sample(40, np.random.default_rng(4))
    last = batch.targets[np.arange(40), batch.lengths - 1, 0]
    np.testing.assert_array_equal(last, np.where(batch.labels == 0, float(targets[0]), float(targets[1])))


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("N", "lengths"), [(1, 1), (3, 3), (3, (3, 5)), (3, (2, 10)), (5, (1, 4))])
def test_lengths_must_exceed_n(N, lengths):
    with pytest.raises(ValueError, match="lengths"):
        evorec.make_task("two_sequence", N=N, lengths=lengths)


def test_shortest_allowed_length_is_n_plus_one():
    batch = evorec.make_task("two_sequence", N=3, lengths=4).sample(10, np.random.default_rng(5))
    assert np.all(batch.lengths == 4)


@pytest.mark.parametrize("N", [0, -1, 1.5, True, "3"])
def test_bad_n(N):
    with pytest.raises(ValueError, match=r"\bN\b"):
        evorec.make_task("two_sequence", N=N, lengths=(10, 20))


@pytest.mark.parametrize("noise_var", [-0.2, math.nan, "0.2", None])
def test_bad_noise_var(noise_var):
    with pytest.raises(ValueError, match="noise_var"):
        evorec.make_task("two_sequence", noise_var=noise_var)


@pytest.mark.parametrize("targets", [(1.0,), (1.0, 0.0, 0.5), 1.0, "10"])
def test_bad_targets_shape(targets):
    with pytest.raises(ValueError, match="targets"):
        evorec.make_task("two_sequence", targets=targets)


@pytest.mark.parametrize("targets", [(1.0, "high"), (1.0, None)])
def test_bad_targets_values(targets):
    with pytest.raises(ValueError, match="targets"):
        evorec.make_task("two_sequence", targets=targets)


# ---------------------------------------------------- a hand-built network that solves it
def latching_pair() -> Population:
    """The latch below and its twin with the output weight's sign flipped."""
    arch = Architecture.fully_recurrent(1, 1, 1, hidden="tanh", output="sigmoid")
    src = arch.source_slices()
    x, h = src["input"].start, src["hidden"].start
    W_h = np.zeros((2, 1, arch.n_units))
    W_h[:, 0, x], W_h[:, 0, h] = 2.0, 20.0
    W_y = np.zeros((2, 1, arch.n_units))
    W_y[:, 0, h] = [10.0, -10.0]
    return Population.from_weights(arch, W_h, W_y)


@pytest.mark.parametrize("N", [1, 3])
def test_latching_network_gets_every_sequence_right(N):
    # A1 with one tanh hidden unit and a sigmoid output.
    # h_t = tanh(2 x_t + 20 h_{t-1}): h_0 = tanh(+-2) = +-0.96 takes the class's sign (the
    # further informative elements of N = 3 push the same way); afterwards the self link
    # (20 * 0.96) outweighs the noise unless |2 n| > 17, i.e. about 20 sd, so h stays near +-1.
    # y_t = sigmoid(10 h_t) is then > 0.9999 for class 0 (target 1) and < 0.0001 for class 1
    # (target 0).  With the output weight's sign flipped every sequence is wrong.
    task = evorec.make_task("two_sequence", N=N)
    pop = latching_pair()
    batch = task.sample(100, np.random.default_rng(6))
    result = evorec.evaluate(pop, batch, evorec.make_fitness("mse"), task.criterion())
    np.testing.assert_array_equal(result.wrong, [0, 100])


# ============================================ LSTM97 variants 3a / 3b / 3c and the length rule
# docs/literature.md, "LSTM97 tasks", experiment 3.
def first_elements(batch, N):
    return batch.inputs[:, :N, 0]


def final_targets(batch):
    return batch.targets[np.arange(len(batch)), batch.lengths - 1, 0]


@pytest.mark.parametrize(("variant", "expected"), [
    ("bsf94", {"N": 1, "T": None, "lengths": (500, 600), "targets": (1.0, 0.0), "tolerance": 0.1,
               "informative_noise": False, "target_noise_var": 0.0}),
    ("3a", {"N": 3, "T": 100, "lengths": (100, 110), "targets": (1.0, 0.0), "tolerance": 0.2,
            "informative_noise": False, "target_noise_var": 0.0}),
    ("3b", {"N": 3, "T": 100, "lengths": (100, 110), "targets": (1.0, 0.0), "tolerance": 0.2,
            "informative_noise": True, "target_noise_var": 0.0}),
    ("3c", {"N": 3, "T": 100, "lengths": (100, 110), "targets": (0.2, 0.8), "tolerance": 0.1,
            "informative_noise": True, "target_noise_var": 0.1}),
])
def test_variant_defaults(variant, expected):
    task = evorec.make_task("two_sequence", variant=variant)
    assert {key: getattr(task, key) for key in expected} == expected
    assert task.noise_var == 0.2
    assert task.criterion().tol == expected["tolerance"]


@pytest.mark.parametrize(("params", "lengths"), [
    ({"variant": "3a", "T": 100}, (100, 110)),
    ({"variant": "3a", "T": 1000}, (1000, 1100)),
    ({"variant": "3a", "T": 25}, (25, 27)),                          # T // 10, rounded down
    ({"variant": "3a", "T": 100, "length_rule": "bsf94"}, (50, 100)),
    ({"T": 100}, (50, 100)),                                          # bsf94 flavour: [T/2, T]
    ({"T": 51}, (25, 51)),
    ({"T": 100, "length_rule": "lstm97"}, (100, 110)),
    ({"variant": "3b", "lengths": (30, 40)}, (30, 40)),               # explicit lengths, no T
    ({"variant": "3c", "lengths": 12}, (12, 12)),
    ({"variant": "3a", "T": 100, "lengths": (100, 110)}, (100, 110)),  # both, consistent
    ({"T": 40, "lengths": [20, 40]}, (20, 40)),
])
def test_lengths_from_t_and_the_length_rule(params, lengths):
    task = evorec.make_task("two_sequence", **params)
    assert task.lengths == lengths
    batch = task.sample(400, np.random.default_rng(10))
    assert batch.lengths.min() == lengths[0] and batch.lengths.max() == lengths[1]


@pytest.mark.parametrize("variant", ["3a", "3b", "3c"])
def test_lstm97_lengths_uniform_over_t_to_t_plus_a_tenth(variant):
    batch = evorec.make_task("two_sequence", variant=variant).sample(3000, np.random.default_rng(11))
    counts = np.bincount(batch.lengths - 100, minlength=11)
    assert counts.size == 11 and np.all(np.abs(counts / 3000 - 1 / 11) < 0.02)


@pytest.mark.parametrize("variant", ["3a", "3b", "3c"])
def test_noise_has_variance_0_2_and_is_gaussian(variant):
    task = evorec.make_task("two_sequence", variant=variant)
    batch = task.sample(600, np.random.default_rng(12))
    noise = noise_part(batch, 3)
    assert noise.size > 50_000
    assert abs(noise.mean()) < 0.01
    assert abs(noise.var() - 0.2) < 0.01  # std sqrt(0.2) = 0.447, not 0.2 (variance 0.04)
    assert abs(np.mean(np.abs(noise) < math.sqrt(0.2)) - 0.6827) < 0.01


def test_3a_informative_elements_are_exact():
    batch = evorec.make_task("two_sequence", variant="3a").sample(200, np.random.default_rng(13))
    sign = np.where(batch.labels == 0, 1.0, -1.0)
    np.testing.assert_array_equal(first_elements(batch, 3), np.repeat(sign[:, None], 3, axis=1))
    np.testing.assert_array_equal(final_targets(batch), np.where(batch.labels == 0, 1.0, 0.0))


@pytest.mark.parametrize("variant", ["3b", "3c"])
def test_informative_elements_carry_the_same_noise(variant):
    batch = evorec.make_task("two_sequence", variant=variant).sample(20000, np.random.default_rng(14))
    sign = np.where(batch.labels == 0, 1.0, -1.0)
    deviation = (first_elements(batch, 3) - sign[:, None]).ravel()
    assert abs(deviation.mean()) < 0.01
    assert abs(deviation.var() - 0.2) < 0.01
    assert abs(np.mean(np.abs(deviation) < math.sqrt(0.2)) - 0.6827) < 0.01


def test_informative_noise_and_n_parameters():
    batch = evorec.make_task("two_sequence", variant="3a", N=1, informative_noise=True) \
        .sample(4000, np.random.default_rng(15))
    sign = np.where(batch.labels == 0, 1.0, -1.0)
    assert abs((batch.inputs[:, 0, 0] - sign).var() - 0.2) < 0.02
    assert not np.any(np.isin(batch.inputs[:, 1, 0], (1.0, -1.0)))


def test_3c_targets_are_noisy_and_the_criterion_tests_the_noise_free_ones():
    task = evorec.make_task("two_sequence", variant="3c")
    batch = task.sample(20000, np.random.default_rng(16))
    clean = np.where(batch.labels == 0, 0.2, 0.8)
    targets, sequence, step = batch.scored_targets()
    judged = batch.scored_criterion_targets()
    np.testing.assert_array_equal(judged[:, 0], clean[sequence])
    np.testing.assert_array_equal(step, batch.lengths - 1)
    # The fitness (and training) sees the noisy target: Gaussian noise of variance 0.1.
    noise = targets[:, 0] - judged[:, 0]
    assert abs(noise.mean()) < 0.01
    assert abs(noise.var() - 0.1) < 0.005
    assert abs(np.mean(np.abs(noise) < math.sqrt(0.1)) - 0.6827) < 0.01
    criterion = task.criterion()
    for err, right in ((0.099, True), (-0.099, True), (0.1, False), (-0.101, False)):
        assert criterion.entry_correct(judged[None] + err, judged).all() == right


def test_3c_a_net_outputting_the_noise_free_target_solves_through_the_evaluator():
    # The criterion must read the noise-free targets, the fitness the noisy ones.
    batch = evorec.make_task("two_sequence", variant="3c", T=10).sample(40, np.random.default_rng(18))
    from evorec.evaluate import score_outputs

    judged = batch.scored_criterion_targets()
    targets, sequence, _ = batch.scored_targets()
    store = judged[None].copy()
    ones = np.ones(store.shape[:2], dtype=bool)
    mse = evorec.make_fitness("mse")
    task = evorec.make_task("two_sequence", variant="3c", T=10)
    loss, wrong, solved, _ = score_outputs(store, ones, np.ones(1, bool), targets, sequence, 40, mse,
                                           task.criterion(), judged)
    assert solved.tolist() == [True] and wrong.tolist() == [0]
    assert loss[0] == pytest.approx(np.mean((judged - targets) ** 2)) and loss[0] > 0.01
    sub = batch[np.arange(5)]
    np.testing.assert_array_equal(sub.scored_criterion_targets(), judged[:5])


def test_variants_without_target_noise_have_no_separate_criterion_targets():
    batch = evorec.make_task("two_sequence", variant="3a").sample(50, np.random.default_rng(18))
    assert batch.criterion_targets is None
    np.testing.assert_array_equal(batch.scored_criterion_targets(), batch.scored_targets()[0])


@pytest.mark.parametrize(("variant", "tol"), [("3a", 0.2), ("3b", 0.2)])
def test_3a_3b_criterion_tolerance(variant, tol):
    task = evorec.make_task("two_sequence", variant=variant)
    targets = np.array([[1.0], [0.0]])
    outputs = np.array([[[1.0 - 0.99 * tol], [0.0 + tol]]])
    np.testing.assert_array_equal(task.criterion().entry_correct(outputs, targets), [[True, False]])


@pytest.mark.parametrize("variant", ["3a", "3b", "3c"])
def test_lstm97_variants_keep_balanced_shuffled_classes(variant):
    labels = evorec.make_task("two_sequence", variant=variant).sample(100, np.random.default_rng(19)).labels
    assert np.sum(labels == 0) == 50 and np.any(labels[:-1] > labels[1:])


@pytest.mark.parametrize(("params", "param"), [
    ({"variant": "3d"}, "variant"),
    ({"variant": None}, "variant"),
    ({"variant": ["3a"]}, "variant"),
    ({"variant": "3a", "T": 0}, r"\bT\b"),
    ({"variant": "3a", "T": 100.0}, r"\bT\b"),
    ({"variant": "3a", "T": 3}, r"\bT\b"),                           # shorter than N + 1 = 4
    ({"T": 7, "N": 3}, r"\bT\b"),                                     # bsf94 rule: 3..7
    ({"variant": "3a", "length_rule": "bengio"}, "length_rule"),
    ({"lengths": (20, 40), "length_rule": "lstm97"}, "length_rule"),  # no T to apply it to
    ({"length_rule": "bsf94"}, "length_rule"),
    ({"variant": "3a", "T": 100, "lengths": (100, 120)}, "lengths"),  # both, inconsistent
    ({"T": 100, "lengths": (100, 110)}, "lengths"),
    ({"variant": "3b", "informative_noise": "yes"}, "informative_noise"),
    ({"variant": "3c", "target_noise_var": -0.1}, "target_noise_var"),
    ({"variant": "3c", "N": 0}, r"\bN\b"),
    ({"variant": "3c", "tolerance": 0}, "tolerance"),
    ({"variant": "3c", "targets": (0.2,)}, "targets"),
])
def test_bad_lstm97_parameters_are_named(params, param):
    with pytest.raises(ValueError, match=param):
        evorec.make_task("two_sequence", **params)


@pytest.mark.parametrize("variant", ["3a", "3b"])
def test_latching_network_solves_lstm97_variants(variant):
    # The hand-built latch of test_latching_network_gets_every_sequence_right.  It latches the
    # sign of the first element: exact in 3a, so every sequence is right (and wrong with the
    # output weight's sign flipped).  In 3b the first element is +-1 plus noise of sd 0.447 and
    # has the wrong sign with probability P(Z > 2.24) = 1.25 %: those few sequences latch the
    # wrong class, and the flipped net gets exactly them right.
    task = evorec.make_task("two_sequence", variant=variant)
    pop = latching_pair()
    batch = task.sample(200, np.random.default_rng(20))
    result = evorec.evaluate(pop, batch, evorec.make_fitness("mse"), task.criterion())
    assert result.wrong[0] + result.wrong[1] == 200
    if variant == "3a":
        assert result.wrong[0] == 0
    else:
        assert 0 <= result.wrong[0] <= 10  # 2.5 expected


def test_criterion_targets_must_match_the_targets_shape():
    batch = evorec.make_task("two_sequence", variant="3c", T=10).sample(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="criterion_targets"):
        type(batch)(batch.inputs, batch.targets, batch.target_mask, batch.lengths, batch.labels,
                    batch.criterion_targets[:, :-1])


@pytest.mark.parametrize("variant", ["bsf94", "3a", "3b", "3c"])
def test_none_takes_the_variants_value_and_draws_the_same_sequences(variant):
    # The variants are plain presets: a parameter given as None is the preset's value, exactly
    # as if left out, and a task rebuilt from get_params() draws the same sequences.
    names = ("lengths", "N", "targets", "tolerance", "T", "length_rule", "informative_noise", "target_noise_var")
    left_out = evorec.make_task("two_sequence", variant=variant)
    as_none = evorec.make_task("two_sequence", variant=variant, **dict.fromkeys(names))
    rebuilt = evorec.make_task("two_sequence", **left_out.get_params())
    assert as_none.get_params() == left_out.get_params() == rebuilt.get_params()
    batches = [task.sample(20, np.random.default_rng(3)) for task in (left_out, as_none, rebuilt)]
    for batch in batches[1:]:
        np.testing.assert_array_equal(batch.inputs, batches[0].inputs)
        np.testing.assert_array_equal(batch.targets, batches[0].targets)
