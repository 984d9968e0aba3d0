"""ArticleService on its own: revisions, publishing, drafts and the KB files, on real SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.articles import ArticleService, load_published
from knowledge.records import ArticleError, article_dict, revision_dict
from retrieval.kb import Article
from storage.models import Conversation, Message

pytestmark = pytest.mark.anyio
Sessions = async_sessionmaker[AsyncSession]

RETURNS = {
    "title": "Returning an item",
    "lang": "en",
    "body": "You can return an item within 30 days.",
    "tags": ["returns"],
}


class Changes:
    """Records the ids the service reports as changed (what the re-indexer would get)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def __call__(self, article_id: str) -> None:
        self.ids.append(article_id)


@pytest.fixture
def changes() -> Changes:
    return Changes()


@pytest.fixture
def articles(sessions: Sessions, changes: Changes) -> ArticleService:
    return ArticleService(sessions, on_change=changes)


async def test_a_draft_changes_nothing_live_until_it_is_published(
    articles: ArticleService, changes: Changes, sessions: Sessions
) -> None:
    record = await articles.create("returns", RETURNS, "Aiko")
    assert (record.status, record.revision, record.updated_by) == ("draft", 1, "Aiko")
    assert changes.ids == [] and await articles.published() == []
    assert await load_published(sessions, "returns") is None

    await articles.update("returns", {"body": "Within 45 days."}, "Aiko")
    assert changes.ids == [], "editing a draft re-indexes nothing"
    await articles.set_status("returns", "published", "Ken")
    assert changes.ids == ["returns"]
    live = await load_published(sessions, "returns")
    assert live == Article("returns", "Returning an item", "en", "Within 45 days.", ("returns",))
    assert [a.id for a in await articles.published()] == ["returns"]

    await articles.update("returns", {"body": "Within 60 days."}, "Ken", "longer")
    assert changes.ids == ["returns"], "a saved change to a published article is staged"
    await articles.set_status("returns", "archived", "Ken")
    assert changes.ids[-1] == "returns" and await load_published(sessions, "returns") is None
    assert await load_published(sessions, "no-such-article") is None


async def test_a_published_articles_draft_stays_staged_until_it_is_published(
    articles: ArticleService, changes: Changes, sessions: Sessions
) -> None:
    await articles.create("returns", RETURNS, "Aiko", status="published")
    assert await articles.live_revision("returns") == 1
    changes.ids.clear()

    staged = await articles.update("returns", {"body": "Within 21 days."}, "Ken", "shorter")
    assert (staged.status, staged.revision) == ("published", 2)
    assert changes.ids == [], "nothing to re-index: the bot's revision did not change"
    live = await load_published(sessions, "returns")
    assert live is not None and live.body == RETURNS["body"], "the bot keeps the live revision"
    assert [a.body for a in await articles.published()] == [RETURNS["body"]]
    assert await articles.live_revision("returns") == 1
    history = [revision_dict(r) for r in await articles.revisions("returns")]
    assert [(r["number"], r["status"]) for r in history] == [(2, "draft"), (1, "published")]

    published = await articles.set_status("returns", "published", "Ken", "go live")
    assert published.revision == 3 and changes.ids == ["returns"]
    live = await load_published(sessions, "returns")
    assert live is not None and live.body == "Within 21 days."
    assert [a.body for a in await articles.published()] == ["Within 21 days."]
    assert await articles.live_revision("returns") == 3
    again = await articles.set_status("returns", "published", "Ken")
    assert again.revision == 3, "publishing what is already live makes no revision"

    # a revert is staged as well; an export writes what is live
    await articles.revert("returns", 1, "Ken")
    live = await load_published(sessions, "returns")
    assert live is not None and live.body == "Within 21 days."


async def test_an_export_writes_the_live_revision_not_the_staged_draft(
    articles: ArticleService, tmp_path: Path
) -> None:
    await articles.create("returns", RETURNS, "Aiko", status="published")
    await articles.update("returns", {"body": "Within 21 days."}, "Ken")
    [written] = await articles.export_dir(tmp_path)
    assert "30 days" in written.read_text() and "21 days" not in written.read_text()


async def test_every_save_is_a_revision_with_author_note_and_time(
    articles: ArticleService,
) -> None:
    await articles.create("returns", RETURNS, "Aiko")
    await articles.update("returns", {"body": "Within 45 days."}, "Ken", "longer window")
    unchanged = await articles.update("returns", {"body": "Within 45 days."}, "Ken")
    assert unchanged.revision == 2, "saving the same content makes no revision"
    history = [revision_dict(r) for r in await articles.revisions("returns")]
    assert [(r["number"], r["author"], r["note"]) for r in history] == [
        (2, "Ken", "longer window"),
        (1, "Aiko", "created"),
    ]
    assert all(r["created_at"].endswith("+00:00") for r in history), "times carry UTC"
    record = await articles.get("returns")
    assert article_dict(record)["updated_at"].endswith("+00:00")
    assert "body" not in article_dict(record, with_body=False)

    diff = await articles.diff("returns", 1, 2)
    assert "-You can return an item within 30 days." in diff
    assert "+Within 45 days." in diff and diff.startswith("--- revision 1")

    reverted = await articles.revert("returns", 1, "Aiko")
    assert (reverted.revision, reverted.body) == (3, RETURNS["body"])
    assert (await articles.revisions("returns"))[0].note == "reverted to revision 1"


async def test_a_save_from_a_stale_revision_is_refused(articles: ArticleService) -> None:
    await articles.create("returns", RETURNS, "Aiko")
    await articles.update("returns", {"body": "Aiko's text."}, "Aiko", expected_revision=1)
    with pytest.raises(ArticleError) as refused:
        await articles.update("returns", {"body": "Ken's text."}, "Ken", expected_revision=1)
    assert refused.value.code == "conflict"
    assert "is at revision 2, not 1" in str(refused.value) and "reload and merge" in str(
        refused.value
    )
    assert (await articles.get("returns")).body == "Aiko's text."


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        (lambda s: s.create("Bad Id!", RETURNS, "a"), "invalid_article", "lower-case letters"),
        (lambda s: s.create("x", {**RETURNS, "lang": ""}, "a"), "invalid_article", "lang"),
        (lambda s: s.get("missing"), "not_found", "no article 'missing'"),
        (lambda s: s.revisions("missing"), "not_found", "no article 'missing'"),
        (lambda s: s.update("missing", RETURNS, "a"), "not_found", "no article 'missing'"),
        (lambda s: s.set_status("missing", "gone", "a"), "invalid_article", "status must be"),
        (lambda s: s.revert("missing", 1, "a"), "not_found", "has no revision 1"),
        (lambda s: s.diff("missing", 1, 2), "not_found", "has no revision 1"),
    ],
)
async def test_refusals_say_what_was_wrong(
    articles: ArticleService, call: Callable[[ArticleService], object], code: str, message: str
) -> None:
    with pytest.raises(ArticleError) as refused:
        await call(articles)  # type: ignore[misc]
    assert refused.value.code == code
    assert message in str(refused.value)


async def test_an_id_is_taken_once(articles: ArticleService) -> None:
    await articles.create("returns", RETURNS, "Aiko")
    with pytest.raises(ArticleError, match="there is already an article 'returns'") as refused:
        await articles.create("returns", RETURNS, "Ken")
    assert refused.value.code == "conflict"
    assert await articles.count() == 1


async def test_search_filters_and_treats_wildcards_literally(articles: ArticleService) -> None:
    await articles.create("returns", RETURNS, "a", status="published")
    await articles.create("sale", {**RETURNS, "title": "50% off", "tags": ["sale"]}, "a")
    await articles.create(
        "ja-returns", {**RETURNS, "title": "返品", "lang": "ja", "body": "30日以内"}, "a"
    )
    assert [r.id for r in await articles.search(q="50%")] == ["sale"]
    assert {r.id for r in await articles.search(q="%")} == {"sale"}
    assert [r.id for r in await articles.search(lang="ja")] == ["ja-returns"]
    assert [r.id for r in await articles.search(tag="sale")] == ["sale"]
    assert [r.id for r in await articles.search(status="published")] == ["returns"]
    assert [r.id for r in await articles.search(limit=1)] == ["ja-returns"], "newest first"
    # the one tagged article is not among the newest `limit`: found all the same
    assert [r.id for r in await articles.search(tag="sale", limit=1)] == ["sale"]


async def test_drafts_from_questions_and_from_a_conversation(
    articles: ArticleService, sessions: Sessions
) -> None:
    gap = await articles.draft_from_questions(
        ["voucher for a birthday?", " ", "gift card?"], "en", "Ed"
    )
    assert gap.id.startswith("draft-") and gap.status == "draft"
    assert gap.title == "voucher for a birthday?"
    assert "## What customers asked\n\n- voucher for a birthday?\n- gift card?" in gap.body
    ja = await articles.draft_from_questions(["名入れはできますか"], "ja", "Ed")
    assert "お客さまからのご質問" in ja.body and ja.lang == "ja"
    assert (await articles.revisions(gap.id))[0].note == "from knowledge gaps"

    solved = await add_conversation(
        sessions,
        [
            ("customer", "Can I change the ribbon colour?"),
            ("bot", "I am not sure."),
            ("agent", "Yes: reply to the order e-mail."),
        ],
        lang="en",
    )
    draft = await articles.draft_from_conversation(solved, "Aiko")
    assert draft.title == "Can I change the ribbon colour?" and draft.updated_by == "Aiko"
    assert draft.body == (
        "## Question\n\n> Can I change the ribbon colour?\n\n"
        "## Answer\n\nYes: reply to the order e-mail."
    )
    assert (await articles.revisions(draft.id))[0].note == f"from conversation {solved}"

    silent = await add_conversation(sessions, [("bot", "Hello!")], lang="en")
    with pytest.raises(ArticleError, match="no customer question to document") as refused:
        await articles.draft_from_conversation(silent, "Aiko")
    assert refused.value.code == "invalid_article"
    still_open = await add_conversation(sessions, [("customer", "Hi?")], "en", state="agent")
    with pytest.raises(ArticleError, match="still open") as refused:
        await articles.draft_from_conversation(still_open, "Aiko")
    assert refused.value.code == "conflict"
    with pytest.raises(ArticleError, match="no conversation 'nope'") as missing:
        await articles.draft_from_conversation("nope", "Aiko")
    assert missing.value.code == "not_found"


async def test_kb_files_import_then_export_byte_for_byte(
    articles: ArticleService,
    write_article: Callable[..., Path],
    tmp_path: Path,
    changes: Changes,
) -> None:
    write_article(
        "en/returns.md", "Return within 30 days.", id="returns", title="Returns", lang="en"
    )
    write_article("ja/henpin.md", "30日以内に返品できます。", id="henpin", title="返品", lang="ja")
    write_article("en/broken.md", "No front matter id.", title="Broken", lang="en")
    first = await articles.import_dir(tmp_path / "kb")
    assert sorted(first.created) == ["henpin", "returns"] and first.updated == []
    assert len(first.problems) == 1 and "broken.md" in first.problems[0]
    assert sorted(changes.ids) == ["henpin", "returns"], "imported articles are published"

    written = await articles.export_dir(tmp_path / "out")
    for path in written:
        original = tmp_path / "kb" / path.relative_to(tmp_path / "out")
        assert path.read_bytes() == original.read_bytes(), path

    write_article(
        "en/returns.md", "Return within 45 days.", id="returns", title="Returns", lang="en"
    )
    again = await articles.import_dir(tmp_path / "kb")
    assert (again.created, again.updated, again.unchanged) == ([], ["returns"], 1)
    assert (await articles.revisions("returns"))[0].note == "imported"
    await articles.create("draft-only", RETURNS, "a")
    assert len(await articles.export_dir(tmp_path / "drafts", ("draft",))) == 1


async def add_conversation(
    sessions: Sessions, said: list[tuple[str, str]], lang: str, state: str = "closed"
) -> str:
    """A conversation with these (role, text) messages; returns its public id."""
    public_id = str(uuid.uuid4())
    async with sessions.begin() as session:
        conversation = Conversation(
            public_id=public_id, token_hash=uuid.uuid4().hex, lang=lang, state=state
        )
        session.add(conversation)
        await session.flush()
        for seq, (role, text) in enumerate(said, start=1):
            session.add(Message(conversation_id=conversation.id, seq=seq, role=role, text=text))
    return public_id
