"""Security headers on every HTTP response (an ASGI middleware).

Every response: `X-Content-Type-Options: nosniff` and a `Referrer-Policy`. Our HTML pages
also get a Content-Security-Policy that allows no inline script (scripts are files of our
own origin) and, except the public demo page, may not be framed by any site
(`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for old browsers). The widget's
own files under /static and /widget.js carry no CSP: they run on shops' pages, under theirs.
FastAPI's /docs and /redoc load their scripts from a CDN and get only the framing rule.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # the widget's shadow DOM styles, style attributes
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
FRAMEABLE = frozenset({"/"})  # the demo shop page: a shop may show it anywhere
THIRD_PARTY_PAGES = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    frame = "'self'" if path in FRAMEABLE else "'none'"
                    if path.startswith(THIRD_PARTY_PAGES):
                        headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
                    else:
                        headers.setdefault(
                            "Content-Security-Policy", f"{CSP}; frame-ancestors {frame}"
                        )
                    if path not in FRAMEABLE:
                        headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
