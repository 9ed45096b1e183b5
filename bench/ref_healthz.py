"""Reference app for bench_http.py: a bare FastAPI `/healthz`, the floor for prefixgate's own `/healthz`.

Served by ref_serve.py with the uvicorn settings `prefixgate serve` uses.
"""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app
