"""The one codec for saved data: strategy states, the search loop's state and run records.

:func:`encode` turns a value into plain JSON data (``json.dumps(..., allow_nan=False)``
writes it) and :func:`decode` turns that data back into the same value.  What JSON cannot
hold is written as a *tag*, a mapping with one key that starts with ``$``:

* a non-finite float: ``{"$float": "inf"}``, ``{"$float": "-inf"}``, ``{"$float": "nan"}``; a
  NaN whose bits are not the usual quiet NaN's (``inf - inf`` gives one with the sign bit set
  on x86) is written with its bits, e.g. ``{"$float": "nan:0xfff8000000000000"}``;
* a numpy array: ``{"$array": {"dtype": "float64", "shape": [2, 3], "data": [...]}}``, its
  elements flat in C order (non-finite ones tagged as above, with the bits of the array's
  own float width), and ``"order": "F"`` for a Fortran-ordered array, which comes back
  Fortran-ordered (BLAS takes other paths, and rounds differently, for such arrays).

Everything else is written as itself, so data without non-finite floats or arrays looks
exactly as ``json.dumps`` would write it: finite floats stay JSON numbers (``repr`` gives
the shortest text that reads back to the same float, so they come back bit for bit), and
Python ints of any size stay JSON integers.  Dict keys that start with ``$`` are refused, so a
tag is never mistaken for data.

The round trip is exact, with two conversions: numpy scalars come back as the Python
``bool``, ``int`` or ``float`` of the same value, and tuples come back as lists (JSON has no
tuples; a caller that needs a tuple makes one).  Anything else is refused with a
``ValueError`` naming its type and where it was: nothing is pickled, and decoding never
creates objects other than plain data and numpy arrays.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

#: Every tag is a mapping with one key that starts with this; data keys may not.
TAG_MARK = "$"
FLOAT_TAG = "$float"
ARRAY_TAG = "$array"
#: Array dtypes the codec writes (by numpy's name); their elements read back exactly.
ARRAY_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                          "float16", "float32", "float64"})
_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}  # the unsigned type of each float width
_NAN_PREFIX = "nan:"


def encode(value: Any) -> Any:
    """Plain JSON data from which :func:`decode` gives ``value`` back.

    Parameters
    ----------
    value : None, bool, int, float, str, list, tuple, dict or numpy.ndarray
        Nested in any way; numpy scalars (``numpy.bool_``, integers and ``float16`` to
        ``float64``) are taken as the Python values they hold.  Dict keys must be ``str``
        and must not start with ``$``.  Arrays must have a bool, integer or float (at most
        64 bits) dtype and be plain ``numpy.ndarray``, not a subclass.  A numpy random
        generator's ``bit_generator.state`` is such a value.

    Returns
    -------
    None, bool, int, float, str, list or dict
        A new structure (it shares nothing with ``value``) that ``json.dumps`` writes
        with ``allow_nan=False``; every float in it is finite.

    Raises
    ------
    ValueError
        For a value of another type, a non-``str`` key or a key that starts with ``$``.
    """
    return _encode(value, ())


def decode(data: Any) -> Any:
    """The value that :func:`encode` turned into ``data``.

    Parameters
    ----------
    data : None, bool, int, float, str, list or dict
        What :func:`encode` returned, or ``json.loads`` of it.  Plain JSON without tags
        (such as a file written before the codec) decodes to itself.

    Returns
    -------
    Any
        Tagged floats and arrays restored; lists stay lists (an encoded tuple is a list).

    Raises
    ------
    ValueError
        For data that is not JSON (another type) or a malformed or unknown tag.
    """
    return _decode(data, ())


# ---------------------------------------------------------------------- encoding
def _encode(value: Any, path: tuple) -> Any:
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value
    if type(value) is float or isinstance(value, (np.float16, np.float32, np.float64)):
        number = float(value)
        return number if math.isfinite(number) else {FLOAT_TAG: _nonfinite(np.array([number]))}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.str_):
        return str(value)
    if type(value) in (list, tuple):
        return [_encode(item, (*path, index)) for index, item in enumerate(value)]
    if type(value) is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise ValueError(f"cannot encode a dict key of type {_type_name(key)} ({key!r}){_where(path)}: "
                                 f"keys must be str")
            if key.startswith(TAG_MARK):
                raise ValueError(f"cannot encode the dict key {key!r}{_where(path)}: keys starting with "
                                 f"{TAG_MARK!r} are reserved for the codec's tags")
            out[key] = _encode(item, (*path, key))
        return out
    if type(value) is np.ndarray:
        return {ARRAY_TAG: _encode_array(value, path)}
    raise ValueError(f"cannot encode a value of type {_type_name(value)}{_where(path)}: the codec takes None, "
                     f"bool, int, float, str, list, tuple, dict with str keys and numpy arrays of bool, int or "
                     f"float dtype")


def _encode_array(array: np.ndarray, path: tuple) -> dict[str, Any]:
    if array.dtype.name not in ARRAY_DTYPES:
        raise ValueError(f"cannot encode a numpy array of dtype {array.dtype}{_where(path)}: the codec takes "
                         f"bool, int, uint and float (16 to 64 bits) arrays")
    flat = array.ravel(order="C")
    data = flat.tolist()
    if array.dtype.kind == "f":
        for index in np.flatnonzero(~np.isfinite(flat)):
            data[index] = {FLOAT_TAG: _nonfinite(flat[index: index + 1])}
    out = {"dtype": array.dtype.name, "shape": list(array.shape), "data": data}
    if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous:
        out["order"] = "F"
    return out


def _nonfinite(element: np.ndarray) -> str:
    """The tag text of the one non-finite float in ``element`` (with the bits of its width)."""
    value = float(element[0])
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    unsigned = _BITS[element.dtype.itemsize]
    bits = int(element.astype(element.dtype.newbyteorder("=")).view(unsigned)[0])
    usual = int(np.array([np.nan], dtype=element.dtype.newbyteorder("=")).view(unsigned)[0])
    return "nan" if bits == usual else f"{_NAN_PREFIX}{bits:#0{2 + 2 * element.dtype.itemsize}x}"


# ---------------------------------------------------------------------- decoding
def _decode(data: Any, path: tuple) -> Any:
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [_decode(item, (*path, index)) for index, item in enumerate(data)]
    if type(data) is dict:
        tags = [key for key in data if type(key) is str and key.startswith(TAG_MARK)]
        if not tags:
            for key in data:
                if type(key) is not str:
                    raise ValueError(f"cannot decode a dict key of type {_type_name(key)}{_where(path)}: "
                                     f"JSON keys are str")
            return {key: _decode(item, (*path, key)) for key, item in data.items()}
        if len(data) != 1:
            raise ValueError(f"cannot decode a mapping with the keys {sorted(map(str, data))}{_where(path)}: "
                             f"a tag ({', '.join(tags)}) must be the mapping's only key")
        if tags[0] == FLOAT_TAG:
            return _decode_float(data[FLOAT_TAG], path)
        if tags[0] == ARRAY_TAG:
            return _decode_array(data[ARRAY_TAG], path)
        raise ValueError(f"cannot decode the unknown tag {tags[0]!r}{_where(path)}: the codec writes "
                         f"{FLOAT_TAG!r} and {ARRAY_TAG!r}")
    raise ValueError(f"cannot decode a value of type {_type_name(data)}{_where(path)}: decode takes JSON data "
                     f"(None, bool, int, float, str, list, dict)")


def _decode_float(text: Any, path: tuple) -> float:
    """The non-finite Python float of a ``$float`` tag."""
    if text == "inf":
        return math.inf
    if text == "-inf":
        return -math.inf
    if text == "nan":
        return math.nan
    bits = _nan_bits(text, np.dtype(np.float64), path)
    return struct.unpack("<d", struct.pack("<Q", bits))[0]  # every bit kept, the sign and payload too


def _nan_bits(text: Any, dtype: np.dtype, path: tuple) -> int:
    """The bits of the NaN of a ``$float`` tag ``"nan:0x..."``, for ``dtype``'s width."""
    bits = None
    if type(text) is str and text.startswith(_NAN_PREFIX):
        try:
            bits = int(text[len(_NAN_PREFIX):], 16)
        except ValueError:
            pass
    if bits is None or not 0 <= bits < 2 ** (8 * dtype.itemsize) \
            or not np.isnan(np.array([bits], dtype=_BITS[dtype.itemsize]).view(dtype)[0]):
        raise ValueError(f"cannot decode {{{FLOAT_TAG!r}: {text!r}}}{_where(path)}: expected 'inf', '-inf', "
                         f"'nan' or 'nan:0x' and the bits of a {dtype.name} NaN")
    return bits


def _decode_array(spec: Any, path: tuple) -> np.ndarray:
    where = _where(path)
    if type(spec) is not dict or not {"dtype", "shape", "data"} <= set(spec) \
            or not set(spec) <= {"dtype", "shape", "data", "order"}:
        raise ValueError(f"cannot decode the array{where}: {ARRAY_TAG!r} must map to dtype, shape, data and "
                         f"optionally order")
    name, shape, data, order = spec["dtype"], spec["shape"], spec["data"], spec.get("order", "C")
    if name not in ARRAY_DTYPES:
        raise ValueError(f"cannot decode an array of dtype {name!r}{where}: the codec writes "
                         f"{', '.join(sorted(ARRAY_DTYPES))}")
    if type(shape) is not list or any(type(n) is not int or n < 0 for n in shape):
        raise ValueError(f"cannot decode the array{where}: its shape must be a list of non-negative ints; "
                         f"got {shape!r}")
    if type(data) is not list or len(data) != math.prod(shape):
        raise ValueError(f"cannot decode the array{where}: data must be a list of {math.prod(shape)} elements "
                         f"(the product of its shape {shape})")
    if order not in ("C", "F"):
        raise ValueError(f"cannot decode the array{where}: order must be 'C' or 'F'; got {order!r}")
    dtype = np.dtype(name)
    allowed = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float, dict)}[dtype.kind]
    bad = next((item for item in data if type(item) not in allowed), None) if data else None
    if bad is not None:
        raise ValueError(f"cannot decode an element of type {_type_name(bad)} in an array of dtype {name}{where}")
    tagged = [index for index, item in enumerate(data) if type(item) is dict] if dtype.kind == "f" else []
    values = list(data)
    nonfinite = []
    for index in tagged:
        item = data[index]
        if set(item) != {FLOAT_TAG}:
            raise ValueError(f"cannot decode the element {item!r} of an array of dtype {name}{where}: only "
                             f"{FLOAT_TAG!r} tags may stand for elements")
        nonfinite.append(_element_bits(item[FLOAT_TAG], dtype, (*path, index)))
        values[index] = 0.0
    try:
        array = np.array(values, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as error:
        raise ValueError(f"cannot decode an array of dtype {name}{where}: {error}") from None
    if tagged:
        array.reshape(-1).view(_BITS[dtype.itemsize])[tagged] = nonfinite  # a view: array is C-ordered
    return np.asfortranarray(array) if order == "F" else array


def _element_bits(text: Any, dtype: np.dtype, path: tuple) -> int:
    """The bits, in ``dtype``'s width, of the non-finite element a ``$float`` tag stands for."""
    usual = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
    if type(text) is str and text in usual:
        return int(np.array([usual[text]], dtype=dtype).view(_BITS[dtype.itemsize])[0])
    return _nan_bits(text, dtype, path)


# ------------------------------------------------------------------------ helpers
def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _where(path: tuple) -> str:
    return f" at {''.join(f'[{step!r}]' for step in path)}" if path else ""
