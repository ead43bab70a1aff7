"""The codec of Python values across the sandbox (hecaton/_codec.py), on its own.

The codec is pure Python and is loaded here by its path, so these tests run without the built
extension: ``python3 -m pytest python/tests/test_codec.py``.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import fractions
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "hecaton" / "_codec.py"
_SPEC = importlib.util.spec_from_file_location("hecaton_codec_under_test", _PATH)
codec = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(codec)


def roundtrip(value):
    text = codec.encode(value)
    assert text.isascii()
    json.loads(text)  # plain, strict JSON
    return codec.decode(text)


def same(a, b) -> bool:
    """Equal, with the same types all the way down (1 == 1.0 == True would hide a change)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            any(same(k, k2) and same(v, b[k2]) for k2 in b if k2 == k) for k, v in a.items()
        )
    return a == b


VALUES = [
    None,
    True,
    False,
    0,
    -7,
    2**63,
    -(2**64) - 1,
    10**600,
    2**2000,
    2**2001,
    -(2**5000) + 3,
    1.5,
    -0.0,
    1e300,
    5e-324,
    1.0,
    1e16,
    math.inf,
    -math.inf,
    "",
    "text",
    "é ☃ 𝄞",
    "\ud800 lone surrogate",
    "\x00\n\"\\",
    b"",
    b"\x00\xff bytes",
    bytes(range(256)),
    [],
    [1, [2, [3]]],
    (),
    (1,),
    (1, (2, (3,)), [4, (5,)]),
    {},
    {"a": 1, "b": [2]},
    {1: "int key", 1.5: "float", None: "none", True: "bool", (1, 2): "tuple", b"k": "bytes"},
    {frozenset({1, 2}): {"nested": {(): set()}}},
    set(),
    {1, "two", (3, 4), None},
    frozenset(),
    frozenset({frozenset({1}), (2,)}),
    [{"tuple": [1]}],  # a dict that looks like a tag is still a dict
    {"dict": [["a", 1]]},
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + ":" + repr(v)[:30])
def test_roundtrip_keeps_type_and_value(value):
    assert same(roundtrip(value), value)


def test_nan_roundtrips():
    assert math.isnan(roundtrip(math.nan))
    assert math.isnan(roundtrip([math.nan])[0])


def test_encoding_is_plain_json_where_json_can_say_it():
    assert codec.encode(7) == "7"
    assert codec.encode(7.0) == "7.0"
    assert codec.encode([1, "a", None, True]) == '[1,"a",null,true]'
    assert codec.encode((1, 2)) == '{"tuple":[1,2]}'
    assert codec.encode({"a": 1}) == '{"dict":[["a",1]]}'
    assert codec.encode(b"\x00\x01") == '{"bytes":"AAE="}'
    assert codec.encode(math.inf) == '{"float":"inf"}'
    assert codec.encode(-math.inf) == '{"float":"-inf"}'
    assert codec.encode(math.nan) == '{"float":"nan"}'
    assert codec.encode(-(2**2001)) == '{"int":"-0x2' + "0" * 500 + '"}'
    assert codec.encode("é") == '"\\u00e9"'


def test_ints_beyond_the_decimal_digit_cap():
    if not hasattr(sys, "set_int_max_str_digits"):
        pytest.skip("no int digit cap before CPython 3.11")
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        for value in (10**639, 10**5000, -(10**5000)):
            assert roundtrip(value) == value
    finally:
        sys.set_int_max_str_digits(old)


class Zone(datetime.tzinfo):
    """A time zone of its own (a zoneinfo.ZoneInfo is one too): not a fixed offset."""

    def utcoffset(self, dt):
        return datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    "value, named",
    [
        (object(), "'object'"),
        (collections.defaultdict(int), "'collections.defaultdict'"),
        (collections.ChainMap(), "'collections.ChainMap'"),
        (collections.namedtuple("Point", "x y")(1, 2), "'test_codec.Point'"),
        (enum.IntEnum("Color", "RED").RED, "'test_codec.Color'"),
        (bytearray(b"x"), "'bytearray'"),
        (datetime.datetime(2026, 1, 1, tzinfo=Zone()), "time zone"),
        (range(3), "'range'"),
        ([1, {"k": object()}], "'object'"),
        ({1: print}, "'builtin_function_or_method'"),
    ],
)
def test_other_types_are_a_type_error_naming_the_type(value, named):
    with pytest.raises(TypeError, match=named):
        codec.encode(value)


def test_a_subclass_is_refused_with_its_base_named():
    with pytest.raises(TypeError, match=r"it is a dict: convert it with dict\(\.\.\.\)"):
        codec.encode(collections.defaultdict(int))


@pytest.mark.parametrize(
    "value",
    [
        1 + 2j,
        collections.Counter("abca"),
        collections.OrderedDict(b=1, a=2),
        decimal.Decimal("87.20"),
        decimal.Decimal("-1E+400"),
        fractions.Fraction(1, 216),
        datetime.date(2024, 7, 8),
        datetime.datetime(2024, 7, 8, 1, 2, 3, 4),
        datetime.datetime(2024, 7, 8, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
        datetime.time(23, 59, 59, 999999),
        datetime.timedelta(days=-1, seconds=5, microseconds=7),
    ],
)
def test_the_standard_librarys_value_types_keep_their_type_and_value(value):
    decoded = codec.decode(codec.encode(value))
    assert decoded == value
    assert type(decoded) is type(value)
    assert str(decoded) == str(value)


@pytest.mark.parametrize(
    "text",
    [
        '{"decimal":"abc"}',
        '{"fraction":"1/0"}',
        '{"date":"2024-13-01"}',
        '{"timedelta":"1,2"}',
        '{"complex":"__import__"}',
        '{"counter":[[1]]}',
    ],
)
def test_a_bad_value_text_is_a_decode_error(text):
    with pytest.raises(codec.DecodeError):
        codec.decode(text)


def test_a_value_containing_itself_is_a_value_error():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="nested too deeply"):
        codec.encode(loop)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1,",
        "NaN",
        "[Infinity]",
        "-Infinity",
        '{"a": 1}',  # a plain JSON object: not one of the tags
        '{"tuple": [1], "set": [2]}',
        '{"tuple": 1}',
        '{"set": [[1]]}',  # a list is not hashable
        '{"frozenset": [{"dict": []}]}',
        '{"dict": [[[1], 2]]}',
        '{"dict": [[1, 2, 3]]}',
        '{"dict": [1]}',
        '{"dict": {"a": 1}}',
        '{"bytes": "not base64!"}',
        '{"bytes": 5}',
        '{"int": "123"}',  # decimal text is plain JSON, the tag is hex only
        '{"int": "0xZZ"}',
        '{"float": "1.5"}',
        '{"float": "NaN"}',
        '{"pickle": "gASVAAAAAAAAAAA="}',
        '{"__class__": "os.system"}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_malformed_text_is_a_decode_error(text):
    with pytest.raises(codec.DecodeError):
        codec.decode(text)


def test_decode_error_is_a_value_error():
    assert issubclass(codec.DecodeError, ValueError)


def test_decode_builds_only_the_codec_types():
    text = (
        '[null, true, 1, 1.5, "s", {"bytes": ""}, {"tuple": []}, {"dict": []}, {"set": []},'
        ' {"frozenset": []}, {"int": "0x1"}, {"float": "inf"}]'
    )
    kinds = {type(v) for v in codec.decode(text)}
    assert kinds == {type(None), bool, int, float, str, bytes, tuple, dict, set, frozenset}
