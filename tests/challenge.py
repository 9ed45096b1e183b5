"""A tiny HTTP server on a loopback address for the custom-hostname HTTP token check: fixed answers
per path, and a log of the requests it received."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ChallengeServer"]


class _HTTPServer6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class ChallengeServer:
    """A tiny HTTP server on one loopback address: fixed answers per path, and a log of requests."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Host)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.command, self.path, self.headers.get("Host")))
                status, headers, body = server.answers.get(self.path, (404, {}, b"not here"))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output clean

        self.httpd = (_HTTPServer6 if ":" in host else ThreadingHTTPServer)((host, port), Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def serve(self, path: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.answers[path] = (status, headers or {}, body)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
