"""The ASGI entry point for uvicorn workers: settings come from PREFIXGATE_* variables."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from ..logs import configure_logging
from ..settings import Settings
from .app import create_app

__all__ = ["app_factory"]


def app_factory() -> FastAPI:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    app = create_app(settings)
    # Everything built so far (modules, routes, schemas, the compiled queries) lives as long as the
    # process: take it out of the garbage collector's sight, so its passes only walk what requests make.
    gc.freeze()
    return app
