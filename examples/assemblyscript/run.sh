#!/usr/bin/env bash
# hecaton tasks in AssemblyScript: build assembly/index.ts with the compiler that package-lock.json
# pins (installed by `npm ci` into this folder's node_modules), then map the numeric task `square`
# and the function task `greet` (exported as `hecaton_v1__greet`) over inputs.
#
#     examples/assemblyscript/run.sh
#
# The module is written to target/assemblyscript/tasks.wasm ($CARGO_TARGET_DIR if set); the build
# flags are in asconfig.json (optimized, the stub runtime, `abort` routed to `hecaton.panic`).
set -euo pipefail
cd "$(dirname "$0")/../.."

example=examples/assemblyscript
out="${CARGO_TARGET_DIR:-target}/assemblyscript"
mkdir -p "$out"
wasm="$(cd "$out" && pwd)/tasks.wasm"

# The compiler package.json pins, installed into this folder (again if another version is there).
version() { node -p "try { require('./$example/$1').$2 } catch { '' }"; }
if [ "$(version node_modules/assemblyscript/package.json version)" != \
     "$(version package.json 'devDependencies.assemblyscript')" ]; then
    (cd "$example" && npm ci --no-audit --no-fund)
fi
(cd "$example" && node node_modules/assemblyscript/bin/asc.js assembly/index.ts \
    --config asconfig.json --target release --outFile "$wasm")
echo "module: $wasm"

hecaton() { cargo run -q -p hecaton -- "$@"; }

# A numeric export (i64 -> i64) takes JSON numbers directly.
hecaton map "$wasm" --invoke square 1 2 3
# A function task: JSON in, JSON out, through hecaton.ts's allocator and result record.
hecaton map "$wasm" --invoke greet '"world"' '"Ada"'
