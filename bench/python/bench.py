"""hecaton from Python against Python's own pools, every row measured in the same run.

    pip install ./python                       # the release build of the extension
    python3 bench/python/bench.py              # about a minute; --quick for a check

It builds the two guests it maps (``cargo build --release --target wasm32-wasip1 -p square -p
primes``, which takes a second when they are built) before it measures anything.

Two tables, each row's output checked against the expected one:

1. ``square`` over small integers, one task per item: ``hecaton.Pool(2).map`` with a fresh
   instance per task and with ``isolation="chunk"``, against ``multiprocessing.Pool(2).map``
   (default chunks; ``chunksize=1``; ``maxtasksperchild=1``, a process per task) and
   ``concurrent.futures.ProcessPoolExecutor(2).map``. Items/s and the ratio to hecaton's
   fresh-instance row. The slow rows run fewer items (their items/s do not depend on it).
2. CPU-bound: the primes below N counted by trial division in 100 ranges, the same algorithm
   as wasm (``examples/guests/primes``) and as CPython, both on 2 workers.

Every figure is the fastest of 3 timed runs after an untimed warm-up; pools are made (and
warmed) before the clock starts, so the rows compare maps, not start-ups.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import hecaton

ROOT = Path(__file__).resolve().parents[2]
GUESTS = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "wasm32-wasip1" / "release"


def square(x: int) -> int:
    return x * x


def is_prime(n: int) -> bool:
    if n < 4:
        return n >= 2
    if n % 2 == 0:
        return False
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def count_primes(bounds) -> int:
    start, end = bounds
    return sum(1 for n in range(start, end) if is_prime(n))


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
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    build_guests()
    print(f"hecaton from {Path(hecaton.__file__).parent}; "
          f"Python {sys.version.split()[0]}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
    square_table(args.items // scale)
    primes_table(args.primes_below // scale)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
