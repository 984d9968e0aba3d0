"""Sign-in sessions: a random secret for the cookie, only its digest in the database, and a
CSRF token that every state-changing request of the session must carry."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.passwords import digest
from accounts.users import Role
from storage.models import User, UserSession


@dataclass(frozen=True)
class SignedIn:
    """The user behind a request, with their session's CSRF token."""

    user: User
    session_id: str
    csrf_token: str
    via_token: bool = False

    def has_role(self, *roles: Role) -> bool:
        return self.user.role == Role.ADMIN or self.user.role in roles


async def start_session(session: AsyncSession, user: User, hours: int) -> tuple[str, str]:
    """A new session: returns (cookie secret, CSRF token)."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id=digest(secret),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=datetime.now(UTC) + timedelta(hours=hours),
        )
    )
    await session.flush()
    return secret, csrf


async def load_session(session: AsyncSession, secret: str | None) -> SignedIn | None:
    """The signed-in user behind a cookie secret; an expired session is deleted."""
    if not secret:
        return None
    row = await session.get(UserSession, digest(secret))
    if row is None:
        return None
    if row.expires_at <= datetime.now(UTC):
        await session.delete(row)
        await session.commit()
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return SignedIn(user=user, session_id=row.id, csrf_token=row.csrf_token)


async def end_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.id == session_id))


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Whether a request carries its session's CSRF token (constant-time; a missing or empty
    token never matches). Compared as UTF-8: compare_digest refuses non-ASCII text, and a
    posted token may hold any character."""
    if not expected or not given:
        return False
    return secrets.compare_digest(
        str(expected).encode("utf-8", "surrogatepass"), str(given).encode("utf-8", "surrogatepass")
    )
