"""Every customer-facing text the bot says, per language, in one place.

Texts are plain strings with `str.format` placeholders; they say nothing about how they
are shown (no HTML, no buttons), so the widget, e-mail or an agent's console can all use
them. Look them up with `text(key, lang, **params)`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

DEFAULT_LANGUAGE = "en"

#: Handoff reasons that have their own notice; the key is `f"handoff_{reason}"`.
HANDOFF_REASONS = ("customer_request", "frustration", "low_confidence")

_EN: dict[str, str] = {
    # Small talk
    "greeting": "Hello! I'm the virtual assistant. What can I help you with today?",
    "thanks": "You're welcome! Is there anything else I can help you with?",
    "goodbye": "Thank you for chatting with us. Have a lovely day!",
    # Answering from the help centre: lead-in, then the passage, then the source line
    "answer_lead_in": "Here is what I found in “{title}”:",
    "answer_source": "Source: {title}",
    "answer_source_link": "Source: {title} ({url})",
    "answer_follow_up": "Did this answer your question?",
    "answer_read_more": "Read the whole article",
    "answer_overview": "The article covers:",
    # Offering choices when unsure (the articles follow as buttons)
    "suggest_lead_in": "I'm not sure which of these you need.",
    "suggest_follow_up": "Choose one, or tell me a little more about what you need.",
    # Honest decline
    "decline": "I couldn't find that in our help centre. Would you like to talk to a person?",
    # Handoff to a person, one notice per reason
    "handoff_customer_request": (
        "Of course. I'm connecting you with a member of our team. "
        "They will see this conversation, so you won't need to repeat yourself."
    ),
    "handoff_frustration": (
        "I'm sorry this has been frustrating. I'm connecting you with a member of our team "
        "who can look into it properly. They will see this conversation, "
        "so you won't need to repeat yourself."
    ),
    "handoff_low_confidence": (
        "I don't want to give you a wrong answer, so I'm connecting you with a member of "
        "our team. They will see this conversation, so you won't need to repeat yourself."
    ),
    # A customer sent a photo or a document: the bot cannot look at it, a person can
    "attachment_handoff": (
        "Thank you for sending this. I can't look at photos or documents myself, so I'm "
        "connecting you with a member of our team. They will see your file and this "
        "conversation, so you won't need to repeat yourself."
    ),
    "handoff_waiting": (
        "You're number {position} in the queue. A member of our team will be with you "
        "as soon as possible. Please keep this window open."
    ),
    "handoff_waiting_next": (
        "You're next in the queue. A member of our team will be with you shortly. "
        "Please keep this window open."
    ),
    "handoff_outside_hours": (
        "Our team is not available right now. {back} "
        "Leave your question here and we will reply when we're back; "
        "in the meantime you can keep asking me."
    ),
    "support_hours": "Our support hours: {hours}.",
    # When the team is back and its hours, written for people (conversations/opening.py)
    "back_at": "We're back {when} ({zone}).",
    "when_today": "today at {time}",
    "when_tomorrow": "tomorrow at {time}",
    "when_weekday": "{weekday} at {time}",
    "when_date": "on {day} {month} at {time}",
    "weekdays": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "months": "January February March April May June July August September October "
    "November December",
    "days_range": "{first} to {last}",
    "hours_span": "{days} {start}–{end}",
    "zone_time": "{city} time",
    "handoff_no_agent": (
        "I'm sorry, no one from our team is free to chat right now. "
        "Leave your question here and we will reply as soon as possible, "
        "or you can keep asking me in the meantime."
    ),
    # System notices in the conversation
    "agent_joined": "A member of our team has joined the chat.",
    "agent_joined_named": "{name} from our team has joined the chat.",
    "handed_back": (
        "You're now chatting with the automated assistant again. If you need a person, just ask."
    ),
    "agent_disconnected": (
        "Your agent lost their connection, so you're back in the queue. "
        "The next available member of our team will continue from here."
    ),
    "conversation_closed": "This conversation has been closed. Thank you for contacting us.",
    "contact_thanks": (
        "Thank you. We have your message and will reply to {email} as soon as we can."
    ),
    "customer_ended": "You ended this chat. Thank you for contacting us.",
    # Satisfaction survey (CSAT) once a conversation has ended: a question, five choices
    # from 1 (very bad) to 5 (very good), an optional comment, thanks.
    "csat_question": "How was your conversation?",
    "csat_score_1": "Very bad",
    "csat_score_2": "Bad",
    "csat_score_3": "Okay",
    "csat_score_4": "Good",
    "csat_score_5": "Very good",
    "csat_comment_prompt": "Anything you'd like to tell us? (optional)",
    "csat_comment_send": "Send comment",
    "csat_thanks": "Thank you for your feedback!",
    "contact_invalid_email": "That e-mail address doesn't look right. Please check it.",
    "clarify": "Could you tell me a little more about what you need help with?",
    "bot_error": (
        "Sorry, something went wrong on our side and I couldn't answer that. "
        "Please try again, or ask to talk to a person."
    ),
}

_JA: dict[str, str] = {
    "greeting": ("こんにちは。サポートアシスタントです。ご用件をお聞かせください。"),
    "thanks": "どういたしまして。ほかにお困りのことはございますか？",
    "goodbye": "ご利用いただきありがとうございました。またお気軽にお問い合わせください。",
    "answer_lead_in": "ヘルプセンターの「{title}」に、次のようなご案内がございます。",
    "answer_source": "出典：{title}",
    "answer_source_link": "出典：{title}（{url}）",
    "answer_follow_up": "こちらでご質問の答えになりましたでしょうか？",
    "answer_read_more": "記事の全文を読む",
    "answer_overview": "この記事では次の内容をご案内しています。",
    "suggest_lead_in": "どちらのご案内をお探しか判断がつきませんでした。",
    "suggest_follow_up": (
        "当てはまるものをお選びいただくか、もう少し詳しくご用件をお聞かせください。"
    ),
    "decline": (
        "申し訳ございません。ヘルプセンターには該当するご案内が見つかりませんでした。"
        "担当者におつなぎしましょうか？"
    ),
    "handoff_customer_request": (
        "かしこまりました。ただいま担当者におつなぎいたします。"
        "これまでのやり取りは担当者に引き継がれますので、"
        "同じ内容を改めてご説明いただく必要はございません。"
    ),
    "handoff_frustration": (
        "ご不便・ご不快をおかけしており、大変申し訳ございません。"
        "担当者がしっかりと確認いたしますので、ただいまおつなぎいたします。"
        "これまでのやり取りは担当者に引き継がれます。"
    ),
    "handoff_low_confidence": (
        "誤ったご案内をしないよう、担当者におつなぎいたします。"
        "これまでのやり取りは担当者に引き継がれますので、"
        "同じ内容を改めてご説明いただく必要はございません。"
    ),
    "attachment_handoff": (
        "お送りいただきありがとうございます。写真や書類は私からは確認できないため、"
        "担当者におつなぎいたします。お送りいただいたファイルとこれまでのやり取りは"
        "担当者に引き継がれますので、同じ内容を改めてご説明いただく必要はございません。"
    ),
    "handoff_waiting": (
        "ただいま{position}番目にお待ちいただいております。"
        "順番に担当者がご対応いたしますので、このままお待ちください。"
    ),
    "handoff_waiting_next": (
        "次にご案内いたします。まもなく担当者がご対応いたしますので、このままお待ちください。"
    ),
    "handoff_outside_hours": (
        "申し訳ございません。ただいまサポートの受付時間外です。{back}"
        "こちらにご用件を残していただければ、受付再開後に担当者よりご返信いたします。"
        "それまでの間も、引き続き私がお答えできることはお手伝いいたします。"
    ),
    "support_hours": "（受付時間：{hours}）",
    "back_at": "{when} から対応いたします（{zone}）。",
    "when_today": "本日 {time}",
    "when_tomorrow": "明日 {time}",
    "when_weekday": "{weekday} {time}",
    "when_date": "{month}{day}日 {time}",
    "weekdays": "月曜 火曜 水曜 木曜 金曜 土曜 日曜",
    "months": "1月 2月 3月 4月 5月 6月 7月 8月 9月 10月 11月 12月",
    "days_range": "{first}〜{last}",
    "hours_span": "{days} {start}〜{end}",
    "zone_time": "{city}時間",
    "handoff_no_agent": (
        "申し訳ございません。ただいま対応できる担当者がおりません。"
        "こちらにご用件を残していただければ、担当者よりできるだけ早くご返信いたします。"
        "それまでの間も、引き続き私がお答えできることはお手伝いいたします。"
    ),
    "agent_joined": "担当者がチャットに参加しました。",
    "agent_joined_named": "担当の{name}がチャットに参加しました。",
    "handed_back": (
        "ここからは再び自動アシスタントがご対応いたします。"
        "担当者との会話をご希望の際は、いつでもお申し付けください。"
    ),
    "agent_disconnected": (
        "担当者との接続が切れたため、順番待ちに戻りました。"
        "次に対応可能な担当者が、これまでの内容を引き継いでご対応いたします。"
    ),
    "conversation_closed": (
        "このチャットは終了しました。お問い合わせいただきありがとうございました。"
    ),
    "contact_thanks": (
        "ありがとうございます。ご用件を承りました。{email} 宛てにできるだけ早くご返信いたします。"
    ),
    "customer_ended": "チャットを終了しました。お問い合わせいただきありがとうございました。",
    "csat_question": "今回のご対応はいかがでしたか？",
    "csat_score_1": "とても不満",
    "csat_score_2": "不満",
    "csat_score_3": "ふつう",
    "csat_score_4": "満足",
    "csat_score_5": "とても満足",
    "csat_comment_prompt": "ご意見・ご感想があればお聞かせください（任意）",
    "csat_comment_send": "コメントを送信",
    "csat_thanks": "ご評価いただきありがとうございました。",
    "contact_invalid_email": "メールアドレスの形式が正しくないようです。ご確認ください。",
    "clarify": "恐れ入りますが、どのようなことでお困りか、もう少し詳しくお聞かせいただけますか？",
    "bot_error": (
        "申し訳ございません。システムの不具合によりお答えできませんでした。"
        "もう一度お試しいただくか、担当者との会話をお申し付けください。"
    ),
}

MESSAGES: Mapping[str, Mapping[str, str]] = {"en": _EN, "ja": _JA}

#: Time zones customers know by a name of their own ("Japan time", not "Asia/Tokyo").
ZONE_NAMES: Mapping[str, Mapping[str, str]] = {
    "Asia/Tokyo": {"en": "Japan time", "ja": "日本時間"},
    "Asia/Seoul": {"en": "Korea time", "ja": "韓国時間"},
    "Asia/Shanghai": {"en": "China time", "ja": "中国時間"},
    "Europe/London": {"en": "UK time", "ja": "イギリス時間"},
    "UTC": {"en": "UTC", "ja": "協定世界時"},
}
LANGUAGES: tuple[str, ...] = tuple(MESSAGES)


def _catalogue(lang: str) -> Mapping[str, str]:
    """The catalogue for `lang` ("ja", "ja-JP", "JA"), English when there is none."""
    base = lang.replace("_", "-").split("-", 1)[0].lower() if lang else ""
    return MESSAGES.get(base, MESSAGES[DEFAULT_LANGUAGE])


def placeholders(key: str, lang: str = DEFAULT_LANGUAGE) -> frozenset[str]:
    """Names of the `{placeholders}` the text for `key` expects."""
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(_template(key, lang)) if name
    )


def _template(key: str, lang: str) -> str:
    catalogue = _catalogue(lang)
    if key in catalogue:
        return catalogue[key]
    if key in MESSAGES[DEFAULT_LANGUAGE]:  # a text not translated yet: English beats nothing
        return MESSAGES[DEFAULT_LANGUAGE][key]
    raise KeyError(f"no bot message {key!r} (known keys: {', '.join(sorted(_EN))})")


def text(key: str, lang: str, **params: object) -> str:
    """The customer-facing text for `key` in `lang`, with `params` filled in.

    Args:
        key: Message key, e.g. "decline" or "handoff_waiting".
        lang: Language tag; unknown languages get English.
        **params: Values for the text's placeholders, e.g. `position=3`.

    Raises:
        KeyError: there is no message `key`, or a placeholder it needs is not in `params`.
    """
    template = _template(key, lang)
    try:
        return template.format(**params)
    except KeyError as exc:
        raise KeyError(
            f"bot message {key!r} needs parameter {exc.args[0]!r} "
            f"(e.g. text({key!r}, {lang!r}, {exc.args[0]}=...))"
        ) from None
