"""Reference app for bench_http.py: one sync route doing one indexed SELECT (a primary-key lookup of a
rotating id) on SQLite through SQLAlchemy Core, the floor for prefixgate's authenticated reads and writes.

Served by ref_serve.py with the uvicorn settings `prefixgate serve` uses; the database file (named by
$REF_SELECT_DB) is made and filled by `prepare()` before the workers start.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

DB_ENV = "REF_SELECT_DB"
ROWS = 10_000

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("value", Integer, nullable=False),
)


def prepare(path: Path) -> None:
    """Create and fill the SQLite file at `path` unless it already exists."""
    if path.exists():
        return
    engine = create_engine(f"sqlite:///{path}")
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(items), [{"id": i, "name": f"item-{i}", "value": i * 7} for i in range(1, ROWS + 1)])
    finally:
        engine.dispose()


def create_app() -> FastAPI:
    engine = create_engine(f"sqlite:///{os.environ[DB_ENV]}", pool_size=40, max_overflow=40)
    ids = itertools.cycle(range(1, ROWS + 1))  # next() on it is atomic under the GIL: threads may share it
    app = FastAPI()

    @app.get("/item", response_model=None)
    def item() -> dict[str, object]:
        with engine.connect() as conn:
            row = conn.execute(select(items).where(items.c.id == next(ids))).one()
        return {"id": row.id, "name": row.name, "value": row.value}

    return app
