"""The words of our e-mails, per language, in one place (`text(key, lang, **params)`)."""

from __future__ import annotations

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Your question to our support team",
        "reopen_chat": "Continue the conversation in the chat: {url}",
        "reply_by_mail": "You can also simply reply to this e-mail.",
        "attachment": "[attachment: {name}, {size}]",
    },
    "ja": {
        "subject": "サポートへのお問い合わせについて",
        "reopen_chat": "チャットで続きをお話しいただけます: {url}",
        "reply_by_mail": "このメールに返信していただくこともできます。",
        "attachment": "[添付ファイル: {name}（{size}）]",
    },
}


def text(key: str, lang: str | None, **params: object) -> str:
    table = _TEXTS.get(lang or "en", _TEXTS["en"])
    return table.get(key, _TEXTS["en"][key]).format(**params)
