"""The API's documentation pages (Swagger UI and ReDoc), working offline.

FastAPI's own pages load their JavaScript, CSS, favicon and (ReDoc) web fonts from public hosts,
so on a network without the internet they stay blank. Here every asset comes from prefixgate
itself: the Swagger UI and ReDoc bundles and the favicon that the fastapi-offline package ships
(MIT), served under `{base}/docs-assets/`.

The pages also carry a Content-Security-Policy that lets the browser load nothing from any other
origin, so a reference the bundles make on their own is refused before it leaves the machine: ReDoc's
sidebar loads its vendor's logo from a public host (there is no option to turn that off), and without
the logo it shows its "API docs by Redocly" link as text.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["install_docs"]

_ASSETS_PACKAGE = ("fastapi_offline", "static")
# Inline script and style: both pages start the UI from an inline <script>, and the UIs style inline.
_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "base-uri 'self'",
        "form-action 'self'",
    )
)


def _same_origin_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = _POLICY
    return page


def install_docs(app: FastAPI, base: str) -> None:
    """Serve `{base}/docs` and `{base}/redoc` for `app.openapi_url`, with the assets they need."""
    assert app.openapi_url is not None, "the pages show the OpenAPI document"
    openapi_url, title = app.openapi_url, app.title
    assets = f"{base}/docs-assets"
    app.mount(assets, StaticFiles(packages=[_ASSETS_PACKAGE]), name="docs-assets")

    def under_root(request: Request, path: str) -> str:
        return f"{request.scope.get('root_path', '')}{path}"

    @app.get(f"{base}/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=under_root(request, openapi_url),
            title=f"{title} - Swagger UI",
            swagger_js_url=under_root(request, f"{assets}/swagger-ui-bundle.js"),
            swagger_css_url=under_root(request, f"{assets}/swagger-ui.css"),
            swagger_favicon_url=under_root(request, f"{assets}/favicon.png"),
        )
        return _same_origin_only(page)

    @app.get(f"{base}/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=under_root(request, openapi_url),
            title=f"{title} - ReDoc",
            redoc_js_url=under_root(request, f"{assets}/redoc.standalone.js"),
            redoc_favicon_url=under_root(request, f"{assets}/favicon.png"),
            with_google_fonts=False,
        )
        return _same_origin_only(page)
