"""The error of a request a conversation cannot carry out."""

from __future__ import annotations


class ChatError(Exception):
    """A request the chat cannot carry out; `code` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
