"""The error of a request a conversation cannot carry out."""

from __future__ import annotations


class ChatError(Exception):
    """A request the chat cannot carry out; `code` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ConversationMoved(Exception):
    """The conversation left the state its writer read before writing (a lock that ran out
    while its holder stalled; servers without a shared lock): read it again and decide
    again."""
