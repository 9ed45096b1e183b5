"""First come, first served admission of SQLite writers within one process.

SQLite has one write lock per database. Its busy handler makes a waiting writer sleep and retry with a
growing back-off, so under contention a writer that arrived late can take the lock while an early one
sleeps, and the slowest writes wait many times longer than the typical one. Writers of this process
queue here instead, each on its own event, and the lock passes straight to the longest waiter; only the
head of the queue asks SQLite for its lock (other processes still meet SQLite's busy handler).
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["WriterQueue"]


class WriterQueue:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for this writer's turn. Returns False if it did not come."""
        with self._mutex:
            if not self._held and not self._waiting:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out
                return True
            self._waiting.remove(turn)
            return False

    def try_acquire(self) -> bool:
        """Take the turn only if nobody holds it or waits for it."""
        with self._mutex:
            if self._held or self._waiting:
                return False
            self._held = True
            return True

    def release(self) -> None:
        """End this writer's turn, handing it to the longest waiter if there is one."""
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # ownership passes directly: _held stays True
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        return len(self._waiting)
