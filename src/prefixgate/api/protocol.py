"""The HTTP/1.1 protocol `prefixgate serve` runs: uvicorn's httptools protocol (C parser, on uvloop)
with TCP_NODELAY set on every connection.

uvicorn enables TCP_NODELAY only through asyncio, which skips sockets accepted from a listener it did not
create itself. With `--workers N` uvicorn binds that listener, so Nagle's algorithm stayed on and each
response written in two parts (headers, body) on a keep-alive connection waited ~40 ms for the client's
delayed ACK. Setting the option here, per connection, makes every worker count and event loop alike.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["NoDelayHttpToolsProtocol", "set_nodelay"]


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
