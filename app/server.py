"""How `kakehashi serve` runs uvicorn: its own limits, plus a request deadline it lacks.

uvicorn closes idle keep-alive connections (`timeout_keep_alive`) and caps the size of a
request's headers (h11's `max_incomplete_event_size`), but it waits forever for a client
that sends a request slowly (slowloris). `deadline_protocol` adds that: a client has
`seconds` from its first byte (or from connecting) to send a whole request, headers and
body, or the connection is closed. A body that keeps coming (a photo uploaded over a slow
phone line) gets a new deadline each time another `BODY_BYTES_PER_DEADLINE` arrive, as
Apache's mod_reqtimeout does with its minimum rate; a trickle of bytes does not. A request
that upgrades to a websocket ends the deadline: the connection is the websocket's from then
on, and lives as long as the chat does (the chat's own hello and idle limits apply).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import Settings

_WAITING_FOR_CLIENT = (h11.IDLE, h11.SEND_BODY)
BODY_BYTES_PER_DEADLINE = 64 * 1024


class DeadlineH11Protocol(H11Protocol):
    request_seconds: float = 20.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._body_since_armed = 0
        self._upgraded = False
        super().connection_made(transport)
        self._arm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True  # the transport is the websocket's now: no deadline
        self._disarm()
        super().handle_websocket_upgrade(event)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._upgraded:
            return
        cycle = self.cycle
        answering = cycle is not None and cycle.response_started and not cycle.response_complete
        if self.conn.their_state in _WAITING_FOR_CLIENT and not answering:
            if self.conn.their_state == h11.SEND_BODY:
                self._body_since_armed += len(data)
                if self._body_since_armed >= BODY_BYTES_PER_DEADLINE:
                    self._disarm()  # the body keeps coming: the clock starts again
            self._arm()  # part of a request: the clock runs (from its first byte)
        else:
            self._disarm()  # a whole request (or an upgrade to a websocket) arrived

    def on_response_complete(self) -> None:
        self._disarm()  # idle now: uvicorn's keep-alive timeout takes over
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None and not self._upgraded:
            self._body_since_armed = 0
            self._deadline = self.loop.call_later(self.request_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def deadline_protocol(seconds: float) -> type[DeadlineH11Protocol]:
    """The HTTP protocol class with a request deadline of `seconds`."""
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"request_seconds": seconds})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for the limits in the settings (.env.example)."""
    return {
        "http": deadline_protocol(settings.http_request_seconds),
        "ws": "websockets-sansio",
        "ws_max_size": settings.ws_max_frame_bytes,
        # a chat frame is a few hundred bytes: compressing every one (permessage-deflate,
        # which the browser offers) saved little on the wire and cost CPU on both ends,
        # 14 % of the event loop's samples at 90 messages/s
        "ws_per_message_deflate": False,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "h11_max_incomplete_event_size": 16 * 1024,  # request line and headers
        "proxy_headers": True,
    }
