"""Which pages may open a websocket: origins compared by scheme, host and port."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.websockets import WebSocket

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_PAGE_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin such as https://shop.example:8443, or None."""
    try:
        parts = urlsplit(value.strip().rstrip("/"))
        port = parts.port
    except ValueError:  # a port that is not a number, an unbalanced [ ...
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def own_origin(websocket: WebSocket) -> Origin | None:
    """The origin of pages this server serves, as the socket's own URL tells it."""
    url = websocket.url
    scheme = _PAGE_SCHEME.get(url.scheme)
    if scheme is None or not url.hostname:
        return None
    return scheme, url.hostname.lower(), url.port or _DEFAULT_PORTS[scheme]


def same_origin(origin: str | None, websocket: WebSocket) -> bool:
    """No Origin (not a browser), or the very scheme, host and port of this server."""
    if origin is None:
        return True
    parsed = parse_origin(origin)
    return parsed is not None and parsed == own_origin(websocket)


def origin_allowed(origin: str | None, websocket: WebSocket, allowed: list[str]) -> bool:
    """This server's own pages and the configured origins may connect.

    Browsers always send Origin; clients that are not browsers (no Origin) are allowed.
    """
    if same_origin(origin, websocket) or "*" in allowed:
        return True
    parsed = parse_origin(origin or "")
    return parsed is not None and parsed in {parse_origin(o) for o in allowed}
