"""Validating fields of websocket events (customer and agent protocols alike)."""

from __future__ import annotations

from typing import Any

from app.conversations import ChatError

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
