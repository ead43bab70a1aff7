"""Shared fixtures: the repository's guests and WAT fixtures, and small WAT modules of our own.

The Rust guests (square, greet, probe, adversary, echo) are built once per session with
``cargo build --release --target wasm32-wasip1`` into the workspace's target folder (a no-op
when they are fresh; ``.ci/run`` builds them before pytest).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
GUESTS = ("square", "greet", "probe", "adversary", "echo")


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


@pytest.fixture(scope="session")
def guests() -> dict:
    """Paths of the built Rust guests, by package name."""
    packages = [arg for name in GUESTS for arg in ("-p", name)]
    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip1", *packages],
        cwd=ROOT,
        check=True,
    )
    release = target_dir() / "wasm32-wasip1" / "release"
    return {name: str(release / f"{name}.wasm") for name in GUESTS}


@pytest.fixture(scope="session")
def fixture():
    """The path of one of the repository's .wat fixtures, by name."""
    return lambda name: str(FIXTURES / f"{name}.wat")


@pytest.fixture(scope="session")
def square_wat() -> str:
    return str(ROOT / "examples" / "wat" / "square.wat")


@pytest.fixture
def wat(tmp_path):
    """Writes WAT text to a file and returns its path."""
    counter = iter(range(1_000_000))

    def write(text: str) -> str:
        path = tmp_path / f"module-{next(counter)}.wat"
        path.write_text(text)
        return str(path)

    return write


# A function task `echo` that returns its input, and numeric tasks for limits and traps.
TOOLS_WAT = r"""
(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "hecaton_alloc") (param $len i32) (result i32)
    (local $ptr i32) (local $end i32)
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.shr_u (local.get $len) (i32.const 16)) (i32.const 1))))))
    (global.set $heap (i32.and (i32.add (local.get $end) (i32.const 7)) (i32.const -8)))
    (local.get $ptr))
  ;; echo: the input as the output
  (func (export "hecaton:v1:echo") (param $in i32) (param $len i32) (result i32)
    (i32.store (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $in))
    (i32.store (i32.const 24) (local.get $len))
    (i32.const 16))
  ;; a payload pointing outside memory: an ABI violation
  (func (export "hecaton:v1:lie") (param i32 i32) (result i32)
    (i32.store (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 0x7fff0000))
    (i32.store (i32.const 24) (i32.const 16))
    (i32.const 16))
  (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "square") (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
  ;; 100 / x: traps (integer divide by zero) on 0
  (func (export "divide") (param i64) (result i64) (i64.div_s (i64.const 100) (local.get 0)))
  ;; unreachable on a negative input, else the input
  (func (export "check") (param i64) (result i64)
    (if (i64.lt_s (local.get 0) (i64.const 0)) (then unreachable))
    (local.get 0))
  ;; loops forever whatever its input
  (func (export "spin") (param i64) (result i64) (loop $forever (br $forever)) (i64.const 0))
  ;; loops forever on 0, else returns its input
  (func (export "spin_on_zero") (param i64) (result i64)
    (if (i64.eqz (local.get 0)) (then (loop $forever (br $forever))))
    (local.get 0))
  ;; grows memory by n pages, the old size in pages
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ;; grows the table by n elements
  (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  ;; recurses without bound
  (func $recurse (export "recurse") (param i64) (result i64)
    (i64.add (call $recurse (local.get 0)) (i64.const 1)))
)
"""


@pytest.fixture(scope="session")
def tools(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tools") / "tools.wat"
    path.write_text(TOOLS_WAT)
    return str(path)
