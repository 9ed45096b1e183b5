"""A small client for HAProxy's runtime API (the admin-level stats socket).

Each call opens the unix socket, sends one line (one command, several joined by `;`, or one command
with a `<<` payload) and reads the answer until HAProxy closes the connection. HAProxy answers a
change with an empty line and a refusal with a message, so any text where none is expected is an
error. Several commands on one line are answered one after the other, each ending with an empty line.

Limits found on HAProxy 2.6: a request (line or payload) must fit in one buffer (`tune.bufsize`,
16 KiB by default; a longer one is dropped without an answer), so big changes are cut into batches of
at most `batch_bytes`, one connection each.
"""

from __future__ import annotations

import csv
import re
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "RuntimeApi",
    "RuntimeApiError",
    "RuntimeApiUnavailable",
    "Session",
    "TableEntry",
]

_BATCH_BYTES: Final = 12_000  # under 16 KiB with room for HAProxy's own rewrite reserve
_VERSION: Final = re.compile(r"New version created: (\d+)")
_SESSION: Final = re.compile(r"^(0x[0-9a-f]+): proto=(\S+) src=(\S+) fe=(\S+) be=(\S+)")
_ENTRY: Final = re.compile(r"^(0x[0-9a-f]+): key=(\S*) use=(\d+) exp=(\d+)(.*)$")
_DATA: Final = re.compile(r"(\S+?)=(\S*)")


class RuntimeApiError(RuntimeError):
    """HAProxy refused a command; `command` and `answer` say which and why."""

    def __init__(self, command: str, answer: str) -> None:
        super().__init__(f"haproxy refused {command[:200]!r}: {answer.strip()[:500]!r}")
        self.command = command
        self.answer = answer


class RuntimeApiUnavailable(RuntimeApiError):
    """The socket does not answer (HAProxy is not running, or not yet)."""


@dataclass(frozen=True, slots=True)
class TableEntry:
    """One stick-table entry from `show table`: its key, how many streams track it, its stored data."""

    ptr: str
    key: str
    use: int
    data: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Session:
    """One stream from `show sess`: `src` is the frontend connection's socket source address."""

    ptr: str
    proto: str
    src: str
    frontend: str
    backend: str


class RuntimeApi:
    """The runtime API at `socket_path`.

    Args:
        socket_path: the stats socket (`level admin`).
        timeout: seconds to wait for HAProxy on each call.
        batch_bytes: the largest request sent on one connection.
    """

    def __init__(self, socket_path: Path | str, *, timeout: float = 10.0, batch_bytes: int = _BATCH_BYTES) -> None:
        self.socket_path = str(socket_path)
        self.timeout = timeout
        self.batch_bytes = batch_bytes

    # -- transport ---------------------------------------------------------------------------------

    def request(self, text: str) -> str:
        """Send `text` (one line, or a line and its payload) and return HAProxy's whole answer.

        Raises:
            RuntimeApiUnavailable: the socket cannot be reached, or closes without answering.
        """
        data = text.encode("ascii") + (b"" if text.endswith("\n") else b"\n")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(self.timeout)
                s.connect(self.socket_path)
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                chunks: list[bytes] = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
        except OSError as e:
            raise RuntimeApiUnavailable(text, f"{type(e).__name__}: {e}") from e
        if not chunks:
            raise RuntimeApiUnavailable(text, "the socket closed without an answer (request too long?)")
        return b"".join(chunks).decode("utf-8", "replace")

    def command(self, command: str) -> str:
        """Run one command and return its answer (without the final empty line)."""
        _check_arg_line(command)
        return self.request(command).removesuffix("\n").removesuffix("\n")

    def change(self, command: str) -> None:
        """Run one command that answers nothing when it succeeds.

        Raises:
            RuntimeApiError: HAProxy answered something.
        """
        answer = self.command(command)
        if answer.strip():
            raise RuntimeApiError(command, answer)

    def changes(self, commands: Iterable[str], *, tolerate: Sequence[str] = ()) -> int:
        """Run many answer-nothing commands, joined by `;` into batches. Returns how many ran.

        Args:
            tolerate: refusals to ignore (e.g. "Key not found." when deleting what may be gone).

        Raises:
            RuntimeApiError: the first refusal not tolerated (later batches are not sent).
        """
        count = 0
        for batch in _batches(commands, ";", self.batch_bytes):
            for command in batch:
                _check_arg_line(command)
            answers = _split_answers(self.request(";".join(batch)))
            for command, answer in zip(batch, answers, strict=False):
                if answer and not any(answer.startswith(t) for t in tolerate):
                    raise RuntimeApiError(command, answer)
            if len(answers) < len(batch):
                raise RuntimeApiError(batch[len(answers)], "no answer")
            count += len(batch)
        return count

    # -- maps --------------------------------------------------------------------------------------

    def show_map(self, map_id: str, version: int | None = None) -> dict[str, str]:
        """The map's entries (key -> value); a key listed twice keeps its first value, as lookups do."""
        answer = self.command(f"show map {_ver(version)}{map_id}")
        entries: dict[str, str] = {}
        for line in answer.splitlines():
            ptr, _, rest = line.partition(" ")
            if not ptr.startswith("0x"):
                raise RuntimeApiError(f"show map {map_id}", answer)
            key, _, value = rest.partition(" ")
            entries.setdefault(key, value)
        return entries

    def add_map(self, map_id: str, entries: Mapping[str, str], version: int | None = None) -> None:
        """Add entries in payload batches (a key already there gets a second entry: delete it first)."""
        head = f"add map {_ver(version)}{map_id} <<\n"
        lines = (f"{k} {v}\n" for k, v in entries.items())
        for batch in _batches(lines, "", self.batch_bytes - len(head) - 1):
            payload = "".join(batch)
            _check_payload(payload)
            answer = self.request(head + payload + "\n")
            if answer.strip():
                raise RuntimeApiError(head.strip(), answer)

    def del_map(self, map_id: str, keys: Iterable[str], *, missing_ok: bool = False) -> int:
        """Delete every entry of each key. Returns how many keys were sent."""
        tolerate = ("Key not found.",) if missing_ok else ()
        return self.changes((f"del map {map_id} {k}" for k in keys), tolerate=tolerate)

    def set_map(self, map_id: str, entries: Mapping[str, str]) -> int:
        """Change the value of existing keys (HAProxy refuses a key it does not hold)."""
        return self.changes(f"set map {map_id} {k} {v}" for k, v in entries.items())

    def prepare_map(self, map_id: str) -> int:
        """Start a new, empty version of the map; lookups keep using the current one until commit."""
        answer = self.command(f"prepare map {map_id}")
        found = _VERSION.search(answer)
        if not found:
            raise RuntimeApiError(f"prepare map {map_id}", answer)
        return int(found.group(1))

    def commit_map(self, map_id: str, version: int) -> None:
        """Make `version` the map's contents at once (older versions are dropped)."""
        self.change(f"commit map @{version} {map_id}")

    def replace_map(self, map_id: str, entries: Mapping[str, str]) -> None:
        """Swap the map's whole contents for `entries` atomically: prepare, add, commit."""
        version = self.prepare_map(map_id)
        self.add_map(map_id, entries, version)
        self.commit_map(map_id, version)

    # -- stick tables, sessions, process -----------------------------------------------------------

    def show_table(self, table: str) -> list[TableEntry]:
        """Every entry of a stick table."""
        out: list[TableEntry] = []
        for line in self._table_lines(table):
            if m := _ENTRY.match(line):
                ptr, key, use, _, rest = m.groups()
                out.append(TableEntry(ptr, key, int(use), dict(_DATA.findall(rest))))
        return out

    def table_keys(self, table: str) -> list[str]:
        """The keys of a stick table's entries: `show table` read for nothing else (tens of thousands of
        entries at a time, when the agent looks for connections to close)."""
        return [line.partition(" key=")[2].partition(" ")[0] for line in self._table_lines(table) if " key=" in line]

    def _table_lines(self, table: str) -> list[str]:
        answer = self.command(f"show table {table}")
        lines = answer.splitlines()
        if not lines or not lines[0].startswith("# table:"):
            raise RuntimeApiError(f"show table {table}", answer)
        return lines[1:]

    def clear_table(self, table: str, key: str | None = None) -> None:
        """Remove one key (or every unused entry) from a stick table."""
        self.change(f"clear table {table}" + (f" key {key}" if key is not None else ""))

    def show_sess(self) -> list[Session]:
        """Every live stream (the CLI's own included)."""
        out: list[Session] = []
        for line in self.command("show sess").splitlines():
            if m := _SESSION.match(line):
                out.append(Session(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)))
        return out

    def shutdown_sessions(self, ptrs: Iterable[str]) -> int:
        """Close streams at once; one already gone is not an error. Returns how many were asked."""
        return self.changes((f"shutdown session {p}" for p in ptrs), tolerate=("No such session",))

    def backend_sessions(self) -> dict[str, int]:
        """Each backend's sessions since HAProxy started (`show stat`'s stot of its BACKEND row)."""
        answer = self.command("show stat -1 2 -1")  # every proxy, backend rows only
        lines = answer.splitlines()
        if not lines or not lines[0].startswith("# pxname,svname,"):
            raise RuntimeApiError("show stat", answer)
        columns = lines[0][2:].split(",")
        name, kind, stot = columns.index("pxname"), columns.index("svname"), columns.index("stot")
        out: dict[str, int] = {}
        for row in csv.reader(lines[1:]):
            if len(row) > stot and row[kind] == "BACKEND":
                out[row[name]] = int(row[stot] or 0)
        return out

    def show_info(self) -> dict[str, str]:
        """`show info` as a dict (Pid, Uptime_sec, CurrConns, ...)."""
        answer = self.command("show info")
        info = dict(line.split(": ", 1) for line in answer.splitlines() if ": " in line)
        if "Pid" not in info:
            raise RuntimeApiError("show info", answer)
        return info


def _ver(version: int | None) -> str:
    return "" if version is None else f"@{version} "


def _check_arg_line(command: str) -> None:
    if "\n" in command or ";" in command:
        raise ValueError(f"a runtime-API command holds no newline or ';': {command[:200]!r}")


def _check_payload(payload: str) -> None:
    if "\n\n" in payload or ";" in payload:
        raise ValueError("a payload line is empty or holds ';'")


def _batches(items: Iterable[str], sep: str, limit: int) -> Iterable[list[str]]:
    batch: list[str] = []
    size = 0
    for item in items:
        extra = len(item) + len(sep)
        if batch and size + extra > limit:
            yield batch
            batch, size = [], 0
        if extra > limit:
            raise ValueError(f"one runtime-API item is longer than {limit} bytes: {item[:80]!r}")
        batch.append(item)
        size += extra
    if batch:
        yield batch


def _split_answers(text: str) -> list[str]:
    """Each command's answer ends with an empty line; an empty answer is just that line."""
    answers: list[str] = []
    current: list[str] = []
    for line in text.split("\n")[:-1]:
        if line:
            current.append(line)
        else:
            answers.append("\n".join(current))
            current = []
    return answers
