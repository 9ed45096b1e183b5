"""The HTTP/1.1 protocol `prefixgate serve` runs: uvicorn's httptools protocol (C parser, on uvloop)
with TCP_NODELAY set on every connection.

uvicorn enables TCP_NODELAY only through asyncio, which skips sockets accepted from a listener it did not
create itself. With `--workers N` uvicorn binds that listener, so Nagle's algorithm stayed on and each
response written in two parts (headers, body) on a keep-alive connection waited ~40 ms for the client's
delayed ACK. Setting the option here, per connection, makes every worker count and event loop alike.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from contextlib import suppress

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..domain.codes import Code

__all__ = ["DRAINING", "NoDelayHttpToolsProtocol", "set_nodelay"]

# Called (on the event loop) when the server starts to shut down, before it waits for requests in flight:
# long polls registered here answer at once instead of holding the shutdown up to its graceful timeout.
DRAINING: set[Callable[[], None]] = set()


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)

    def shutdown(self) -> None:
        for release in list(DRAINING):
            release()
        super().shutdown()

    def send_400_response(self, msg: str) -> None:
        """A request the HTTP parser refuses (a malformed request line or header, a method it does not
        know) never reaches the application: answer it in the Cloudflare envelope all the same."""
        body = json.dumps(
            {
                "success": False,
                "errors": [{"code": int(Code.INVALID_BODY), "message": f"not a valid HTTP/1.1 request: {msg}"}],
                "messages": [],
                "result": None,
            }
        ).encode()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        head.extend(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body))
        self.transport.write(b"".join(head) + body)
        self.transport.close()
