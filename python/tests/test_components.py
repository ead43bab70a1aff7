"""Components from Python: a component's exports mapped by ``hecaton.Pool`` and run by
``Process``, their arguments and results mapped to and from WIT types (README, "Writing tasks as
components"). The component is the example ``examples/components/stats`` (Rust, wasm32-wasip2),
built once per session; the hand-made WAT component needs no build.
"""

from __future__ import annotations

import subprocess

import pytest

import hecaton

from conftest import ROOT, target_dir


@pytest.fixture(scope="session")
def stats() -> str:
    """The example component's path, built for wasm32-wasip2."""
    subprocess.run(
        [
            "cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip2",
            "--manifest-path", str(ROOT / "examples" / "components" / "stats" / "Cargo.toml"),
            "--target-dir", str(target_dir()),
        ],
        check=True,
    )
    return str(target_dir() / "wasm32-wasip2" / "release" / "stats.wasm")


def test_a_pool_maps_a_component_export(stats):
    with hecaton.Pool(2) as pool:
        assert pool.map(stats, "fib", range(10)) == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
        summary = pool.apply(stats, "summarize", ([1.0, 2.0, 4.5],))
        assert summary == {"count": 3, "mean": 2.5, "min": 1.0, "max": 4.5}
        assert pool.apply(stats, "read", (-2.5,)) == {"negative": 2.5}
        assert pool.apply(stats, "read", (0.0,)) == "zero"


def test_a_component_err_is_a_guest_error(stats):
    with hecaton.Pool(1) as pool:
        with pytest.raises(hecaton.GuestError, match="does not fit in 64 bits"):
            pool.apply(stats, "fib", (100,))


def test_a_value_that_does_not_fit_the_type_is_bad_input(fixture):
    with hecaton.Pool(1) as pool:
        with pytest.raises(hecaton.BadInput, match="out of range for u8"):
            pool.apply(fixture("component-core-funcs"), "add8", (300, 1))


def test_module_tasks_show_wit_signatures(fixture):
    module = hecaton.Module(fixture("component-core-funcs"))
    assert module.tasks["add8"] == "component function func(a: u8, b: u8) -> u8"
