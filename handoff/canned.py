"""Canned responses: a team's saved replies that agents insert in the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import CannedResponse


class CannedNotFound(LookupError):
    """No canned response with that id (for this team)."""


def canned_dict(canned: CannedResponse) -> dict[str, Any]:
    return {
        "id": canned.id,
        "team": canned.team,
        "title": canned.title,
        "text": canned.text,
        "lang": canned.lang,
        "updated_by": canned.updated_by,
        "updated_at": canned.updated_at.isoformat(),
    }


class CannedResponses:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def for_team(self, team: str) -> list[CannedResponse]:
        """The team's canned responses by title."""
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(CannedResponse)
                    .where(CannedResponse.team == team)
                    .order_by(CannedResponse.title)
                )
            )

    async def create(self, fields: dict[str, Any], author: str) -> dict[str, Any]:
        async with self.sessions.begin() as session:
            canned = CannedResponse(**fields, updated_by=author)
            session.add(canned)
            await session.flush()
            return canned_dict(canned)

    async def update(self, canned_id: int, fields: dict[str, Any], author: str) -> dict[str, Any]:
        async with self.sessions.begin() as session:
            canned = await session.get(CannedResponse, canned_id)
            if canned is None:
                raise CannedNotFound(f"no canned response {canned_id}")
            for name, value in fields.items():
                setattr(canned, name, value)
            canned.updated_by = author
            await session.flush()
            return canned_dict(canned)

    async def delete(self, canned_id: int) -> None:
        async with self.sessions.begin() as session:
            canned = await session.get(CannedResponse, canned_id)
            if canned is None:
                raise CannedNotFound(f"no canned response {canned_id}")
            await session.delete(canned)
