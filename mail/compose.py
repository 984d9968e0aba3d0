"""Writing one outgoing e-mail: UTF-8, a plain-text and an HTML part, threaded headers."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from attachments.kinds import human_size
from bot import messages as bot_messages
from conversations.frames import attached, message_frame
from mail import messages
from mail.config import MailConfig
from mail.threads import reply_address
from storage.models import Conversation, Message


@dataclass(frozen=True)
class Thread:
    """The mail thread an outgoing mail continues."""

    subject: str
    """The first customer mail's subject (cleaned), or "" for a chat."""
    in_reply_to: str | None
    references: tuple[str, ...]


def compose(
    config: MailConfig,
    conversation: Conversation,
    message: Message,
    *,
    to: str,
    message_id: str,
    thread: Thread,
    team: str | None = None,
) -> EmailMessage:
    """The e-mail that carries `message` to the customer."""
    lang = message.lang or conversation.lang
    text_parts = [message.text.strip()]
    html_parts = [message_frame(message)["html"]]
    files = [
        messages.text("attachment", lang, name=a.get("name"), size=human_size(a.get("size", 0)))
        for a in attached(message.meta)
    ]
    if files:  # the files themselves are in the chat (the link below reopens it)
        text_parts.append("\n".join(files))
        html_parts.append("<p>" + "<br>".join(html.escape(f) for f in files) + "</p>")
    sources = _sources(message, lang)
    if sources:
        text_parts.append("\n".join(sources))
        html_parts.append("<p>" + "<br>".join(html.escape(s) for s in sources) + "</p>")
    footer = []
    if conversation.channel != "email" and conversation.mail_token:
        url = f"{config.public_url.rstrip('/')}/?lang={lang}&resume={conversation.mail_token}"
        footer.append(messages.text("reopen_chat", lang, url=url))
        footer.append(messages.text("reply_by_mail", lang))
    signature = config.signature(team)
    if signature:
        footer.append(f"-- \n{signature}")
    text_parts.extend(footer)
    html_parts.extend(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in footer)
    mail = EmailMessage()
    mail["From"] = formataddr((config.from_name, config.from_address))
    mail["To"] = to
    if conversation.mail_token:
        mail["Reply-To"] = reply_address(config.from_address, conversation.mail_token)
    subject = thread.subject or messages.text("subject", lang)
    mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id
    if thread.in_reply_to:
        mail["In-Reply-To"] = thread.in_reply_to
    if thread.references:
        mail["References"] = " ".join(thread.references[-20:])
    if message.role == "bot":  # RFC 3834: robots must not answer the bot's answers
        mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content("\n\n".join(p for p in text_parts if p) + "\n", charset="utf-8")
    body = "\n".join(html_parts)
    mail.add_alternative(
        f'<!doctype html><html lang="{lang}"><body>{body}</body></html>',
        subtype="html",
        charset="utf-8",
    )
    return mail


def _sources(message: Message, lang: str) -> list[str]:
    lines = []
    for citation in message.citations or []:
        title, url = citation.get("title", ""), citation.get("url")
        key = "answer_source_link" if url else "answer_source"
        lines.append(bot_messages.text(key, lang, title=title, url=url))
    return lines
