#!/usr/bin/env bash
# The seed's two programs from Python, their outputs checked: five processes that each report
# their task id (processes.py), and Pool(2).map(square, [1, 2, 3, 4, 5]) (square.py); and
# multiprocessing's two documentation programs with only the import changed (mp_pool.py,
# mp_process.py), whose output must be what they print under multiprocessing itself; and the
# twelve programs of examples/python/programs/ (word counts, CSV records, hashing, dates,
# decimals, fractions, statistics, JSON, regex, errors, callbacks, processes), each run under
# hecaton and under multiprocessing, their stdout required to be the same.
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

# examples/python/programs/: every program (a file with `from hecaton import`) run under hecaton
# and, the import put back, under multiprocessing; stdout and exit code must be the same. Their
# task functions are in one module, programs/tasks.py: hecaton builds it once for all of them.
# Every program is checked; the differences are printed as diffs, and the script fails at the end.
programs=examples/python/programs
failed=()
for program in "$programs"/*.py; do
    grep -q '^from hecaton import' "$program" || continue   # tasks.py: a module, not a program
    original=$(mktemp --suffix .py)
    expected_out=$(mktemp) expected_err=$(mktemp) got_out=$(mktemp)
    sed 's/^from hecaton import/from multiprocessing import/' "$program" > "$original"
    got_rc=0 expected_rc=0
    python3 "$program" > "$got_out" || got_rc=$?
    # The copy lives in a temporary folder: tasks.py is found on PYTHONPATH. Its stderr (the
    # traceback a failing Process prints, say) is shown only if the outputs differ.
    PYTHONPATH="$programs${PYTHONPATH:+:$PYTHONPATH}" python3 "$original" \
        > "$expected_out" 2> "$expected_err" || expected_rc=$?
    if [ "$got_rc" = "$expected_rc" ] && cmp -s "$got_out" "$expected_out"; then
        echo "$program: same as multiprocessing ($(wc -l < "$got_out") lines, exit $got_rc)"
    else
        failed+=("$program")
        {
            echo "$program: NOT the same as multiprocessing (exit $got_rc under hecaton, $expected_rc under multiprocessing):"
            diff -u --label multiprocessing --label hecaton "$expected_out" "$got_out" || true
            if [ -s "$expected_err" ]; then
                echo "(stderr under multiprocessing:)"
                cat "$expected_err"
            fi
        } >&2
    fi
    rm -f "$original" "$expected_out" "$expected_err" "$got_out"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "${#failed[@]} program(s) of $programs differ from multiprocessing: ${failed[*]}" >&2
    exit 1
fi
