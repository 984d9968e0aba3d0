"""What account operations refuse, with messages that say why."""

from __future__ import annotations


class AccountError(ValueError):
    """An account operation that cannot be done; the message says why."""


class UnknownUser(AccountError):
    """There is no user by that name."""


class DuplicateUser(AccountError):
    """There is already a user by that name."""
