"""The codec of Python values between the caller and a Python task's sandbox.

One module, pure Python, used on both sides: the host encodes a task's arguments and decodes
its result; the guest (CPython inside the component, ``_hecaton_codec`` there) decodes the
arguments and encodes the result. Nothing is pickled: the text is JSON, and the decoder can
build only these types, whatever the text says::

    None, bool, int (any size), float (nan and infinities too), str, bytes,
    list, tuple, dict (any keys among these types), set, frozenset

and the standard library's plain value types: ``complex``, ``collections.Counter``,
``collections.OrderedDict``, ``decimal.Decimal``, ``fractions.Fraction``, ``datetime.date``,
``datetime.datetime`` and ``datetime.time`` (naive, or with a fixed offset), and
``datetime.timedelta``. A value of any other type, another subclass included (a namedtuple, an
``IntEnum``, a ``defaultdict``), is a ``TypeError`` naming the type: multiprocessing would
return it as itself, so hecaton refuses rather than return something else.

The encoding is JSON with a tag, an object of exactly one key, for what JSON cannot say:

======================  ========================================  =================
value                   JSON                                      example
======================  ========================================  =================
None, bool, str         itself (``ensure_ascii``: the text is      ``"é"`` → ``"\\u00e9"``
                        ASCII, lone surrogates survive)
int                     itself; beyond 2,000 bits, hex (decimal   ``7``,
                        text of that size is capped by CPython)   ``{"int": "-0x1f..."}``
float                   itself, always with a ``.`` or ``e``;      ``2.0``,
                        not finite: tagged                        ``{"float": "nan"}``
list                    an array                                  ``[1, 2]``
tuple                   ``{"tuple": [...]}``                      ``{"tuple": [1]}``
dict                    ``{"dict": [[key, value], ...]}``         ``{"dict": [["a", 1]]}``
set, frozenset          ``{"set": [...]}``, ``{"frozenset": [...]}``
bytes                   ``{"bytes": "<base64>"}``                 ``{"bytes": "AAE="}``
Counter, OrderedDict    ``{"counter": [[key, value], ...]}``,      ``{"counter": [["a", 2]]}``
                        ``{"ordereddict": ...}``
Decimal, Fraction,      its own text, parsed back by its own      ``{"decimal": "87.20"}``,
date, datetime, time,   constructor (timedelta: days, seconds,    ``{"date": "2024-07-08"}``
timedelta, complex      microseconds)
======================  ========================================  =================

Malformed text (not JSON, an unknown tag, a list as a dict key, nesting too deep) is a
:class:`DecodeError`, a ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime
import decimal
import fractions
import json
import math
from typing import Any

__all__ = ["DecodeError", "decode", "encode"]

# Ints wider than this travel as hex: CPython refuses to turn an int of more than
# sys.get_int_max_str_digits() decimal digits (4,300 by default, at least 640) into text or
# back, but hex has no such cap. 2,000 bits is 603 decimal digits, under the smallest cap.
_WIDE_INT_BITS = 2000

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

SUPPORTED = (
    "None, bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, "
    "collections.Counter, collections.OrderedDict, decimal.Decimal, fractions.Fraction, "
    "datetime.date, datetime.datetime (naive or a fixed offset), datetime.time, "
    "datetime.timedelta"
)


class DecodeError(ValueError):
    """The text is not a value of the codec."""


def encode(value: Any) -> str:
    """The codec's text (ASCII JSON) of ``value``.

    Raises:
        TypeError: a value, at any depth, of a type the codec does not carry, naming it.
        ValueError: a value nested too deeply (or containing itself).
    """
    try:
        tree = _encode(value)
    except RecursionError:
        raise ValueError("value nested too deeply (or containing itself) to encode") from None
    return json.dumps(tree, separators=(",", ":"), allow_nan=False)


def decode(text: str) -> Any:
    """The value whose codec text is ``text``; builds nothing but the codec's types.

    Raises:
        DecodeError: ``text`` is not the codec's text of a value.
    """
    try:
        return json.loads(text, object_hook=_decode_tagged, parse_constant=_refuse_constant)
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("value nested too deeply to decode") from None
    except (ValueError, TypeError) as error:  # json's own errors are ValueErrors
        raise DecodeError(str(error)) from None


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if value.bit_length() <= _WIDE_INT_BITS else {"int": hex(value)}
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind is list:
        return [_encode(item) for item in value]
    if kind is tuple:
        return {"tuple": [_encode(item) for item in value]}
    if kind is dict:
        return {"dict": [[_encode(key), _encode(item)] for key, item in value.items()]}
    if kind is bytes:
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if kind is set:
        return {"set": [_encode(item) for item in value]}
    if kind is frozenset:
        return {"frozenset": [_encode(item) for item in value]}
    if kind in _PAIRS:
        return {_PAIRS[kind]: [[_encode(key), _encode(item)] for key, item in value.items()]}
    if kind in _TEXT_TYPES:
        if kind in (datetime.datetime, datetime.time) and not _fixed_offset(value.tzinfo):
            raise TypeError(
                f"cannot send a {kind.__name__} with the time zone {value.tzinfo!r} across the "
                "sandbox: only naive ones and fixed offsets (datetime.timezone)"
            )
        return {_TEXT_TYPES[kind][0]: _TEXT_TYPES[kind][1](value)}
    raise TypeError(_refusal(kind))


def _fixed_offset(tzinfo: Any) -> bool:
    return tzinfo is None or type(tzinfo) is datetime.timezone


def _timedelta_text(value: datetime.timedelta) -> str:
    return f"{value.days},{value.seconds},{value.microseconds}"


def _timedelta_of(text: str) -> datetime.timedelta:
    days, seconds, microseconds = (int(part) for part in text.split(","))
    return datetime.timedelta(days=days, seconds=seconds, microseconds=microseconds)


def _fraction_of(text: str) -> fractions.Fraction:
    numerator, _, denominator = text.partition("/")
    return fractions.Fraction(int(numerator), int(denominator or "1"))


# Value types written as text: tag, the text of a value, the value of a text (each from the
# standard library's own parsing of its own text: nothing else can be built).
_TEXT_TYPES = {
    complex: ("complex", repr, complex),
    decimal.Decimal: ("decimal", str, decimal.Decimal),
    fractions.Fraction: ("fraction", str, _fraction_of),
    datetime.date: ("date", datetime.date.isoformat, datetime.date.fromisoformat),
    datetime.datetime: ("datetime", datetime.datetime.isoformat, datetime.datetime.fromisoformat),
    datetime.time: ("time", datetime.time.isoformat, datetime.time.fromisoformat),
    datetime.timedelta: ("timedelta", _timedelta_text, _timedelta_of),
}
_TEXT_DECODERS = {tag: parse for (tag, _, parse) in _TEXT_TYPES.values()}

# Mappings written as their pairs, as a dict is.
_PAIRS = {collections.Counter: "counter", collections.OrderedDict: "ordereddict"}


def _refusal(kind: type) -> str:
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    message = f"cannot send a value of type {name!r} across the sandbox (only {SUPPORTED})"
    for base in (bool, int, float, str, bytes, list, tuple, dict, set, frozenset):
        if issubclass(kind, base):
            return f"{message}; it is a {base.__name__}: convert it with {base.__name__}(...)"
    return message


def _decode_tagged(obj: dict) -> Any:
    # json calls this for every object, innermost first, so a tag's contents are decoded.
    if len(obj) != 1:
        raise DecodeError(f"an object must be one tag, not {len(obj)} keys")
    ((tag, contents),) = obj.items()
    if tag in _CONTAINERS:
        if type(contents) is not list:
            raise DecodeError(f"{tag!r} holds an array, not {type(contents).__name__}")
        try:
            return _CONTAINERS[tag](contents)
        except TypeError as error:  # an unhashable key or member
            raise DecodeError(f"bad {tag}: {error}") from None
    if type(contents) is not str:
        raise DecodeError(f"{tag!r} holds a string, not {type(contents).__name__}")
    if tag == "bytes":
        try:
            return base64.b64decode(contents, validate=True)
        except binascii.Error as error:
            raise DecodeError(f"bad bytes: {error}") from None
    if tag == "int":
        if not contents.lstrip("-").startswith("0x"):
            raise DecodeError(f"bad int: {contents[:40]!r} is not hex")
        try:
            return int(contents, 16)
        except ValueError:
            raise DecodeError(f"bad int: {contents[:40]!r}") from None
    if tag == "float":
        try:
            return _NON_FINITE[contents]
        except KeyError:
            raise DecodeError(f"bad float: {contents[:40]!r}") from None
    if tag in _TEXT_DECODERS:
        try:
            return _TEXT_DECODERS[tag](contents)
        except (ValueError, ArithmeticError, TypeError):
            raise DecodeError(f"bad {tag}: {contents[:40]!r}") from None
    raise DecodeError(f"unknown tag {tag[:40]!r}")


def _dict_of_pairs(pairs: list) -> dict:
    for pair in pairs:
        if type(pair) is not list or len(pair) != 2:
            raise DecodeError("a dict is an array of [key, value] pairs")
    return dict(pairs)


_CONTAINERS = {
    "tuple": tuple,
    "dict": _dict_of_pairs,
    "set": set,
    "frozenset": frozenset,
    "counter": lambda pairs: collections.Counter(_dict_of_pairs(pairs)),
    "ordereddict": lambda pairs: collections.OrderedDict(_dict_of_pairs(pairs)),
}


def _refuse_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not JSON (a float that is not finite is tagged)")
