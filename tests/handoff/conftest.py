"""The agents' side is tested against the customers' side it serves."""

from tests.conversations.conftest import chat

__all__ = ["chat"]
