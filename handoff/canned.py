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

    async def update(
        self, canned_id: int, fields: dict[str, Any], author: str, team: str | None = None
    ) -> dict[str, Any]:
        """Edit a response; with `team`, only one of that team's, and it stays there.

        Raises:
            CannedNotFound: no such response (of `team`, when given).
        """
        async with self.sessions.begin() as session:
            canned = await self._get(session, canned_id, team)
            if team is not None:
                fields = {**fields, "team": canned.team}
            for name, value in fields.items():
                setattr(canned, name, value)
            canned.updated_by = author
            await session.flush()
            return canned_dict(canned)

    async def delete(self, canned_id: int, team: str | None = None) -> None:
        """Remove a response; with `team`, only one of that team's.

        Raises:
            CannedNotFound: no such response (of `team`, when given).
        """
        async with self.sessions.begin() as session:
            await session.delete(await self._get(session, canned_id, team))

    @staticmethod
    async def _get(session: AsyncSession, canned_id: int, team: str | None) -> CannedResponse:
        canned = await session.get(CannedResponse, canned_id, with_for_update=True)
        if canned is None or (team is not None and canned.team != team):
            # another team's response is as good as absent: its existence is not revealed
            raise CannedNotFound(f"no canned response {canned_id} in your team")
        return canned
