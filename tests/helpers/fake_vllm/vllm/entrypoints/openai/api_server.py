"""A stand-in for vLLM's OpenAI server: one that can stop making progress (tests of
lib/watchdog.py), and one that serves hidden states (tests of online training).

It answers /health and /metrics (vllm:prompt_tokens_total, vllm:generation_tokens_total).

- POST /work "decodes" one token. FAKE_STARTS names a file counting its starts; on the starts
  listed in FAKE_STALL_ON (comma-separated numbers, or "all") it stops after FAKE_STALL_AFTER
  requests the way a deadlocked scheduler does: /health and /metrics still answer, /work never
  returns.
- Started with --kv-transfer-config (the extraction server, lib/extraction_server.py): GET
  /v1/models names the served model and POST /v1/completions answers a one-token completion of
  `prompt` (token ids) the way vLLM's ExampleHiddenStatesConnector does: it writes the prompt's
  hidden states to a safetensors file in the connector's shared_storage_path and names it in
  kv_transfer_params. The hidden states are not computed: they are read from FAKE_HIDDEN_STATES,
  a folder of hs_{i}.safetensors files (an offline extraction's output), found by their
  token ids, so a trainer fed online gets the same rows as one fed offline.
"""

import argparse
import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--served-model-name", default="body")
p.add_argument("--kv-transfer-config", default=None)
args, _ = p.parse_known_args()

starts_file = Path(os.environ["FAKE_STARTS"])
start = int(starts_file.read_text() or 0) + 1 if starts_file.exists() else 1
starts_file.write_text(str(start))
stall_on = os.environ.get("FAKE_STALL_ON", "")
stalls = stall_on == "all" or str(start) in stall_on.split(",")
stall_after = int(os.environ.get("FAKE_STALL_AFTER", "3"))
tokens = {"prompt": 0, "generation": 0}
lock = threading.Lock()


def hidden_state_rows() -> dict[tuple, Path]:
    """FAKE_HIDDEN_STATES's files by their token ids."""
    from safetensors import safe_open  # torch: the files may hold bf16, which numpy lacks

    rows = {}
    for f in Path(os.environ["FAKE_HIDDEN_STATES"]).glob("hs_*.safetensors"):
        with safe_open(f, framework="pt") as data:
            rows[tuple(data.get_tensor("token_ids").tolist())] = f
    return rows


storage = rows = None
if args.kv_transfer_config:
    storage = Path(json.loads(args.kv_transfer_config)["kv_connector_extra_config"]
                   ["shared_storage_path"])
    rows = hidden_state_rows()


def completion(request: dict) -> dict:
    """Write the prompt's hidden states where the connector would and answer as vLLM does."""
    import shutil

    prompt = request["prompt"]
    source = rows[tuple(prompt)]  # KeyError: a row the offline set lacks (HTTP 500)
    path = storage / f"{uuid.uuid4().hex}.safetensors"
    shutil.copyfile(source, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").rename(path)
    with lock:
        tokens["prompt"] += len(prompt)
        tokens["generation"] += 1
    print(f"hidden states of {len(prompt)} tokens written", flush=True)
    return {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()),
            "model": args.served_model_name,
            "choices": [{"index": 0, "text": "x", "finish_reason": "length", "logprobs": None,
                         "prompt_token_ids": prompt, "token_ids": [0]}],
            "usage": {"prompt_tokens": len(prompt), "completion_tokens": 1,
                      "total_tokens": len(prompt) + 1},
            "kv_transfer_params": {"hidden_states_path": str(path)}}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, body: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self):
        if self.path == "/health":
            self.reply("")
        elif self.path == "/metrics":
            self.reply(f'vllm:prompt_tokens_total{{model_name="body"}} {tokens["prompt"]}.0\n'
                       f'vllm:generation_tokens_total{{model_name="body"}}'
                       f' {tokens["generation"]}.0\n')
        elif self.path == "/v1/models":
            self.reply(json.dumps({"object": "list", "data": [
                {"id": args.served_model_name, "object": "model", "owned_by": "fake"}]}))
        else:
            self.reply("", 404)

    def do_POST(self):
        if self.path == "/v1/completions" and rows is not None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                self.reply(json.dumps(completion(request)))
            except KeyError:
                self.reply(json.dumps({"error": "no hidden states for this prompt"}), 500)
            return
        with lock:
            stuck = stalls and tokens["generation"] >= stall_after
            if not stuck:
                tokens["generation"] += 1
        if stuck:
            print("scheduler deadlocked", flush=True)
            time.sleep(3600)
        self.reply("ok")


print(f"fake vLLM start {start}, stalls: {stalls}", flush=True)
ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
