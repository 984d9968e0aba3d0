"""Validating fields of websocket events (customer and agent protocols alike), and whole
numbers in JSON bodies."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from conversations.errors import ChatError

MAX_INT = 2**31


def _a_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a whole number is needed (not text, true or false)")
    return value


# With an int of a JSON body, after its bounds (so that the schema shows them): 3 or 3.0
# (JSON Schema's integer), never "3", true or false, which pydantic reads as 3, 1 and 0
A_NUMBER = BeforeValidator(_a_number)
Seq = Annotated[int, Field(ge=0, lt=MAX_INT), A_NUMBER]  # a seq or a revision


def clean_text(value: str) -> bool:
    """Storable text: valid Unicode (no lone surrogates) and no NUL characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def field(event: dict[str, Any], name: str, kind: type) -> Any:
    if name not in event:
        raise ChatError("missing_field", f"'{event.get('type')}' needs the field '{name}'")
    value: Any = event[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ChatError("invalid_field", f"'{name}' must be a {kind.__name__}")
    if isinstance(value, int) and not 0 <= value < MAX_INT:
        raise ChatError("invalid_field", f"'{name}' is out of range")
    if isinstance(value, str) and not clean_text(value):
        raise ChatError("invalid_field", f"'{name}' contains characters that are not text")
    return value


def optional_text(event: dict[str, Any], name: str, max_chars: int) -> str | None:
    """An optional free-text field: absent, null or blank is None, else the stripped text."""
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not clean_text(value):
        raise ChatError("invalid_field", f"'{name}' must be text or null")
    if len(value) > max_chars:
        raise ChatError(
            "text_too_long",
            f"'{name}' has {len(value)} characters; the limit is {max_chars}",
        )
    return value.strip() or None
