"""`prefixgate edge`: follow the change feed, compile, and keep HAProxy programmed.

One loop thread follows the feed (snapshot, then long-polled changes) and installs each new state: it
compiles the table (only what the changes touched), renders the maps and programs the differences into
HAProxy. A second thread then closes the established connections that stopped being served, a third
reports the served revision to the control plane soon after each install (both coalesced: one run
covers every install made during the last), and a fourth refreshes origin names and saves the state.
HAProxy's supervisor restarts it if it dies and calls `reprogram`, which loads the current maps again.
An agent started where an earlier one left HAProxy serving adopts it and loads its own table into it
(haproxy_supervisor.py).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from ..domain.net import IPAddress
from .feed_client import FeedClient, FeedGone, FeedUnavailable
from .metrics import EdgeStatus
from .render import MapChanges, adds_only, only_adds, render_maps, update_maps
from .render import MapSet as RenderedMaps
from .state import CorruptSnapshot, EdgeState, Touched, apply_changes_touched
from .store import StateStore
from .table import EdgeTable, TableDelta, Tracked, compile_table, stale_connections, update_table

__all__ = ["AgentOptions", "DataPlane", "EdgeAgent"]

_log = logging.getLogger("prefixgate.edge")

MapSet = Mapping[str, Mapping[str, str]]


class DataPlane(Protocol):
    """HAProxy, started and programmed (prefixgate.edge.haproxy_*)."""

    @property
    def restarts(self) -> int: ...

    @property
    def running(self) -> bool: ...

    def start(self, maps: MapSet, reprogram: Callable[[], None]) -> None: ...

    def load(self, maps: MapSet) -> None: ...

    def program(self, old: MapSet, new: MapSet, keys: Mapping[str, Collection[str]] | None = None) -> None: ...

    def close_unserved(self, still_served: Callable[[Tracked], bool]) -> int: ...

    def outcomes(self) -> Mapping[str, int]: ...

    def stop(self) -> None: ...

    def detach(self) -> None: ...


class Names(Protocol):
    def resolve(self, names: Iterable[str]) -> tuple[Mapping[str, IPAddress | None], bool]: ...


@dataclass(frozen=True, slots=True)
class AgentOptions:
    node: str
    poll_timeout_s: float = 25.0
    report_every_s: float = 5.0
    retry_min_s: float = 0.2
    retry_max_s: float = 5.0
    save_every_s: float = 1.0


class EdgeAgent:
    def __init__(
        self,
        options: AgentOptions,
        feed: FeedClient,
        plane: DataPlane,
        store: StateStore,
        names: Names,
    ) -> None:
        self._options = options
        self._feed, self._plane, self._store, self._names = feed, plane, store, names
        self._lock = threading.RLock()  # one install at a time: the loop's, the refresher's, a restart's
        self._state = EdgeState()
        self._table = compile_table(self._state)
        self._rendered: RenderedMaps | None = None
        self._maps: MapSet = {}
        self._status = EdgeStatus()
        self._stop = threading.Event()
        self._report_due = threading.Event()  # an install happened: report the revision (coalesced)
        self._close_due = threading.Event()  # an install may have left connections without their object
        self._saved_revision = -1
        self._last_save = 0.0  # when the last save ended (monotonic), and how long it took
        self._save_took = 0.0
        self._saving = threading.Lock()  # held by the one save in flight (a background thread's, or stop's)
        self._threads: list[threading.Thread] = []

    # ---- status ------------------------------------------------------------------------------------

    def status(self) -> EdgeStatus:
        with self._lock:
            s = self._status
            maps = {name: len(entries) for name, entries in self._maps.items()}
        outcomes = s.outcomes
        if self._plane.running:
            try:
                outcomes = self._plane.outcomes()
            except Exception:  # the runtime API was busy or restarting: the last counts read
                _log.debug("edge.outcomes_unreadable", exc_info=True)
            else:
                self._set(outcomes=outcomes)
        return replace(
            s,
            map_entries=maps,
            outcomes=outcomes,
            haproxy_restarts=self._plane.restarts,
            haproxy_up=self._plane.running,
        )

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    @property
    def revision(self) -> int:
        return self._state.revision

    # ---- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Serve the saved table at once (if there is one), then follow the feed in the background."""
        saved: EdgeState | None = None
        try:
            saved = self._store.load()
        except CorruptSnapshot as e:
            _log.warning("edge.saved_state_refused", extra={"reason": str(e)})
            self._set(snapshots_refused=self._status.snapshots_refused + 1)
        if saved is not None:
            self._state, self._table = saved, compile_table(saved)
            self._set(
                revision=saved.revision,
                serving_saved_state=True,
                not_served_apps=tuple((app_id, "udp_not_proxied") for app_id in self._table.udp_apps),
            )
        self._rendered = self._render(self._table)
        self._maps = self._rendered.as_dict()
        self._plane.start(self._maps, self.reprogram)
        threads = (
            (self._follow, "edge-feed"),
            (self._closing, "edge-close"),
            (self._reporting, "edge-report"),
            (self._refresh, "edge-refresh"),
        )
        for target, name in threads:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, *, leave_serving: bool = False) -> None:
        """Stop following the feed and save the state; stop HAProxy too, unless `leave_serving` (then it
        keeps serving the last maps, and the next agent on the same state dir adopts it)."""
        self._stop.set()
        self._report_due.set()
        self._close_due.set()
        for thread in self._threads:
            # A long poll in flight is not waited for: its thread is a daemon, and nothing it could still
            # install matters once HAProxy stops (or is let go: the plane then programs nothing more).
            thread.join(timeout=1.0)
        if leave_serving:
            self._plane.detach()
        else:
            self._plane.stop()
        self._save(force=True)

    def reprogram(self) -> None:
        """After HAProxy came back: load the current maps into it."""
        with self._lock:
            self._plane.load(self._maps)

    # ---- the feed ------------------------------------------------------------------------------------

    def _follow(self) -> None:
        need_snapshot = True
        delay = self._options.retry_min_s
        while not self._stop.is_set():
            try:
                if need_snapshot:
                    self._install(self._feed.snapshot(), snapshot=True)
                    need_snapshot = False
                else:
                    batch = self._feed.changes(self._state.revision, self._options.poll_timeout_s)
                    self._set(control_plane_up=True, control_plane_revision=max(batch.revision, self._state.revision))
                    if batch.changes:
                        state, touched = apply_changes_touched(self._state, batch.revision, batch.changes)
                        self._install(state, snapshot=False, touched=touched)
                    elif batch.revision != self._state.revision:
                        need_snapshot = True  # the head moved without changes: only a reload is safe
                delay = self._options.retry_min_s
            except FeedGone:
                _log.info("edge.feed_gone", extra={"revision": self._state.revision})
                need_snapshot = True
            except CorruptSnapshot as e:
                _log.warning("edge.snapshot_refused", extra={"reason": str(e)})
                self._set(snapshots_refused=self._status.snapshots_refused + 1, control_plane_up=True)
                self._stop.wait(delay)
                delay = min(delay * 2, self._options.retry_max_s)
            except FeedUnavailable as e:
                _log.info("edge.feed_unavailable", extra={"reason": str(e)})
                self._set(control_plane_up=False)
                self._stop.wait(delay)
                delay = min(delay * 2, self._options.retry_max_s)
            except Exception:  # the loop must outlive any one bad answer; the table stays as it was
                _log.exception("edge.install_failed")
                self._stop.wait(delay)
                delay = min(delay * 2, self._options.retry_max_s)
                need_snapshot = True

    def _render(self, table: EdgeTable) -> RenderedMaps:
        resolved, _ = self._names.resolve(table.origin_names)
        return render_maps(table, resolved=resolved, previous=self._rendered)

    def _install(self, state: EdgeState, *, snapshot: bool, touched: Touched | None = None) -> None:
        """Serve `state`. With `touched` (what a batch of changes touched in the state served now), only
        that is compiled, rendered and programmed again; else (a snapshot) everything is."""
        base = self._table
        delta: TableDelta | None = None
        if touched is None:
            table = compile_table(state)
        else:
            table, delta = update_table(base, state, touched)
        with self._lock:
            previous = self._rendered
            changes: MapChanges | None = None
            if delta is None or previous is None:
                rendered = self._render(table)
            else:
                resolved, _ = self._names.resolve(table.origin_names)
                rendered, changes = update_maps(previous, base, table, delta, resolved=resolved)
            maps = rendered.as_dict()
            keys = None if changes is None else {name: entries.keys() for name, entries in changes.items()}
            self._plane.program(self._maps, maps, keys)
            self._state, self._table, self._rendered, self._maps = state, table, rendered, maps
            s = self._status
            self._status = replace(
                s,
                revision=state.revision,
                control_plane_revision=max(s.control_plane_revision, state.revision),
                control_plane_up=True,
                serving_saved_state=False,
                snapshots_loaded=s.snapshots_loaded + int(snapshot),
                changes_applied=s.changes_applied + int(not snapshot),
                not_served_apps=tuple((app_id, "udp_not_proxied") for app_id in table.udp_apps),
            )
        if snapshot:
            # Keep the collector from walking the millions of (acyclic) rows of a big state on every
            # later full collection: objects alive now move to the permanent generation. Rows freed
            # later are still freed by reference counting.
            gc.freeze()
        if previous is None:
            lost = True
        elif changes is not None:
            lost = not adds_only(previous, changes)
        else:
            lost = not only_adds(previous, rendered)
        if lost:  # else nothing can have lost its object
            self._close_due.set()
        self._report_due.set()  # off this thread: the next change is not kept waiting for the answer
        self._save()

    # ---- reports, names and the state on disk --------------------------------------------------------

    def _report(self) -> None:
        try:
            self._feed.report(self._options.node, self._state.revision)
        except FeedUnavailable:
            self._set(reports_failed=self._status.reports_failed + 1)

    def _closing(self) -> None:
        """After an install that removed or changed map entries, close the established connections the
        table now being served no longer gives their object. Off the feed thread, so the next change is
        not kept waiting while st_conns is searched; installs made during a search are covered by one more
        search against the newest table."""
        while not self._stop.is_set():
            self._close_due.wait()
            if self._stop.is_set():
                return
            self._close_due.clear()
            with self._lock:
                table = self._table
            try:
                closed = self._plane.close_unserved(_served_by(table))
            except Exception:  # HAProxy restarting, say: the next install searches again
                _log.exception("edge.close_failed")
                continue
            if closed:
                with self._lock:
                    self._status = replace(self._status, connections_closed=self._status.connections_closed + closed)

    def _reporting(self) -> None:
        """Report the served revision soon after each install (installs while a report is in flight make
        one more report, not one each), and every report_every_s anyway, so the node stays live."""
        while not self._stop.is_set():
            self._report_due.wait(self._options.report_every_s)
            if self._stop.is_set():
                return
            self._report_due.clear()
            self._report()

    def _refresh(self) -> None:
        while not self._stop.wait(self._options.report_every_s):
            with self._lock:
                table = self._table
            _, changed = self._names.resolve(table.origin_names)
            if changed:
                with self._lock:
                    if self._table is table:
                        rendered = self._render(table)
                        maps = rendered.as_dict()
                        self._plane.program(self._maps, maps)
                        self._rendered, self._maps = rendered, maps
            self._save()

    def _save(self, *, force: bool = False) -> None:
        """Save the newest state: here and now when `force` (after a save in flight); otherwise in a
        background thread, one save at a time, and at least max(save_every_s, 5 x the last save's time)
        after the last one ended (at 1M delegations a save takes seconds, and the feed loop must not wait
        for it). A state left unsaved is saved by a later call: the report thread calls every few seconds."""
        if force:
            with self._saving:
                self._write_state()
            return
        if self._state.revision == self._saved_revision:
            return
        if time.monotonic() - self._last_save < max(self._options.save_every_s, 5 * self._save_took):
            return
        if not self._saving.acquire(blocking=False):
            return
        try:
            threading.Thread(target=self._save_in_background, name="edge-save", daemon=True).start()
        except BaseException:
            self._saving.release()
            raise

    def _save_in_background(self) -> None:
        try:
            self._write_state()
        except Exception:  # the state stays served; the next save tries again
            _log.exception("edge.save_failed")
        finally:
            self._saving.release()

    def _write_state(self) -> None:
        with self._lock:
            state = self._state
        if state.revision == self._saved_revision:
            return
        start = time.monotonic()
        self._store.save(state)  # EdgeState is an immutable snapshot: later installs make new ones
        end = time.monotonic()
        self._saved_revision, self._last_save, self._save_took = state.revision, end, end - start


def _served_by(table: EdgeTable) -> Callable[[Tracked], bool]:
    """Whether `table` still serves a tracked connection by its object: decided once per destination,
    object and hostname, which tens of thousands of tracked connections share far fewer of."""
    decided: dict[Tracked, bool] = {}

    def still_served(t: Tracked) -> bool:
        served = decided.get(t)
        if served is None:
            served = decided[t] = not stale_connections(table, (t,))
        return served

    return still_served
