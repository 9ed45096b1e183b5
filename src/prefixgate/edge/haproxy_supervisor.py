"""Runs HAProxy as a child process and brings it back when it dies.

`start()` writes haproxy.cfg (checked with `haproxy -c`) and the five map files into the state dir,
starts `haproxy -db -f haproxy.cfg` and waits until its runtime API answers with the child's pid. A
watcher thread waits on the child; if it exits while the supervisor is not stopping, the map files are
written again from `maps()` (the table the agent serves now, so the new process starts from it rather
than from the first one), HAProxy is started again and `on_restart(runtime)` is called once its API
answers, to program whatever changed meanwhile. Restarts back off (up to 5 s) while HAProxy keeps
dying at once. HAProxy's output goes to haproxy.out in the state dir.

No reloads: the configuration never changes while the agent runs, and map changes go through the
runtime API, so HAProxy never needs `-sf`.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO

from .haproxy_config import HAPROXY_BIN, HaproxySettings, check_config, render_config
from .haproxy_maps import MapSet, write_map_files
from .haproxy_runtime import RuntimeApi, RuntimeApiError

__all__ = ["HaproxyNotReady", "HaproxySupervisor"]

_log = logging.getLogger("prefixgate.edge.haproxy")
_STABLE_S = 10.0  # a child that ran this long resets the back-off
_MAX_BACKOFF_S = 5.0


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
        self._bin = haproxy_bin
        self._ready_timeout_s = ready_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._watcher: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The running child's pid (None before start and after stop)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> HaproxySupervisor:
        """Write the configuration and maps, start HAProxy and wait until it answers.

        Raises:
            ConfigError: `haproxy -c` refuses the configuration.
            HaproxyNotReady: HAProxy exited or did not answer within `ready_timeout_s`.
        """
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        write_map_files(s.maps_dir, self._maps())
        s.config_path.write_text(render_config(s), encoding="ascii")
        check_config(s.config_path, self._bin)
        self._out = open(s.state_dir / "haproxy.out", "ab")  # noqa: SIM115 - kept open for the children
        try:
            self._spawn()
        except BaseException:
            self._out.close()
            self._out = None
            raise
        self._watcher = threading.Thread(target=self._watch, name="haproxy-supervisor", daemon=True)
        self._watcher.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop HAProxy (SIGTERM, then SIGKILL after `timeout_s`) and the watcher."""
        self._stopping.set()
        with self._lock:  # no new child after this point (see _spawn)
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._watcher is not None:
            self._watcher.join(timeout_s)
        if self._out is not None:
            self._out.close()
            self._out = None
        self._proc = None
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> HaproxySupervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_restarts(self, count: int, timeout_s: float) -> bool:
        """Wait until HAProxy has been restarted `count` times and answers again. Returns whether it was."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            return self._changed.wait_for(lambda: self.restarts >= count, max(0.0, deadline - time.monotonic()))

    def _spawn(self) -> None:
        s = self.settings
        cmd = [self._bin, "-db", "-f", str(s.config_path)]
        with self._lock:
            if self._stopping.is_set():
                raise HaproxyNotReady("the supervisor is stopping")
            self._proc = subprocess.Popen(  # noqa: S603 - fixed binary, our own configuration
                cmd, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT, cwd=s.state_dir
            )
        self._await_ready(self._proc)
        _log.info("haproxy.started", extra={"pid": self._proc.pid, "listen_port": s.listen_port})

    def _await_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self._ready_timeout_s
        while True:
            if proc.poll() is not None:
                raise HaproxyNotReady(
                    f"haproxy exited with {proc.returncode}; see {self.settings.state_dir}/haproxy.out"
                )
            try:
                if self.runtime.show_info().get("Pid") == str(proc.pid):
                    return
            except RuntimeApiError:
                pass
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise HaproxyNotReady(f"haproxy did not answer on {self.settings.socket_path} in time")
            time.sleep(0.01)

    def _watch(self) -> None:
        backoff = 0.05
        while not self._stopping.is_set():
            proc = self._proc
            if proc is None:
                return
            started = time.monotonic()
            code = proc.wait()
            if self._stopping.is_set():
                return
            _log.warning("haproxy.exited", extra={"pid": proc.pid, "returncode": code})
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
