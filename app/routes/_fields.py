"""Validating fields of websocket events (customer and agent protocols alike)."""

from __future__ import annotations

from typing import Any

from conversations.errors import ChatError

MAX_INT = 2**31


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
