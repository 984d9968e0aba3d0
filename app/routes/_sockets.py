"""What the customer and agent websockets share: running a session to its end."""

from __future__ import annotations

from typing import Protocol

import anyio
from fastapi import WebSocketDisconnect


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
