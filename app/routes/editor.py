"""Content editors: the article API (/api/articles), the editor pages, knowledge gaps."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field, StrictBool
from starlette import status

from accounts.errors import UnknownUser
from accounts.sessions import SignedIn
from accounts.tokens import issue_token_for
from app.deps import AdminDep, AgentDep, EditorDep, ServicesDep
from app.errors import NotFound
from app.routes._fields import MAX_INT, Seq
from app.routes._responses import SIGNED_IN, ArticleId, ConversationId, page, refused
from app.routes.templates import templates
from app.services import Services
from bot.answer import decide_answer
from bot.policy import Bot
from knowledge.records import article_dict, revision_dict, to_article
from knowledge.rendering import render_markdown
from retrieval.hybrid import HybridRetriever
from retrieval.kb import ARTICLE_ID, MAX_QUESTIONS, Article
from storage.models import ArticleRecord

router = APIRouter(responses=SIGNED_IN)
# An article the knowledge base's format refuses (retrieval.kb.parse_article) is 422
# `invalid_article`; an id that is taken, or a revision someone else saved meanwhile, 409.
ARTICLE = refused(404, 409, 422)
BODY = 400  # a JSON body that is not UTF-8 text


def _shown(pattern: str) -> Any:
    """A pattern the schema shows, which the knowledge base checks (retrieval.kb), so that
    the refusal is its 422 `invalid_article` with a message saying what to write."""
    return {"pattern": pattern}


class ArticleIn(BaseModel):
    title: str = Field(min_length=1, max_length=500, json_schema_extra=_shown(r"\S"))
    lang: str = Field(pattern=r"^[a-z]{2,3}$")
    body: str = Field(min_length=1, max_length=200_000, json_schema_extra=_shown(r"\S"))
    tags: list[str] = Field(default_factory=list, max_length=30)
    url: str | None = Field(
        default=None, max_length=1000, json_schema_extra=_shown(r"^(https?://\S+)?$")
    )
    # customers' own questions the article answers; left out, an update keeps them
    questions: list[str] | None = Field(default=None, max_length=MAX_QUESTIONS)
    note: str = Field(default="", max_length=500)


class ArticleCreate(ArticleIn):
    id: str = Field(min_length=1, max_length=200, json_schema_extra=_shown(ARTICLE_ID.pattern))


class ArticleUpdate(ArticleIn):
    expected_revision: Seq | None = None


def _content(body: ArticleIn) -> dict[str, Any]:
    content = body.model_dump(include={"title", "lang", "body", "tags", "url", "questions"})
    if body.questions is None:  # a client that does not send them keeps them
        del content["questions"]
    return content


async def _described(services: Services, record: ArticleRecord) -> dict[str, Any]:
    """An article's JSON with the revision the bot answers from (`live_revision`)."""
    return {
        **article_dict(record),
        "live_revision": await services.articles.live_revision(record.id),
    }


# ------------------------------------------------------------------------------- API
@router.get("/api/articles")
async def list_articles(
    services: ServicesDep,
    signed: EditorDep,
    q: str | None = None,
    lang: str | None = None,
    tag: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    updated_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
) -> list[dict[str, Any]]:
    """Articles, newest change first, filtered by text, language, tag, status, age."""
    since = datetime.now(UTC) - timedelta(days=updated_days) if updated_days else None
    rows = await services.articles.search(
        q=q, lang=lang, tag=tag, status=status_, updated_since=since
    )
    return [article_dict(r, with_body=False) for r in rows]


@router.get("/api/articles/{article_id}", responses=refused(404, 422))
async def get_article(
    article_id: ArticleId, services: ServicesDep, signed: EditorDep
) -> dict[str, Any]:
    """One article with its body and the revision the bot answers from."""
    return await _described(services, await services.articles.get(article_id))


@router.post(
    "/api/articles", status_code=status.HTTP_201_CREATED, responses={**ARTICLE, **refused(BODY)}
)
async def create_article(
    services: ServicesDep, signed: EditorDep, body: Annotated[ArticleCreate, Body()]
) -> dict[str, Any]:
    """A new draft."""
    record = await services.articles.create(
        body.id, _content(body), signed.user.display_name, body.note or "created"
    )
    return await _described(services, record)


@router.put("/api/articles/{article_id}", responses={**ARTICLE, **refused(BODY)})
async def update_article(
    article_id: ArticleId,
    services: ServicesDep,
    signed: EditorDep,
    body: Annotated[ArticleUpdate, Body()],
) -> dict[str, Any]:
    """Save a new revision; on a published article it is a draft until published again."""
    record = await services.articles.update(
        article_id, _content(body), signed.user.display_name, body.note, body.expected_revision
    )
    return await _described(services, record)


@router.post("/api/articles/{article_id}/publish", responses=ARTICLE)
async def publish_article(
    article_id: ArticleId, services: ServicesDep, signed: EditorDep
) -> dict[str, Any]:
    """Make its latest revision live for the bot (answered once this server's index has it)."""
    return await _status(services, signed, article_id, "published")


@router.post("/api/articles/{article_id}/archive", responses=ARTICLE)
async def archive_article(
    article_id: ArticleId, services: ServicesDep, signed: EditorDep
) -> dict[str, Any]:
    """Take it out of the bot's answers."""
    return await _status(services, signed, article_id, "archived")


async def _status(
    services: Services, signed: SignedIn, article_id: str, target: str
) -> dict[str, Any]:
    record = await services.articles.set_status(article_id, target, signed.user.display_name)
    return await _described(services, record)


@router.get("/api/articles/{article_id}/revisions", responses=refused(404, 422))
async def article_revisions(
    article_id: ArticleId, services: ServicesDep, signed: EditorDep
) -> list[dict[str, Any]]:
    """Every revision, newest first."""
    return [revision_dict(r) for r in await services.articles.revisions(article_id)]


@router.get("/api/articles/{article_id}/diff", responses=refused(404, 422))
async def article_diff(
    article_id: ArticleId,
    a: Annotated[int, Query(ge=0, lt=MAX_INT)],
    b: Annotated[int, Query(ge=0, lt=MAX_INT)],
    services: ServicesDep,
    signed: EditorDep,
) -> dict[str, Any]:
    """A unified diff between revisions a and b."""
    return {"a": a, "b": b, "diff": await services.articles.diff(article_id, a, b)}


@router.post("/api/articles/{article_id}/revert", responses={**ARTICLE, **refused(BODY)})
async def revert_article(
    article_id: ArticleId,
    services: ServicesDep,
    signed: EditorDep,
    revision: Annotated[Seq, Body(embed=True)],
) -> dict[str, Any]:
    """A new revision with an old revision's content (a draft on a published article)."""
    record = await services.articles.revert(article_id, revision, signed.user.display_name)
    return await _described(services, record)


@router.post("/api/preview", responses=refused(BODY, 422))
async def preview(
    signed: EditorDep, markdown: Annotated[str, Body(embed=True, max_length=200_000)]
) -> dict[str, str]:
    """Markdown rendered exactly as the widget shows answers (sanitised)."""
    return {"html": render_markdown(markdown)}


@router.post("/api/try", responses=refused(BODY, 404, 422))
async def try_question(
    services: ServicesDep,
    signed: EditorDep,
    question: Annotated[str, Body(embed=True, min_length=1, max_length=4000)],
    article_id: Annotated[str | None, Body(embed=True, max_length=200)] = None,
    draft: Annotated[StrictBool, Body(embed=True)] = False,
) -> dict[str, Any]:
    """What the bot would answer now, with the ranked articles, scores and confidence; with
    `draft` and `article_id`, what it would answer with that article's latest saved revision
    in place of the live one (nothing live changes)."""
    bot, retriever, revision = services.bot, services.retriever, None
    if draft and article_id:
        record = await services.articles.get(article_id)
        retriever = await anyio.to_thread.run_sync(_with_draft, retriever, to_article(record))
        bot, revision = _over(bot, retriever), record.revision
    # the bot and the retriever compute (embeddings, search): off the event loop
    answer = await anyio.to_thread.run_sync(_try, bot, retriever, question)
    return {**answer, "draft_revision": revision}


def _over(bot: Bot, retriever: HybridRetriever) -> Bot:
    """The same policy over another retriever."""
    twin = copy.copy(bot)
    twin.retriever = retriever
    return twin


def _with_draft(retriever: HybridRetriever, article: Article) -> HybridRetriever:
    preview = retriever.fork()
    preview.upsert(article)
    return preview


def _try(bot: Bot, retriever: HybridRetriever, question: str) -> dict[str, Any]:
    decision = bot.respond(question)
    result = retriever.retrieve(question, lang=decision.lang, k=5)
    return {
        "decision": decision.kind.value,
        "lang": decision.lang,
        "text": decision.text,
        "html": render_markdown(decision.text),
        "confidence": result.confidence,
        "would_answer": decide_answer(result, bot.thresholds).value,
        "articles": [
            {
                "article_id": a.article_id,
                "title": a.title,
                "score": a.score,
                "dense": a.dense_score,
                "lexical": a.lexical_score,
            }
            for a in result.articles
        ],
        "signals": result.signals,
    }


@router.get("/api/gaps")
async def knowledge_gaps(
    services: ServicesDep, signed: EditorDep, days: Annotated[int, Query(ge=1, le=3650)] = 30
) -> dict[str, Any]:
    """Questions the knowledge base could not answer, grouped into topics, newest first."""
    return await services.gaps.report(days)


@router.post("/api/gaps/draft", status_code=status.HTTP_201_CREATED, responses=refused(BODY, 422))
async def draft_from_gap(
    services: ServicesDep,
    signed: EditorDep,
    questions: Annotated[list[str], Body(embed=True, min_length=1, max_length=50)],
    lang: Annotated[str, Body(embed=True, pattern=r"^[a-z]{2,3}$")] = "en",
) -> dict[str, Any]:
    """A new draft pre-filled with the customers' questions of a topic."""
    record = await services.articles.draft_from_questions(questions, lang, signed.user.display_name)
    return article_dict(record)


@router.post("/api/articles/{article_id}/questions", responses=refused(BODY, 404, 409, 422))
async def add_article_questions(
    article_id: ArticleId,
    services: ServicesDep,
    signed: EditorDep,
    questions: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=300)]],
        Body(embed=True, min_length=1, max_length=MAX_QUESTIONS),
    ],
) -> dict[str, Any]:
    """Add customers' questions to an article (a new revision; a draft if it is live)."""
    record = await services.articles.add_questions(article_id, questions, signed.user.display_name)
    return await _described(services, record)


@router.post(
    "/api/conversations/{conversation_id}/draft-article",
    status_code=status.HTTP_201_CREATED,
    responses=refused(
        404,
        409,
        422,
        why={
            404: "No such conversation",
            409: "The conversation is not closed yet",
            422: "The customer never asked anything (`invalid_article`), or an unstorable id",
        },
    ),
)
async def draft_from_conversation(
    conversation_id: ConversationId, services: ServicesDep, signed: AgentDep
) -> dict[str, Any]:
    """Document a closed conversation: a draft with the question and the agent's replies
    (agents and admins: editors never read conversations)."""
    record = await services.articles.draft_from_conversation(
        conversation_id, signed.user.display_name
    )
    return article_dict(record)


@router.post(
    "/api/tokens",
    status_code=status.HTTP_201_CREATED,
    responses=refused(BODY, 404, 422, why={404: "No user by this name"}),
)
async def create_token(
    services: ServicesDep,
    signed: AdminDep,
    username: Annotated[str, Body(embed=True, min_length=1, max_length=64)],
    name: Annotated[str, Body(embed=True, max_length=200)] = "api",
) -> dict[str, str]:
    """Issue an API token for a user (shown once)."""
    try:
        async with services.sessions.begin() as session:
            token = await issue_token_for(session, username, name)
    except UnknownUser:
        raise NotFound(f"no user {username!r}") from None
    return {"token": token, "username": username}


# ------------------------------------------------------------------------------- pages
def _page(request: Request, signed: Any, name: str, **extra: Any) -> Response:
    return templates.TemplateResponse(
        request,
        name,
        {"user": signed.user, "csrf_token": signed.csrf_token, "title": "Editor", **extra},
    )


@router.get("/editor", response_class=HTMLResponse, responses=page())
async def editor_home(request: Request, signed: EditorDep) -> Response:
    """Article list with search and filters."""
    return _page(request, signed, "editor_list.html")


@router.get("/editor/articles/{article_id}", response_class=HTMLResponse, responses=page(404, 422))
async def editor_article(
    article_id: ArticleId, request: Request, services: ServicesDep, signed: EditorDep
) -> Response:
    """Edit an article: live preview, save, publish, archive, history and diff."""
    await services.articles.get(article_id)
    return _page(request, signed, "editor_article.html", article_id=article_id)


@router.get("/editor/new", response_class=HTMLResponse, responses=page())
async def editor_new(request: Request, signed: EditorDep) -> Response:
    """A new article."""
    return _page(request, signed, "editor_article.html", article_id=None)


@router.get("/editor/gaps", response_class=HTMLResponse, responses=page())
async def editor_gaps(request: Request, signed: EditorDep) -> Response:
    """Knowledge gaps report."""
    return _page(request, signed, "editor_gaps.html")
