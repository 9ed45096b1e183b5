"""`prefixgate serve` speaks HTTP/1.1 with TCP_NODELAY on every connection, with several workers too.

Without it, uvicorn's multi-worker listener left Nagle's algorithm on: each keep-alive response,
written as headers then body, waited for the client's delayed ACK (about 40 ms on Linux), so every
sequential request on a connection took over 40 ms instead of about one.
"""

from __future__ import annotations

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
