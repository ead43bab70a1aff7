"""WASI commands as tasks: bytes in, bytes out."""

from __future__ import annotations

import hecaton


def test_map_command_stdin(guests):
    with hecaton.Pool(2) as pool:
        results = pool.map_command(guests["echo"], [b"a\x00b", "é"], args=["hi"])
    assert [result.stdout for result in results] == [b"hi\na\x00b", "hi\né".encode()]
    assert all(result.exit_code == 0 and result.stderr == b"to stderr" for result in results)
    assert results[0] == results[0] and results[0] != results[1]


def test_map_command_input_as_argument(guests):
    with hecaton.Pool(2) as pool:
        results = pool.map_command(guests["echo"], ["x", "y"], args=["first", "{}-placed"], stdin=False)
        assert [result.stdout for result in results] == [b"first x-placed\n", b"first y-placed\n"]
        appended = pool.map_command(guests["echo"], ["z"], args=["first"], stdin=False)
        assert appended[0].stdout == b"first z\n"


def test_nonzero_exit_is_an_output_unless_asked(guests):
    with hecaton.Pool(1) as pool:
        [result] = pool.map_command(guests["echo"], [b""], args=["exit=5"])
        assert result.exit_code == 5 and result.returncode == 5
        outcomes = pool.map_command(guests["echo"], [b"", b""], args=["exit=5"], fail_nonzero=True, keep_going=True)
        assert [type(outcome) for outcome in outcomes] == [hecaton.NonZeroExit] * 2
        assert [outcome.index for outcome in outcomes] == [0, 1]


def test_imap_command(guests):
    with hecaton.Pool(2) as pool:
        lines = (f"line {i}\n".encode() for i in range(20))
        stdouts = [result.stdout for result in pool.imap_command(guests["echo"], lines)]
    assert stdouts == [f"\nline {i}\n".encode() for i in range(20)]


def test_command_inputs_are_bytes_or_str(guests):
    import pytest

    with hecaton.Pool(1) as pool:
        with pytest.raises(TypeError):
            pool.map_command(guests["echo"], [1])
