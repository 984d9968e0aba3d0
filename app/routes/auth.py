"""Signing in and out (agents, editors, admins)."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from limits import RateLimitItem
from starlette import status

from accounts.errors import AccountError
from accounts.passwords import MIN_PASSWORD_LENGTH
from accounts.sessions import SignedIn, end_session, start_session, tokens_match
from accounts.throttle import LoginThrottle, SignInThrottled, parse_limit
from accounts.users import (
    Role,
    change_own_password,
    check_password,
    record_sign_in,
    sign_in_candidate,
)
from app.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AnySignedInDep,
    MaybeUserDep,
    ServicesDep,
)
from app.routes._responses import SIGNED_IN, form, page, redirect
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


@router.get(
    "/login",
    response_class=HTMLResponse,
    responses=redirect("Already signed in: to `next`, or to their start page"),
)
async def login_page(request: Request, signed: MaybeUserDep, next: str = "") -> Response:
    """The sign-in form."""
    if signed is not None:
        return RedirectResponse(_safe_next(next, signed.user.role), status.HTTP_303_SEE_OTHER)
    return _login_page(request, next, None, status.HTTP_200_OK)


@router.post(
    "/login",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses=form(
        "Signed in: to `next`, their start page, or to choose a password",
        {401: "Wrong user name or password", 403: "It expired", 429: "Too many failed sign-ins"},
        422,
    ),
)
async def login(
    request: Request,
    services: ServicesDep,
    throttle: LoginThrottleDep,
    address: ClientAddressDep,
    username: Annotated[str, Form(min_length=1)],
    password: Annotated[str, Form(min_length=1)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the credentials (unless too many recent failures); start a session."""
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(request, next, FORM_EXPIRED, status.HTTP_403_FORBIDDEN)
    async with services.sessions() as reading:
        candidate = await sign_in_candidate(reading, username)
    try:  # no session or transaction open while the password is checked
        checked = await throttle.check(
            username, address, lambda: check_password(candidate, password)
        )
    except SignInThrottled as throttled:
        minutes = throttled.minutes
        message = TOO_MANY_FAILURES.format(minutes=minutes, s="" if minutes == 1 else "s")
        response = _login_page(request, next, message, status.HTTP_429_TOO_MANY_REQUESTS)
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    if checked is None:
        return _login_page(request, next, WRONG_CREDENTIALS, status.HTTP_401_UNAUTHORIZED)
    async with services.sessions.begin() as session:
        user = await record_sign_in(session, checked, password)
        if user is None:  # removed, deactivated or re-passworded in the meantime
            return _login_page(request, next, WRONG_CREDENTIALS, status.HTTP_401_UNAUTHORIZED)
        secret, _csrf = await start_session(session, user, services.settings.session_hours)
        target = _safe_next(next, user.role)
        if user.must_change_password:
            target = f"/account/password?next={quote(target)}"
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
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


@router.post(
    "/logout",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses={303: {"description": "Signed out: to /login"}, **SIGNED_IN},
)
async def logout(services: ServicesDep, signed: AnySignedInDep) -> Response:
    """End the session (also for someone who has yet to choose a new password)."""
    async with services.sessions.begin() as session:
        await end_session(session, signed.session_id)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE)
    return response


PASSWORDS_DIFFER = "The two new passwords are not the same."


def _password_page(
    request: Request, signed: SignedIn, next_url: str, error: str | None, code: int
) -> Response:
    return templates.TemplateResponse(
        request,
        "password.html",
        {
            "user": signed.user,
            "csrf_token": signed.csrf_token,
            "next": next_url,
            "error": error,
            "required": signed.user.must_change_password,
            "min_length": MIN_PASSWORD_LENGTH,
            "title": "Choose a new password",
        },
        status_code=code,
    )


@router.get("/account/password", response_class=HTMLResponse, responses=page())
async def password_page(request: Request, signed: AnySignedInDep, next: str = "") -> Response:
    """The form to choose a new password (where a temporary password leads)."""
    return _password_page(request, signed, next, None, status.HTTP_200_OK)


@router.post(
    "/account/password",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses=form(
        "Changed: to `next`, or to their start page",
        {400: "A wrong current password, or new ones that differ or are too short"},
        401,
        403,
        422,
    ),
)
async def change_password(
    request: Request,
    services: ServicesDep,
    signed: AnySignedInDep,
    current_password: Annotated[str, Form(min_length=1)],
    new_password: Annotated[str, Form(min_length=1)],
    repeat_password: Annotated[str, Form(min_length=1)],
    next: Annotated[str, Form()] = "",
) -> Response:
    """Replace the password: the old one stops working and other sessions end."""
    if new_password != repeat_password:
        return _password_page(request, signed, next, PASSWORDS_DIFFER, status.HTTP_400_BAD_REQUEST)
    try:
        await change_own_password(
            services.sessions,
            signed.user.id,
            current_password,
            new_password,
            keep_session=signed.session_id,
        )
    except AccountError as exc:
        message = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        return _password_page(request, signed, next, message, status.HTTP_400_BAD_REQUEST)
    return RedirectResponse(_safe_next(next, signed.user.role), status.HTTP_303_SEE_OTHER)
