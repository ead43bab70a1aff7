"""hecaton from Python against Python's own pools, every row measured in the same run.

    pip install ./python                       # the release build of the extension
    python3 bench/python/bench.py              # about two minutes; --quick for a check

It builds the two guests it maps (``cargo build --release --target wasm32-wasip1 -p square -p
primes``, which takes a second when they are built) before it measures anything.

Tables, each row's output checked against the expected one:

1. ``square`` over small integers, one task per item: ``hecaton.Pool(2).map`` with a fresh
   instance per task and with ``isolation="chunk"``, against ``multiprocessing.Pool(2).map``
   (default chunks; ``chunksize=1``; ``maxtasksperchild=1``, a process per task) and
   ``concurrent.futures.ProcessPoolExecutor(2).map``. Items/s and the ratio to hecaton's
   fresh-instance row. The slow rows run fewer items (their items/s do not depend on it).
2. CPU-bound: the primes below N counted by trial division in 100 ranges, the same algorithm
   as wasm (``examples/guests/primes``) and as CPython, both on 2 workers.

Then Python functions as tasks, from the module ``bench/python/functions.py``, which hecaton
builds once by componentize-py into a component (every call in a fresh sandboxed CPython 3.14
instance unless said), and which multiprocessing's workers import:

3. Start-up: a new process's start to its first result with an empty cache
   (``HECATON_CACHE_DIR`` a new folder: componentize-py's build and the component's
   compilation), then with that cache warm. The rows below use the component built here.
4. ``square``: ``hecaton.Pool(2).map(square, xs)`` (and ``Pool(1)``), with ``isolation="chunk"``
   (its default chunks, and multiprocessing's rule), against ``multiprocessing.Pool(2).map``
   (default chunks; ``chunksize=1``; ``maxtasksperchild=1``), then issue 22's targets, met or not.
5. CPU-bound: ``count_primes`` over 100 ranges as in 2., in hecaton and in multiprocessing.

Every figure but the first build's is the fastest of 3 timed runs after an untimed warm-up; pools are made (and
warmed) before the clock starts, so the rows compare maps, not start-ups.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hecaton

# The Python code every row maps, in a module of its own (bench/python/functions.py): multiprocessing
# imports it in its workers, and hecaton builds it into a sandboxed component for its function rows.
from functions import count_primes, square

HERE = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
GUESTS = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "wasm32-wasip1" / "release"


def fastest(run, expected, runs: int = 3) -> float:
    """Seconds of the fastest of `runs` timed runs of `run()`, after one untimed; checks each."""
    assert run() == expected
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        output = run()
        best = min(best, time.perf_counter() - started)
        assert output == expected, "a row's output differs from the expected one"
    return best


def table(title: str, rows, baseline: str) -> None:
    print(f"\n{title}")
    print(f"| {'row':<66} | {'items':>9} | {'items/s':>12} | {'vs hecaton':>14} |")
    print(f"|{'-' * 68}|{'-' * 10}:|{'-' * 13}:|{'-' * 15}:|")
    base = dict((name, rate) for name, _, rate in rows)[baseline]
    for name, items, rate in rows:
        print(f"| {name:<66} | {items:>9,} | {rate:>12,.0f} | {rate / base:>14.4g} |")


def square_table(items: int) -> None:
    xs = list(range(items))
    expected = [x * x for x in xs]
    module = hecaton.Module(GUESTS / "square.wasm")
    rows = []

    def row(name, count, make_run):
        seconds = fastest(make_run(count), expected[:count])
        rows.append((name, count, count / seconds))
        print(f"  {name}: {count / seconds:,.0f} items/s", file=sys.stderr)

    with hecaton.Pool(2) as pool:
        row("hecaton Pool(2).map, fresh instance per task", items,
            lambda n: lambda: pool.map(module, "square", xs[:n]))
    with hecaton.Pool(1) as pool:
        row("hecaton Pool(1).map, fresh instance per task", items,
            lambda n: lambda: pool.map(module, "square", xs[:n]))
    with hecaton.Pool(2, isolation="chunk") as pool:
        row('hecaton Pool(2, isolation="chunk").map', items,
            lambda n: lambda: pool.map(module, "square", xs[:n]))
    with multiprocessing.Pool(2) as pool:
        pool.map(square, range(10))
        row("multiprocessing Pool(2).map, default chunks", items,
            lambda n: lambda: pool.map(square, xs[:n]))
        row("multiprocessing Pool(2).map, chunksize=1", items // 10,
            lambda n: lambda: pool.map(square, xs[:n], chunksize=1))
    with multiprocessing.Pool(2, maxtasksperchild=1) as pool:
        pool.map(square, range(2), chunksize=1)
        row("multiprocessing Pool(2, maxtasksperchild=1).map, chunksize=1", max(items // 500, 20),
            lambda n: lambda: pool.map(square, xs[:n], chunksize=1))
    with concurrent.futures.ProcessPoolExecutor(2) as executor:
        list(executor.map(square, range(10)))
        row("concurrent.futures ProcessPoolExecutor(2).map", items // 10,
            lambda n: lambda: list(executor.map(square, xs[:n])))
        row("concurrent.futures ProcessPoolExecutor(2).map, chunksize=1000", items,
            lambda n: lambda: list(executor.map(square, xs[:n], chunksize=1000)))
    table("square, one task per item (2 workers unless said)", rows,
          "hecaton Pool(2).map, fresh instance per task")


def primes_table(limit: int) -> None:
    step = limit // 100
    ranges = [(start, start + step) for start in range(0, limit, step)]
    module = hecaton.Module(GUESTS / "primes.wasm")
    with hecaton.Pool(2) as pool:
        # The two sides must agree on every range (checked on every run of each).
        expected = pool.map(module, "count_primes", ranges)
        wasm = fastest(lambda: pool.map(module, "count_primes", ranges), expected)
    with multiprocessing.Pool(2) as pool:
        python = fastest(lambda: pool.map(count_primes, ranges, chunksize=1), expected)
    print(f"\nCPU-bound: the {sum(expected):,} primes below {limit:,} by trial division, 100 ranges, 2 workers")
    print("| row | seconds | vs hecaton |")
    print("|---|---:|---:|")
    print(f"| hecaton Pool(2).map (wasm, fresh instance per range) | {wasm:.3f} | 1 |")
    print(f"| multiprocessing Pool(2).map (CPython, chunksize=1) | {python:.3f} | {python / wasm:.3g}x slower |")


def function_square_table(items: int) -> None:
    """`square`, a plain Python function (bench/python/functions.py), one call per item."""
    xs = list(range(items * 10))
    expected = [x * x for x in xs]
    rows = []

    def row(name, count, make_run):
        seconds = fastest(make_run(count), expected[:count])
        rows.append((name, count, count / seconds))
        print(f"  {name}: {count / seconds:,.0f} items/s", file=sys.stderr)

    with hecaton.Pool(2) as pool:
        row("hecaton Pool(2).map, fresh CPython instance per call", items,
            lambda n: lambda: pool.map(square, xs[:n]))
    with hecaton.Pool(1) as pool:
        row("hecaton Pool(1).map, fresh CPython instance per call", items // 2,
            lambda n: lambda: pool.map(square, xs[:n]))
    with hecaton.Pool(2, isolation="chunk") as pool:
        row('hecaton Pool(2, isolation="chunk").map', items,
            lambda n: lambda: pool.map(square, xs[:n]))
        # multiprocessing's own rule for its default chunks: four per worker.
        row('hecaton Pool(2, isolation="chunk").map, chunksize=len/8', items * 10,
            lambda n: lambda: pool.map(square, xs[:n], -(-n // 8)))
    with multiprocessing.Pool(2) as pool:
        pool.map(square, range(10))
        row("multiprocessing Pool(2).map, default chunks", items * 10,
            lambda n: lambda: pool.map(square, xs[:n]))
        row("multiprocessing Pool(2).map, chunksize=1", items * 10,
            lambda n: lambda: pool.map(square, xs[:n], chunksize=1))
    with multiprocessing.Pool(2, maxtasksperchild=1) as pool:
        pool.map(square, range(2), chunksize=1)
        row("multiprocessing Pool(2, maxtasksperchild=1).map, chunksize=1",
            max(items // 10, 20), lambda n: lambda: pool.map(square, xs[:n], chunksize=1))
    table("Python functions: square, one call per item (2 workers unless said)", rows,
          "hecaton Pool(2).map, fresh CPython instance per call")

    rate = dict((name, rate) for name, _, rate in rows)
    fresh = rate["hecaton Pool(2).map, fresh CPython instance per call"]
    chunk = rate['hecaton Pool(2, isolation="chunk").map']
    chunk_sized = rate['hecaton Pool(2, isolation="chunk").map, chunksize=len/8']
    one_process_each = rate["multiprocessing Pool(2, maxtasksperchild=1).map, chunksize=1"]
    chunksize_1 = rate["multiprocessing Pool(2).map, chunksize=1"]
    default_chunks = rate["multiprocessing Pool(2).map, default chunks"]

    def target(what: str, value: float, goal: float, unit: str = "x") -> None:
        figure = f"{value:,.0f} calls/s" if unit == "calls/s" else f"{value:.3g}x"
        wanted = f"{goal:,.0f} calls/s" if unit == "calls/s" else f"{goal:g}x"
        print(f"- {what}: {figure} (target >= {wanted}: {'met' if value >= goal else 'NOT met'})")

    print("\nIssue 22's targets for Python functions:")
    target("fresh instance per call, 2 workers", fresh, 4_000, "calls/s")
    target("fresh instance per call against multiprocessing maxtasksperchild=1",
           fresh / one_process_each, 10)
    target('isolation="chunk" against multiprocessing chunksize=1', chunk / chunksize_1, 1)
    target('isolation="chunk", chunksize=len/8, against multiprocessing chunksize=1',
           chunk_sized / chunksize_1, 1)
    target('isolation="chunk" against multiprocessing default chunks (aim: half)',
           chunk / default_chunks, 0.5)
    target('isolation="chunk", chunksize=len/8, against multiprocessing default chunks (aim: half)',
           chunk_sized / default_chunks, 0.5)


def function_primes_table(limit: int) -> None:
    """The primes below `limit` by trial division, the same Python function (functions.py) in
    hecaton's sandboxed CPython (3.14, compiled to wasm) and in multiprocessing's workers."""
    step = limit // 100
    ranges = [(start, start + step) for start in range(0, limit, step)]
    with multiprocessing.Pool(2) as pool:
        # The two sides must agree on every range (checked on every run of each).
        expected = pool.map(count_primes, ranges, chunksize=1)
        python = fastest(lambda: pool.map(count_primes, ranges, chunksize=1), expected)
    with hecaton.Pool(2) as pool:
        sandboxed = fastest(lambda: pool.map(count_primes, ranges), expected)
    print(f"\nPython functions, CPU-bound: the {sum(expected):,} primes below {limit:,} by trial "
          "division, 100 ranges, 2 workers, the same Python function (bench/python/functions.py)")
    print("| row | seconds | vs hecaton |")
    print("|---|---:|---:|")
    print(f"| hecaton Pool(2).map(count_primes) (CPython 3.14 in wasm, fresh instance per range) "
          f"| {sandboxed:.3f} | 1 |")
    ratio = f"{sandboxed / python:.3g}x faster" if python < sandboxed else f"{python / sandboxed:.3g}x slower"
    print(f"| multiprocessing Pool(2).map(count_primes) (CPython {sys.version.split()[0]}, "
          f"chunksize=1) | {python:.3f} | {ratio} |")


# A program's start to its first result: imports hecaton, loads (building if need be) the
# component of bench/python/functions.py, maps `square` over three items.
FIRST_RESULT = """\
import time, hecaton, functions
with hecaton.Pool(2) as pool:
    output = pool.map(functions.square, [1, 2, 3])
    print(time.time(), output == [1, 4, 9])
"""


def start_times(cache: str) -> None:
    """The first build (componentize-py and the compilation of its component, in the empty
    cache `cache`) and a warm start (the same program again, the cache filled): each the seconds
    from a new process's start to its first result."""

    def first_result() -> tuple:
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-c", FIRST_RESULT], cwd=HERE, capture_output=True, text=True,
            env=dict(os.environ, HECATON_CACHE_DIR=cache),
        )
        if done.returncode != 0:
            raise SystemExit(f"the start-up program failed:\n{done.stderr}")
        stamp, correct = done.stdout.split()
        assert correct == "True", "the first result differs from [1, 4, 9]"
        built = re.search(r"built \S+ in ([0-9.]+) s", done.stderr)
        return float(stamp) - started, float(built.group(1)) if built else None

    cold, built = first_result()
    assert built is not None, "an empty cache did not build"
    warm = min(first_result()[0] for _ in range(3))
    print("\nPython functions: a new process's start to its first result, "
          "Pool(2).map(square, [1, 2, 3])")
    print("| row | seconds |")
    print("|---|---:|")
    print(f"| first run, empty cache (HECATON_CACHE_DIR a new folder): build and compile | {cold:.2f} |")
    print(f"| of which componentize-py's build (hecaton says it on stderr) | {built:.2f} |")
    print(f"| next run, the cache warm (fastest of 3) | {warm:.3f} |")


def function_tables(items: int, limit: int) -> None:
    """Python functions as tasks: the start-up from an empty cache first, then the maps, which
    use the component that start-up built (one build per run of the bench)."""
    with tempfile.TemporaryDirectory(prefix="hecaton-bench-cache-") as cache:
        start_times(cache)
        before = os.environ.get("HECATON_CACHE_DIR")
        os.environ["HECATON_CACHE_DIR"] = cache
        try:
            function_square_table(items)
            function_primes_table(limit)
        finally:
            if before is None:
                del os.environ["HECATON_CACHE_DIR"]
            else:
                os.environ["HECATON_CACHE_DIR"] = before


def build_guests() -> None:
    """Builds the guests the tables map, as a fresh clone has none."""
    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip1", "-p", "square", "-p", "primes"],
        cwd=ROOT,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the items")
    parser.add_argument("--items", type=int, default=200_000, help="square items (default 200,000)")
    parser.add_argument("--primes-below", type=int, default=1_000_000)
    parser.add_argument("--function-items", type=int, default=4_000,
                        help="Python function calls with a fresh instance each (default 4,000)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    build_guests()
    print(f"hecaton from {Path(hecaton.__file__).parent}; "
          f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    square_table(args.items // scale)
    primes_table(args.primes_below // scale)
    function_tables(args.function_items // scale, args.primes_below // scale)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
