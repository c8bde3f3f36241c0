"""A stand-in for vLLM's OpenAI server that can stop making progress (tests of lib/watchdog.py).

It answers /health and /metrics (vllm:generation_tokens_total) and POST /work, which "decodes"
one token. FAKE_STARTS names a file counting its starts; on the starts listed in FAKE_STALL_ON
(comma-separated numbers, or "all") it stops after FAKE_STALL_AFTER requests the way a
deadlocked scheduler does: /health and /metrics still answer, /work never returns.
"""

import argparse
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
args, _ = p.parse_known_args()

starts_file = Path(os.environ["FAKE_STARTS"])
start = int(starts_file.read_text() or 0) + 1 if starts_file.exists() else 1
starts_file.write_text(str(start))
stall_on = os.environ.get("FAKE_STALL_ON", "")
stalls = stall_on == "all" or str(start) in stall_on.split(",")
stall_after = int(os.environ.get("FAKE_STALL_AFTER", "3"))
tokens = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, body: str) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_GET(self):
        if self.path == "/health":
            self.reply("")
        elif self.path == "/metrics":
            self.reply(f'vllm:generation_tokens_total{{model_name="body"}} {tokens}.0\n')
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self):
        global tokens
        with lock:
            stuck = stalls and tokens >= stall_after
            if not stuck:
                tokens += 1
        if stuck:
            print("scheduler deadlocked", flush=True)
            time.sleep(3600)
        self.reply("ok")


print(f"fake vLLM start {start}, stalls: {stalls}", flush=True)
ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
