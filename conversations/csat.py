"""Customer satisfaction (CSAT): what a closed conversation says about its rating.

Once a conversation has ended (an agent closed it, or the customer ended it), its
customer is asked "How was your conversation?": a score from 1 (very bad) to 5 (very
good) and an optional comment. A rating can be given, or changed (each one replaces the
last), for `RATING_WINDOW` after the conversation closed; after that it is final.
The rating is stored on the conversation (`csat_score`, `csat_comment`, `rated_at`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot import messages
from delivery.events import RatedFrame
from storage.models import Conversation

RATING_WINDOW = timedelta(hours=24)
SCORES = range(1, 6)


def rating_open_until(conversation: Conversation) -> datetime | None:
    """Until when the customer may rate (None: not closed, so not yet)."""
    if conversation.closed_at is None:
        return None
    return conversation.closed_at + RATING_WINDOW


def rating_open(conversation: Conversation, now: datetime | None = None) -> bool:
    until = rating_open_until(conversation)
    return until is not None and (now or datetime.now(UTC)) < until


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def rating(conversation: Conversation) -> dict[str, Any] | None:
    """The customer's rating as agents see it, or None before one is given."""
    if conversation.csat_score is None:
        return None
    return {
        "score": conversation.csat_score,
        "comment": conversation.csat_comment,
        "rated_at": _iso(conversation.rated_at),
    }


def rated_frame(conversation: Conversation) -> RatedFrame:
    """The acknowledgement of a `rate`, sent to the customer and to agents watching."""
    frame: RatedFrame = {"type": "rated"}
    if conversation.csat_score is not None:
        frame["score"] = conversation.csat_score
        frame["comment"] = conversation.csat_comment
        frame["rated_at"] = _iso(conversation.rated_at)
    return frame


def csat_state(conversation: Conversation) -> dict[str, Any]:
    """The `csat` object of a closed conversation's `state` event, texts in its language."""
    lang = conversation.lang
    return {
        "rated": conversation.csat_score is not None,
        "score": conversation.csat_score,
        "comment": conversation.csat_comment,
        "rated_at": _iso(conversation.rated_at),
        "open": rating_open(conversation),
        "open_until": _iso(rating_open_until(conversation)),
        "texts": {
            "question": messages.text("csat_question", lang),
            "choices": [messages.text(f"csat_score_{n}", lang) for n in SCORES],
            "comment_prompt": messages.text("csat_comment_prompt", lang),
            "comment_send": messages.text("csat_comment_send", lang),
            "thanks": messages.text("csat_thanks", lang),
        },
    }
