"""Secrets at rest: Argon2 password hashes, and SHA-256 digests of session and API secrets.

The database stores only digests of the secrets handed out (session cookies, API tokens), so
a leaked database cannot be used to sign in.

An Argon2 hash costs about a tenth of a second of CPU and 64 MiB: the server's coroutines
(`hashed`, `matches`, `rehashed`) run it in threads of its own, at most `HASHING_AT_ONCE` at
a time, so that a sign-in holds neither the event loop (every chat of the server) nor more
than a bounded share of the machine however many arrive together.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from accounts.errors import AccountError

MIN_PASSWORD_LENGTH = 10
HASHING_AT_ONCE = 2
_hasher = PasswordHasher()
_hashing = ThreadPoolExecutor(HASHING_AT_ONCE, thread_name_prefix="argon2")
T = TypeVar("T")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; without a hash, spends the same time and says no."""
    if password_hash is None:
        _hasher.hash(password)  # spend the same time as a real check
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def rehash(password: str) -> str:
    return _hasher.hash(password)


def digest(secret: str) -> str:
    """What the database keeps of a secret handed out."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def hashed(password: str) -> str:
    """`hash_password`, off the event loop."""
    return await _off_loop(hash_password, password)


async def matches(password_hash: str | None, password: str) -> bool:
    """`verify_password`, off the event loop."""
    return await _off_loop(verify_password, password_hash, password)


async def rehashed(password: str) -> str:
    """`rehash`, off the event loop."""
    return await _off_loop(rehash, password)


async def _off_loop(work: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hashing, work, *args)
