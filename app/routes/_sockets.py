"""What the customer and agent websockets share: running a session to its end, reading
frames safely, and echoing a client's fields back only when they can be sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
from fastapi import WebSocketDisconnect
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.types import Message

from app.routes._fields import clean_text
from conversations.frames import error_frame
from delivery.events import ErrorFrame, Frame
from delivery.tasks import Loop


class SocketSession(Protocol):
    async def run(self) -> None: ...

    async def close(self) -> None: ...


async def serve(session: SocketSession) -> None:
    """Run a session until the client leaves; its clean-up always runs to the end.

    The clean-up is shielded from cancellation (a shutdown, or the client going away)
    because it does database work that must not be cut off halfway.
    """
    try:
        await session.run()
    except WebSocketDisconnect:
        pass
    finally:
        with anyio.CancelScope(shield=True):
            await session.close()


def forwarder(
    queue: asyncio.Queue[Frame], deliver: Callable[[Frame], Awaitable[bool]]
) -> Loop[Frame]:
    """Deliver the events of one subscription to a socket, in a task of its own.

    Stopping it never cuts off the event in hand: delivering one can read the database (a
    console's snapshot, the messages that fill a gap; see `delivery.tasks.Loop`).
    """

    async def work(event: Frame) -> bool:
        try:
            return await deliver(event)
        except (WebSocketDisconnect, RuntimeError):
            return False  # the socket is gone; its reader ends the session

    return Loop(queue.get, work, "delivering an event to a socket")


def frame_text(frame: Message, max_bytes: int | None) -> str | None:
    """A received frame as text (binary frames decoded as UTF-8), or None when it is
    larger than `max_bytes` (the server should have refused it already)."""
    raw = frame.get("text")
    if raw is None:
        data = frame.get("bytes") or b""
        if max_bytes is not None and len(data) > max_bytes:
            return None
        return str(data.decode("utf-8", errors="replace"))
    # a character is at most 4 bytes: count them only when it could matter
    if (
        max_bytes is not None
        and len(raw) * 4 > max_bytes
        and len(raw.encode("utf-8", errors="surrogatepass")) > max_bytes
    ):
        return None
    return str(raw)


def parse_event(raw: str) -> Any:
    """The frame's JSON, or raises ValueError (too deeply nested counts as not JSON)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def echoed_field(raw: str, name: str) -> str | None:
    """A string field of the frame to echo in an error, when it is sendable text."""
    try:
        event = parse_event(raw)
    except ValueError:
        return None
    value = event.get(name) if isinstance(event, dict) else None
    if isinstance(value, str) and clean_text(value) and len(value) <= 200:
        return value
    return None


def describe_frame(raw: str) -> str:
    """What a log line may say about a client's frame: its type and size, never its text."""
    kind = echoed_field(raw, "type")
    return f"type {kind[:40]!r}, {len(raw)} characters" if kind else f"{len(raw)} characters"


# how long a client waits before sending an event again while the database is unreachable
UNAVAILABLE_RETRY_SECONDS = 3


def storage_unreachable(exc: BaseException) -> bool:
    """Whether an event failed because the database could not be reached (restarting, the
    network down): the client should send it again shortly, nothing was stored."""
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # asyncpg's connect errors reach us unwrapped: refused, reset, timed out
    return isinstance(exc, (ConnectionError, TimeoutError)) or (
        isinstance(exc, OSError) and exc.errno is not None
    )


def unavailable_frame(client_id: str | None) -> ErrorFrame:
    """The `error` a client gets for an event the database was not there to store."""
    message = (
        "we cannot store this right now; nothing was stored for it: "
        f"send it again in {UNAVAILABLE_RETRY_SECONDS} s"
    )
    frame = error_frame("unavailable", message, client_id)
    frame["retry_after"] = UNAVAILABLE_RETRY_SECONDS
    return frame
