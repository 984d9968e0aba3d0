"""API tokens: bearer secrets for scripts, shown once; only their digest is kept."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.passwords import digest
from accounts.sessions import SignedIn
from accounts.users import find_user
from storage.models import ApiToken, User

TOKEN_PREFIX = "kk_"
# how stale a token's "last used" may be: not a database write on every request
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def issue_token(session: AsyncSession, user: User, name: str) -> str:
    """A new API token for `user` (shown once; only its hash is kept)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=digest(secret), user_id=user.id, name=name[:200]))
    await session.flush()
    return secret


async def issue_token_for(session: AsyncSession, username: str, name: str) -> str:
    """A new API token for the user called `username`.

    Raises:
        UnknownUser: there is no such user.
    """
    return await issue_token(session, await find_user(session, username), name)


async def load_token(session: AsyncSession, secret: str) -> SignedIn | None:
    """The user behind an API token (tokens need no CSRF token: no cookie is involved)."""
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        await session.commit()
    return SignedIn(user=user, session_id="", csrf_token="", via_token=True)
