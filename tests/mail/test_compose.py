"""An agent's reply that carries files says so in its mail (the files are in the chat)."""

from __future__ import annotations

from datetime import UTC, datetime

from mail.compose import Thread, compose
from mail.config import MailConfig
from storage.models import Conversation, Message

CONFIG = MailConfig(from_address="support@shop.example", public_url="https://shop.example")


def _reply(lang: str, text: str) -> tuple[Conversation, Message]:
    conversation = Conversation(
        public_id="c1", token_hash="h", lang=lang, channel="chat", mail_token="m" * 20
    )
    label = {
        "id": "a" * 32,
        "name": "返品ラベル.pdf",
        "content_type": "application/pdf",
        "size": 125_952,
        "image": False,
        "width": None,
        "height": None,
    }
    message = Message(
        seq=3,
        role="agent",
        kind="text",
        text=text,
        lang=lang,
        citations=[],
        meta={"attachments": [label]},
        created_at=datetime.now(UTC),
    )
    return conversation, message


def _body(conversation: Conversation, message: Message) -> str:
    mail = compose(
        CONFIG,
        conversation,
        message,
        to="aiko@example.com",
        message_id="<1@shop.example>",
        thread=Thread("", None, ()),
    )
    text = mail.get_body(("plain",))
    assert text is not None
    return str(text.get_content())


def test_the_mail_names_each_file_and_links_back_to_the_chat() -> None:
    body = _body(*_reply("en", "Here is your return label."))
    assert body.startswith("Here is your return label.\n\n[attachment: 返品ラベル.pdf, 123 KB]")
    assert "https://shop.example/?lang=en&resume=" in body


def test_a_file_alone_makes_a_mail_that_starts_with_it_in_japanese() -> None:
    body = _body(*_reply("ja", ""))
    assert body.startswith("[添付ファイル: 返品ラベル.pdf（123 KB）]")
