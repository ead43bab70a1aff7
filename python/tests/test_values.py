"""Values travel as JSON, both ways, exactly; anything else is refused, never pickled."""

from __future__ import annotations

import math

import pytest

import hecaton

VALUES = [
    None,
    True,
    False,
    0,
    -5,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    2**200,
    -(2**200),
    1.5,
    -0.25,
    1e300,
    "",
    "é ✓ \x00 \n \"quoted\"",
    [],
    [1, [2, [3]]],
    {},
    {"a": {"b": [None, 1.0]}, "z": "last"},
]


def test_round_trip(tools):
    with hecaton.Pool(2) as pool:
        assert pool.map(tools, "echo", VALUES) == VALUES
        assert pool.apply(tools, "echo", (VALUES,)) == VALUES


def test_tuples_become_lists(tools):
    with hecaton.Pool(1) as pool:
        assert pool.apply(tools, "echo", ((1, (2, 3)),)) == [1, [2, 3]]
        assert pool.apply(tools, "echo", (1, 2)) == [1, 2]
        assert pool.apply(tools, "echo") is None


def test_floats_and_ints_keep_their_types(tools):
    with hecaton.Pool(1) as pool:
        out = pool.map(tools, "echo", [1.0, 1, 2.5e-8])
    assert [type(value) for value in out] == [float, int, float]
    assert out[2] == 2.5e-8


@pytest.mark.parametrize("value", [float("nan"), math.inf, -math.inf])
def test_non_finite_floats_are_refused(tools, value):
    with hecaton.Pool(1) as pool:
        with pytest.raises(ValueError):
            pool.map(tools, "echo", [value])


@pytest.mark.parametrize("value", [object(), b"bytes", {1: "int key"}, {1, 2}, 1j])
def test_other_types_are_refused_not_pickled(tools, value):
    with hecaton.Pool(1) as pool:
        with pytest.raises(TypeError):
            pool.map(tools, "echo", [value])


def test_a_list_that_contains_itself_is_refused(tools):
    looped = []
    looped.append(looped)
    with hecaton.Pool(1) as pool:
        with pytest.raises(ValueError):
            pool.map(tools, "echo", [looped])


def test_typed_guest_values(guests):
    with hecaton.Pool(1) as pool:
        assert pool.apply(guests["probe"], "scale", ([1.0, 2.5], 2.0)) == [2.0, 5.0]
        assert pool.apply(guests["probe"], "checked_divide", (7, 2)) == 3
        with pytest.raises(hecaton.GuestError) as raised:
            pool.apply(guests["probe"], "checked_divide", (7, 0))
        assert raised.value.guest_message == "cannot divide 7 by 0"
