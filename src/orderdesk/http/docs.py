"""``/docs`` (Swagger UI) and ``/redoc`` from files shipped with the server.

FastAPI's own pages load their scripts, styles and fonts from public CDNs, so on a server with no
internet access, or behind a proxy that blocks CDNs, they are blank. The assets come from the
``fastapi-offline`` package instead, and each page carries a Content-Security-Policy that allows
nothing but this server: a page that tried to reach elsewhere would fail loudly in the browser
instead of leaking who reads the documentation.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"

# Swagger UI options. validatorUrl=None: otherwise Swagger UI sends the document to a public
# validator service. persistAuthorization: credentials typed into "Authorize" survive a reload.
SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "persistAuthorization": True,
    "displayRequestDuration": True,
    "showExtensions": True,
    "showCommonExtensions": True,
    "validatorUrl": None,
}


# Redoc's menu always shows Redocly's logo from their CDN; no option turns it off. With an empty
# source the image fails at once and Redoc drops it, and the page asks nothing of the internet.
ASSET_PATCHES: dict[str, tuple[bytes, bytes]] = {
    "redoc.standalone.js": (b'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"', b'src:""'),
}


@cache
def patched_asset(name: str) -> tuple[bytes, str]:
    """The asset's content with its patch applied, and an ETag for it."""
    old, new = ASSET_PATCHES[name]
    content = (ASSETS_DIR / name).read_bytes()
    if content.count(old) != 1:
        raise RuntimeError(f"{name} of fastapi-offline changed: its patch no longer applies")
    content = content.replace(old, new)
    return content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


class DocsAssets(StaticFiles):
    """The packaged assets, revalidated by ETag rather than fetched whole on every page view.

    The application marks every answer ``no-store`` unless it says otherwise; 2.8 MB of scripts
    that change only with the package version deserve a conditional request instead."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path in ASSET_PATCHES:
            content, etag = patched_asset(path)
            headers = {"etag": etag, "cache-control": "no-cache"}
            if Headers(scope=scope).get("if-none-match") == etag:
                return Response(status_code=304, headers=headers)
            return Response(content, media_type="text/javascript", headers=headers)
        response = await super().get_response(path, scope)
        response.headers.setdefault("cache-control", "no-cache")
        return response


def _script_json(value: Any) -> str:
    """JSON that cannot close the ``<script>`` element it is embedded in."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _origins(document: dict[str, Any]) -> list[str]:
    """Origins other than the page's own that "Try it out" and "Authorize" are sent to: absolute
    ``servers`` URLs and OAuth2 token URLs (relative ones are the page's own origin)."""
    urls = [server.get("url", "") for server in document.get("servers", [])]
    schemes = document.get("components", {}).get("securitySchemes", {})
    for scheme in schemes.values():
        for flow in scheme.get("flows", {}).values():
            urls += [flow.get("tokenUrl", ""), flow.get("authorizationUrl", "")]
    origins = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    return origins


def content_security_policy(nonce: str | None, connect: list[str]) -> str:
    """Scripts from this server and the page's own inline one; Redoc's search runs in a worker
    built from a ``blob:``; both UIs style elements inline and draw icons from ``data:``."""
    scripts = f"script-src 'self' 'nonce-{nonce}'" if nonce else "script-src 'self'"
    return "; ".join(
        [
            "default-src 'none'",
            scripts,
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src " + " ".join(["'self'", *connect]),
            "worker-src blob:",
            "manifest-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def _page(body: str, *, nonce: str | None, connect: list[str]) -> HTMLResponse:
    return HTMLResponse(
        body,
        headers={"content-security-policy": content_security_policy(nonce, connect)},
    )


def install_docs(app: FastAPI) -> None:
    """Serve the documentation pages; the app must be created with ``docs_url=None`` and
    ``redoc_url=None`` so that FastAPI's CDN-bound pages are not registered as well."""
    if app.openapi_url is None:
        raise ValueError("the documentation pages need the app's OpenAPI document")
    openapi_url = app.openapi_url
    app.mount(ASSETS_URL, DocsAssets(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        nonce = secrets.token_urlsafe(16)
        options = {
            **SWAGGER_UI_PARAMETERS,
            "url": f"{root}{openapi_url}",
        }
        init_oauth = app.swagger_ui_init_oauth or {}
        title = html.escape(f"{app.title} - Swagger UI")
        body = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}{ASSETS_URL}/swagger-ui.css">
<link rel="icon" href="{root}{ASSETS_URL}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{root}{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script nonce="{nonce}">
const options = {_script_json(options)};
options.oauth2RedirectUrl = window.location.origin + {_script_json(root + OAUTH2_REDIRECT_URL)};
options.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
window.ui = SwaggerUIBundle(options);
window.ui.initOAuth({_script_json(init_oauth)});
</script>
</body>
</html>
"""
        return _page(body, nonce=nonce, connect=_origins(app.openapi()))

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        body = bytes(get_swagger_ui_oauth2_redirect_html().body).decode()
        if body.count("<script>") != 1:
            raise RuntimeError("FastAPI's OAuth2 redirect page changed shape")
        body = body.replace("<script>", f'<script nonce="{nonce}">')
        return _page(body, nonce=nonce, connect=[])

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        title = html.escape(f"{app.title} - ReDoc")
        spec_url = html.escape(f"{root}{openapi_url}")
        # No web fonts: Redoc falls back to the system's sans-serif and monospace faces.
        body = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{root}{ASSETS_URL}/favicon.png">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<noscript>The API documentation needs JavaScript.</noscript>
<redoc spec-url="{spec_url}"></redoc>
<script src="{root}{ASSETS_URL}/redoc.standalone.js"></script>
</body>
</html>
"""
        return _page(body, nonce=None, connect=_origins(app.openapi()))
