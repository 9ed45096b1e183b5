"""`prefixgate serve` speaks HTTP/1.1 with TCP_NODELAY on every connection, with several workers too.

Without it, uvicorn's multi-worker listener left Nagle's algorithm on: each keep-alive response,
written as headers then body, waited for the client's delayed ACK (about 40 ms on Linux), so every
sequential request on a connection took over 40 ms instead of about one.
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from pathlib import Path

import httpx
import pytest

from tests.procserver import ProcServer

DELAYED_ACK_S = 0.040


@pytest.mark.parametrize("workers", [1, 2])
def test_keep_alive_responses_do_not_wait_for_delayed_acks(workers: int, tmp_path: Path) -> None:
    server = ProcServer(f"sqlite:///{tmp_path}/nodelay.db", tmp_path, workers=workers).start()
    try:
        with httpx.Client(base_url=server.base, timeout=10) as c:
            for path in ("/healthz", "/client/v4/user"):  # a tiny body, and an enveloped refusal
                c.get(path)  # warm the connection
                took = []
                for _ in range(25):
                    started = time.perf_counter()
                    c.get(path)
                    took.append(time.perf_counter() - started)
                assert statistics.median(took) < DELAYED_ACK_S / 2, (path, sorted(took))
    finally:
        server.stop()


@pytest.mark.parametrize(
    "raw",
    [
        b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n",  # a method the HTTP parser does not know
        b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",  # a header without its colon
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS spoken to a plain-HTTP port
    ],
)
def test_requests_the_http_parser_refuses_get_an_enveloped_400(raw: bytes, tmp_path: Path) -> None:
    server = ProcServer(f"sqlite:///{tmp_path}/parser.db", tmp_path).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), answer
        assert b"content-type: application/json" in head.lower()
        envelope = json.loads(body)
        assert envelope["success"] is False and envelope["result"] is None
        assert envelope["errors"][0]["code"] == 1000
        assert "not a valid HTTP/1.1 request" in envelope["errors"][0]["message"]
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200  # the server is fine
    finally:
        server.stop()
