"""Accounts on their own: creating users, passwords, signing in, sessions and API tokens."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accounts import passwords
from accounts.errors import AccountError, UnknownUser
from accounts.passwords import digest, verify_password
from accounts.sessions import end_session, load_session, start_session, tokens_match
from accounts.tokens import issue_token_for, load_token
from accounts.users import (
    Role,
    all_users,
    authenticate,
    change_own_password,
    check_password,
    count_users,
    create_first_admin,
    create_user,
    record_sign_in,
    set_password,
    sign_in_candidate,
)
from storage.models import User, UserSession

pytestmark = pytest.mark.anyio
Sessions = async_sessionmaker[AsyncSession]
PASSWORD = "correct horse battery"


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("", PASSWORD, "agent", "use letters, digits"),
        ("aiko san", PASSWORD, "agent", "use letters, digits"),
        ("a" * 65, PASSWORD, "agent", "use letters, digits"),
        ("aiko", PASSWORD, "boss", "role 'boss' is not one of: agent, editor, admin"),
        ("aiko", "short", "agent", "the password needs at least 10 characters"),
    ],
)
async def test_bad_accounts_are_refused_with_the_reason(
    sessions: Sessions, username: str, password: str, role: str, message: str
) -> None:
    async with sessions.begin() as session:
        with pytest.raises(AccountError, match=message):
            await create_user(session, username, password, role)
        assert await count_users(session) == 0


async def test_the_first_admin_is_made_once(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        password = await create_first_admin(session)
        assert password is not None and len(password) >= 10
        assert await create_first_admin(session) is None
        [admin] = await all_users(session)
        assert (admin.username, admin.role, admin.display_name) == (
            "admin",
            "admin",
            "Administrator",
        )
        assert await authenticate(session, "admin", password) is admin


async def test_signing_in_and_changing_the_password(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        aiko = await create_user(session, " aiko ", PASSWORD, Role.AGENT, "Aiko", 5)
        assert (aiko.username, aiko.max_open_chats) == ("aiko", 5)
        assert aiko.password_hash != PASSWORD
        with pytest.raises(AccountError, match="there is already a user 'aiko'"):
            await create_user(session, "aiko", PASSWORD, Role.EDITOR)
        assert await authenticate(session, "aiko", "wrong password!") is None
        assert await authenticate(session, "nobody", PASSWORD) is None
        assert await authenticate(session, "ai\x00ko", PASSWORD) is None
        assert await authenticate(session, " aiko ", PASSWORD) is aiko
        assert aiko.last_login_at is None  # checking writes nothing
        assert await record_sign_in(session, aiko, PASSWORD) is aiko
        assert aiko.last_login_at is not None
        secret, csrf = await start_session(session, aiko, hours=1)

    async with sessions.begin() as session:
        await set_password(session, "aiko", "a brand new password")
        with pytest.raises(UnknownUser, match="there is no user 'ken'"):
            await set_password(session, "ken", "a brand new password")
    async with sessions() as session:
        assert await load_session(session, secret) is None, "a new password signs out"
        assert await authenticate(session, "aiko", PASSWORD) is None
        assert await authenticate(session, "aiko", "a brand new password") is not None


async def test_a_password_check_holds_neither_the_server_nor_its_writes(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argon2 spends about a tenth of a second: an agent signing in must not hold every
    customer's chat (the event loop) or every message being stored (on SQLite, a write
    transaction) that long."""
    async with sessions.begin() as session:
        aiko = await create_user(session, "aiko", PASSWORD, Role.AGENT)
    checking, written = threading.Event(), threading.Event()
    real = verify_password

    def slow_check(password_hash: str | None, password: str) -> bool:
        checking.set()
        assert written.wait(10), "nothing could be written while the password was checked"
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", slow_check)
    async with sessions() as reading:  # as the login page does
        candidate = await sign_in_candidate(reading, "aiko")
    signing_in = asyncio.create_task(check_password(candidate, PASSWORD))
    assert await asyncio.to_thread(checking.wait, 10)
    async with sessions.begin() as session:  # a customer's message, say
        await session.execute(
            update(User).where(User.id == aiko.id).values(display_name="Aiko Sato")
        )
    written.set()
    assert (await signing_in) is not None


async def test_a_password_reset_during_a_sign_in_stops_it(sessions: Sessions) -> None:
    """An admin resets a password to sign its owner out everywhere: a sign-in whose check
    of the old password was under way must not start a session after it."""
    async with sessions.begin() as session:
        await create_user(session, "aiko", PASSWORD, Role.AGENT)
    async with sessions() as reading:
        candidate = await sign_in_candidate(reading, "aiko")
    checked = await check_password(candidate, PASSWORD)
    assert checked is not None
    async with sessions.begin() as session:
        await set_password(session, "aiko", "the admin's new choice", temporary=True)
    async with sessions.begin() as session:
        assert await record_sign_in(session, checked, PASSWORD) is None
        assert await authenticate(session, "aiko", PASSWORD) is None


async def test_changing_ones_own_password(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sessions.begin() as session:
        aiko = await create_user(session, "aiko", PASSWORD, Role.AGENT)
        here, _ = await start_session(session, aiko, hours=1)
        elsewhere, _ = await start_session(session, aiko, hours=1)
    with pytest.raises(AccountError, match="the current password is wrong"):
        await change_own_password(
            sessions, aiko.id, "not my password", "a brand new password", keep_session=digest(here)
        )
    with pytest.raises(AccountError, match="choose a password different"):
        await change_own_password(sessions, aiko.id, PASSWORD, PASSWORD, keep_session=digest(here))
    await change_own_password(
        sessions, aiko.id, PASSWORD, "a brand new password", keep_session=digest(here)
    )
    async with sessions() as session:
        assert await authenticate(session, "aiko", "a brand new password") is not None
        assert await authenticate(session, "aiko", PASSWORD) is None
        assert await load_session(session, here) is not None, "this session stays"
        assert await load_session(session, elsewhere) is None, "the others end"

    real = passwords.hash_password
    reset = False

    def reset_meanwhile(password: str) -> str:  # an admin resets it while the new one hashes
        nonlocal reset
        if not reset:
            reset = True
            asyncio.run_coroutine_threadsafe(admin_reset(), loop).result(10)
        return real(password)

    async def admin_reset() -> None:
        async with sessions.begin() as session:
            await set_password(session, "aiko", "the admin's new choice", temporary=True)

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(passwords, "hash_password", reset_meanwhile)
    with pytest.raises(AccountError, match="the password was changed meanwhile"):
        await change_own_password(
            sessions, aiko.id, "a brand new password", "yet another one!", keep_session=digest(here)
        )
    async with sessions() as session:
        assert await authenticate(session, "aiko", "the admin's new choice") is not None


async def test_sessions_keep_only_a_digest_and_expire(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        aiko = await create_user(session, "aiko", PASSWORD, Role.AGENT)
        editor = await create_user(session, "eri", PASSWORD, Role.EDITOR)
        secret, csrf = await start_session(session, aiko, hours=1)
        other, _ = await start_session(session, editor, hours=1)
    async with sessions() as session:
        signed = await load_session(session, secret)
        assert signed is not None and signed.user.username == "aiko"
        assert signed.session_id == digest(secret) != secret
        assert signed.csrf_token == csrf and not signed.via_token
        assert signed.has_role(Role.AGENT) and not signed.has_role(Role.EDITOR)
        assert await load_session(session, None) is None
        assert await load_session(session, "made-up") is None
    async with sessions.begin() as session:
        await session.execute(
            update(UserSession)
            .where(UserSession.id == digest(other))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    async with sessions() as session:
        assert await load_session(session, other) is None
        assert await session.get(UserSession, digest(other)) is None, "expired: deleted"
    async with sessions.begin() as session:
        await end_session(session, digest(secret))
    async with sessions() as session:
        assert await load_session(session, secret) is None


def test_csrf_tokens_match_only_when_both_are_there() -> None:
    assert tokens_match("abc", "abc")
    assert not tokens_match("abc", "abd")
    assert not tokens_match("", "")
    assert not tokens_match(None, None)
    assert not tokens_match("abc", None)


async def test_api_tokens_sign_in_without_csrf(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await create_user(session, "aiko", PASSWORD, Role.ADMIN)
        token = await issue_token_for(session, "aiko", "reports script")
        with pytest.raises(UnknownUser):
            await issue_token_for(session, "ken", "api")
    assert token.startswith("kk_")
    async with sessions() as session:
        signed = await load_token(session, token)
        assert signed is not None and signed.via_token and signed.user.username == "aiko"
        assert signed.has_role(Role.EDITOR), "admins have every role"
        assert await load_token(session, "kk_made-up") is None
