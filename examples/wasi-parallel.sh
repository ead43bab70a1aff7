#!/usr/bin/env bash
# GNU parallel for wasm: run an ordinary WASI program (one that reads stdin and writes stdout,
# written with no thought of hecaton) once per input line, each run in a fresh sandboxed
# instance, on every core, with `hecaton map PROG.wasm --lines --stdin`.
#
#     examples/wasi-parallel.sh
#
# The program is examples/guests/upper (a Rust `fn main` that uppercases stdin), built here for
# wasm32-wasip1. The GNU parallel equivalent would be `parallel --pipe -N1 ./upper < lines.txt`.
set -euo pipefail
cd "$(dirname "$0")/.."

hecaton() { cargo run -q -p hecaton -- "$@"; }

# Any WASI program will do; this one comes from a crate.
wasm=$(hecaton build examples/guests/upper)
echo "program: $wasm"

# Run once, as a plain command: stdin in, stdout out.
echo "run once:"
echo "one sandbox" | hecaton run "$wasm"

# Map over lines: each line is the stdin of its own instance; the outputs are JSON Lines, in
# input order, with each run's exit code, stdout and stderr.
echo "map over lines:"
printf '%s\n' "hello" "wasm world" "every line" "its own instance" |
    hecaton map "$wasm" --lines --stdin --quiet
