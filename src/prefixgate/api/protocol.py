"""The HTTP/1.1 protocol `prefixgate serve` runs: uvicorn's h11 protocol with TCP_NODELAY on every connection.

uvicorn enables TCP_NODELAY only through asyncio, which skips sockets accepted from a listener it did not
create itself. With `--workers N` uvicorn binds that listener, so Nagle's algorithm stays on and each
response written in two parts (headers, body) on a keep-alive connection waits ~40 ms for the client's
delayed ACK. Setting the option here makes every worker count alike.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["NoDelayH11Protocol"]


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
