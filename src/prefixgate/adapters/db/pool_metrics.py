"""Connection-pool gauges from SQLAlchemy's pool events: connections in use, threads waiting for one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import PoolProxiedConnection

from ... import metrics

__all__ = ["install_pool_metrics"]

_OUT = "prefixgate_checked_out"
_INSTALLED = "prefixgate_pool_metrics"


def install_pool_metrics(engine: Engine) -> None:
    """Keep prefixgate_db_pool_in_use and prefixgate_db_pool_waiting up to date for `engine` (once per engine)."""
    if getattr(engine, _INSTALLED, False):
        return
    setattr(engine, _INSTALLED, True)
    event.listen(engine, "checkout", _on_checkout)
    event.listen(engine, "checkin", _on_checkin)
    # Every Connection takes its DBAPI connection through raw_connection(); wrapping it on the engine
    # (not the pool) survives engine.dispose(), which replaces the pool.
    engine.raw_connection = _counting(engine.raw_connection)  # type: ignore[method-assign]


def _counting(get: Callable[[], PoolProxiedConnection]) -> Callable[[], PoolProxiedConnection]:
    def raw_connection() -> PoolProxiedConnection:
        metrics.pool_wait_started()
        try:
            return get()
        finally:
            metrics.pool_wait_ended()

    return raw_connection


def _on_checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
    # The mark lives in record_info, which survives the record's reconnects, so a connection
    # invalidated while in use is still counted back in; a failed checkout (no mark) is not.
    record.record_info[_OUT] = True
    metrics.pool_checked_out()


def _on_checkin(_dbapi: Any, record: Any) -> None:
    if record.record_info.pop(_OUT, False):
        metrics.pool_checked_in()
