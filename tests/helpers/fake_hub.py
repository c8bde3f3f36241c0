"""A local stand-in for the Hugging Face Hub: the requests huggingface_hub 1.x makes to download a
repository (`snapshot_download`, `hf_hub_download`), answered from folders on disk, so that the
workflow's hub rules run through the real client in the tests, offline.

Why our own: the Hub's own test server is the network; mirrors on PyPI proxy an upstream hub.

Answered (REPO is ORG/NAME, a model unless the path says datasets):
- GET /api/models/REPO/revision/REV: the repository's commit sha and files;
- GET /api/models/REPO/tree/SHA?recursive=...: its files with sizes;
- HEAD and GET /REPO/resolve/SHA/FILE: the file, with X-Repo-Commit, ETag and Content-Length;
  a `Range: bytes=N-[M]` request is answered 206 with those bytes (how a download resumes and
  how `datasets` streams a file).

A repository listed as gated answers 401 with X-Error-Code GatedRepo unless the request carries
`Authorization: Bearer TOKEN`. `bytes_per_s` slows every file body (to interrupt one midway).
Every request is recorded in `requests` as (method, path, Range header).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


def commit_sha(repo: str) -> str:
    return hashlib.sha1(repo.encode()).hexdigest()


def file_etag(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entry(root: Path, path: Path) -> dict:
    """One file or folder as the Hub's tree listing gives it."""
    name = str(path.relative_to(root))
    if path.is_dir():
        return {"type": "directory", "oid": hashlib.sha1(name.encode()).hexdigest(), "size": 0,
                "path": name}
    return {"type": "file", "oid": hashlib.sha1(path.read_bytes()).hexdigest(),
            "size": path.stat().st_size, "path": name}


def tree(root: Path, folder: Path, recursive: bool) -> list[dict]:
    """GET /api/.../tree/SHA[/FOLDER][?recursive=true]: a folder's entries, or all below it."""
    found = folder.rglob("*") if recursive else folder.iterdir() if folder.is_dir() else []
    return [entry(root, p) for p in sorted(found) if recursive is False or p.is_file()]


class FakeHub:
    """`repos` maps ORG/NAME to a folder whose files (recursively) are the repository."""

    def __init__(self, repos: dict[str, Path], gated: set[str] = frozenset(),
                 token: str | None = None, bytes_per_s: float | None = None):
        self.repos, self.gated, self.token = repos, set(gated), token
        self.bytes_per_s = bytes_per_s
        self.requests: list[tuple[str, str, str | None]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def files(self, repo: str) -> list[Path]:
        root = self.repos[repo]
        return sorted(p for p in root.rglob("*") if p.is_file())

    def handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def send(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, str(v))
                if "Content-Length" not in (headers or {}):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD" and body:
                    self.wfile.write(body)

            def json(self, value) -> None:
                self.send(200, json.dumps(value).encode(), {"Content-Type": "application/json"})

            def route(self) -> tuple[str, str, str] | None:
                """(kind, repo, rest) of an API or resolve path, or None."""
                parts = [unquote(p) for p in urlparse(self.path).path.strip("/").split("/")]
                if parts[:1] == ["api"] and len(parts) >= 4 and parts[1] in ("models", "datasets"):
                    # /api/models/REPO is its main revision
                    kind = parts[4] if len(parts) > 4 else "revision"
                    return kind, "/".join(parts[2:4]), "/".join(parts[5:])
                if parts[:1] == ["datasets"]:
                    parts = parts[1:]
                if len(parts) >= 5 and parts[2] == "resolve":
                    return "resolve", "/".join(parts[:2]), "/".join(parts[4:])
                return None

            def allowed(self, repo: str) -> bool:
                if repo not in hub.gated:
                    return True
                if self.headers.get("Authorization") == f"Bearer {hub.token}" and hub.token:
                    return True
                self.send(401, b'{"error": "Access to this repository is restricted."}',
                          {"X-Error-Code": "GatedRepo", "Content-Type": "application/json",
                           "X-Error-Message": "Access to this model is restricted: log in."})
                return False

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                hub.requests.append((self.command, self.path, self.headers.get("Range")))
                route = self.route()
                if route is None or route[1] not in hub.repos:
                    self.send(404, b"{}", {"X-Error-Code": "RepoNotFound"})
                    return
                kind, repo, rest = route
                if not self.allowed(repo):
                    return
                root, sha = hub.repos[repo], commit_sha(repo)
                if kind == "revision":
                    self.json({"id": repo, "sha": sha, "private": False,
                               "siblings": [{"rfilename": str(p.relative_to(root))}
                                            for p in hub.files(repo)]})
                elif kind == "tree":
                    recursive = "recursive=true" in urlparse(self.path).query.lower()
                    folder = root / rest.split("/", 1)[1] if "/" in rest else root
                    self.json(tree(root, folder, recursive))
                elif kind == "resolve":
                    self.file(root / rest, sha)
                else:
                    self.send(404)

            def file(self, path: Path, sha: str) -> None:
                if not path.is_file():
                    self.send(404, b"{}", {"X-Error-Code": "EntryNotFound"})
                    return
                data = path.read_bytes()
                start, size = 0, len(data)
                if (rng := self.headers.get("Range", "")).startswith("bytes="):
                    first, _, last = rng[6:].partition("-")
                    start = int(first or 0)
                    data = data[:int(last) + 1] if last else data
                headers = {"X-Repo-Commit": sha, "ETag": f'"{file_etag(path)}"',
                           "Accept-Ranges": "bytes", "Content-Length": len(data) - start,
                           "Content-Type": "application/octet-stream"}
                partial = start > 0 or len(data) < size
                if partial:
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{size}"
                self.send_response(206 if partial else 200)
                for k, v in headers.items():
                    self.send_header(k, str(v))
                self.end_headers()
                if self.command == "HEAD":
                    return
                chunk = 1 << 16
                for i in range(start, len(data), chunk):
                    try:
                        self.wfile.write(data[i:i + chunk])
                    except (BrokenPipeError, ConnectionResetError):
                        return
                    if hub.bytes_per_s:
                        time.sleep(chunk / hub.bytes_per_s)

        return Handler
