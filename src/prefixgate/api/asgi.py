"""The ASGI entry point for uvicorn workers: settings come from PREFIXGATE_* variables."""

from __future__ import annotations

from fastapi import FastAPI

from ..logs import configure_logging
from ..settings import Settings
from .app import create_app

__all__ = ["app_factory"]


def app_factory() -> FastAPI:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
