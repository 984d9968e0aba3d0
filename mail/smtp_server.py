"""Receiving mail straight over SMTP (aiosmtpd), for teams that point a domain's MX here.

Only mail for our own addresses is accepted (no open relay); each message goes to the
intake as if an inbox had fetched it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)

Accept = Callable[[bytes, str, int], Awaitable[object]]


class _Handler:
    def __init__(self, accept: Accept, domains: Collection[str], max_bytes: int) -> None:
        self.accept = accept
        self.domains = frozenset(d.lower() for d in domains)
        self.max_bytes = max_bytes

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() not in self.domains:
            return "550 5.7.1 not a mailbox here (relaying denied)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        try:
            await self.accept(raw, "smtp", len(raw))
        except Exception:
            log.exception("smtp: mail from %s not taken", envelope.mail_from)
            return "451 4.3.0 try again later"
        return "250 Message accepted"


class SmtpReceiver:
    """An SMTP server on `host:port`, on the app's own event loop, that hands mail for
    `domains` to the intake."""

    def __init__(
        self, accept: Accept, host: str, port: int, domains: Collection[str], max_bytes: int
    ) -> None:
        self.handler = _Handler(accept, domains, max_bytes)
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self.handler, data_size_limit=self.max_bytes, hostname=self.host),
            self.host,
            self.port,
        )
        log.info("smtp: receiving mail on %s:%s", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
