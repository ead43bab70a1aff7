"""Ctrl-C: a real SIGINT to a child interpreter stops a blocking call within a fraction of a
second, cancels the pool's running tasks, and leaves the pool usable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

CHILD = r"""
import json, sys, time
import hecaton

tools, call = sys.argv[1], sys.argv[2]
pool = hecaton.Pool(2)
report = {}
try:
    print("ready", flush=True)
    if call == "map":
        pool.map(tools, "spin", [0, 1, 2, 3])
    elif call == "imap":
        for _ in pool.imap(tools, "spin", iter(range(10))):
            pass
    elif call == "get":
        pool.apply_async(tools, "spin", (0,)).get()
    elif call == "join":
        process = hecaton.Process(tools, "spin", (0,))
        process.start()
        process.join()
    report["finished"] = True
except KeyboardInterrupt:
    report["interrupted_at"] = time.monotonic()
# The pool goes on with fresh workers.
report["after"] = pool.map(tools, "square", [1, 2, 3])
pool.terminate()
print(json.dumps(report), flush=True)
"""


@pytest.mark.parametrize("call", ["map", "imap", "get", "join"])
def test_ctrl_c_stops_a_blocking_call_promptly(tools, call):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, tools, call],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # the tasks are spinning by now
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert "finished" not in report
    latency = report["interrupted_at"] - sent
    assert 0 <= latency < 0.3, f"KeyboardInterrupt came {latency:.3f} s after SIGINT"
    assert report["after"] == [1, 4, 9]
