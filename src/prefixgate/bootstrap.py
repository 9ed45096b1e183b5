"""Opening a database from the CLI: migrations on SQLite, a schema check on PostgreSQL."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .adapters.db.engine import make_engine
from .adapters.db.migrate import alembic_config, upgrade
from .adapters.db.uow import SqlDatabase
from .settings import Settings

__all__ = ["SchemaNotCurrent", "open_database"]


class SchemaNotCurrent(RuntimeError):
    pass


def open_database(settings: Settings, *, migrate: bool | None = None) -> SqlDatabase:
    """Open the database. SQLite (embedded) is migrated to head automatically; PostgreSQL is
    migrated only by `prefixgate migrate`, so a fleet of API processes never races a migration.

    Raises:
        SchemaNotCurrent: PostgreSQL's schema is not at the newest revision.
    """
    engine = make_engine(
        settings.database_url,
        statement_timeout_ms=settings.statement_timeout_ms,
        connect_timeout_s=settings.connect_timeout_s,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    if migrate is None:
        migrate = engine.dialect.name == "sqlite"
    if migrate:
        upgrade(engine)
    else:
        head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            engine.dispose()
            raise SchemaNotCurrent(
                f"database schema is at {current or 'nothing'}, not {head}: run `prefixgate migrate` first"
            )
    return SqlDatabase(engine, edge_feed_keep=settings.edge_feed_keep)
