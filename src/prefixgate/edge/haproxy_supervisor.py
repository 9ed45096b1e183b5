"""Runs HAProxy, adopts the one an earlier agent left serving, and brings it back when it dies.

`start()` first looks at `haproxy.pid` in the state dir (haproxy_process.py). When it names a live
process that is this HAProxy binary running this state dir's haproxy.cfg, and whose runtime API answers
`show info` with that pid, the supervisor adopts it: no new process, nothing dropped (`adopted`). If
the configuration we would render differs from the one that process was started with, a new HAProxy is
started with `-x <stats socket> -sf <old pid>`: it takes the listening sockets over from the old one
(the stats socket has `expose-fd listeners`), so no connection is refused, and the old one finishes
its connections and exits (`reloaded_from`). A pid file naming anything else is stale: it is removed
and HAProxy is started afresh.

Fresh starts write haproxy.cfg (checked with `haproxy -c`) and the five map files, start
`haproxy -db -f haproxy.cfg` in a session of its own and wait until its runtime API answers with its
pid. A watcher thread waits on the process's pidfd; if it exits while the supervisor is not stopping,
the map files are written again from `maps()` (the table the agent serves now, so the new process
starts from it rather than from the first one), HAProxy is started again and `on_restart(runtime)` is
called once its API answers, to program whatever changed meanwhile. Restarts back off (up to 5 s)
while HAProxy keeps dying at once. HAProxy's output goes to haproxy.out in the state dir.

`stop()` stops HAProxy; `detach()` only stops supervising it, and leaves it serving its last maps for
the next agent to adopt. Map changes go through the runtime API, so HAProxy reloads only when an agent
starts with a different configuration.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from .haproxy_config import HAPROXY_BIN, HaproxySettings, check_config, render_config
from .haproxy_maps import MapSet, write_map_files
from .haproxy_process import HaproxyProcess, PidRecord, config_digest, names_config, read_pid_file, write_pid_file
from .haproxy_runtime import RuntimeApi, RuntimeApiError

__all__ = ["HaproxyNotReady", "HaproxySupervisor"]

_log = logging.getLogger("prefixgate.edge.haproxy")
_STABLE_S = 10.0  # a process that ran this long resets the back-off
_MAX_BACKOFF_S = 5.0
_PROBE_TIMEOUT_S = 2.0  # how long an adoption candidate's runtime API may take to answer


class HaproxyNotReady(RuntimeError):
    """HAProxy exited or did not answer on its runtime API in time (its output says why)."""


class HaproxySupervisor:
    """One supervised HAProxy.

    Args:
        settings: what the configuration is rendered from.
        maps: the MapSet to write into the map files at each (re)start.
        on_restart: called with the runtime API after HAProxy came back from an unexpected exit.
        haproxy_bin: the executable.
        ready_timeout_s: how long a start may take before it counts as failed.

    After `start()`, `adopted` says whether the HAProxy an earlier agent left is serving on (its maps
    are then that agent's last ones: load yours), and `reloaded_from` names the pid of one that was
    replaced because its configuration differed.
    """

    def __init__(
        self,
        settings: HaproxySettings,
        *,
        maps: Callable[[], MapSet],
        on_restart: Callable[[RuntimeApi], None] | None = None,
        haproxy_bin: str = HAPROXY_BIN,
        ready_timeout_s: float = 10.0,
    ) -> None:
        self.settings = settings
        self.runtime = RuntimeApi(settings.socket_path)
        self._maps = maps
        self._on_restart = on_restart
        self._bin = shutil.which(haproxy_bin) or haproxy_bin
        self._ready_timeout_s = ready_timeout_s
        self._proc: HaproxyProcess | None = None
        self._digest = ""
        self._out: IO[bytes] | None = None
        self._wake_r, self._wake_w = -1, -1
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._watcher: threading.Thread | None = None
        self.restarts = 0
        self.adopted = False
        self.reloaded_from: int | None = None

    @property
    def pid(self) -> int | None:
        """The supervised HAProxy's pid while it runs (None before start, after stop or detach)."""
        with self._lock:
            proc = self._proc
            return proc.pid if proc is not None and not proc.exited() else None

    def start(self) -> HaproxySupervisor:
        """Adopt the HAProxy serving from the state dir, or start one; then watch it.

        Raises:
            ConfigError: `haproxy -c` refuses the configuration.
            HaproxyNotReady: HAProxy exited or did not answer within `ready_timeout_s`.
        """
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        text = render_config(s)
        self._digest = config_digest(text)
        self._out = open(s.state_dir / "haproxy.out", "ab")  # noqa: SIM115 - kept open for the processes
        self._wake_r, self._wake_w = os.pipe()
        running: _Running | None = None
        try:
            running = self._find_running()
            write_map_files(s.maps_dir, self._maps())
            tmp = s.config_path.with_suffix(".cfg.tmp")
            tmp.write_text(text, encoding="ascii")
            check_config(tmp, self._bin)
            os.replace(tmp, s.config_path)
            if running is not None and running.digest == self._digest:
                self._proc, self.adopted = running.proc, True
                _log.info("haproxy.adopted", extra={"pid": running.proc.pid, "listen_port": s.listen_port})
            else:
                self._spawn(replacing=running.proc if running is not None else None)
                if running is not None:
                    self.reloaded_from = running.proc.pid
                    running.proc.close()  # it finishes its connections and exits on its own
        except BaseException:
            if running is not None and self._proc is not running.proc:
                running.proc.close()
            self._close_files()
            raise
        self._watcher = threading.Thread(target=self._watch, name="haproxy-supervisor", daemon=True)
        self._watcher.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop HAProxy (SIGTERM, then SIGKILL after `timeout_s`) and the watcher; remove the pid file."""
        proc = self._let_go(timeout_s)
        if proc is not None:
            proc.terminate(timeout_s)
            if (record := read_pid_file(self.settings.pid_path)) and record.pid == proc.pid:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.settings.pid_path)
            proc.close()
        self._notify()

    def detach(self, timeout_s: float = 10.0) -> None:
        """Stop supervising and leave HAProxy serving, with its pid file, for the next agent to adopt."""
        proc = self._let_go(timeout_s)
        if proc is not None:
            _log.info("haproxy.detached", extra={"pid": proc.pid})
            proc.close()
        self._notify()

    def __enter__(self) -> HaproxySupervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_restarts(self, count: int, timeout_s: float) -> bool:
        """Wait until HAProxy has been restarted `count` times and answers again. Returns whether it was."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            return self._changed.wait_for(lambda: self.restarts >= count, max(0.0, deadline - time.monotonic()))

    # -- adoption ----------------------------------------------------------------------------------

    def _find_running(self) -> _Running | None:
        """The HAProxy the pid file names, if it is ours and answers; a stale pid file is removed."""
        path = self.settings.pid_path
        if not os.path.lexists(path):
            return None
        record = read_pid_file(path)
        # The pidfd is taken before the checks, so they are about the process it refers to.
        proc = HaproxyProcess.attach(record.pid) if record is not None else None
        if record is not None and proc is not None and self._answers_as(proc):
            return _Running(proc, record.config_digest)
        if proc is not None:
            proc.close()
        _log.warning("haproxy.stale_pid_file", extra={"pid": record.pid if record is not None else None})
        os.unlink(path)
        return None

    def _answers_as(self, proc: HaproxyProcess) -> bool:
        if proc.exited() or not names_config(proc.pid, self._bin, self.settings.config_path):
            return False
        try:
            info = RuntimeApi(self.settings.socket_path, timeout=_PROBE_TIMEOUT_S).show_info()
        except RuntimeApiError:
            return False
        return info.get("Pid") == str(proc.pid) and not proc.exited()

    # -- processes ---------------------------------------------------------------------------------

    def _spawn(self, replacing: HaproxyProcess | None = None) -> None:
        s = self.settings
        argv = [self._bin, "-db", "-f", str(s.config_path)]
        if replacing is not None:  # -sf takes the pids up to the end of the line: it comes last
            argv += ["-x", str(s.socket_path), "-sf", str(replacing.pid)]
        assert self._out is not None
        with self._lock:
            if self._stopping.is_set():
                raise HaproxyNotReady("the supervisor is stopping")
            proc = HaproxyProcess.spawn(argv, output=self._out.fileno())
        try:
            self._await_ready(proc)
        except BaseException:
            proc.terminate(1.0)
            proc.close()
            raise
        write_pid_file(s.pid_path, PidRecord(proc.pid, self._digest))
        with self._lock:
            old, self._proc = self._proc, proc
        if old is not None and old is not replacing:
            old.close()
        if replacing is not None:
            _log.info("haproxy.reloaded", extra={"pid": proc.pid, "replaced": replacing.pid})
        else:
            _log.info("haproxy.started", extra={"pid": proc.pid, "listen_port": s.listen_port})

    def _await_ready(self, proc: HaproxyProcess) -> None:
        deadline = time.monotonic() + self._ready_timeout_s
        while True:
            if proc.exited():
                raise HaproxyNotReady(f"haproxy exited with {proc.reap()}; see {self.settings.state_dir}/haproxy.out")
            try:
                if self.runtime.show_info().get("Pid") == str(proc.pid):
                    return
            except RuntimeApiError:
                pass
            if self._stopping.is_set():
                raise HaproxyNotReady("the supervisor is stopping")
            if time.monotonic() > deadline:
                raise HaproxyNotReady(f"haproxy did not answer on {self.settings.socket_path} in time")
            time.sleep(0.01)

    def _let_go(self, timeout_s: float) -> HaproxyProcess | None:
        """End the watcher and hand over the process (the caller stops it or leaves it running)."""
        self._stopping.set()
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")
        if self._watcher is not None:
            self._watcher.join(timeout_s)
        with self._lock:  # no new process after this point (see _spawn)
            proc, self._proc = self._proc, None
        self._close_files()
        return proc

    def _close_files(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r, self._wake_w = -1, -1

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _wait_for_exit(self, proc: HaproxyProcess) -> bool:
        """Block until `proc` exits (True) or the supervisor stops or detaches (False)."""
        poller = select.poll()
        poller.register(proc.pidfd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while not self._stopping.is_set():
            if any(fd == proc.pidfd for fd, _ in poller.poll()):
                return not self._stopping.is_set()
        return False

    def _watch(self) -> None:
        backoff = 0.05
        while not self._stopping.is_set():
            with self._lock:
                proc = self._proc
            if proc is None:
                return
            started = time.monotonic()
            if not self._wait_for_exit(proc):
                return
            _log.warning("haproxy.exited", extra={"pid": proc.pid, "returncode": proc.reap()})
            if time.monotonic() - started > _STABLE_S:
                backoff = 0.05
            while not self._stopping.is_set():
                try:
                    write_map_files(self.settings.maps_dir, self._maps())
                    self._spawn()
                    break
                except (HaproxyNotReady, OSError) as e:
                    _log.error("haproxy.restart_failed", extra={"error": str(e), "retry_in_s": backoff})
                    if self._stopping.wait(backoff):
                        return
                    backoff = min(_MAX_BACKOFF_S, backoff * 2)
            if self._stopping.is_set():
                return
            self._reprogram()
            with self._changed:
                self.restarts += 1
                self._changed.notify_all()

    def _reprogram(self) -> None:
        if self._on_restart is None:
            return
        try:
            self._on_restart(self.runtime)
        except Exception:  # the callback's failure must not stop supervision
            _log.exception("haproxy.reprogram_failed")


@dataclass(frozen=True, slots=True)
class _Running:
    """An adoption candidate: the process and the digest of the configuration it was started with."""

    proc: HaproxyProcess
    digest: str
