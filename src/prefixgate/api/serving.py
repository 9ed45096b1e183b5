"""How `prefixgate serve` runs uvicorn: one place, shared with the benchmark's reference apps."""

from __future__ import annotations

from typing import Final

__all__ = ["UVICORN_OPTIONS"]

# httptools parses HTTP in C and uvloop runs the event loop in C; the protocol sets TCP_NODELAY on
# every accepted connection (see protocol.py). Request logs are prefixgate's own (api/middleware.py).
UVICORN_OPTIONS: Final[dict[str, object]] = {
    "http": "prefixgate.api.protocol:NoDelayHttpToolsProtocol",
    "loop": "uvloop",
    "log_level": "warning",
    "access_log": False,
    "timeout_graceful_shutdown": 10,
}
