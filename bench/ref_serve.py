"""Serve one of bench_http.py's reference apps with the uvicorn settings `prefixgate serve` uses.

    .venv/bin/python bench/ref_serve.py {healthz,select} --port PORT [--workers N] [--db FILE]

The uvicorn options come from prefixgate.api.serving, the module `prefixgate serve` takes them from,
so the reference apps differ from prefixgate in the application only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from prefixgate.api import serving

# Exactly `prefixgate serve`'s uvicorn settings (HTTP protocol, event loop, logging).
UVICORN_OPTIONS = serving.UVICORN_OPTIONS
APPS = {"healthz": "ref_healthz:create_app", "select": "ref_select:create_app"}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("app", choices=sorted(APPS))
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--db", type=Path, help="select: the SQLite file (made and filled when absent)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # worker processes inherit sys.path
    if args.app == "select":
        from ref_select import DB_ENV, prepare

        if args.db is None:
            ap.error("select needs --db")
        prepare(args.db)
        os.environ[DB_ENV] = str(args.db)
    options: dict[str, Any] = dict(UVICORN_OPTIONS)  # the same settings `prefixgate serve` uses
    uvicorn.run(APPS[args.app], factory=True, host="127.0.0.1", port=args.port, workers=args.workers, **options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
