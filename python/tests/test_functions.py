"""Plain Python functions as tasks, as multiprocessing runs them (issue 22): every call in a
fresh sandboxed CPython instance of a component hecaton builds from the function's module.
The module is ``function_tasks.py``; its build (about 20 s) is cached across runs."""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions

import pytest

import hecaton

import function_tasks as tasks


def test_map_and_friends_take_a_function():
    with hecaton.Pool(2) as pool:
        assert pool.map(tasks.square, [1, 2, 3, 4, 5]) == [1, 4, 9, 16, 25]
        assert pool.starmap(tasks.pair, [(1, 2), ("a", None)]) == [(1, 2), ("a", None)]
        assert list(pool.imap(tasks.square, range(5))) == [0, 1, 4, 9, 16]
        assert sorted(pool.imap_unordered(tasks.square, range(5))) == [0, 1, 4, 9, 16]
        assert pool.apply(tasks.greet, ("bob",), {"punct": "?"}) == "hello bob?"
        assert pool.apply_async(tasks.greet, ("ann",)).get(timeout=60) == "hello ann!"
        assert pool.map_async(tasks.square, [6, 7]).get(timeout=60) == [36, 49]
        assert pool.starmap_async(tasks.pair, [(1, 2)]).get(timeout=60) == [(1, 2)]


def test_the_module_top_level_ran_once_at_build_and_every_call_sees_it():
    with hecaton.Pool(2) as pool:
        assert pool.map(tasks.lookup, [3, 99]) == [9, 9801]


def test_values_keep_their_python_types():
    values = [
        None, True, 7, 2**200 + 1, -0.5, float("inf"), "é\u2028", b"\x00\xff",
        [1, (2, 3)], (1,), {"a": 1, 2: [3]}, {1, 2}, frozenset({"x"}), {(1, 2): {3}},
        decimal.Decimal("87.20"), fractions.Fraction(1, 3), datetime.date(2026, 12, 6),
        datetime.timedelta(hours=3), collections.Counter("abca"), 1 + 2j,
    ]  # fmt: skip
    with hecaton.Pool(2) as pool:
        assert pool.map(tasks.echo, values) == values
        assert [type(v) for v in pool.map(tasks.echo, values)] == [type(v) for v in values]


def test_an_unsupported_value_is_a_type_error_naming_the_type():
    with hecaton.Pool(1) as pool:
        with pytest.raises(TypeError, match="object"):
            pool.apply(tasks.unsupported)
        with pytest.raises(TypeError, match="defaultdict"):
            pool.apply(tasks.echo, (collections.defaultdict(int),))


def test_exceptions_keep_their_builtin_type_and_are_task_errors():
    with hecaton.Pool(2) as pool:
        with pytest.raises(ZeroDivisionError) as raised:
            pool.starmap(tasks.divide, [(1, 1), (1, 0)])
        assert isinstance(raised.value, hecaton.TaskError)
        with pytest.raises(KeyError) as raised:
            pool.map(tasks.lookup, [1, 2, 1000])
        assert raised.value.index == 2
        assert raised.value.args == (1000,)
        assert "SQUARES[n]" in raised.value.traceback
        with pytest.raises(ZeroDivisionError):
            pool.starmap(tasks.divide, [(1, 0)])
        with pytest.raises(hecaton.GuestError, match="Custom: no"):
            pool.apply(tasks.fail_custom, ("no",))
        assert pool.map(tasks.square, [3]) == [9], "the pool goes on"


class Holder:
    def method(self, x):
        return x


def test_lambdas_closures_and_methods_are_refused_naming_them():
    def nested(x):
        return x

    with hecaton.Pool(1) as pool:
        with pytest.raises(TypeError, match="lambda"):
            pool.map(lambda x: x, [1])
        with pytest.raises(TypeError, match="nested"):
            pool.map(nested, [1])
        with pytest.raises(TypeError, match="bound method"):
            pool.map(Holder().method, [1])


def test_the_standard_library_works_inside_a_task():
    with hecaton.Pool(1) as pool:
        result = pool.apply(tasks.stdlib_inside, ("a,b\nc,d\n",))
    assert result["decimal"] == "3.305"
    assert result["date"] == "2026-12-06"
    assert result["fraction"] == "1/3"
    assert result["rows"] == 2
    assert result["name"] == "LATIN SMALL LETTER E WITH ACUTE"
    import hashlib

    assert result["sha"] == hashlib.sha256(b"a,b\nc,d\n").hexdigest()[:12]


def test_the_sandbox_holds_for_a_function():
    with hecaton.Pool(1, timeout=1.0, max_memory="128MiB") as pool:
        with pytest.raises((FileNotFoundError, PermissionError)):
            pool.apply(tasks.read_file, ("/etc/passwd",))
        with pytest.raises(hecaton.Timeout):
            pool.apply(tasks.spin)
        with pytest.raises(hecaton.MemoryLimit):
            pool.apply(tasks.hog, (512,))
        assert pool.map(tasks.square, [4]) == [16]


def test_a_process_runs_a_function():
    process = hecaton.Process(target=tasks.greet, args=("eve",), kwargs={"punct": "."})
    process.start()
    process.join()
    assert process.exitcode == 0
    assert process.result() == "hello eve."
