#!/usr/bin/env bash
# The seed's two programs from Python, their outputs checked: five processes that each report
# their task id (processes.py), and Pool(2).map(square, [1, 2, 3, 4, 5]) (square.py); and
# multiprocessing's two documentation programs with only the import changed (mp_pool.py,
# mp_process.py), whose output must be what they print under multiprocessing itself.
#
#     examples/python/run.sh
#
# Needs the `hecaton` package installed (`pip install ./python`); builds the two guests for
# wasm32-wasip1 first.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --quiet --release --target wasm32-wasip1 -p greet -p square

check() {
    local got
    got=$(python3 "examples/python/$1")
    echo "$got"
    if [ "$got" != "$2" ]; then
        echo "examples/python/$1: expected:" >&2
        echo "$2" >&2
        exit 1
    fi
}

check processes.py "Child process Process-0 is running, process ID is: 1
Child process Process-1 is running, process ID is: 2
Child process Process-2 is running, process ID is: 3
Child process Process-3 is running, process ID is: 4
Child process Process-4 is running, process ID is: 5"
check square.py "[1, 4, 9, 16, 25]"

# The same program under multiprocessing (the import put back) prints the same.
same_as_multiprocessing() {
    local original got expected
    original=$(mktemp --suffix .py)
    sed 's/^from hecaton import/from multiprocessing import/' "examples/python/$1" > "$original"
    got=$(python3 "examples/python/$1")
    expected=$(python3 "$original")
    rm -f "$original"
    echo "$got"
    if [ "$got" != "$expected" ] || [ "$got" != "$2" ]; then
        echo "examples/python/$1 printed:" >&2
        echo "$got" >&2
        echo "under multiprocessing:" >&2
        echo "$expected" >&2
        exit 1
    fi
}

same_as_multiprocessing mp_pool.py "[1, 4, 9]"
same_as_multiprocessing mp_process.py "hello bob"
