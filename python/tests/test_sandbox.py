"""Capabilities are granted, never inherited: directories (read-only unless asked) and variables."""

from __future__ import annotations

import os

import pytest

import hecaton


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "hello.txt").write_text("hello from the host")
    return folder


def test_no_directory_unless_granted(guests, data):
    with hecaton.Pool(1) as pool:
        with pytest.raises(hecaton.GuestError):
            pool.apply(guests["adversary"], "read_file", (str(data / "hello.txt"),))


def test_granted_directory_is_read_only(guests, data):
    with hecaton.Pool(1, dirs={str(data): "/data"}) as pool:
        assert pool.apply(guests["adversary"], "read_file", ("/data/hello.txt",)) == "hello from the host"
        assert pool.apply(guests["adversary"], "list_dir", ("/data",)) == ["hello.txt"]
        with pytest.raises(hecaton.GuestError):
            pool.apply(guests["adversary"], "write_file", ("/data/new.txt", "x"))
    assert not (data / "new.txt").exists()


def test_granted_directory_read_write(guests, data):
    with hecaton.Pool(1, dirs=[(data, "/data", "rw")]) as pool:
        assert pool.apply(guests["adversary"], "write_file", ("/data/new.txt", "written")) is None
    assert (data / "new.txt").read_text() == "written"


def test_directory_at_its_own_path(guests, data):
    with hecaton.Pool(1, dirs=[str(data)]) as pool:
        assert pool.apply(guests["adversary"], "read_file", (str(data / "hello.txt"),)) == "hello from the host"


def test_bad_dirs_entries(data):
    with pytest.raises(hecaton.ConfigError):
        hecaton.Pool(1, dirs=[str(data / "missing")])
    with pytest.raises(ValueError):
        hecaton.Pool(1, dirs=[(str(data), "/data", "rwx")])
    with pytest.raises(TypeError):
        hecaton.Pool(1, dirs=[(str(data),)])


def test_env_is_granted_not_inherited(guests, monkeypatch):
    monkeypatch.setenv("HECATON_TEST_SECRET", "host-only")
    monkeypatch.setenv("HECATON_TEST_SHARED", "shared")
    with hecaton.Pool(1) as pool:
        assert pool.apply(guests["adversary"], "env_vars") == []
    with hecaton.Pool(1, env={"MODE": "fast", "HECATON_TEST_SHARED": None}) as pool:
        assert sorted(map(tuple, pool.apply(guests["adversary"], "env_vars"))) == [
            ("HECATON_TEST_SHARED", "shared"),
            ("MODE", "fast"),
        ]
    assert os.environ["HECATON_TEST_SECRET"] == "host-only"


def test_process_gets_capabilities_too(guests, data):
    process = hecaton.Process(guests["adversary"], "read_file", ("/d/hello.txt",), dirs={str(data): "/d"})
    process.start()
    assert process.result(10) == "hello from the host"


# Every limit keyword over its range: at 0, 1, each side of every internal boundary, the maximum
# and past it. A value out of range is refused when the pool is made (ValueError, TypeError or
# OverflowError), a module that could never start is refused when mapped (ConfigError), and a
# value in range ends each task with its output or its limit's error: never a crash.
STACKS = [1, 1024, "512KiB", "2000KiB", "2040KiB", "2MiB", "2100KiB", "3MiB", 64 * 2**20 - 1, "64MiB"]


@pytest.mark.parametrize("stack", STACKS, ids=[str(stack) for stack in STACKS])
def test_max_stack_over_its_range_is_a_stack_overflow(tools, stack):
    with hecaton.Pool(2, max_stack=stack) as pool:
        with pytest.raises(hecaton.StackOverflow):
            pool.map(tools, "recurse", [1, 2])
        if stack == 1:
            # One byte holds no call at all.
            with pytest.raises(hecaton.StackOverflow):
                pool.map(tools, "square", [3])
        else:
            assert pool.map(tools, "square", [3]) == [9], "the pool goes on"


@pytest.mark.parametrize("stack", [0, "0B", 64 * 2**20 + 1, "1GiB", "64", 2**70, -1, "deep"])
def test_max_stack_out_of_range_is_refused_naming_its_bounds(stack):
    with pytest.raises((ValueError, TypeError, OverflowError)) as refused:
        hecaton.Pool(1, max_stack=stack)
    if isinstance(stack, int) and 0 <= stack < 2**64:
        assert "at most 67108864" in str(refused.value)


LIMIT_CASES = [
    # (keywords, task, input, expected: a value, an exception class)
    ({"max_memory": 0}, "square", 3, hecaton.ConfigError),
    ({"max_memory": 65535}, "square", 3, hecaton.ConfigError),
    ({"max_memory": 65536}, "square", 3, 9),
    ({"max_memory": 65536}, "grow", 1, hecaton.MemoryLimit),
    ({"max_memory": "16000000000GiB"}, "square", 3, 9),
    ({"max_output": 0}, "echo", "x", hecaton.OutputLimit),
    ({"max_output": 3}, "echo", "x", "x"),
    ({"max_output": "3B"}, "echo", "xy", hecaton.OutputLimit),
    ({"max_output": 2**64 - 1}, "echo", "x", "x"),
    ({"max_table_elements": 0}, "square", 3, hecaton.ConfigError),
    ({"max_table_elements": 1}, "square", 3, 9),
    ({"max_table_elements": 1}, "grow_table", 1, hecaton.TableLimit),
    ({"max_table_elements": 2**20}, "square", 3, 9),
    ({"max_table_elements": 2**20 + 1}, "square", 3, hecaton.ConfigError),
    ({"fuel": 0}, "square", 3, hecaton.OutOfFuel),
    ({"fuel": 2**64 - 1}, "square", 3, 9),
    ({"timeout": 1e-9}, "spin", 0, hecaton.Timeout),
    ({"timeout": 1e9}, "square", 3, 9),
]


@pytest.mark.parametrize("keywords, task, value, expected", LIMIT_CASES, ids=[str(case[0]) for case in LIMIT_CASES])
def test_every_limit_keyword_over_its_range_is_obeyed_or_refused(tools, keywords, task, value, expected):
    with hecaton.Pool(1, **keywords) as pool:
        if isinstance(expected, type):
            with pytest.raises(expected):
                pool.map(tools, task, [value])
        else:
            assert pool.map(tools, task, [value]) == [expected]


@pytest.mark.parametrize("keywords", [
    {"max_memory": 2**64}, {"max_memory": -1}, {"max_memory": "64"}, {"max_output": "1 parsec"},
    {"fuel": 2**64}, {"fuel": -1}, {"timeout": 0}, {"timeout": -1.0}, {"timeout": 1e30},
    {"max_table_elements": 2**64},
], ids=str)
def test_limit_keywords_out_of_range_are_refused_when_the_pool_is_made(keywords):
    with pytest.raises((ValueError, TypeError, OverflowError)):
        hecaton.Pool(1, **keywords)
