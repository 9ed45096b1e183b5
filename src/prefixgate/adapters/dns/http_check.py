"""The HTTP ownership token: GET the challenge path from the hostname's own addresses.

Only global unicast addresses are ever connected to (unless the lab flag allows others), so a
customer cannot point DNS at the control plane's own network and make it fetch from there.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterable
from ipaddress import ip_network
from typing import Final
from urllib.parse import quote

from prefixgate.domain.hostnames import http_challenge_path
from prefixgate.domain.net import IPAddress, is_public

__all__ = ["BODY_LIMIT", "MAX_ATTEMPTS", "may_connect", "token_served"]

BODY_LIMIT: Final = 4096  # a token is short; a longer body is not the token, and is not read further
MAX_ATTEMPTS: Final = 4  # addresses tried at most: fifty slow A records cannot hold a worker fifty timeouts long


def may_connect(ip: IPAddress, *, allow_non_global: bool) -> bool:
    """Whether the HTTP check may open a connection to `ip`.

    Outside the lab only public unicast addresses qualify, by the same rule as prefixes
    (domain.net.is_public) and by the standard library's `is_global`: never loopback, private,
    link-local, shared (100.64/10), documentation, multicast, reserved or unspecified addresses,
    nor IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo).
    """
    return allow_non_global or (ip.is_global and is_public(ip_network(ip)))


def token_served(
    hostname: str,
    hostname_id: str,
    token: str,
    addresses: Iterable[IPAddress],
    *,
    port: int,
    timeout_s: float,
    allow_non_global: bool,
) -> bool:
    """Whether `http://<hostname>/.well-known/cf-custom-hostname-challenge/<id>` serves `token`.

    The addresses it may connect to are tried in turn, MAX_ATTEMPTS at most; the first one that
    answers HTTP decides (a 200 whose body, stripped, is the token). Redirects are not followed, and
    each exchange has `timeout_s` in all.
    Errors of any kind mean "not served", never a failure of the lookup.
    """
    if not token:
        return False
    path = http_challenge_path(quote(hostname_id, safe=""))
    allowed = [ip for ip in addresses if may_connect(ip, allow_non_global=allow_non_global)]
    for ip in allowed[:MAX_ATTEMPTS]:
        conn = _Connection(ip, port, deadline=time.monotonic() + timeout_s)
        try:
            conn.request("GET", path, headers={"Host": hostname, "Accept": "*/*", "Connection": "close"})
            response = conn.getresponse()
            body = response.read(BODY_LIMIT + 1)
        except (OSError, http.client.HTTPException, ValueError):
            continue  # nobody answered there: try the next address
        finally:
            conn.close()
        return response.status == 200 and len(body) <= BODY_LIMIT and body.strip() == token.encode()
    return False


class _DeadlineSocket(socket.socket):
    """A socket whose reads and writes all end by one deadline, so a server trickling bytes cannot
    hold a validation worker for longer than the check's timeout."""

    deadline: float = 0.0

    def _arm(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the HTTP check ran out of time")
        self.settimeout(remaining)

    def recv_into(self, buffer: memoryview | bytearray, nbytes: int = 0, flags: int = 0) -> int:  # type: ignore[override]
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: bytes | memoryview | bytearray, flags: int = 0) -> None:  # type: ignore[override]
        self._arm()
        super().sendall(data, flags)


class _Connection(http.client.HTTPConnection):
    """An HTTP connection to one address (whatever name the Host header gives), under a deadline."""

    def __init__(self, ip: IPAddress, port: int, *, deadline: float) -> None:
        super().__init__(str(ip), port)
        self._ip = ip
        self._deadline = deadline

    def connect(self) -> None:
        sock = _DeadlineSocket(socket.AF_INET6 if self._ip.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        sock.deadline = self._deadline
        try:
            sock.settimeout(max(self._deadline - time.monotonic(), 0.001))
            sock.connect((str(self._ip), self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
