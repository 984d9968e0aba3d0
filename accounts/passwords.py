"""Secrets at rest: Argon2 password hashes, and SHA-256 digests of session and API secrets.

The database stores only digests of the secrets handed out (session cookies, API tokens), so
a leaked database cannot be used to sign in.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from accounts.errors import AccountError

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()


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
