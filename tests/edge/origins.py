"""Loopback origins and a PROXY-protocol client for edge tests (reusable by end-to-end tests).

- `EchoOrigin`: TCP echo, optionally greeting first (a server-first protocol such as SSH) and
  reading a PROXY v1/v2 header before echoing (`headers` records what it received).
- `HttpOrigin`: HTTP/1.1 answering JSON with the Host, X-Forwarded-For and path it received.
- `TestCA` and `TlsOrigin`: a throwaway CA and certificates made with `openssl`, and a TLS echo
  server that records the SNI of each handshake.
- `proxy_v2_header`, `connect_via_proxy`: what an L4 load balancer in front of the edge sends.
- `is_closed`, `wait_until`: waiting with deadlines instead of sleeps.
"""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
Addr = tuple[str, int]


@dataclass(frozen=True)
class ProxyHeader:
    version: int
    src: Addr
    dst: Addr


def proxy_v2_header(src: Addr, dst: Addr) -> bytes:
    """A PROXY v2 PROXY-command header over TCP. Mixed families are sent as IPv6 (IPv4-mapped)."""
    s, d = ipaddress.ip_address(src[0]), ipaddress.ip_address(dst[0])
    if s.version == 4 and d.version == 4:
        family, body = 0x11, s.packed + d.packed
    else:
        s6 = s if isinstance(s, ipaddress.IPv6Address) else ipaddress.IPv6Address(f"::ffff:{s}")
        d6 = d if isinstance(d, ipaddress.IPv6Address) else ipaddress.IPv6Address(f"::ffff:{d}")
        family, body = 0x21, s6.packed + d6.packed
    body += struct.pack("!HH", src[1], dst[1])
    return V2_SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(body)) + body


def connect_via_proxy(edge: Addr, src: Addr, dst: Addr, *, timeout: float = 5.0) -> socket.socket:
    """Connect to the edge and send the PROXY v2 header saying `src` asked for `dst`."""
    sock = socket.create_connection(edge, timeout=timeout)
    sock.sendall(proxy_v2_header(src, dst))
    return sock


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed inside a PROXY header")
        buf += chunk
    return buf


def read_proxy_header(sock: socket.socket) -> ProxyHeader:
    """Read a PROXY v1 or v2 header (TCP over IPv4 or IPv6) from the start of a connection."""
    first = _recv_exactly(sock, 12)
    if first == V2_SIGNATURE:
        ver_cmd, family, length = struct.unpack("!BBH", _recv_exactly(sock, 4))
        body = _recv_exactly(sock, length)
        assert ver_cmd == 0x21, f"not a v2 PROXY command: {ver_cmd:#x}"
        size = 4 if family == 0x11 else 16
        src = ipaddress.ip_address(body[:size])
        dst = ipaddress.ip_address(body[size : 2 * size])
        sport, dport = struct.unpack("!HH", body[2 * size : 2 * size + 4])
        return ProxyHeader(2, (str(src), sport), (str(dst), dport))
    line = first
    while not line.endswith(b"\r\n"):
        line += _recv_exactly(sock, 1)
        assert len(line) <= 107, "PROXY v1 line too long"
    parts = line.decode("ascii").split()
    assert parts[0] == "PROXY" and parts[1] in ("TCP4", "TCP6"), line
    return ProxyHeader(1, (parts[2], int(parts[4])), (parts[3], int(parts[5])))


def is_closed(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Whether the peer closes the connection within `timeout` (data read meanwhile is dropped)."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
            return True
        except TimeoutError:
            return False
    return False


def recv_until(sock: socket.socket, want: bytes, timeout: float = 5.0) -> bytes:
    """Read until `want` appears (or the deadline or EOF); returns what was read."""
    deadline = time.monotonic() + timeout
    buf = b""
    while want not in buf and (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _Background:
    """A socketserver on 127.0.0.1 and a free port, served by a thread while the context is open."""

    server: socketserver.BaseServer

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])  # type: ignore[index]

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()


class EchoOrigin(_Background):
    """TCP echo; `banner` is sent first, before reading; `proxy=True` reads a PROXY header first."""

    def __init__(self, *, banner: bytes = b"", proxy: bool = False, port: int = 0) -> None:
        super().__init__()
        self.headers: list[ProxyHeader] = []
        self.connections = 0
        origin = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                origin.connections += 1
                try:
                    if proxy:
                        origin.headers.append(read_proxy_header(sock))
                    if banner:
                        sock.sendall(banner)
                    while data := sock.recv(65536):
                        sock.sendall(data)
                except OSError:
                    pass

        self.server = _Server(("127.0.0.1", port), Handler)


def consecutive_echo_origins(count: int) -> list[EchoOrigin]:
    """`count` echo origins on consecutive ports (for port ranges), banners b"0\n", b"1\n", ..."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        made: list[EchoOrigin] = []
        try:
            for i in range(count):
                made.append(EchoOrigin(banner=f"{i}\n".encode(), port=base + i))
        except OSError:
            for o in made:
                o.server.server_close()
            continue
        return made
    raise RuntimeError("no run of free consecutive ports")


class HttpOrigin(_Background):
    """Answers every GET with JSON: host, x_forwarded_for, path, and its own name (`name`)."""

    def __init__(self, name: str = "origin") -> None:
        super().__init__()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body = json.dumps(
                    {
                        "origin": name,
                        "host": self.headers.get("Host"),
                        "x_forwarded_for": self.headers.get("X-Forwarded-For"),
                        "path": self.path,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        srv.block_on_close = False
        self.server = srv


def http_get(sock: socket.socket, host: str, path: str = "/", timeout: float = 5.0) -> tuple[int, bytes]:
    """Send one HTTP/1.1 GET on an open connection and read its answer (Content-Length bodies)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head = recv_until(sock, b"\r\n\r\n", timeout)
    header, sep, body = head.partition(b"\r\n\r\n")
    if not sep:
        raise ConnectionError(f"no HTTP answer: {head!r}")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next((int(v) for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length"), 0)
    while len(body) < length:
        sock.settimeout(timeout)
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, body


class TestCA:
    """A CA made with openssl in `directory`; `issue(name)` signs a server certificate for that name."""

    __test__ = False  # not a test class

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "ca.pem"
        self.key = self.dir / "ca.key"
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(self.key), "-out", str(self.cert), "-days", "2", "-subj", "/CN=prefixgate test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

    def issue(self, name: str) -> tuple[Path, Path]:
        """A certificate (SAN DNS:`name`) and its key, signed by this CA."""
        key, csr, cert, ext = (self.dir / f"{name}.{s}" for s in ("key", "csr", "pem", "ext"))
        ext.write_text(
            f"subjectAltName=DNS:{name}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n"
            "keyUsage=critical,digitalSignature\n"
        )
        _openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key), "-CAcreateserial",
            "-days", "2", "-extfile", str(ext), "-out", str(cert),
        )  # fmt: skip
        return cert, key

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA and checks host names."""
        return ssl.create_default_context(cafile=str(self.cert))


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


class TlsOrigin(_Background):
    """TLS echo with one certificate; `snis` records the server name of each handshake."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        self.snis: list[str | None] = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        origin = self

        def on_sni(_sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
            origin.snis.append(name)

        ctx.sni_callback = on_sni

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    with ctx.wrap_socket(self.request, server_side=True) as tls:
                        while data := tls.recv(65536):
                            tls.sendall(data)
                except (OSError, ssl.SSLError):
                    pass

        self.server = _Server(("127.0.0.1", 0), Handler)
