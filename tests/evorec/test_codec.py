"""evorec.codec: exact round trips through JSON (non-finite floats, arrays, generator states),
plain data written as json.dumps writes it, and clear refusals."""

import json
import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from evorec.codec import ARRAY_DTYPES, decode, encode


def through_json(value):
    return decode(json.loads(json.dumps(encode(value), allow_nan=False)))


def float_bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def assert_same(got, expected):
    """Equal, with floats and float arrays compared bit for bit (NaN payloads and -0.0 too)."""
    if isinstance(expected, np.ndarray):
        assert type(got) is np.ndarray and got.dtype == expected.dtype and got.shape == expected.shape
        if expected.dtype.kind == "f":
            unsigned = {2: np.uint16, 4: np.uint32, 8: np.uint64}[expected.dtype.itemsize]
            np.testing.assert_array_equal(got.view(unsigned), np.ascontiguousarray(expected).view(unsigned))
        else:
            np.testing.assert_array_equal(got, expected)
        fortran = expected.ndim > 1 and expected.flags.f_contiguous and not expected.flags.c_contiguous
        assert bool(got.flags.f_contiguous and not got.flags.c_contiguous) == fortran
    elif isinstance(expected, (list, tuple)):
        assert type(got) is list and len(got) == len(expected)  # tuples come back as lists
        for a, b in zip(got, expected, strict=True):
            assert_same(a, b)
    elif isinstance(expected, dict):
        assert type(got) is dict and list(got) == list(expected)
        for key in expected:
            assert_same(got[key], expected[key])
    elif isinstance(expected, float):
        assert type(got) is float and float_bits(got) == float_bits(expected)
    else:
        assert type(got) is type(expected) and got == expected


def any_nan(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def arrays():
    dtypes = st.sampled_from(sorted(ARRAY_DTYPES)).map(np.dtype)
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    plain = dtypes.flatmap(lambda dtype: hnp.arrays(dtype, shapes))
    return st.one_of(plain, plain.map(np.asfortranarray))


keys = st.text(max_size=8).filter(lambda key: not key.startswith("$"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-2 ** 130, max_value=2 ** 130),
                    st.floats(), st.text(max_size=10),
                    st.integers(0, 2 ** 64 - 1).map(lambda bits: any_nan(0x7FF0000000000000 | bits | 1 << 51)))
values = st.recursive(st.one_of(scalars, arrays()),
                      lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner),
                                              st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


# ------------------------------------------------------------------ round trips
@settings(max_examples=300, deadline=None)
@given(values)
def test_every_value_comes_back_exactly_through_json(value):
    assert_same(through_json(value), value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, -math.nan, -0.0, 5e-324, 1.7976931348623157e308,
                                   any_nan(0xFFF8000000000000), any_nan(0x7FF0000000000001)])
def test_non_finite_and_edge_floats_keep_their_bits(value):
    assert_same(through_json(value), value)
    assert_same(through_json({"x": [value, (value,)]}), {"x": [value, [value]]})


def test_non_finite_floats_are_tagged_and_minus_inf_and_nan_are_not_inf():
    assert encode([math.inf, -math.inf, math.nan]) == [{"$float": "inf"}, {"$float": "-inf"}, {"$float": "nan"}]
    back = through_json({"low": -math.inf, "nan": math.nan})
    assert back["low"] == -math.inf and math.isnan(back["nan"])


def test_the_nan_of_inf_minus_inf_keeps_its_sign_bit():
    with np.errstate(invalid="ignore"):
        nan = float(np.float64(np.inf) - np.float64(np.inf))
    assert_same(through_json(nan), nan)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_non_finite_array_elements_survive_with_their_bits(dtype):
    array = np.array([[1.5, np.inf, -np.inf], [np.nan, -0.0, 0.1]], dtype=dtype)
    unsigned = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}[dtype]
    array.view(unsigned)[1, 0] |= 1  # a NaN with a payload
    data = encode(array)
    assert data["$array"]["dtype"] == dtype and data["$array"]["shape"] == [2, 3]
    assert data["$array"]["data"][1:3] == [{"$float": "inf"}, {"$float": "-inf"}]
    assert_same(through_json(array), array)


def test_arrays_keep_dtype_shape_and_fortran_order():
    for array in (np.arange(6, dtype=np.int32).reshape(2, 3), np.zeros((0, 3), dtype=bool), np.array(2.5),
                  np.asfortranarray(np.arange(12.0).reshape(3, 4)), np.array([2 ** 64 - 1], dtype=np.uint64)):
        assert_same(through_json(array), array)
    assert "order" not in encode(np.arange(4.0).reshape(2, 2))["$array"]
    assert encode(np.asfortranarray(np.arange(4.0).reshape(2, 2)))["$array"]["order"] == "F"


def test_numpy_scalars_come_back_as_python_numbers_and_tuples_as_lists():
    data = through_json([np.float32(0.1), np.float64(-np.inf), np.int64(-3), np.uint64(2 ** 64 - 1), np.bool_(True),
                         (1, (2.5,))])
    assert_same(data, [float(np.float32(0.1)), -math.inf, -3, 2 ** 64 - 1, True, [1, [2.5]]])


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox,
                                           np.random.SFC64])
def test_generator_states_restore_the_same_draws(bit_generator):
    rng = np.random.Generator(bit_generator(np.random.SeedSequence(2 ** 100 + 7)))
    rng.random(5)
    rng.integers(0, 10, size=3, dtype=np.uint32)  # leaves a buffered 32-bit half on some generators
    state = rng.bit_generator.state
    copy = np.random.Generator(bit_generator(0))
    copy.bit_generator.state = through_json(state)
    assert_same(copy.bit_generator.state, state)
    np.testing.assert_array_equal(copy.random(10), rng.random(10))
    np.testing.assert_array_equal(copy.integers(0, 2 ** 62, size=10), rng.integers(0, 2 ** 62, size=10))


def test_the_128_bit_ints_of_a_pcg64_state_stay_json_integers():
    state = np.random.default_rng(np.random.SeedSequence(12345)).bit_generator.state
    assert state["state"]["state"] > 2 ** 64  # as large as a PCG64 state usually is
    text = json.dumps(encode(state), allow_nan=False)
    assert str(state["state"]["state"]) in text
    assert json.loads(text) == state


# ------------------------------------------------------------------ plain data looks as before
finite_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(finite_plain)
def test_plain_finite_data_is_written_as_json_dumps_writes_it_and_decodes_to_itself(value):
    assert json.dumps(encode(value), sort_keys=True) == json.dumps(value, sort_keys=True)
    assert_same(decode(json.loads(json.dumps(value))), value)


def test_none_stays_none():
    # What the results store wrote for a non-finite number before the codec: it reads as it was.
    assert decode({"best_loss": None, "history": [[5, None]]}) == {"best_loss": None, "history": [[5, None]]}


# ------------------------------------------------------------------ refusals
class Opaque:
    pass


@pytest.mark.parametrize(("value", "named"), [
    (Opaque(), "test_codec.Opaque"), ({1, 2}, "set"), (1 + 2j, "complex"), (b"bytes", "bytes"),
    (np.longdouble(1.5), "numpy.longdouble"), (np.array(["a"]), "dtype <U1"), (np.array([1j]), "complex128"),
    (np.array([None], dtype=object), "dtype object"), (np.ma.array([1.0]), "numpy.ma.MaskedArray"),
    (np.float64, "type"), (len, "builtin_function_or_method"),
])
def test_other_types_are_refused_by_name(value, named):
    with pytest.raises(ValueError, match="cannot encode") as error:
        encode({"deep": [0, value]})
    assert named in str(error.value) and "at ['deep'][1]" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("key", ["$float", "$array", "$anything", "$"])
def test_keys_that_look_like_tags_are_refused(key):
    with pytest.raises(ValueError, match=r"reserved for the codec's tags"):
        encode({"ok": {key: 1.0}})


def test_non_string_keys_are_refused():
    with pytest.raises(ValueError, match="keys must be str"):
        encode({1: "one"})


@pytest.mark.parametrize("data", [
    {"$float": "+inf"}, {"$float": 1.0}, {"$float": "nan:0x1"}, {"$float": "nan:zz"}, {"$unknown": 1},
    {"$float": "inf", "other": 1}, {"$array": [1, 2]}, {"$array": {"dtype": "object", "shape": [1], "data": [1]}},
    {"$array": {"dtype": "float64", "shape": [2], "data": [1.0]}},
    {"$array": {"dtype": "float64", "shape": [-1], "data": []}},
    {"$array": {"dtype": "int8", "shape": [1], "data": [300]}},
    {"$array": {"dtype": "int64", "shape": [1], "data": ["1"]}},
    {"$array": {"dtype": "float64", "shape": [1], "data": [{"$array": 1}]}},
    {"$array": {"dtype": "float32", "shape": [1], "data": [{"$float": "nan:0x7ff8000000000000"}]}},
    {"$array": {"dtype": "float64", "shape": [1], "data": [1.0], "order": "K"}},
    (1, 2), Opaque(),
])
def test_malformed_data_is_refused(data):
    with pytest.raises(ValueError, match="cannot decode"):
        decode(data)


def test_a_tag_is_never_read_from_data_that_was_not_tagged():
    # Every "$" key is refused on the way in, so decoding cannot turn data into a float or an array.
    with pytest.raises(ValueError):
        encode({"$float": "inf"})
    assert decode(encode({"float": "inf", "array": [1]})) == {"float": "inf", "array": [1]}
