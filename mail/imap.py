"""Reading a mailbox over IMAP: new mail as it arrives (IDLE where the server offers it,
polling otherwise), each handed to the intake and then marked as read.

imapclient is synchronous, so each inbox runs its session in a worker thread. A mail is
marked \\Seen only after the intake stored it, so a crash in between fetches it again,
and the intake, which stores each Message-ID once, takes it once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from delivery.tasks import Loop
from mail.config import Server

log = logging.getLogger(__name__)

Accept = Callable[[bytes, str, int], Awaitable[object]]
"""(raw mail, inbox name, its size) → anything; raises when the mail must be fetched again."""


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    size: int


class ImapInbox:
    """One mailbox, read for as long as the server runs."""

    def __init__(
        self,
        server: Server,
        accept: Accept,
        *,
        max_bytes: int,
        poll_seconds: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = server
        self.accept = accept
        self.max_bytes = max_bytes
        self.poll_seconds = poll_seconds
        self.ssl_context = ssl_context
        self._client: IMAPClient | None = None
        self._backoff = 0.0  # seconds before reconnecting; 0 while the session is well
        self._closing = False
        self._loop: Loop[None] | None = None

    def start(self) -> None:
        # a mail being taken is stored before closing stops the loop; only the wait for
        # the next one is cut short
        self._loop = Loop(self._next, self._take, f"inbox {self.server.name}")

    async def close(self) -> None:
        self._closing = True  # a backlog being taken stops after the mail in hand
        if self._loop is not None and not await self._loop.stop():
            # a fetch still runs in its thread with the client: leave the client to it
            log.error("inbox %s: still fetching at close; left to time out", self.server.name)
            return
        if self._client is not None:
            client, self._client = self._client, None
            await anyio.to_thread.run_sync(_logout, client)

    async def check(self) -> int:
        """Fetch and take every unread mail now (while closing, up to the mail in hand);
        how many there were."""
        if self._client is None:
            self._client = await anyio.to_thread.run_sync(self._connect)
        fetched = await anyio.to_thread.run_sync(self._fetch_unseen, self._client)
        taken = []
        for mail in fetched:
            if self._closing:
                break  # the rest stay unread, for the next start
            try:
                await self.accept(mail.raw, self.server.name, mail.size)
            except Exception:
                log.exception(
                    "inbox %s: mail uid %s not taken; it stays unread", self.server.name, mail.uid
                )
                continue
            taken.append(mail.uid)
        if taken:
            await anyio.to_thread.run_sync(self._mark_seen, self._client, taken)
        return len(fetched)

    async def _next(self) -> None:
        """Wait for mail (after a failure, for the time before reconnecting; at first, not
        at all): the part of the loop that closing may cut short."""
        if self._client is not None and not self._backoff:
            try:
                await anyio.to_thread.run_sync(
                    self._wait_for_mail, self._client, abandon_on_cancel=True
                )
            except Exception as exc:
                await self._lost(exc)
        if self._backoff:
            await asyncio.sleep(self._backoff)

    async def _take(self, _: None) -> None:
        """Fetch and take what arrived: the part of the loop that closing lets end."""
        try:
            await self.check()
        except Exception as exc:
            await self._lost(exc)
        else:
            self._backoff = 0.0

    async def _lost(self, exc: Exception) -> None:
        self._backoff = min(self._backoff * 2, 300.0) if self._backoff else 1.0
        log.warning(
            "inbox %s (%s:%s): %s; reconnecting in %.0f s",
            self.server.name,
            self.server.host,
            self.server.port,
            exc,
            self._backoff,
        )
        client, self._client = self._client, None
        if client is not None:
            await anyio.to_thread.run_sync(_logout, client)

    # ------------------------------------------------------------------ in the worker thread
    def _connect(self) -> IMAPClient:
        server = self.server
        client = IMAPClient(
            server.host,
            port=server.port,
            ssl=server.security == "ssl",
            ssl_context=self.ssl_context,
            timeout=60,
        )
        if server.security == "starttls":
            client.starttls(self.ssl_context)
        if server.user:
            client.login(server.user, server.password or "")
        client.select_folder(server.folder)
        log.info("inbox %s: reading %s on %s", server.name, server.folder, server.host)
        return client

    def _fetch_unseen(self, client: IMAPClient) -> list[Fetched]:
        client.noop()  # lets the server tell this session about mail that arrived since
        uids = client.search(["UNSEEN"])
        fetched: list[Fetched] = []
        for start in range(0, len(uids), 50):
            batch = uids[start : start + 50]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            small = [u for u in batch if sizes.get(u, {}).get(b"RFC822.SIZE", 0) <= self.max_bytes]
            large = [u for u in batch if u not in small]
            if small:
                for uid, data in client.fetch(small, ["BODY.PEEK[]"]).items():
                    raw = data.get(b"BODY[]") or b""
                    fetched.append(Fetched(uid, raw, len(raw)))
            if large:  # the headers are enough to record and log why it was not taken
                for uid, data in client.fetch(large, ["BODY.PEEK[HEADER]"]).items():
                    size = int(sizes[uid][b"RFC822.SIZE"])
                    fetched.append(Fetched(uid, data.get(b"BODY[HEADER]") or b"", size))
        return fetched

    @staticmethod
    def _mark_seen(client: IMAPClient, uids: list[int]) -> None:
        client.add_flags(uids, [b"\\Seen"])

    def _wait_for_mail(self, client: IMAPClient) -> None:
        """Until new mail may be there: IDLE where offered, else the poll interval."""
        if not client.has_capability("IDLE"):
            time.sleep(self.poll_seconds)
            return
        client.idle()
        try:
            client.idle_check(timeout=self.poll_seconds)
        finally:
            client.idle_done()


def _logout(client: IMAPClient) -> None:
    """Log out if the session still answers; a broken one is only dropped."""
    try:
        client.logout()
    except (IMAPClientError, OSError):
        pass
    except Exception:  # imaplib on a half-closed socket: nothing left to say to it
        log.debug("logging out of a broken IMAP session", exc_info=True)
