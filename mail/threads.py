"""Which conversation an inbound mail belongs to.

In order: a `reply+<token>@` recipient (the Reply-To of every mail we send); then
`In-Reply-To`, then `References` (newest first), against every Message-ID we have sent
or received. Anything else starts a new conversation. A reply to a closed conversation
starts a new one linked to it (`previous_id`).
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mail.parse import InboundMail
from storage.models import Conversation, MailMessage

_TOKEN = re.compile(r"^[^@+]+\+([0-9a-f]{32})@")


def new_token() -> str:
    """A conversation's mail token: lower-case hex, as mail servers may lower-case it."""
    return secrets.token_hex(16)


def reply_address(from_address: str, token: str) -> str:
    """support@example.com → support+<token>@example.com (plus addressing)."""
    local, _, domain = from_address.partition("@")
    return f"{local}+{token}@{domain}"


def token_in(recipients: tuple[str, ...]) -> str | None:
    for address in recipients:
        match = _TOKEN.match(address)
        if match:
            return match.group(1)
    return None


async def find_conversation(session: AsyncSession, mail: InboundMail) -> Conversation | None:
    """The conversation this mail continues, or None for a new one."""
    token = token_in(mail.recipients)
    if token is not None:
        found = await session.scalar(select(Conversation).where(Conversation.mail_token == token))
        if found is not None:
            return found
    ids = [i for i in dict.fromkeys(mail.thread_ids) if len(i) <= 500]
    if not ids:
        return None
    rows = (
        await session.execute(
            select(MailMessage.message_id, MailMessage.conversation_id).where(
                MailMessage.message_id.in_(ids), MailMessage.conversation_id.is_not(None)
            )
        )
    ).all()
    by_id = {message_id: conversation_id for message_id, conversation_id in rows}
    for message_id in ids:  # the most direct reference wins
        if message_id in by_id:
            return await session.get(Conversation, by_id[message_id])
    return None
