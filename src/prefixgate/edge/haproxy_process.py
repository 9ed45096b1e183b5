"""One HAProxy process, whether this agent started it or adopted it from an agent before it.

A process is watched through a pidfd (`os.pidfd_open`), which refers to that process and no other even
after its pid is reused, becomes readable when it exits, and sends signals to it alone. Processes are
started with `os.posix_spawn` in a session of their own (`setsid`), so a signal to the agent's process
group (Ctrl-C, a kill of the group) does not reach HAProxy. A child is reaped when it exits; an adopted
process is reaped by its own parent (or init), unless that is still this process (an agent that let go
of its HAProxy and adopted it again, as tests do).

`haproxy.pid` in the state dir names the running process: its pid on the first line and, on the second,
the SHA-256 of the configuration text it was started with (so an agent can tell whether it must reload,
even if it died between writing a new haproxy.cfg and starting HAProxy with it). It is written
atomically once HAProxy answers, and removed when HAProxy is stopped on purpose.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import select
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HaproxyProcess", "PidRecord", "config_digest", "names_config", "read_pid_file", "write_pid_file"]


def config_digest(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class HaproxyProcess:
    """A process and its pidfd.

    Args:
        pid: the process.
        pidfd: a pidfd for it (owned by this object from now on).
    """

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.returncode: int | None = None  # set by `reap` for a child: the exit code, or -signal

    @classmethod
    def spawn(cls, argv: Sequence[str], *, output: int) -> HaproxyProcess:
        """Start `argv` in a new session, stdin from /dev/null, stdout and stderr to the fd `output`."""
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_DUP2, output, 1),
            (os.POSIX_SPAWN_DUP2, output, 2),
        ]
        pid = os.posix_spawn(argv[0], list(argv), dict(os.environ), file_actions=actions, setsid=True)
        return cls(pid, os.pidfd_open(pid))

    @classmethod
    def attach(cls, pid: int) -> HaproxyProcess | None:
        """The process `pid`, if there is one (not yet checked to be HAProxy)."""
        try:
            return cls(pid, os.pidfd_open(pid))
        except (ProcessLookupError, ValueError, OverflowError):
            return None

    def exited(self, timeout_s: float = 0.0) -> bool:
        """Whether the process has exited (waiting up to `timeout_s` for it to)."""
        if self.pidfd < 0:
            return True
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        return bool(poller.poll(max(0, round(timeout_s * 1000))))

    def send(self, sig: int) -> None:
        """Send `sig`; a process already gone is not an error."""
        if self.pidfd >= 0:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, sig)

    def terminate(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL if it has not exited within `timeout_s`; waits for it and reaps it."""
        self.send(signal.SIGTERM)
        if not self.exited(timeout_s):
            self.send(signal.SIGKILL)
            self.exited(timeout_s)
        self.reap()

    def reap(self) -> int | None:
        """Once it has exited: collect its exit status (`returncode`) if it is a child of this process.
        Returns it (None for a process that is not: its own parent, or init, reaps it)."""
        if self.returncode is None and self.pidfd >= 0:
            try:
                info = os.waitid(os.P_PIDFD, self.pidfd, os.WEXITED | os.WNOHANG)
            except ChildProcessError:
                return None
            if info is not None:
                killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
                self.returncode = -info.si_status if killed else info.si_status
        return self.returncode

    def close(self) -> None:
        """Let go of the pidfd (the process keeps running if it does)."""
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


def names_config(pid: int, haproxy_bin: str, config_path: Path) -> bool:
    """Whether the process `pid` is the executable `haproxy_bin` running with `-f config_path`."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        argv = [a.decode("utf-8", "replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
    except OSError:  # gone, a zombie, or not ours to inspect
        return False
    # A package upgrade replaces the file under a running process: its exe then reads "... (deleted)".
    binary = os.path.realpath(haproxy_bin)
    if os.path.realpath(exe.removesuffix(" (deleted)")) != binary and os.path.realpath(argv[0]) != binary:
        return False
    config = str(config_path)
    return any(a == "-f" and b == config for a, b in itertools.pairwise(argv))


@dataclass(frozen=True, slots=True)
class PidRecord:
    pid: int
    config_digest: str


def read_pid_file(path: Path) -> PidRecord | None:
    """The record in `path`; None if there is none or it does not parse."""
    try:
        lines = path.read_text(encoding="ascii").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if len(lines) < 2 or not lines[0].isdigit() or int(lines[0]) <= 0:
        return None
    return PidRecord(int(lines[0]), lines[1].strip())


def write_pid_file(path: Path, record: PidRecord) -> None:
    """Write the record atomically (a temporary file, then a rename)."""
    tmp = path.with_suffix(".pid.tmp")
    tmp.write_text(f"{record.pid}\n{record.config_digest}\n", encoding="ascii")
    os.replace(tmp, path)
