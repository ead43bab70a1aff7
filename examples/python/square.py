"""The seed's second program from Python: ``Pool(2).map(square, [1, 2, 3, 4, 5])``.

    cargo build --release --target wasm32-wasip1 -p square
    python3 examples/python/square.py          # prints [1, 4, 9, 16, 25]

The task is ``examples/guests/square`` (``#[task] fn square(x: i64) -> i64``); every input runs
in a fresh, sandboxed wasm instance, values travel as JSON, nothing is pickled.
"""

import os
from pathlib import Path

from hecaton import Pool

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SQUARE = TARGET / "wasm32-wasip1" / "release" / "square.wasm"

if __name__ == "__main__":
    with Pool(2) as pool:
        print(pool.map(SQUARE, "square", [1, 2, 3, 4, 5]))
