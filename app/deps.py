"""Dependency aliases: routes reach the services through these (tests override them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from accounts.sessions import SignedIn, load_session, tokens_match
from accounts.tokens import load_token
from accounts.users import Role
from app.errors import Forbidden, NotSignedIn, PasswordChangeRequired
from app.services import Services
from app.settings import Settings
from conversations.service import ConversationService


def get_services(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


def get_settings_dep(connection: HTTPConnection) -> Settings:
    return get_services(connection).settings


def get_conversations(connection: HTTPConnection) -> ConversationService:
    return get_services(connection).conversations


SESSION_COOKIE = "kakehashi_session"
LOGIN_CSRF_COOKIE = "kakehashi_login_csrf"

ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ConversationsDep = Annotated[ConversationService, Depends(get_conversations)]


async def get_signed_in(connection: HTTPConnection) -> SignedIn | None:
    """The signed-in user of this request, if any (session cookie or API bearer token)."""
    authorization = connection.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        async with get_services(connection).sessions() as session:
            return await load_token(session, authorization[7:].strip())
    secret = connection.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    async with get_services(connection).sessions() as session:
        return await load_session(session, secret)


MaybeUserDep = Annotated[SignedIn | None, Depends(get_signed_in)]

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def require(*roles: Role, temporary_ok: bool = False) -> Callable[..., Awaitable[SignedIn]]:
    """A dependency that admits these roles (and admins), checking CSRF on writes.

    Someone signed in with a temporary password is refused (and sent to choose their own)
    unless `temporary_ok`: choosing it, and signing out.
    """

    async def dependency(connection: HTTPConnection, signed: MaybeUserDep) -> SignedIn:
        if signed is None:
            raise NotSignedIn("sign in first")
        if signed.user.must_change_password and not signed.via_token and not temporary_ok:
            raise PasswordChangeRequired("choose a new password first (at /account/password)")
        if not signed.has_role(*roles):
            raise Forbidden(f"this needs the role {' or '.join(roles)}", roles=roles)
        if (
            isinstance(connection, Request)
            and connection.method in _UNSAFE
            and not signed.via_token
        ):
            token = connection.headers.get("x-csrf-token")
            if token is None and connection.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                token = (await connection.form()).get("csrf_token")  # type: ignore[assignment]
            if not tokens_match(signed.csrf_token, token):
                raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
        return signed

    return dependency


AgentDep = Annotated[SignedIn, Depends(require(Role.AGENT))]
EditorDep = Annotated[SignedIn, Depends(require(Role.EDITOR))]
AdminDep = Annotated[SignedIn, Depends(require(Role.ADMIN))]
SignedInDep = Annotated[SignedIn, Depends(require(Role.AGENT, Role.EDITOR))]
# anyone signed in, even with a temporary password (choosing a new one, signing out)
AnySignedInDep = Annotated[SignedIn, Depends(require(Role.AGENT, Role.EDITOR, temporary_ok=True))]
