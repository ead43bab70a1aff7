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
