"""Every TaskError kind a guest can cause is its own class, and names its input."""

from __future__ import annotations

import copy
import pickle
import time

import pytest

import hecaton


def failure(pool_kwargs, run):
    with hecaton.Pool(1, **pool_kwargs) as pool:
        with pytest.raises(hecaton.TaskError) as raised:
            run(pool)
    return raised.value


# (class, kind, pool keywords, module, task, inputs): the failing input is the last one.
CASES = [
    (hecaton.Trap, "trap", {}, "tools", "divide", [1, 2, 0]),
    (hecaton.StackOverflow, "stack_overflow", {}, "tools", "recurse", [1]),
    (hecaton.Timeout, "timeout", {"timeout": 0.2}, "tools", "spin_on_zero", [1, 0]),
    (hecaton.OutOfFuel, "out_of_fuel", {"fuel": 100_000}, "tools", "spin_on_zero", [2, 0]),
    (hecaton.MemoryLimit, "memory_limit", {"max_memory": 1 << 20}, "tools", "grow", [1, 100]),
    (hecaton.TableLimit, "table_limit", {}, "tools", "grow_table", [1, 10_000_000]),
    (hecaton.OutputLimit, "output_limit", {"max_output": 64}, "tools", "echo", ["x", "y" * 100]),
    (hecaton.AbiViolation, "abi_violation", {}, "tools", "lie", [None]),
    (hecaton.GuestError, "guest_error", {}, "square_wat", "square", [3, 2**40]),
    (hecaton.BadInput, "bad_input", {}, "square_wat", "square", [3, "three"]),
    (hecaton.Panic, "panic", {}, "probe", "explode", ["boom"]),
    (hecaton.Exit, "exit", {}, "proc-exit", "quit", [None]),
]


@pytest.mark.parametrize("cls, kind, kwargs, module, task, inputs", CASES, ids=[c[1] for c in CASES])
def test_each_kind_is_its_class_with_index(cls, kind, kwargs, module, task, inputs, tools, square_wat, guests, fixture):
    path = {"tools": tools, "square_wat": square_wat}.get(module) or guests.get(module) or fixture(module)
    error = failure(kwargs, lambda pool: pool.map(path, task, inputs))
    assert type(error) is cls
    assert error.kind == kind == cls.kind
    assert error.index == len(inputs) - 1
    assert error.attempts == 1
    assert isinstance(error, hecaton.TaskError)
    assert f"task {error.index} failed" in str(error)


def test_kind_details(tools, guests, fixture):
    trap = failure({}, lambda pool: pool.map(tools, "divide", [0]))
    assert "divide" in trap.trap and isinstance(trap.backtrace, str)
    memory = failure({"max_memory": 1 << 20}, lambda pool: pool.map(tools, "grow", [100]))
    assert memory.limit == 1 << 20 and memory.requested > memory.limit
    assert isinstance(memory, hecaton.LimitError)
    panic = failure({}, lambda pool: pool.map(guests["probe"], "explode", ["boom"]))
    assert "exploded: boom" in panic.guest_message
    exit = failure({}, lambda pool: pool.map(fixture("proc-exit"), "quit", [None]))
    assert exit.exit_code == 42


def test_sizes_take_units_and_messages_name_python_keywords(tools):
    memory = failure({"max_memory": "1MiB"}, lambda pool: pool.map(tools, "grow", [100]))
    assert memory.limit == 1 << 20
    assert "(max_memory=)" in str(memory) and "Limits::" not in str(memory)
    timeout = failure({"timeout": 0.2}, lambda pool: pool.map(tools, "spin_on_zero", [0]))
    assert "(timeout=)" in str(timeout) and "--timeout" not in str(timeout)
    with hecaton.Pool(1, max_output="64B") as pool:
        with pytest.raises(hecaton.OutputLimit):
            pool.map(tools, "echo", ["y" * 100])
    for bad in ["64", "12 parsecs", -1, 1.5]:
        with pytest.raises((ValueError, TypeError, OverflowError)):
            hecaton.Pool(1, max_memory=bad)


def test_nonzero_exit_of_a_command(guests):
    error = failure({}, lambda pool: pool.map_command(guests["echo"], [b"a", b"b"], args=["exit=3"], fail_nonzero=True))
    assert type(error) is hecaton.NonZeroExit
    assert error.index == 0 and error.exit_code == 3
    assert error.stdout == b"exit=3\na" and error.stderr == b"to stderr"


def test_cancelled_by_terminate(tools):
    pool = hecaton.Pool(1)
    running = pool.map_async(tools, "spin", [0])
    time.sleep(0.05)
    pool.terminate()
    with pytest.raises(hecaton.Cancelled) as raised:
        running.get(5)
    assert raised.value.index == 0 and raised.value.kind == "cancelled"


def test_retried_failure_counts_attempts(tools):
    error = failure({"retries": 2}, lambda pool: pool.map(tools, "check", [1, -1]))
    assert type(error) is hecaton.Trap and error.index == 1 and error.attempts == 3


def test_errors_survive_copy_and_pickle(tools):
    error = failure({}, lambda pool: pool.map(tools, "check", [-1]))
    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):
        assert type(clone) is hecaton.Trap
        assert (clone.index, clone.kind, clone.attempts, clone.trap) == (0, "trap", 1, error.trap)
        assert str(clone) == str(error)


def test_every_kind_has_a_class():
    from hecaton._errors import KINDS

    assert set(KINDS) == {
        "trap", "stack_overflow", "timeout", "out_of_fuel", "memory_limit", "table_limit",
        "output_limit", "guest_error", "panic", "bad_input", "abi_violation", "exit",
        "nonzero_exit", "stdout_closed", "cancelled", "instantiate", "host",
        "worker_lost",
    }
    for kind, cls in KINDS.items():
        assert issubclass(cls, hecaton.TaskError) and cls.kind == kind
