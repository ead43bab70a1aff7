"""Pool: every method, as multiprocessing's."""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time

import pytest

import hecaton


def test_map_square_guest(guests):
    with hecaton.Pool(2) as pool:
        assert pool.map(guests["square"], "square", [1, 2, 3, 4, 5]) == [1, 4, 9, 16, 25]


def test_map_wat_text_and_numeric_task(square_wat, tools):
    with hecaton.Pool(2) as pool:
        assert pool.map(square_wat, "square", range(1, 6)) == [1, 4, 9, 16, 25]
        assert pool.map(tools, "square", range(1, 6)) == [1, 4, 9, 16, 25]


def test_map_with_a_module_loaded_once(guests):
    module = hecaton.Module(guests["square"])
    assert module.tasks["square"] == "function"
    with hecaton.Pool(2) as pool:
        assert pool.map(module, "square", range(1000)) == [x * x for x in range(1000)]
        assert pool.map(module, "square", []) == []


def test_map_of_a_generator_and_chunksize(tools):
    with hecaton.Pool(2, chunksize=7) as pool:
        assert pool.map(tools, "square", (x for x in range(100))) == [x * x for x in range(100)]
        assert pool.map(tools, "square", range(100), 3) == [x * x for x in range(100)]
        with pytest.raises(ValueError):
            pool.map(tools, "square", range(3), chunksize=0)


def test_starmap(tools):
    with hecaton.Pool(2) as pool:
        assert pool.starmap(tools, "add", [(1, 2), (3, 4), [5, 6]]) == [3, 7, 11]


def test_map_fail_fast_raises_the_first_failure_by_index(square_wat):
    with hecaton.Pool(2) as pool:
        with pytest.raises(hecaton.BadInput) as raised:
            pool.map(square_wat, "square", [1, 2, "x", 4, "y", 6])
        assert raised.value.index == 2
        assert raised.value.kind == "bad_input"
        assert raised.value.attempts == 1
        assert "task 2 failed" in str(raised.value)


def test_map_keep_going_gives_one_outcome_per_input(tools):
    with hecaton.Pool(2) as pool:
        outcomes = pool.map(tools, "divide", [1, 0, 4, 0, 5], keep_going=True)
    assert outcomes[0::2] == [100, 25, 20]
    for index in (1, 3):
        assert isinstance(outcomes[index], hecaton.Trap)
        assert outcomes[index].index == index
        assert outcomes[index].trap == "integer divide by zero" or "divide" in outcomes[index].trap


def test_pool_still_works_after_a_trap(tools):
    with hecaton.Pool(2) as pool:
        with pytest.raises(hecaton.Trap):
            pool.map(tools, "check", [1, -1, 2])
        assert pool.map(tools, "check", [1, 2, 3]) == [1, 2, 3]
        assert pool.apply(tools, "check", (5,)) == 5


def test_imap_is_ordered_and_lazy(tools):
    with hecaton.Pool(2) as pool:
        iterator = pool.imap(tools, "square", iter(range(50)))
        assert iter(iterator) is iterator
        assert list(iterator) == [x * x for x in range(50)]


def test_imap_over_an_endless_generator_reads_a_bounded_amount_ahead(tools):
    pulled = itertools.count()

    def endless():
        for value in itertools.count():
            next(pulled)
            yield value

    with hecaton.Pool(2) as pool:
        iterator = pool.imap(tools, "square", endless())
        first = list(itertools.islice(iterator, 10_000))
        assert first == [x * x for x in range(10_000)]
        iterator.close()
        read = next(pulled)
        # The library reads at most 64 Ki items ahead of the consumer, plus a batch.
        assert read < 10_000 + 70_000
        time.sleep(0.2)
        # Closing stops the reading at once: at most the batch being read (256 items).
        assert next(pulled) - read < 300, "reading stopped once the iterator was closed"
        assert pool.map(tools, "square", [3]) == [9]


def test_imap_raises_at_a_failure_and_goes_on(tools):
    with hecaton.Pool(2) as pool:
        iterator = pool.imap(tools, "check", [1, -2, 3])
        assert next(iterator) == 1
        with pytest.raises(hecaton.Trap) as raised:
            next(iterator)
        assert raised.value.index == 1
        assert next(iterator) == 3
        with pytest.raises(StopIteration):
            next(iterator)
        assert list(pool.imap(tools, "check", [1, -2], keep_going=True))[0] == 1


def test_imap_raises_the_generator_error_after_the_outcomes_before_it(tools):
    def failing():
        yield 1
        yield 2
        raise ValueError("no more")

    with hecaton.Pool(2) as pool:
        iterator = pool.imap(tools, "square", failing())
        assert [next(iterator), next(iterator)] == [1, 4]
        with pytest.raises(ValueError, match="no more"):
            next(iterator)


def test_imap_of_an_unconvertible_item_raises_type_error(tools):
    with hecaton.Pool(1) as pool:
        with pytest.raises(TypeError):
            list(pool.imap(tools, "square", [1, object()]))


def test_imap_unordered(tools):
    with hecaton.Pool(2) as pool:
        assert sorted(pool.imap_unordered(tools, "square", range(100))) == [
            x * x for x in range(100)
        ]
        pairs = list(pool.imap_unordered(tools, "square", range(20), indexed=True))
        assert sorted(pairs) == [(x, x * x) for x in range(20)]


def test_imap_unordered_gives_fast_outcomes_before_a_slow_one(tools):
    with hecaton.Pool(2, timeout=1.0) as pool:
        started = time.monotonic()
        iterator = pool.imap_unordered(tools, "spin_on_zero", [0, 1, 2, 3], chunksize=1, keep_going=True)
        firsts = [next(iterator) for _ in range(3)]
        assert sorted(firsts) == [1, 2, 3]
        assert time.monotonic() - started < 0.9
        assert isinstance(next(iterator), hecaton.Timeout)


def test_apply(tools):
    with hecaton.Pool(1) as pool:
        assert pool.apply(tools, "add", (2, 3)) == 5
        assert pool.apply(tools, "square", [7]) == 49
        with pytest.raises(hecaton.Trap) as raised:
            pool.apply(tools, "divide", (0,))
        assert raised.value.index == 0


def test_apply_async_get_wait_ready_successful(tools):
    with hecaton.Pool(2, timeout=2.0) as pool:
        result = pool.apply_async(tools, "square", (9,))
        result.wait()
        assert result.ready()
        assert result.successful()
        assert result.get() == 81
        assert result.get(timeout=0) == 81
        failed = pool.apply_async(tools, "divide", (0,))
        with pytest.raises(hecaton.Trap):
            failed.get(5)
        assert failed.ready() and not failed.successful()
        slow = pool.apply_async(tools, "spin", (0,))
        assert not slow.ready()
        with pytest.raises(ValueError):
            slow.successful()
        with pytest.raises(TimeoutError):
            slow.get(timeout=0.05)
        with pytest.raises(multiprocessing.TimeoutError):
            slow.get(timeout=0)
        slow.wait(0.01)
        with pytest.raises(hecaton.Timeout):
            slow.get()


def test_apply_async_callbacks(tools):
    values, errors = [], []
    done = threading.Event()

    def on_value(value):
        values.append(value)
        if len(values) + len(errors) == 11:
            done.set()

    def on_error(error):
        errors.append(error)
        if len(values) + len(errors) == 11:
            done.set()

    with hecaton.Pool(2) as pool:
        results = [
            pool.apply_async(tools, "divide", (x,), callback=on_value, error_callback=on_error)
            for x in range(-5, 6)
        ]
        assert done.wait(10)
        # As multiprocessing's, a result is ready once its callback has returned: the last
        # callback set `done` just before that.
        for result in results:
            result.wait(10)
        assert [result.ready() for result in results] == [True] * 11
    assert sorted(values) == sorted(100 // x if x > 0 else -(100 // -x) for x in range(-5, 6) if x)
    assert len(errors) == 1 and isinstance(errors[0], hecaton.Trap)


def test_a_callback_has_run_before_get_wait_and_join_return(tools):
    # multiprocessing runs a result's callback before the result is ready; the regression: `get`
    # returned before its callback in most calls, and `join` before the callbacks of the work.
    for trial in range(5):
        seen = []
        with hecaton.Pool(2) as pool:
            for x in range(40):
                result = pool.apply_async(tools, "square", (x,), callback=seen.append)
                assert result.get(10) == x * x
                assert seen[-1] == x * x, f"trial {trial}: get returned before the callback"
                waited = pool.apply_async(tools, "square", (x,), callback=seen.append)
                waited.wait(10)
                assert waited.ready() and seen[-1] == x * x
            filled = []
            for x in range(100):
                pool.apply_async(tools, "square", (x,), callback=filled.append)
            mapped = []
            pool.map_async(tools, "square", range(10), callback=mapped.append)
            pool.close()
            pool.join()
            assert len(filled) == 100, f"trial {trial}: join returned before the callbacks"
            assert mapped == [[x * x for x in range(10)]]


def test_map_async_and_starmap_async(tools):
    got = []
    with hecaton.Pool(2) as pool:
        result = pool.map_async(tools, "square", range(10), callback=got.append)
        assert result.get(10) == [x * x for x in range(10)]
        assert result.get() is result.get(), "the same list every time"
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == [[x * x for x in range(10)]]
        assert pool.starmap_async(tools, "add", [(1, 1), (2, 2)]).get() == [2, 4]
        failures = []
        failed = pool.map_async(tools, "check", [1, -1, 2], error_callback=failures.append)
        with pytest.raises(hecaton.Trap) as raised:
            failed.get(10)
        assert raised.value.index == 1
        deadline = time.monotonic() + 5
        while not failures and time.monotonic() < deadline:
            time.sleep(0.01)
        assert isinstance(failures[0], hecaton.Trap)


def test_close_and_join(tools):
    pool = hecaton.Pool(2)
    results = [pool.apply_async(tools, "square", (x,)) for x in range(20)]
    with pytest.raises(ValueError):
        pool.join()
    pool.close()
    with pytest.raises(hecaton.PoolClosed):
        pool.map(tools, "square", [1])
    pool.join()
    assert [result.get(1) for result in results] == [x * x for x in range(20)]


def test_terminate_cancels_running_tasks(tools):
    pool = hecaton.Pool(2)
    running = pool.apply_async(tools, "spin", (0,))
    time.sleep(0.1)
    started = time.monotonic()
    pool.terminate()
    assert time.monotonic() - started < 1
    with pytest.raises(hecaton.Cancelled) as raised:
        running.get(5)
    assert raised.value.kind == "cancelled"
    with pytest.raises(hecaton.PoolClosed):
        pool.apply(tools, "square", (1,))
    pool.join()


def test_context_manager_terminates(tools):
    with hecaton.Pool(1) as pool:
        running = pool.apply_async(tools, "spin", (0,))
    with pytest.raises(hecaton.Cancelled):
        running.get(5)
    assert "terminated" in repr(pool)


def test_timeout_stops_an_endless_loop(tools):
    with hecaton.Pool(2, timeout=0.3) as pool:
        started = time.monotonic()
        with pytest.raises(hecaton.Timeout) as raised:
            pool.map(tools, "spin", [1])
        assert time.monotonic() - started < 2
        assert raised.value.timeout == pytest.approx(0.3)
        assert pool.map(tools, "square", [4]) == [16]


def test_gil_is_released_while_tasks_run(tools):
    with hecaton.Pool(1, timeout=0.5) as pool:
        ticks = 0
        stop = threading.Event()

        def count():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1

        counter = threading.Thread(target=count)
        counter.start()
        with pytest.raises(hecaton.Timeout):
            pool.map(tools, "spin", [1])
        stop.set()
        counter.join()
    assert ticks > 10_000, "Python ran while the task spun"


def test_isolation_levels(fixture):
    counter = fixture("counter-global")
    with hecaton.Pool(1, chunksize=4) as pool:
        assert pool.map(counter, "count", [None] * 8) == [1] * 8
    with hecaton.Pool(1, chunksize=4, isolation="chunk") as pool:
        assert pool.map(counter, "count", [None] * 8) == [1, 2, 3, 4, 1, 2, 3, 4]
    with hecaton.Pool(1, chunksize=4, isolation="worker", maxtasksperchild=3) as pool:
        assert pool.map(counter, "count", [None] * 6) == [1, 2, 3, 1, 2, 3]
    with hecaton.Pool(1, maxtasksperchild=1) as pool:
        assert pool.map(counter, "count", [None] * 3) == [1, 1, 1]
    with pytest.raises(ValueError):
        hecaton.Pool(1, isolation="process")
    with pytest.raises(ValueError):
        hecaton.Pool(1, isolation="chunk", maxtasksperchild=2)


def test_retries_and_attempts(guests):
    with hecaton.Pool(1, retries=2) as pool:
        # attempt_or_fail(n) fails until its n-th attempt.
        assert pool.map(guests["adversary"], "attempt_or_fail", [1, 3]) == [1, 3]
        with pytest.raises(hecaton.GuestError) as raised:
            pool.map(guests["adversary"], "attempt_or_fail", [4])
        assert raised.value.attempts == 3


def test_pool_arguments_are_checked(tools, guests):
    with pytest.raises(ValueError):
        hecaton.Pool(0)
    with pytest.raises(ValueError):
        hecaton.Pool(1, timeout=-1)
    with pytest.raises(hecaton.ConfigError):
        hecaton.Pool(1, dirs=["/no/such/dir"])
    with hecaton.Pool(3) as pool:
        assert pool.processes == 3
    with hecaton.Pool(1) as pool:
        with pytest.raises(hecaton.UnknownTask):
            pool.map(tools, "nope", [1])
        with pytest.raises(hecaton.ModuleError):
            pool.map("/no/such/module.wasm", "square", [1])
        with pytest.raises(hecaton.UnknownTask):
            pool.map_command(tools, [b""])
        with pytest.raises(hecaton.InputError):
            pool.map(guests["echo"], "_start", [b""])
