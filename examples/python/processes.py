"""The seed's first program from Python: five processes that each say who they are.

    cargo build --release --target wasm32-wasip1 -p greet
    python3 examples/python/processes.py

multiprocessing's ``Process(target=info, args=(f"Process-{i}",))`` becomes
``Process("greet.wasm", "greet", (f"Process-{i}",))``: each runs on its own thread in its own
fresh, sandboxed wasm instance, and reports its task id as a child process reports its pid.
The guest is ``examples/guests/greet``.
"""

import os
from pathlib import Path

from hecaton import Process

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
GREET = TARGET / "wasm32-wasip1" / "release" / "greet.wasm"

if __name__ == "__main__":
    processes = [Process(GREET, "greet", (f"Process-{i}",)) for i in range(5)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        greeting = process.result()
        print(greeting)
        assert greeting.endswith(str(process.pid)), "the guest saw its own id"
