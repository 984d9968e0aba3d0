"""Accounts: users with a role, created, listed, re-passworded and authenticated.

A password is hashed and checked (Argon2, about a tenth of a second of CPU) in a worker
thread: on the event loop every sign-in held every chat of the server that long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.errors import AccountError, DuplicateUser, UnknownUser
from accounts.passwords import (
    generate_password,
    hash_password,
    needs_rehash,
    rehash,
    verify_password,
)
from storage.models import User, UserSession

MAX_USERNAME_LENGTH = 64
FIRST_ADMIN = "admin"


class Role(StrEnum):
    AGENT = "agent"
    EDITOR = "editor"
    ADMIN = "admin"


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
        raise DuplicateUser(f"there is already a user {username!r}")
    user = User(
        username=username,
        display_name=display_name or username,
        role=str(role),
        password_hash=await asyncio.to_thread(hash_password, password),
        max_open_chats=max_open_chats,
    )
    session.add(user)
    await session.flush()
    return user


async def create_first_admin(session: AsyncSession) -> str | None:
    """On a database without users, an admin `admin` with a generated one-time password.

    Returns:
        The password to show the operator once, or None when there were users already.
    """
    if await count_users(session):
        return None
    password = generate_password()
    admin = await create_user(session, FIRST_ADMIN, password, Role.ADMIN, "Administrator")
    admin.must_change_password = True  # printed on a console: its owner chooses their own
    return password


async def find_user(session: AsyncSession, username: str) -> User:
    """The user with this sign-in name.

    Raises:
        UnknownUser: there is none.
    """
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UnknownUser(f"there is no user {username!r}")
    return user


async def all_users(session: AsyncSession) -> Sequence[User]:
    """Every account, oldest first."""
    return list(await session.scalars(select(User).order_by(User.id)))


async def set_password(
    session: AsyncSession, username: str, password: str, *, temporary: bool = False
) -> User:
    """A new password; every session of the user ends.

    Args:
        temporary: someone else chose it (a generated one handed over): the user must choose
            their own at their next sign-in.
    """
    user = await find_user(session, username)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.must_change_password = temporary
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return user


async def change_own_password(
    session: AsyncSession, user: User, current: str, new: str, *, keep_session: str
) -> None:
    """The user replaces their password; their other sessions end, this one stays.

    Raises:
        AccountError: the current password is wrong, or the new one is too short or the same.
    """
    if not await asyncio.to_thread(verify_password, user.password_hash, current):
        raise AccountError("the current password is wrong")
    if new == current:
        raise AccountError("choose a password different from the current one")
    user.password_hash = await asyncio.to_thread(hash_password, new)
    user.must_change_password = False
    await session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.id != keep_session)
    )


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for either mistake).

    It only reads, and the password is checked in a worker thread: call it outside a write
    transaction (on SQLite one holds every other write while it lasts), then
    `record_sign_in` in one.
    """
    username = username.strip()
    # nobody's name has a NUL, and PostgreSQL refuses to compare text that holds one
    user = (
        await session.scalar(select(User).where(User.username == username))
        if "\x00" not in username
        else None
    )
    known = user is not None and user.is_active
    # an unknown name spends the same time as a wrong password
    matches = await asyncio.to_thread(
        verify_password, user.password_hash if user is not None and known else None, password
    )
    return user if known and matches else None


async def record_sign_in(session: AsyncSession, user_id: int, password: str) -> User | None:
    """What a sign-in changes (`authenticate` checked the password): the time, and the
    hash when today's parameters are stronger than those it was made with (rare: only
    after they change, and then it is hashed here, in the write). None: the account was
    removed or deactivated since the check."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(rehash, password)
    user.last_login_at = datetime.now(UTC)
    return user
