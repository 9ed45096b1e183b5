"""The in-process SQLite writer queue: one writer at a time, turns handed over in arrival order."""

from __future__ import annotations

import threading
import time

from prefixgate.adapters.db.writers import WriterQueue


def test_turns_pass_in_arrival_order() -> None:
    q = WriterQueue()
    assert q.acquire(timeout=1)
    order: list[int] = []
    threads = []
    for i in range(8):

        def writer(i: int = i) -> None:
            assert q.acquire(timeout=10)
            order.append(i)
            q.release()

        t = threading.Thread(target=writer)
        t.start()
        deadline = time.monotonic() + 10
        while q.waiting < i + 1 and time.monotonic() < deadline:  # writer i is queued before i+1 starts
            time.sleep(0.001)
        threads.append(t)
    assert q.waiting == 8
    q.release()
    for t in threads:
        t.join(timeout=10)
    assert order == list(range(8))
    assert q.try_acquire()  # free again once everyone is done


def test_a_writer_gives_up_when_its_turn_does_not_come() -> None:
    q = WriterQueue()
    assert q.acquire(timeout=1)
    assert not q.try_acquire()
    assert not q.acquire(timeout=0.05)
    assert q.waiting == 0  # it left the queue
    q.release()
    assert q.acquire(timeout=0)
    q.release()
