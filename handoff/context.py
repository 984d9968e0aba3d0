"""What an agent sees to take over: transcript, notes, why, summary, articles."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.retriever import Retriever
from conversations.csat import rating
from conversations.frames import (
    attached,
    attachment_info,
    message_frame,
    note_frame,
    with_files,
)
from conversations.mailing import deliveries
from handoff import _rows
from handoff.summary import Line, needs_now, summarise
from knowledge.rendering import render_markdown
from storage.models import Message, Note, User

SUGGESTIONS = 3
EXCERPT_CHARS = 600


class ContextPanel:
    """Builds the `conversation` frame of the agent protocol."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], retriever: Retriever) -> None:
        self.sessions = sessions
        self.retriever = retriever

    async def context(self, public_id: str, last_seq: int | None = None) -> dict[str, Any]:
        async with self.sessions() as session:
            conversation = await _rows.by_public_id(session, public_id)
            rows = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation.id)
                    .order_by(Message.seq)
                )
            )
            notes = list(
                await session.scalars(
                    select(Note).where(Note.conversation_id == conversation.id).order_by(Note.id)
                )
            )
            owner = (
                await session.get(User, conversation.agent_id) if conversation.agent_id else None
            )
            mailed = await deliveries(session, conversation.id)
        lines = [
            Line(
                m.role,
                with_files(m.text, m.meta),
                m.kind,
                m.citations or [],
                m.helpful,
                m.confidence,
            )
            for m in rows
        ]
        # the articles for what the customer needs now, not for everything they ever asked
        now = needs_now(lines, conversation.escalation_reason)
        customer_text = "\n".join(m.text for m in rows if m.role == "customer")[-2000:]
        suggestions = await self._suggestions(now or customer_text, conversation.lang)
        after = last_seq or 0
        return {
            "type": "conversation",
            "conversation_id": public_id,
            "state": conversation.state,
            "lang": conversation.lang,
            "channel": conversation.channel,
            "customer_email": conversation.customer_email,
            "agent": owner.display_name if owner else None,
            "agent_id": conversation.agent_id,
            "reason": conversation.escalation_reason,
            "scores": conversation.escalation_scores or {},
            "summary": summarise(
                lines, conversation.escalation_reason, conversation.escalation_scores
            ),
            "suggestions": suggestions,
            "messages": [
                _with_delivery({**message_frame(m), "conversation_id": public_id}, mailed.get(m.id))
                for m in rows
                if m.seq > after
            ],
            "notes": [note_frame(n, public_id) for n in notes],
            # every file of the conversation, the latest first, for the context panel
            "attachments": [
                {**attachment_info(a), "seq": m.seq, "role": m.role}
                for m in reversed(rows)
                for a in attached(m.meta)
            ],
            "contact": {
                "email": conversation.contact_email,
                "message": conversation.contact_message,
            },
            "outcome": conversation.outcome,
            "tags": conversation.tags or [],
            "csat": rating(conversation),
        }

    async def _suggestions(self, customer_text: str, lang: str) -> list[dict[str, Any]]:
        """The articles that best match what the customer wrote."""
        if not customer_text.strip():
            return []
        result = await asyncio.to_thread(
            self.retriever.retrieve, customer_text, lang=lang, k=SUGGESTIONS
        )
        suggestions = []
        for a in result.articles[:SUGGESTIONS]:
            excerpt = _excerpt(a.passages[0].text) if a.passages else ""
            suggestions.append(
                {
                    "article_id": a.article_id,
                    "title": a.title,
                    "url": a.url,
                    "excerpt": excerpt,  # Markdown, as inserted into a reply
                    "html": render_markdown(excerpt),  # rendered as the widget renders answers
                    "score": a.score,
                }
            )
        return suggestions


def _with_delivery(frame: dict[str, Any], mailed: dict[str, str] | None) -> dict[str, Any]:
    """A message that also went out by mail carries its delivery state (agents only)."""
    return {**frame, "delivery": mailed} if mailed else frame


def _excerpt(text: str) -> str:
    """The passage's beginning, cut at a line's end so a list or table stays well formed."""
    if len(text) <= EXCERPT_CHARS:
        return text
    cut = text.rfind("\n", 0, EXCERPT_CHARS)
    return text[:cut].rstrip() if cut > 0 else text[: EXCERPT_CHARS - 1] + "…"
