"""A fault injector between an edge and its control plane: a small HTTP reverse proxy on loopback that
passes requests through, or refuses them ("down"), or answers the next long polls 410 ("gone", one
waiting already included: its answer is replaced when it comes), or damages
snapshots in transit ("corrupt": one row changed, the checksum left as it was)."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any

import httpx


class FeedProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = "pass"  # "pass" | "down" | "corrupt"
        self.gone = 0  # answer this many /edge/changes with 410
        self.snapshots_served = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self, method: str) -> None:
                if proxy.mode == "down":
                    self._answer(503, {"success": False, "errors": [{"code": 10503, "message": "down"}]})
                    return
                if proxy.gone and self.path.startswith("/client/v4/edge/changes"):
                    proxy.gone -= 1
                    self._answer(410, {"success": False, "errors": [{"code": 2200, "message": "gone"}]})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                try:
                    r = httpx.request(method, proxy.upstream + self.path, content=body, headers=headers, timeout=90)
                except httpx.HTTPError:
                    self._answer(502, {"success": False, "errors": [{"code": 10502, "message": "unreachable"}]})
                    return
                payload = r.content
                if proxy.gone and self.path.startswith("/client/v4/edge/changes"):  # a poll that was waiting
                    proxy.gone -= 1
                    self._answer(410, {"success": False, "errors": [{"code": 2200, "message": "gone"}]})
                    return
                if self.path.startswith("/client/v4/edge/snapshot") and r.status_code == 200:
                    proxy.snapshots_served += 1
                    if proxy.mode == "corrupt":
                        doc = r.json()
                        tables = doc["result"]["state"]
                        victim = next(k for k in ("delegation", "prefix", "zone") if tables[k])
                        tables[victim][0][0] = "f" * 32  # the checksum no longer matches the rows
                        payload = json.dumps(doc).encode()
                self._raw(r.status_code, payload)

            def _answer(self, status: int, doc: dict[str, Any]) -> None:
                self._raw(status, json.dumps(doc).encode())

            def _raw(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_PUT(self) -> None:
                self._forward("PUT")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FeedProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
