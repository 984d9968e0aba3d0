"""Searches during a re-index: never waiting for it, never seeing half of it."""

from __future__ import annotations

import threading

import pytest

from retrieval.hybrid import HybridRetriever
from retrieval.kb import Article
from tests.conftest import CountingEmbedding
from tests.retrieval import _hybrid
from tests.retrieval._hybrid import ARTICLES, make

retriever = _hybrid.retriever


def wrapping(version: str) -> Article:
    """One article in two versions whose title and text name the version."""
    return Article(
        id="gift-wrap",
        title=f"Gift wrapping in {version}",
        lang="en",
        body=f"## Bows\nPresents are wrapped in {version} paper with a bow.\n\n"
        f"## Cards\nA {version} card carries your message.",
    )


def test_a_search_during_reindexing_sees_the_old_or_the_new_index_never_a_mix(
    fake_embeddings: CountingEmbedding,
) -> None:
    retriever = make(fake_embeddings, [*ARTICLES, wrapping("velvet")])
    stop = threading.Event()
    problems: list[str] = []
    seen: set[str] = set()

    def reindex() -> None:
        for n in range(40):
            retriever.upsert(wrapping("satin" if n % 2 == 0 else "velvet"))
        stop.set()

    def search() -> None:
        while not stop.is_set():
            try:
                result = retriever.retrieve("gift wrapping bow card", k=2, mode="lexical")
            except Exception as exc:  # the test's point: a search never fails meanwhile
                problems.append(repr(exc))
                return
            top = result.top
            if top is None or top.article_id != "gift-wrap":
                problems.append(f"the article went missing: {result.articles}")
                continue
            version = top.title.rsplit(" ", 1)[-1]
            seen.add(version)
            for passage in top.passages:
                if version not in passage.text:
                    problems.append(f"title of {version!r} with passage {passage.text!r}")

    readers = [threading.Thread(target=search) for _ in range(3)]
    writer = threading.Thread(target=reindex)
    for thread in [*readers, writer]:
        thread.start()
    for thread in [writer, *readers]:
        thread.join(120)
    assert not problems, problems[:3]
    assert seen <= {"satin", "velvet"}


def test_searches_do_not_wait_for_a_reindex_in_progress(retriever: HybridRetriever) -> None:
    answers: list[str | None] = []

    def search() -> None:
        top = retriever.retrieve("forgot password link").top
        answers.append(top.article_id if top is not None else None)

    with retriever._write_lock:  # a long re-index holds the writers' lock
        reader = threading.Thread(target=search)
        reader.start()
        reader.join(30)
        assert not reader.is_alive(), "the search waited for the re-index"
    assert answers == ["reset-password"]
    assert retriever.languages == ["en", "ja"]
    assert "reset-password" in retriever and len(retriever) == len(ARTICLES)


def test_evidence_taken_before_a_reindex_stays_readable_after_it(
    retriever: HybridRetriever,
) -> None:
    evidence = retriever.evidence("forgot password link", lang="en")
    row = evidence.article_ids.index("reset-password")
    before = retriever.coverage(evidence, row)
    retriever.delete("reset-password")
    assert "reset-password" not in retriever
    assert retriever.coverage(evidence, row) == before, "it reads the index it came from"


class CrashingEmbedding(CountingEmbedding):
    """Fails every call once `crash` is set (for tests only)."""

    crash: bool = False

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self.crash:
            raise RuntimeError("the model crashed")
        return super().embed_documents(texts)


def test_a_reindex_that_fails_leaves_the_published_index_as_it_was() -> None:
    embeddings = CrashingEmbedding(size=32)
    retriever = make(embeddings, ARTICLES)
    embeddings.crash = True
    with pytest.raises(RuntimeError, match="crashed"):
        retriever.upsert(wrapping("velvet"))
    assert "gift-wrap" not in retriever
    assert retriever.retrieve("forgot password link", mode="lexical").top is not None
    assert len(retriever) == len(ARTICLES)
