"""The board's static files: the web client built from ``web/`` (``make web``) into
``pm/board/static`` and shipped inside the package, so ``pip install .`` and the image serve it.

``GET /`` answers the page and ``/assets/*`` its hashed files; nothing else is the board's, so
every other path keeps its door's own answers. The page loads nothing from anywhere else: its
Content-Security-Policy allows only this origin (the WebSocket included).

The same build ships the API reference: ``GET /docs`` is Swagger UI over ``/openapi.json``, its
files under ``/api-docs/`` (swagger-ui-dist, from the web build's lockfile), never a CDN.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# index.html names the hashed assets of its build: never cached, so a new build shows at once;
# the assets' names change with their content, so they are cached for good.
PAGE_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=31536000, immutable"

NOT_BUILT = (
    "<!doctype html><title>pm board</title><h1>The board is not built</h1>"
    "<p>This copy of pm was installed without the web client. Build it with <code>make web</code>"
    " (Node.js 20 and npm), or use the Docker image, which includes it.</p>"
)


class _Assets(StaticFiles):
    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = ASSET_CACHE
        return response


# Swagger UI sets styles on its elements as it draws them; scripts stay pm's own.
DOCS_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


class _DocsFiles(StaticFiles):
    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(DOCS_HEADERS)
        response.headers["Cache-Control"] = PAGE_CACHE  # unhashed names: revalidated
        return response


def install_api_docs(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    docs = static_dir / "api-docs"

    @app.get("/docs", include_in_schema=False)
    async def api_reference() -> Response:
        """Swagger UI over /openapi.json, from pm's own files."""
        page = docs / "index.html"
        if not page.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers=DOCS_HEADERS)
        return FileResponse(page, media_type="text/html", headers=DOCS_HEADERS)

    app.mount("/api-docs", _DocsFiles(directory=docs, check_dir=False), name="api-docs")


def install_board(app: FastAPI, static_dir: Path = STATIC_DIR) -> None:
    index = static_dir / "index.html"

    @app.get("/", include_in_schema=False)
    async def board_page() -> Response:
        """The board (single page). Sign-in comes in the URL fragment, which the server never
        sees: ``/#token=<JWT>``."""
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
        headers = {**SECURITY_HEADERS, "Cache-Control": PAGE_CACHE}
        return FileResponse(index, media_type="text/html", headers=headers)

    app.mount(
        "/assets", _Assets(directory=static_dir / "assets", check_dir=False), name="board-assets"
    )
