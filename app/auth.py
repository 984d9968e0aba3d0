"""Accounts and sign-in: Argon2 password hashes, server-side sessions, CSRF tokens.

The session cookie holds a random secret; the database stores only its SHA-256, so a
leaked database cannot be used to sign in. Every state-changing request carries the
session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`). Failed sign-ins
are counted per account and per client address; past the limits, passwords are not even
checked until the window moves on (`LoginThrottle`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit
from weakref import WeakValueDictionary

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import RateLimitItem
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import REDIS_SCHEMES, Settings, parse_limit
from storage.models import ApiToken, User, UserSession

SESSION_COOKIE = "kakehashi_session"
LOGIN_CSRF_COOKIE = "kakehashi_login_csrf"
MIN_PASSWORD_LENGTH = 10
MAX_USERNAME_LENGTH = 64
_hasher = PasswordHasher()
log = logging.getLogger("kakehashi.auth")
T = TypeVar("T")


class Role(StrEnum):
    AGENT = "agent"
    EDITOR = "editor"
    ADMIN = "admin"


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why."""


@dataclass(frozen=True)
class SignedIn:
    """The user behind a request, with their session's CSRF token."""

    user: User
    session_id: str
    csrf_token: str
    via_token: bool = False

    def has_role(self, *roles: Role) -> bool:
        return self.user.role == Role.ADMIN or self.user.role in roles


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


async def create_user(
    session: AsyncSession,
    username: str,
    password: str,
    role: Role | str,
    display_name: str | None = None,
    max_open_chats: int = 3,
) -> User:
    username = username.strip()
    if (
        not username
        or len(username) > MAX_USERNAME_LENGTH
        or not username.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise AccountError(f"user name {username!r}: use letters, digits, '.', '-' or '_'")
    if role not in set(Role):
        raise AccountError(f"role {role!r} is not one of: {', '.join(Role)}")
    if await session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(f"there is already a user {username!r}")
    user = User(
        username=username,
        display_name=display_name or username,
        role=str(role),
        password_hash=hash_password(password),
        max_open_chats=max_open_chats,
    )
    session.add(user)
    await session.flush()
    return user


async def set_password(session: AsyncSession, username: str, password: str) -> User:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise AccountError(f"there is no user {username!r}")
    user.password_hash = hash_password(password)
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return user


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for either mistake)."""
    username = username.strip()
    # nobody's name has a NUL, and PostgreSQL refuses to compare text that holds one
    user = (
        await session.scalar(select(User).where(User.username == username))
        if "\x00" not in username
        else None
    )
    if user is None or not user.is_active:
        _hasher.hash(password)  # spend the same time as a real check
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = datetime.now(UTC)
    return user


async def start_session(session: AsyncSession, user: User, hours: int) -> tuple[str, str]:
    """A new session: returns (cookie secret, CSRF token)."""
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            id=_digest(secret),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=datetime.now(UTC) + timedelta(hours=hours),
        )
    )
    await session.flush()
    return secret, csrf


async def load_session(session: AsyncSession, secret: str | None) -> SignedIn | None:
    if not secret:
        return None
    row = await session.get(UserSession, _digest(secret))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
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
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))


async def issue_token(session: AsyncSession, user: User, name: str) -> str:
    """A new API token for `user` (shown once; only its hash is kept)."""
    secret = "kk_" + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_digest(secret), user_id=user.id, name=name[:200]))
    await session.flush()
    return secret


async def load_token(session: AsyncSession, secret: str) -> SignedIn | None:
    """The user behind an API token (tokens need no CSRF token: no cookie is involved)."""
    row = await session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    row.last_used_at = datetime.now(UTC)
    await session.commit()
    return SignedIn(user=user, session_id="", csrf_token="", via_token=True)


class SignInThrottled(Exception):
    """Too many failed sign-ins for this account or from this address; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; retry in {retry_after} s")
        self.retry_after = retry_after  # seconds until the next attempt is considered

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


class LoginThrottle:
    """Counts failed sign-ins per account and per client address (limits' moving window).

    One check, the password check and the count run under a lock per account and one per
    address, so a burst of parallel guesses cannot all pass the check before the first
    failure is counted. (With several processes sharing redis, each process can still let
    one guess per account through at the same moment.)
    """

    def __init__(self, storage_uri: str, per_account: RateLimitItem, per_ip: RateLimitItem):
        scheme = urlsplit(storage_uri).scheme
        # limits talks to redis through coredis by default; we document the `redis` package
        options: dict[str, Any] = {"implementation": "redispy"} if scheme in REDIS_SCHEMES else {}
        self._limiter = MovingWindowRateLimiter(
            storage_from_string(f"async+{storage_uri}", **options)
        )
        self._per_account = per_account
        self._per_ip = per_ip
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        def limit(name: str) -> RateLimitItem:
            return parse_limit(getattr(settings, name), f"KAKEHASHI_{name.upper()}")

        return cls(
            settings.rate_limit_storage,
            limit("login_attempts_per_account"),
            limit("login_attempts_per_ip"),
        )

    async def check(
        self, username: str, ip: str, verify: Callable[[], Awaitable[T | None]]
    ) -> T | None:
        """Run `verify` (the password check) unless this account or address is locked out.

        Args:
            username: The name as typed; counted trimmed and case-folded, whether or not
                such a user exists (so the answer does not reveal it).
            ip: The client's address.
            verify: Returns the signed-in user, or None for wrong credentials.

        Returns:
            What `verify` returned. A None counts as a failure; anything else clears the
            account's count.

        Raises:
            SignInThrottled: Too many recent failures; `verify` was not called.
        """
        account = ("login-account", username.strip().casefold()[:MAX_USERNAME_LENGTH])
        address = ("login-ip", ip)
        async with self._lock("/".join(account)), self._lock("/".join(address)):
            waits = [
                (await self._limiter.get_window_stats(item, *key)).reset_time - time.time()
                for item, key in ((self._per_account, account), (self._per_ip, address))
                if not await self._limiter.test(item, *key)
            ]
            if waits:
                retry_after = max(1, math.ceil(max(waits)))
                log.warning(
                    "sign-in refused without checking the password: too many failures "
                    "(user %r from %s; next try in %d s)",
                    account[1],
                    ip,
                    retry_after,
                )
                raise SignInThrottled(retry_after)
            result = await verify()
            if result is None:
                await self._limiter.hit(self._per_account, *account)
                await self._limiter.hit(self._per_ip, *address)
            else:
                await self._limiter.clear(self._per_account, *account)
            return result

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock
