"""Process: multiprocessing's, one task on its own thread in its own instance."""

from __future__ import annotations

import time

import pytest

import hecaton


def test_five_processes_report_their_ids(guests):
    processes = [hecaton.Process(guests["greet"], "greet", (f"Process-{i}",)) for i in range(5)]
    assert all(process.pid is None for process in processes)
    for process in processes:
        process.start()
    for i, process in enumerate(processes):
        process.join()
        greeting = process.result()
        assert greeting == f"Child process Process-{i} is running, process ID is: {process.pid}"
        assert process.exitcode == 0 and not process.is_alive()
    assert len({process.pid for process in processes}) == 5


def test_start_join_timeout_is_alive_kill_exitcode(tools):
    process = hecaton.Process(tools, "spin", (0,))
    assert not process.is_alive() and process.exitcode is None
    with pytest.raises(ValueError):
        process.join()
    process.start()
    with pytest.raises(RuntimeError):
        process.start()
    process.join(timeout=0.1)
    assert process.is_alive() and process.exitcode is None
    with pytest.raises(TimeoutError):
        process.result(timeout=0.01)
    started = time.monotonic()
    process.kill()
    process.join(5)
    assert time.monotonic() - started < 1
    assert not process.is_alive()
    assert process.exitcode == -9
    with pytest.raises(hecaton.Cancelled) as raised:
        process.result()
    assert raised.value.index is None


def test_failure_exitcode_and_result(tools, fixture):
    failing = hecaton.Process(tools, "divide", (0,))
    failing.start()
    failing.join()
    assert failing.exitcode == 1
    with pytest.raises(hecaton.Trap):
        failing.result()
    exiting = hecaton.Process(fixture("proc-exit"), "quit")
    exiting.start()
    exiting.join()
    assert exiting.exitcode == 42


def test_limits_and_retries(tools, guests):
    timed = hecaton.Process(tools, "spin", (0,), timeout=0.2)
    timed.start()
    with pytest.raises(hecaton.Timeout):
        timed.result(5)
    fuelled = hecaton.Process(tools, "spin", (0,), fuel=1000)
    fuelled.start()
    with pytest.raises(hecaton.OutOfFuel):
        fuelled.result(5)
    retried = hecaton.Process(guests["adversary"], "attempt_or_fail", (2,), retries=1)
    retried.start()
    assert retried.result(5) == 2


def test_command_process(guests):
    process = hecaton.Process.command(guests["echo"], args=["one", "exit=4"], stdin=b"input\n")
    process.start()
    result = process.result(10)
    assert isinstance(result, hecaton.CommandResult)
    assert (result.exit_code, result.stdout, result.stderr) == (4, b"one exit=4\ninput\n", b"to stderr")
    assert process.exitcode == 4
    assert "CommandResult(exit_code=4" in repr(result)


def test_unknown_task_raises_at_start(tools):
    process = hecaton.Process(tools, "nope", (1,))
    with pytest.raises(hecaton.UnknownTask):
        process.start()
