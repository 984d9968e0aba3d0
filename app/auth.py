"""Temporary: the names app/routes/agent.py and tests/app/test_agent.py still import from here.

Accounts live in `accounts/` now. Delete this module once those two import from there
(`accounts.users.Role`, `accounts.users.create_user`, `accounts.sessions.SignedIn`).
"""

from accounts.sessions import SignedIn
from accounts.users import Role, create_user

__all__ = ["Role", "SignedIn", "create_user"]
