"""Content editors: articles with revisions, live re-indexing, import/export, knowledge gaps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accounts.tokens import issue_token
from accounts.users import Role
from knowledge.rendering import render_markdown
from storage.models import User
from tests.app.agents import add_user
from tests.app.conftest import MakeClient, ask, on_both_databases, open_chat, services, settle
from tests.conftest import SAMPLE_KB
from tests.knowledge.test_rendering import HOSTILE, assert_inert

NEW_ARTICLE: dict[str, Any] = {
    "id": "tote-bag-gift",
    "title": "Free tote bag with your order",
    "lang": "en",
    "tags": ["campaign"],
    "url": "https://help.miraimart.example/en/tote-bag-gift",
    "body": "## Tote bag campaign\nEvery order over 8,000 yen in December comes with a free "
    "canvas tote bag. The tote bag is packed in the same parcel.",
}
QUESTION = "Do I get a free canvas tote bag with my order?"


def editor_headers(client: TestClient, role: Role = Role.EDITOR) -> dict[str, str]:
    """An API token for a new editor (tokens need no CSRF token)."""
    username = f"ed{len(client.cookies)}{time.monotonic_ns()}"[:30]
    add_user(client, username, role)

    async def issue() -> str:
        async with services(client).sessions.begin() as session:
            user = await session.scalar(select(User).where(User.username == username))
            assert user is not None
            return await issue_token(session, user, "tests")

    assert client.portal is not None
    return {"authorization": f"Bearer {client.portal.call(issue)}"}


def reindexed(client: TestClient) -> None:
    assert client.portal is not None
    client.portal.call(services(client).reindexer.drain)


def cited(client: TestClient, question: str) -> list[str]:
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        answer = ask(ws, question, "q")
    settle(client)
    return [c["article_id"] for c in answer["citations"]]


@pytest.fixture
def editor(client: TestClient) -> dict[str, str]:
    return editor_headers(client)


@on_both_databases
def test_a_draft_is_not_used_until_published(client: TestClient, editor: dict[str, str]) -> None:
    created = client.post("/api/articles", json=NEW_ARTICLE, headers=editor)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft" and created.json()["revision"] == 1
    reindexed(client)
    assert "tote-bag-gift" not in cited(client, QUESTION)

    published = client.post("/api/articles/tote-bag-gift/publish", headers=editor)
    assert published.json()["status"] == "published"
    reindexed(client)
    assert cited(client, QUESTION)[0] == "tote-bag-gift"


@on_both_databases
def test_update_archive_and_revert_reach_the_bot(
    client: TestClient, editor: dict[str, str]
) -> None:
    client.post("/api/articles", json=NEW_ARTICLE, headers=editor)
    client.post("/api/articles/tote-bag-gift/publish", headers=editor)
    reindexed(client)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        assert "8,000 yen" in ask(ws, QUESTION, "a")["text"]

    changed: dict[str, Any] = {
        **NEW_ARTICLE,
        "body": NEW_ARTICLE["body"].replace("8,000", "12,000"),
        "note": "new threshold",
        "expected_revision": 2,
    }
    saved = client.put("/api/articles/tote-bag-gift", json=changed, headers=editor)
    assert saved.status_code == 200 and saved.json()["revision"] == 3
    assert saved.json()["live_revision"] == 2, "a saved change is staged, not live"
    reindexed(client)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        text = ask(ws, QUESTION, "b")["text"]
        assert "8,000 yen" in text and "12,000" not in text, "the bot keeps the live revision"

    stale = client.put(
        "/api/articles/tote-bag-gift", json=changed | {"expected_revision": 2}, headers=editor
    )
    assert stale.status_code == 409

    published = client.post("/api/articles/tote-bag-gift/publish", headers=editor).json()
    assert (published["revision"], published["live_revision"]) == (4, 4)
    reindexed(client)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        text = ask(ws, QUESTION, "c")["text"]
        assert "12,000 yen" in text and "8,000" not in text

    history = client.get("/api/articles/tote-bag-gift/revisions", headers=editor).json()
    assert [(r["number"], r["status"]) for r in history] == [
        (4, "published"),
        (3, "draft"),
        (2, "published"),
        (1, "draft"),
    ]
    assert history[1]["note"] == "new threshold"
    diff = client.get("/api/articles/tote-bag-gift/diff?a=2&b=3", headers=editor).json()["diff"]
    assert "-Every order over 8,000 yen" in diff and "+Every order over 12,000 yen" in diff

    reverted = client.post(
        "/api/articles/tote-bag-gift/revert", json={"revision": 2}, headers=editor
    )
    assert (reverted.json()["revision"], reverted.json()["live_revision"]) == (5, 4)
    client.post("/api/articles/tote-bag-gift/publish", headers=editor)
    reindexed(client)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        assert "8,000 yen" in ask(ws, QUESTION, "d")["text"]

    client.post("/api/articles/tote-bag-gift/archive", headers=editor)
    reindexed(client)
    assert "tote-bag-gift" not in cited(client, QUESTION)


def test_try_it_previews_a_staged_draft_without_the_bot_using_it(
    client: TestClient, editor: dict[str, str]
) -> None:
    client.post("/api/articles", json=NEW_ARTICLE, headers=editor)
    client.post("/api/articles/tote-bag-gift/publish", headers=editor)
    staged = {**NEW_ARTICLE, "body": NEW_ARTICLE["body"].replace("8,000", "12,000")}
    client.put("/api/articles/tote-bag-gift", json=staged, headers=editor)
    reindexed(client)

    live = client.post("/api/try", json={"question": QUESTION}, headers=editor).json()
    assert "8,000 yen" in live["text"] and live["draft_revision"] is None
    preview = client.post(
        "/api/try",
        json={"question": QUESTION, "article_id": "tote-bag-gift", "draft": True},
        headers=editor,
    ).json()
    assert "12,000 yen" in preview["text"] and preview["draft_revision"] == 3
    assert preview["articles"][0]["article_id"] == "tote-bag-gift"
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        text = ask(ws, QUESTION, "a")["text"]
    assert "8,000 yen" in text and "12,000" not in text, "the preview changed nothing live"
    again = client.post("/api/try", json={"question": QUESTION}, headers=editor).json()
    assert "8,000 yen" in again["text"]


def test_bad_articles_are_refused_with_the_reason(
    client: TestClient, editor: dict[str, str]
) -> None:
    bad_id = client.post("/api/articles", json={**NEW_ARTICLE, "id": "Bad ID!"}, headers=editor)
    assert bad_id.status_code == 422 and "id" in bad_id.json()["error"]["message"]
    dup = client.post("/api/articles", json={**NEW_ARTICLE, "id": "return-item"}, headers=editor)
    assert dup.status_code == 409
    missing = client.get("/api/articles/nope", headers=editor)
    assert missing.status_code == 404
    no_such_revision = client.get("/api/articles/return-item/diff?a=1&b=5000000000", headers=editor)
    assert no_such_revision.status_code == 422, "a number no database column can hold"


@on_both_databases
def test_text_with_a_nul_character_is_refused_where_postgresql_cannot_store_it(
    client: TestClient, editor: dict[str, str], database_url: str | None
) -> None:
    created = client.post("/api/articles", json={**NEW_ARTICLE, "body": "a\x00b"}, headers=editor)
    searched = client.get("/api/articles", params={"q": "\x00"}, headers=editor)
    if database_url is None:  # SQLite stores it
        assert created.status_code == 201, created.text
        assert searched.status_code == 200
    else:
        for response in (created, searched):
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "unstorable"


@on_both_databases
def test_filters_find_articles(client: TestClient, editor: dict[str, str]) -> None:
    ja = client.get("/api/articles?lang=ja&q=返品", headers=editor).json()
    assert ja and all(a["lang"] == "ja" for a in ja)
    assert "return-item-ja" in {a["id"] for a in ja}
    assert client.get("/api/articles?status=draft", headers=editor).json() == []
    tagged = client.get("/api/articles?tag=returns", headers=editor).json()
    assert tagged and all("returns" in a["tags"] for a in tagged)
    # %, _ and \ are searched for as they are (PostgreSQL reads \ in LIKE as an escape)
    body = "Save 100% of C:\\temp\\ and a_b."
    client.post("/api/articles", json={**NEW_ARTICLE, "body": body}, headers=editor)
    for literal in ("100%", "C:\\temp\\", "a_b", "\\"):
        found = client.get("/api/articles", params={"q": literal}, headers=editor).json()
        assert [a["id"] for a in found] == ["tote-bag-gift"], literal


def test_the_sample_kb_is_imported_on_first_start_and_exports_byte_for_byte(
    client: TestClient, tmp_path: Path
) -> None:
    assert client.portal is not None
    written = client.portal.call(services(client).articles.export_dir, tmp_path / "out")
    assert len(written) == len(list(SAMPLE_KB.rglob("*.md")))
    for original in SAMPLE_KB.rglob("*.md"):
        copy = tmp_path / "out" / original.relative_to(SAMPLE_KB)
        assert copy.read_bytes() == original.read_bytes(), original
    again = client.portal.call(services(client).articles.import_dir, tmp_path / "out")
    assert again.created == [] and again.updated == [] and again.unchanged == len(written)


def test_a_changed_file_imports_as_a_new_revision(
    client: TestClient, tmp_path: Path, editor: dict[str, str]
) -> None:
    folder = tmp_path / "kb" / "en"
    folder.mkdir(parents=True)
    text = (SAMPLE_KB / "en" / "return-item.md").read_text(encoding="utf-8")
    (folder / "return-item.md").write_text(text.replace("30 days", "45 days"), "utf-8")
    assert client.portal is not None
    report = client.portal.call(services(client).articles.import_dir, tmp_path / "kb")
    assert report.updated == ["return-item"]
    history = client.get("/api/articles/return-item/revisions", headers=editor).json()
    assert history[0]["note"] == "imported" and len(history) == 2


def test_hostile_markdown_renders_inert_in_preview_and_in_the_widget(
    client: TestClient, editor: dict[str, str]
) -> None:
    html = client.post("/api/preview", json={"markdown": HOSTILE}, headers=editor).json()["html"]
    assert html == render_markdown(HOSTILE)
    assert_inert(html)
    assert "&lt;script&gt;" in html, "shown as text, not run"
    body = f"## Ribbon colours\nOur gift ribbon comes in gold. {HOSTILE}"
    client.post(
        "/api/articles",
        json={**NEW_ARTICLE, "id": "ribbon", "title": "Gift ribbon colours", "body": body},
        headers=editor,
    )
    client.post("/api/articles/ribbon/publish", headers=editor)
    reindexed(client)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        answer = ask(ws, "which gift ribbon colours do you have", "r")
    assert answer["citations"][0]["article_id"] == "ribbon"
    assert_inert(answer["html"])


GAPS = [
    ("do you hire out telescopes", "en"),
    ("can I hire a telescope for a weekend", "en"),
    ("telescope hire prices?", "en"),
    ("is there a student discount", "en"),
    ("student discount available?", "en"),
    ("ペットホテルはありますか", "ja"),
    ("ペットホテルある？", "ja"),
]


def test_knowledge_gaps_group_unanswered_questions_into_topics(make_client: MakeClient) -> None:
    # Fake vectors leave English to its lexical curve alone, which gives these off-topic
    # questions choices rather than a decline: here anything short of an answer declines.
    client = make_client(misses_before_handoff=10, suggest_threshold_by_lang={"en": 0.7, "ja": 0.8})
    headers = editor_headers(client)
    for n, (text, lang) in enumerate(GAPS):
        with client.websocket_connect("/ws/chat") as ws:
            open_chat(ws, lang=lang)
            reply = ask(ws, text, f"g{n}")
            assert reply["kind"] == "decline", (text, reply["kind"], reply["citations"])
        settle(client)
    report = client.get("/api/gaps?days=7", headers=headers).json()
    topics = {t["label"]: t for t in report["topics"]}
    counts = sorted(t["count"] for t in report["topics"])
    assert counts == [2, 2, 3], topics
    telescopes = next(t for t in report["topics"] if t["count"] == 3)
    assert all("telescope" in e for e in telescopes["examples"])
    japanese = next(t for t in report["topics"] if t["languages"].get("ja"))
    assert japanese["count"] == 2

    draft = client.post(
        "/api/gaps/draft", json={"questions": telescopes["examples"], "lang": "en"}, headers=headers
    )
    assert draft.status_code == 201
    article: dict[str, Any] = client.get(
        f"/api/articles/{draft.json()['id']}", headers=headers
    ).json()
    assert article["status"] == "draft" and telescopes["examples"][0] in article["body"]


@on_both_databases
def test_an_article_taught_customers_words_answers_them_once_published(
    client: TestClient, editor: dict[str, str]
) -> None:
    """The knowledge gaps' "teach" action: the article never says "freebie", the
    customers do; once the editor adds their question and publishes, a customer asking
    in other words of the same kind gets the article, answered from its body."""
    client.post("/api/articles", json=NEW_ARTICLE, headers=editor)
    client.post("/api/articles/tote-bag-gift/publish", headers=editor)
    reindexed(client)
    asked = "Are there any freebies this month?"
    assert "tote-bag-gift" not in cited(client, asked)

    taught = client.post(
        "/api/articles/tote-bag-gift/questions",
        json={"questions": ["any freebies with my order?", "  any freebies with my order? "]},
        headers=editor,
    )
    assert taught.status_code == 200, taught.text
    article = taught.json()
    assert article["questions"] == ["any freebies with my order?"], "blanks and repeats go"
    assert article["revision"] == 3 and article["live_revision"] == 2, "staged like any edit"
    reindexed(client)
    assert "tote-bag-gift" not in cited(client, asked)

    client.post("/api/articles/tote-bag-gift/publish", headers=editor)
    reindexed(client)
    with client.websocket_connect("/ws/chat") as ws:
        open_chat(ws)
        answer = ask(ws, asked, "f")
    assert [c["article_id"] for c in answer["citations"]][:1] == ["tote-bag-gift"]
    assert "8,000 yen" in answer["text"] and "freebies" not in answer["text"]

    exported = client.get("/api/articles/tote-bag-gift/revisions", headers=editor).json()
    assert any("question" in r["note"] for r in exported)
    too_many = client.post(
        "/api/articles/tote-bag-gift/questions",
        json={"questions": [f"question number {n}" for n in range(50)]},
        headers=editor,
    )
    assert too_many.status_code == 422
    assert "at most 50" in too_many.json()["error"]["message"]
    missing = client.post(
        "/api/articles/no-such-article/questions", json={"questions": ["hi"]}, headers=editor
    )
    assert missing.status_code == 404


def test_a_closed_conversation_becomes_a_draft_article(client: TestClient) -> None:
    headers = editor_headers(client)
    agent = editor_headers(client, Role.AGENT)
    agent_id = add_user(client, "solver", Role.AGENT, "Solver")

    async def solve(close: bool) -> str:
        conversations = services(client).conversations
        agents = services(client).agents
        ref, _token = await conversations.start("en")
        await conversations.receive(ref, "c1", "Can I change the colour of my gift ribbon?")
        await conversations.drain()
        await conversations.request_handoff(ref)
        await agents.claim(agent_id, ref.public_id)
        await agents.reply(
            agent_id,
            ref.public_id,
            "a1",
            "Yes: reply to the order e-mail with the colour before it ships.",
        )
        if close:
            await agents.close(agent_id, ref.public_id, "resolved", ["ribbon"])
        return ref.public_id

    assert client.portal is not None
    still_open = client.portal.call(solve, False)
    refused = client.post(f"/api/conversations/{still_open}/draft-article", headers=agent)
    assert refused.status_code == 409  # nothing of an open conversation goes into an article
    conversation_id = client.portal.call(solve, True)
    # editors never read conversations, not even closed ones
    forbidden = client.post(f"/api/conversations/{conversation_id}/draft-article", headers=headers)
    assert forbidden.status_code == 403
    draft = client.post(f"/api/conversations/{conversation_id}/draft-article", headers=agent)
    assert draft.status_code == 201, draft.text
    article = client.get(f"/api/articles/{draft.json()['id']}", headers=headers).json()
    assert article["status"] == "draft"
    assert "gift ribbon" in article["body"] and "reply to the order e-mail" in article["body"]
    missing = client.post("/api/conversations/nope/draft-article", headers=agent)
    assert missing.status_code == 404
