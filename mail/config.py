"""What the mail side needs to know, built from the settings by `app/wiring.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Security = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True)
class Server:
    """An IMAP or SMTP server and how to sign in to it."""

    host: str
    port: int
    security: Security = "ssl"
    user: str | None = None
    password: str | None = None
    folder: str = "INBOX"
    name: str = "inbox"
    """What the logs and the stored mail call this inbox."""


@dataclass(frozen=True)
class MailConfig:
    """The e-mail channel of one deployment."""

    from_address: str
    """The support address replies come from (and, with +token, go back to)."""
    from_name: str = "Support"
    smtp: Server | None = None
    """Where outgoing mail is handed over; None: outgoing mail waits in the outbox."""
    inboxes: tuple[Server, ...] = ()
    public_url: str = "http://127.0.0.1:8000"
    """Links in mail (reopening a chat) start here."""
    signatures: dict[str, str] = field(default_factory=dict)
    """Per team (User.team); "default" for the bot and teams without one."""
    max_bytes: int = 10 * 1024 * 1024
    poll_seconds: float = 60.0
    retry_seconds: float = 30.0
    """The first retry's delay; each later one doubles, up to an hour."""
    max_attempts: int = 12
    own_addresses: tuple[str, ...] = ()
    """Every address of ours (the inboxes' too): mail from them is a loop."""

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "localhost"

    def signature(self, team: str | None) -> str:
        return self.signatures.get(team or "default") or self.signatures.get("default", "")
