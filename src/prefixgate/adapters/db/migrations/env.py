"""Alembic environment: prefixgate passes the URL (or an open connection) in the Config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from prefixgate.adapters.db.engine import make_engine
from prefixgate.adapters.db.tables import POSTGRES_ONLY, metadata

config = context.config


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (reflected and name in POSTGRES_ONLY)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("prefixgate migrations run online only")
run_migrations_online()
