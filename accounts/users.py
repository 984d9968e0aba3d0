"""Accounts: users with a role, created, listed, re-passworded and authenticated.

A password is hashed and checked (Argon2, about a tenth of a second of CPU) off the event
loop (`accounts.passwords`), and a sign-in checks it outside any transaction: on the event
loop every sign-in held every chat of the server that long, and inside a write transaction
(on SQLite the writer's turn) every message being stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accounts.errors import AccountError, DuplicateUser, UnknownUser
from accounts.passwords import generate_password, hashed, matches, needs_rehash, rehashed
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
        password_hash=await hashed(password),
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
    user.password_hash = await hashed(password)
    user.must_change_password = temporary
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return user


async def change_own_password(
    sessions: async_sessionmaker[AsyncSession],
    user_id: int,
    current: str,
    new: str,
    *,
    keep_session: str,
) -> None:
    """The user replaces their password; their other sessions end, this one stays. The
    passwords are checked and hashed before the write, which fails if the password changed
    meanwhile.

    Raises:
        AccountError: the current password is wrong, or the new one is too short or the same.
    """
    async with sessions() as reading:  # closed before the slow part
        old_hash = await reading.scalar(select(User.password_hash).where(User.id == user_id))
    if old_hash is None or not await matches(old_hash, current):
        raise AccountError("the current password is wrong")
    if new == current:
        raise AccountError("choose a password different from the current one")
    new_hash = await hashed(new)
    async with sessions.begin() as session:
        changed = await session.execute(
            update(User)
            .where(User.id == user_id, User.password_hash == old_hash)
            .values(password_hash=new_hash, must_change_password=False)
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            raise AccountError("the password was changed meanwhile: sign in again")
        await session.execute(
            delete(UserSession).where(
                UserSession.user_id == user_id, UserSession.id != keep_session
            )
        )


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def sign_in_candidate(session: AsyncSession, username: str) -> User | None:
    """The active user with this sign-in name, or None. Close the session before
    `check_password`: it takes a while, and an open session holds a connection."""
    username = username.strip()
    # nobody's name has a NUL, and PostgreSQL refuses to compare text that holds one
    if "\x00" in username:
        return None
    user = await session.scalar(select(User).where(User.username == username))
    return user if user is not None and user.is_active else None


async def check_password(user: User | None, password: str) -> User | None:
    """`user` if `password` is theirs, else None; with no user it spends the same time, so
    the answer does not tell whether the name exists."""
    password_matches = await matches(None if user is None else user.password_hash, password)
    return user if user is not None and password_matches else None


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for either mistake).
    It writes nothing: `record_sign_in` does, in a write transaction after it."""
    return await check_password(await sign_in_candidate(session, username), password)


async def record_sign_in(session: AsyncSession, checked: User, password: str) -> User | None:
    """What a sign-in changes, for a user whose password was checked: the time, and the
    hash when today's parameters are stronger than those it was made with (rare: only
    after they change). None: since the check the account was removed or deactivated, or
    its password changed (a reset signs everyone out)."""
    user = await session.get(User, checked.id)
    if user is None or not user.is_active or user.password_hash != checked.password_hash:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = await rehashed(password)
    user.last_login_at = datetime.now(UTC)
    return user
