"""Articles in the database: revisions, publishing, drafts, import and export of the KB format.

Every save is a revision (author, time, note). Saving a published article stages a draft
revision: the bot keeps answering from the live revision (the latest revision saved with
status "published") until an editor publishes again. Only published articles are
retrieved; after publishing, archiving or unpublishing, the caller re-indexes just that
article (`on_change`).
"""

from __future__ import annotations

import difflib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.records import (
    CONTENT_FIELDS,
    STATUSES,
    ArticleError,
    ImportReport,
    article_dict,
    to_article,
    validate,
)
from retrieval.kb import ARTICLE_ID, Article, load_kb, render_article
from storage.models import ArticleRecord, ArticleRevision, Conversation, Message

Sessions = async_sessionmaker[AsyncSession]


def _live_numbers() -> Any:
    """Per article, the number of its latest published revision (its live content)."""
    return (
        select(
            ArticleRevision.article_id,
            func.max(ArticleRevision.number).label("number"),
        )
        .where(ArticleRevision.status == "published")
        .group_by(ArticleRevision.article_id)
        .subquery()
    )


async def _live_revision(session: AsyncSession, article_id: str) -> ArticleRevision | None:
    return await session.scalar(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article_id, ArticleRevision.status == "published")
        .order_by(ArticleRevision.number.desc())
        .limit(1)
    )


async def load_published(sessions: Sessions, article_id: str) -> Article | None:
    """The article as the bot should know it: its live revision, or None unless it exists
    and is published (a staged draft of a published article is not what the bot knows)."""
    async with sessions() as session:
        record = await session.get(ArticleRecord, article_id)
        if record is None or record.status != "published":
            return None
        live = await _live_revision(session, article_id)
    return to_article(live if live is not None else record, article_id)


class ArticleService:
    """Editors' changes to articles, each one a revision."""

    def __init__(
        self,
        sessions: Sessions,
        on_change: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.sessions = sessions
        self.on_change = on_change

    async def _changed(self, article_id: str) -> None:
        if self.on_change is not None:
            await self.on_change(article_id)

    # ------------------------------------------------------------------ reading
    async def count(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(ArticleRecord)) or 0)

    async def published(self) -> list[Article]:
        """Every published article as the bot should know it: its live revision."""
        live = _live_numbers()
        async with self.sessions() as session:
            rows = await session.execute(
                select(ArticleRecord.id, ArticleRevision)
                .join(live, live.c.article_id == ArticleRecord.id)
                .join(
                    ArticleRevision,
                    (ArticleRevision.article_id == ArticleRecord.id)
                    & (ArticleRevision.number == live.c.number),
                )
                .where(ArticleRecord.status == "published")
                .order_by(ArticleRecord.id)
            )
            return [to_article(revision, article_id) for article_id, revision in rows]

    async def live_revision(self, article_id: str) -> int | None:
        """The number of the revision the bot answers from (None: it is not published)."""
        async with self.sessions() as session:
            record = await session.get(ArticleRecord, article_id)
            if record is None:
                raise ArticleError("not_found", f"no article {article_id!r}")
            if record.status != "published":
                return None
            live = await _live_revision(session, article_id)
        return live.number if live is not None else record.revision

    async def get(self, article_id: str) -> ArticleRecord:
        async with self.sessions() as session:
            record = await session.get(ArticleRecord, article_id)
        if record is None:
            raise ArticleError("not_found", f"no article {article_id!r}")
        return record

    async def search(
        self,
        *,
        q: str | None = None,
        lang: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        updated_since: datetime | None = None,
        limit: int = 500,
    ) -> list[ArticleRecord]:
        query = select(ArticleRecord)
        if q:
            # autoescape: %, _ and \ are plain characters in SQLite and PostgreSQL alike
            query = query.where(
                or_(
                    ArticleRecord.title.icontains(q, autoescape=True),
                    ArticleRecord.id.icontains(q, autoescape=True),
                    ArticleRecord.body.icontains(q, autoescape=True),
                )
            )
        if lang:
            query = query.where(ArticleRecord.lang == lang)
        if status:
            query = query.where(ArticleRecord.status == status)
        if updated_since is not None:
            query = query.where(ArticleRecord.updated_at >= updated_since)
        query = query.order_by(ArticleRecord.updated_at.desc(), ArticleRecord.id)
        async with self.sessions() as session:
            if not tag:
                return list(await session.scalars(query.limit(limit)))
            # tags are a JSON list, read here: a page at a time, newest first, until `limit`
            # carry the tag (cutting at `limit` rows first missed older tagged articles)
            found: list[ArticleRecord] = []
            offset = 0
            while len(found) < limit:
                page = list(await session.scalars(query.offset(offset).limit(limit)))
                found += [r for r in page if tag in (r.tags or [])]
                if len(page) < limit:
                    break
                offset += limit
        return found[:limit]

    async def revisions(self, article_id: str) -> list[ArticleRevision]:
        await self.get(article_id)
        async with self.sessions() as session:
            return list(
                await session.scalars(
                    select(ArticleRevision)
                    .where(ArticleRevision.article_id == article_id)
                    .order_by(ArticleRevision.number.desc())
                )
            )

    async def diff(self, article_id: str, a: int, b: int) -> str:
        """A unified diff between two revisions, in the KB file format."""
        async with self.sessions() as session:
            found = {
                r.number: r
                for r in await session.scalars(
                    select(ArticleRevision).where(
                        ArticleRevision.article_id == article_id, ArticleRevision.number.in_([a, b])
                    )
                )
            }
        for number in (a, b):
            if number not in found:
                raise ArticleError("not_found", f"article {article_id!r} has no revision {number}")
        old, new = (
            render_article(to_article(found[n], article_id)).splitlines(keepends=True)
            for n in (a, b)
        )
        return "".join(difflib.unified_diff(old, new, f"revision {a}", f"revision {b}"))

    # ------------------------------------------------------------------ writing
    async def create(
        self,
        article_id: str,
        data: dict[str, Any],
        author: str,
        note: str = "created",
        status: str = "draft",
        path: str | None = None,
        source: str | None = None,
    ) -> ArticleRecord:
        if not ARTICLE_ID.match(article_id or ""):
            raise ArticleError(
                "invalid_article", f"id {article_id!r}: use lower-case letters, digits, '-' and '_'"
            )
        fields = validate({**data, "id": article_id})
        async with self.sessions.begin() as session:
            if await session.get(ArticleRecord, article_id) is not None:
                raise ArticleError("conflict", f"there is already an article {article_id!r}")
            record = ArticleRecord(
                id=article_id, status=status, revision=0, path=path, source=source, **fields
            )
            session.add(record)
            await self._revise(session, record, author, note)
        if status == "published":
            await self._changed(article_id)
        return record

    async def update(
        self,
        article_id: str,
        data: dict[str, Any],
        author: str,
        note: str = "",
        expected_revision: int | None = None,
        *,
        publish: bool = False,
    ) -> ArticleRecord:
        """Save a new revision. On a published article it is a staged draft (the bot keeps
        the live revision) unless `publish` makes it live at once (imports do)."""
        async with self.sessions.begin() as session:
            record = await self._locked(session, article_id)
            if expected_revision is not None and expected_revision != record.revision:
                raise ArticleError(
                    "conflict",
                    f"article {article_id!r} is at revision {record.revision}, "
                    f"not {expected_revision}: someone else saved it; reload and merge",
                )
            fields = validate({**article_dict(record), **data, "id": article_id})
            if all(getattr(record, k) == v for k, v in fields.items()):
                return record  # nothing changed: no new revision
            for name, value in fields.items():
                setattr(record, name, value)
            record.source = None
            live = publish and record.status == "published"
            staged = "draft" if record.status == "published" and not live else None
            await self._revise(session, record, author, note or "edited", status=staged)
        if live:
            await self._changed(article_id)
        return record

    async def set_status(
        self, article_id: str, status: str, author: str, note: str = ""
    ) -> ArticleRecord:
        if status not in STATUSES:
            raise ArticleError("invalid_article", f"status must be one of {', '.join(STATUSES)}")
        async with self.sessions.begin() as session:
            record = await self._locked(session, article_id)
            if record.status == status and not (
                status == "published" and await self._has_staged_draft(session, record)
            ):
                return record
            record.status = status
            await self._revise(session, record, author, note or status)
        await self._changed(article_id)
        return record

    async def revert(self, article_id: str, number: int, author: str) -> ArticleRecord:
        """A new revision with the content of revision `number` (status unchanged)."""
        async with self.sessions() as session:
            old = await session.scalar(
                select(ArticleRevision).where(
                    ArticleRevision.article_id == article_id, ArticleRevision.number == number
                )
            )
        if old is None:
            raise ArticleError("not_found", f"article {article_id!r} has no revision {number}")
        data = {name: getattr(old, name) for name in CONTENT_FIELDS}
        return await self.update(article_id, data, author, note=f"reverted to revision {number}")

    # ------------------------------------------------------------------ drafts
    async def draft(
        self, title: str, lang: str, body: str, author: str, note: str
    ) -> ArticleRecord:
        """A new draft with a generated id (draft-YYYYMMDD-xxxxxx)."""
        article_id = f"draft-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
        fields = {"title": title.strip() or "New article", "lang": lang, "body": body}
        return await self.create(article_id, fields, author, note)

    async def draft_from_questions(
        self, questions: Sequence[str], lang: str, author: str
    ) -> ArticleRecord:
        """A draft pre-filled with the customers' questions of a knowledge-gap topic."""
        lines = "\n".join(f"- {q.strip()}" for q in questions if q.strip())
        heading = "お客さまからのご質問" if lang == "ja" else "What customers asked"
        body = f"## {heading}\n\n{lines}\n\n## Answer\n\n(Write the answer here.)"
        return await self.draft(questions[0][:80], lang, body, author, "from knowledge gaps")

    async def add_questions(
        self, article_id: str, questions: Sequence[str], author: str
    ) -> ArticleRecord:
        """Teach an article customers' questions (from the knowledge gaps): a new revision
        with them after its own, staged as a draft on a published article like any edit.

        Raises:
            ArticleError: no such article ("not_found"), or too many or too long questions
                ("invalid_article").
        """
        record = await self.get(article_id)
        merged = [*(record.questions or []), *questions]
        return await self.update(
            article_id,
            {"questions": merged},
            author,
            note=f"{len(questions)} customer question(s) from knowledge gaps",
            expected_revision=record.revision,
        )

    async def draft_from_conversation(self, public_id: str, author: str) -> ArticleRecord:
        """A draft documenting a solved conversation: the question and the agent's replies.

        Raises:
            ArticleError: no such conversation ("not_found"), it is not closed yet
                ("conflict"), or the customer never asked anything ("invalid_article").
        """
        async with self.sessions() as session:
            conversation = await session.scalar(
                select(Conversation).where(Conversation.public_id == public_id)
            )
            if conversation is None:
                raise ArticleError("not_found", f"no conversation {public_id!r}")
            if conversation.state != "closed":
                # an open conversation is still the customer's and the agent's: nothing
                # of it goes into an article before it has ended
                raise ArticleError(
                    "conflict", f"conversation {public_id!r} is still open: close it first"
                )
            rows = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation.id)
                    .order_by(Message.seq)
                )
            )
        asked = [m.text for m in rows if m.role == "customer"]
        replies = [m.text for m in rows if m.role == "agent"]
        if not asked:
            raise ArticleError(
                "invalid_article", "the conversation has no customer question to document"
            )
        body = (
            "## Question\n\n"
            + "\n\n".join(f"> {q}" for q in asked[:3])
            + "\n\n## Answer\n\n"
            + ("\n\n".join(replies) or "(Write the answer here.)")
        )
        note = f"from conversation {public_id}"
        return await self.draft(asked[0][:80], conversation.lang, body, author, note)

    @staticmethod
    async def _has_staged_draft(session: AsyncSession, record: ArticleRecord) -> bool:
        live = await _live_revision(session, record.id)
        return live is None or live.number != record.revision

    async def _locked(self, session: AsyncSession, article_id: str) -> ArticleRecord:
        record = await session.get(ArticleRecord, article_id, with_for_update=True)
        if record is None:
            raise ArticleError("not_found", f"no article {article_id!r}")
        return record

    @staticmethod
    async def _revise(
        session: AsyncSession,
        record: ArticleRecord,
        author: str,
        note: str,
        status: str | None = None,
    ) -> None:
        """A new revision of the record's content; `status` is the revision's own (a draft
        staged on a published article), the article's by default."""
        record.revision += 1
        record.updated_at = datetime.now(UTC)
        record.updated_by = author
        session.add(
            ArticleRevision(
                article_id=record.id,
                number=record.revision,
                title=record.title,
                lang=record.lang,
                tags=list(record.tags or []),
                url=record.url,
                body=record.body,
                questions=list(record.questions or []),
                status=status or record.status,
                author=author,
                note=note[:500],
            )
        )
        await session.flush()

    # ------------------------------------------------------------------ KB files
    async def import_dir(self, root: str | Path, author: str = "import") -> ImportReport:
        """Import a KB folder: new articles are published, changed ones get a revision."""
        root = Path(root)
        loaded = load_kb(root)
        created: list[str] = []
        updated: list[str] = []
        unchanged = 0
        for article in loaded.articles:
            path = Path(article.path or "")
            relative = (
                str(path.relative_to(root))
                if path.is_absolute() or str(path).startswith(str(root))
                else str(path)
            )
            source = path.read_text(encoding="utf-8") if path.is_file() else None
            data = {
                "title": article.title,
                "lang": article.lang,
                "tags": list(article.tags),
                "url": article.url,
                "body": article.body,
                "questions": list(article.questions),
            }
            try:
                existing = await self.get(article.id)
            except ArticleError:
                await self.create(
                    article.id, data, author, "imported", "published", relative, source
                )
                created.append(article.id)
                continue
            if all(getattr(existing, k) == v for k, v in validate(data).items()):
                unchanged += 1
                continue
            await self.update(article.id, data, author, "imported", publish=True)
            async with self.sessions.begin() as session:
                record = await self._locked(session, article.id)
                record.source, record.path = source, relative
            updated.append(article.id)
        return ImportReport(created, updated, unchanged, [str(p) for p in loaded.problems])

    async def export_dir(
        self, root: str | Path, statuses: Sequence[str] = ("published",)
    ) -> list[Path]:
        """Write articles in the KB format; an imported, unchanged article is written back
        exactly as it was read, and a published one as it is live (not its staged draft)."""
        root = Path(root)
        written: list[Path] = []
        async with self.sessions() as session:
            rows = list(
                await session.scalars(
                    select(ArticleRecord)
                    .where(ArticleRecord.status.in_(list(statuses)))
                    .order_by(ArticleRecord.id)
                )
            )
            live = {
                r.id: await _live_revision(session, r.id) for r in rows if r.status == "published"
            }
        for record in rows:
            target = root / (record.path or f"{record.lang}/{record.id}.md")
            target.parent.mkdir(parents=True, exist_ok=True)
            content = live.get(record.id) or record
            text = (
                record.source
                if record.source is not None
                else render_article(to_article(content, record.id))
            )
            target.write_text(text, encoding="utf-8")
            written.append(target)
        return written
