"""Articles as values: the fields an editor may set, their checks, and their JSON shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from retrieval.errors import KBError
from retrieval.kb import Article, clean_questions, parse_article, render_article
from storage.models import ArticleRecord, ArticleRevision

STATUSES = ("draft", "published", "archived")
CONTENT_FIELDS = ("title", "lang", "tags", "url", "body", "questions")


class ArticleError(ValueError):
    """A request about articles that cannot be carried out; `code` says which kind
    ("not_found", "conflict" or "invalid_article")."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImportReport:
    created: list[str]
    updated: list[str]
    unchanged: int
    problems: list[str]


def to_article(record: ArticleRecord | ArticleRevision, article_id: str | None = None) -> Article:
    """The retrieval-side `Article` for a stored article or one of its revisions."""
    if article_id is None:
        article_id = record.article_id if isinstance(record, ArticleRevision) else record.id
    return Article(
        id=article_id,
        title=record.title,
        lang=record.lang,
        body=record.body,
        tags=tuple(record.tags or ()),
        url=record.url,
        questions=tuple(record.questions or ()),
    )


def article_dict(record: ArticleRecord, with_body: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id,
        "title": record.title,
        "lang": record.lang,
        "tags": list(record.tags or []),
        "url": record.url,
        "questions": list(record.questions or []),
        "status": record.status,
        "revision": record.revision,
        "updated_at": record.updated_at.isoformat(),
        "updated_by": record.updated_by,
    }
    if with_body:
        data["body"] = record.body
    return data


def revision_dict(revision: ArticleRevision) -> dict[str, Any]:
    return {
        "number": revision.number,
        "title": revision.title,
        "lang": revision.lang,
        "tags": list(revision.tags or []),
        "url": revision.url,
        "questions": list(revision.questions or []),
        "body": revision.body,
        "status": revision.status,
        "author": revision.author,
        "note": revision.note,
        "created_at": revision.created_at.isoformat(),
    }


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """Check article fields with the KB format's rules; returns the cleaned values."""
    try:
        questions = clean_questions(data.get("questions"))
        article = parse_article(
            render_article(
                Article(
                    id=str(data.get("id") or "draft"),
                    title=str(data.get("title") or "").strip(),
                    lang=str(data.get("lang") or "").strip(),
                    body=str(data.get("body") or ""),
                    tags=tuple(str(t).strip() for t in data.get("tags") or () if str(t).strip()),
                    url=(str(data["url"]).strip() or None) if data.get("url") else None,
                    questions=questions,
                )
            )
        )
    except KBError as exc:
        raise ArticleError("invalid_article", str(exc)) from None
    return {
        "title": article.title,
        "lang": article.lang,
        "tags": list(article.tags),
        "url": article.url,
        "body": article.body,
        "questions": list(article.questions),
    }
