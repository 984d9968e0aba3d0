"""HTTP errors and where they are turned into JSON, redirects or pages."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from starlette import status
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from app._error_pages import error_page
from knowledge.records import ArticleError

# SQLSTATE class 22, "data exception": PostgreSQL refuses a value SQLite would have stored,
# such as text with a NUL character (22021)
_DATA_EXCEPTION = "22"


class HTTPError(Exception):
    """Base of the web layer's errors: a status, a stable code and a message."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotSignedIn(HTTPError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "not_signed_in"


class Forbidden(HTTPError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"

    def __init__(self, message: str, code: str | None = None, roles: tuple[str, ...] = ()) -> None:
        super().__init__(message, code)
        self.roles = roles  # the roles that may, when a role was missing


class PasswordChangeRequired(Forbidden):
    """Signed in with a password someone else chose: nothing opens until they choose theirs."""

    code = "password_change_required"


class NotFound(HTTPError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Conflict(HTTPError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class MethodNotAllowed(HTTPError):
    status_code = status.HTTP_405_METHOD_NOT_ALLOWED
    code = "method_not_allowed"


def _wants_html(request: Request) -> bool:
    """A person's browser opening a page (the JSON API under /api/ always answers JSON)."""
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith("/api/")
    )


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    if isinstance(exc, NotSignedIn) and _wants_html(request):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status.HTTP_303_SEE_OTHER)
    if isinstance(exc, PasswordChangeRequired) and _wants_html(request):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/account/password?next={target}", status.HTTP_303_SEE_OTHER)
    if _wants_html(request):
        return await error_page(request, exc)
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status_code
    )


async def _handle_unstorable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if not str(getattr(exc.orig, "sqlstate", None) or "").startswith(_DATA_EXCEPTION):
        raise exc
    return JSONResponse(
        {
            "error": {
                "code": "unstorable",
                "message": "the request holds a value the database cannot store "
                "(such as a NUL character); remove it and try again",
            }
        },
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _handle_routing(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, a method the path does not answer, a body
    that is not a form) in the app's error JSON (or page)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == status.HTTP_404_NOT_FOUND:
        return await _handle(request, NotFound(f"nothing at {request.url.path}"))
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        # Starlette names the methods of the first route on the path only (GET for
        # /api/canned, which answers POST too): every route on the path counts
        allowed = _allowed_methods(request)
        refusal = MethodNotAllowed(f"{request.method} is not answered here; use {allowed}")
        response = await _handle(request, refusal)
        response.headers["Allow"] = allowed
        return response
    error = HTTPError(str(exc.detail))
    error.status_code = exc.status_code
    response = await _handle(request, error)
    response.headers.update(exc.headers or {})
    return response


def _allowed_methods(request: Request) -> str:
    path = request.scope["path"]
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.router.routes):
        route = context.original_route
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


class InvalidArticle(HTTPError):
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    code = "invalid_article"


async def _handle_article(request: Request, exc: Exception) -> Response:
    """An article request the service refused, as the HTTP error it stands for."""
    assert isinstance(exc, ArticleError)
    if exc.code == "not_found":
        return await _handle(request, NotFound(exc.message))
    if exc.code == "conflict":
        return await _handle(request, Conflict(exc.message))
    return await _handle(request, InvalidArticle(exc.message))


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPError, _handle)
    app.add_exception_handler(ArticleError, _handle_article)
    app.add_exception_handler(DBAPIError, _handle_unstorable)
    app.add_exception_handler(StarletteHTTPException, _handle_routing)
