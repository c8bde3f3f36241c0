#!/usr/bin/env bash
# vLLM's hidden-state extraction (drafter_training.hidden_states.engine: vllm) on a lent GPU,
# through the workflow's own script, checked against scripts/hidden_states.py (engine: hf) on
# the smoke bodies and datasets. Writes everything under $OUT (default: reports/gpu/vllm_run).
#
# Inputs that cannot be fetched there (see gpu/README.md):
#   /tmp/carry/vllm.part*   a tar of vllm 0.24.0 and the wheels the machine lacks (gpu/wheels_vllm.txt),
#                           sent in parts by earlier calls
#   results/smoke/          the smoke run's bodies, datasets and CPU hidden states (carried)
set -euo pipefail
OUT=${OUT:-reports/gpu/vllm_run}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1

mkdir -p /tmp/carry/wheels
cat /tmp/carry/vllm.part* | tar -x -C /tmp/carry/wheels
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site /tmp/carry/wheels/*.whl
export PYTHONPATH=/tmp/site:$PWD/scripts
python3 -c "import vllm, speculators, torch; print('vllm', vllm.__version__, 'speculators',
speculators.__name__, 'torch', torch.__version__, torch.cuda.get_device_name(0))"

S=results/smoke
W=/tmp/vllm-work
rm -rf "$W" && mkdir -p "$W"
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($(now) - $1, 2))"; }
SERVER='["--gpu-memory-utilization", "0.3", "--enforce-eager"]'
declare -A T

extract_vllm() { # body dataset-body out
  local t; t=$(now)
  python3 scripts/hidden_states_vllm.py --body "$S/models/$1" --dataset "$S/drafter_data/$2/dataset" \
    --max-model-len 1024 --server-args-json "$SERVER" --server-log "$OUT/server_$1.log" \
    --concurrency 8 --out "$3"
  T[vllm_$1]=$(elapsed "$t")
}

for body in vanilla abliterated; do
  # engine vllm: the served bf16 body, as the workflow's rule runs it
  extract_vllm "$body" "$body" "$W/vllm_$body"
  # engine hf on the same GPU, and the committed smoke run's CPU files (float32 compute)
  t=$(now)
  python3 scripts/hidden_states.py --body "$S/models/$body" --dataset "$S/drafter_data/$body/dataset" \
    --device cuda --out "$W/hf_$body"
  T[hf_gpu_$body]=$(elapsed "$t")
  python3 scripts/hidden_states_compare.py --a "$W/vllm_$body" --b "$W/hf_$body" \
    --out "$OUT/compare_${body}_vllm_vs_hf_gpu.json" || echo "COMPARE FAILED: $body vs hf gpu"
  python3 scripts/hidden_states_compare.py --a "$W/vllm_$body" --b "$S/drafter_data/$body/hidden_states" \
    --out "$OUT/compare_${body}_vllm_vs_hf_cpu.json" || echo "COMPARE FAILED: $body vs hf cpu"
done
cp "$W/vllm_vanilla/summary.json" "$OUT/summary_vllm_vanilla.json"

# resume: a folder left by a killed run (3 rows missing) is completed, not redone
mkdir -p "$W/resume.partial"
cp "$W/vllm_vanilla"/hs_*.safetensors "$W/resume.partial/"
rm "$W/resume.partial"/hs_{0,3,5}.safetensors
touch -d '2000-01-01' "$W/resume.partial"/hs_*.safetensors
extract_vllm vanilla vanilla "$W/resume"
python3 - "$W/resume" <<'PY' | tee "$OUT/resume.txt"
import sys, pathlib
files = sorted(pathlib.Path(sys.argv[1]).glob("hs_*.safetensors"))
fresh = [f.name for f in files if f.stat().st_mtime > 946684800 + 86400]
print(f"{len(files)} files after the resumed run; rewritten: {sorted(fresh)}")
PY

# the FP8 body as gb10 serves it (served_variant fp8); reference: hf on the bf16 body
extract_vllm vanilla-fp8 vanilla "$W/vllm_vanilla-fp8"
python3 scripts/hidden_states_compare.py --a "$W/vllm_vanilla-fp8" --b "$W/hf_vanilla" \
  --max-relative-error 1 --out "$OUT/compare_vanilla-fp8_vllm_vs_bf16_hf_gpu.json" || true

python3 - "$OUT" <<PY
import json, subprocess, sys, importlib.metadata as md
import torch
record = {
    "device": torch.cuda.get_device_name(0),
    "driver": subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip(),
    "versions": {p: md.version(p) for p in ("vllm", "torch", "transformers", "speculators", "datasets")},
    "wall_s": {$(for k in "${!T[@]}"; do printf '"%s": %s, ' "$k" "${T[$k]}"; done)},
}
json.dump(record, open(sys.argv[1] + "/gpu_vllm_runs.json", "w"), indent=2)
print(json.dumps(record, indent=2))
PY
