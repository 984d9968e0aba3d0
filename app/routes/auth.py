"""Signing in and out (agents, editors, admins)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItem
from starlette import status

from accounts.sessions import end_session, start_session, tokens_match
from accounts.throttle import LoginThrottle, SignInThrottled, parse_limit
from accounts.users import Role, authenticate
from app.deps import LOGIN_CSRF_COOKIE, SESSION_COOKIE, MaybeUserDep, ServicesDep, SignedInDep
from app.routes.templates import templates
from app.settings import Settings

router = APIRouter()

FORM_EXPIRED = "The form expired. Please try again."
WRONG_CREDENTIALS = "Wrong user name or password."
TOO_MANY_FAILURES = "Too many failed sign-ins. Try again in {minutes} minute{s}."


def login_throttle(request: Request) -> LoginThrottle:
    """The app's counter of failed sign-ins, made from its settings on first use."""
    state = request.app.state
    throttle: LoginThrottle | None = getattr(state, "login_throttle", None)
    if throttle is None:
        throttle = state.login_throttle = _throttle(state.services.settings)
    return throttle


def _throttle(settings: Settings) -> LoginThrottle:
    def limit(name: str) -> RateLimitItem:
        return parse_limit(getattr(settings, name), f"KAKEHASHI_{name.upper()}")

    return LoginThrottle(
        settings.rate_limit_storage,
        limit("login_attempts_per_account"),
        limit("login_attempts_per_ip"),
    )


def client_address(request: Request) -> str:
    """The client's address as the server reports it (uvicorn applies trusted proxy headers)."""
    return request.client.host if request.client else "unknown"


LoginThrottleDep = Annotated[LoginThrottle, Depends(login_throttle)]
ClientAddressDep = Annotated[str, Depends(client_address)]


def _safe_next(target: str | None, role: str) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/editor" if role == Role.EDITOR else "/agent"


def _login_page(request: Request, next_url: str, error: str | None, code: int) -> Response:
    csrf = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "next": next_url, "csrf_token": csrf, "user": None, "title": "Sign in"},
        status_code=code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=request.app.state.services.settings.cookie_secure,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, signed: MaybeUserDep, next: str = "") -> Response:
    """The sign-in form."""
    if signed is not None:
        return RedirectResponse(_safe_next(next, signed.user.role), status.HTTP_303_SEE_OTHER)
    return _login_page(request, next, None, status.HTTP_200_OK)


@router.post("/login")
async def login(
    request: Request,
    services: ServicesDep,
    throttle: LoginThrottleDep,
    address: ClientAddressDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the credentials (unless too many recent failures); start a session."""
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(request, next, FORM_EXPIRED, status.HTTP_403_FORBIDDEN)
    async with services.sessions.begin() as session:
        try:
            user = await throttle.check(
                username, address, lambda: authenticate(session, username, password)
            )
        except SignInThrottled as throttled:
            minutes = throttled.minutes
            message = TOO_MANY_FAILURES.format(minutes=minutes, s="" if minutes == 1 else "s")
            response = _login_page(request, next, message, status.HTTP_429_TOO_MANY_REQUESTS)
            response.headers["Retry-After"] = str(throttled.retry_after)
            return response
        if user is None:
            return _login_page(request, next, WRONG_CREDENTIALS, status.HTTP_401_UNAUTHORIZED)
        secret, _csrf = await start_session(session, user, services.settings.session_hours)
        role = user.role
    response = RedirectResponse(_safe_next(next, role), status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=services.settings.cookie_secure,
        max_age=services.settings.session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(services: ServicesDep, signed: SignedInDep) -> Response:
    """End the session."""
    async with services.sessions.begin() as session:
        await end_session(session, signed.session_id)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response
