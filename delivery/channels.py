"""The names of the hub's channels, made in one place."""

from __future__ import annotations

AGENTS = "agents"
"""Every agent console: queue changes, claims, customers ending chats."""


def conversation(public_id: str) -> str:
    """The customer's socket and every agent console watching this conversation."""
    return f"conversation:{public_id}"


def notes(public_id: str) -> str:
    """Internal notes: agent consoles only, never the customer."""
    return f"notes:{public_id}"


KNOWLEDGE = "knowledge"
"""Every server: an article changed, re-index it."""
