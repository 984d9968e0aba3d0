"""Keeping the hybrid retriever's index: upsert, delete, sync, restart, saved vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.chunking import chunk_article
from retrieval.hybrid import MODES, HybridRetriever
from retrieval.kb import Article
from retrieval.sentence_encoder import HashingSentenceEncoder
from tests.conftest import CountingEmbedding
from tests.retrieval import _hybrid
from tests.retrieval._hybrid import (
    ARTICLES,
    PASSWORD_EN,
    PASSWORD_JA,
    RETURN_EN,
    RETURN_JA,
    finds,
    ids,
    make,
    n_texts,
)

# the fixture, found by name
retriever = _hybrid.retriever


GIFT = Article(
    id="gift-wrap",
    title="Gift wrapping",
    lang="en",
    body="## Bows\nWe wrap presents with a velvet bow for free.",
)


def test_upsert_makes_a_new_article_retrievable(
    retriever: HybridRetriever, fake_embeddings: CountingEmbedding
) -> None:
    gift = GIFT
    assert not finds(retriever, "velvet bow", "gift-wrap")
    before = fake_embeddings.texts
    assert retriever.upsert(gift) is True
    assert fake_embeddings.texts - before == n_texts(gift)
    assert "gift-wrap" in retriever
    assert finds(retriever, "velvet bow", "gift-wrap")


def test_a_fork_changes_without_touching_the_original(
    retriever: HybridRetriever, fake_embeddings: CountingEmbedding
) -> None:
    gift, before = GIFT, fake_embeddings.texts
    fork = retriever.fork()
    assert fake_embeddings.texts == before, "a fork re-embeds nothing"
    assert finds(fork, "forgot password link", "reset-password")
    fork.upsert(gift)
    fork.delete("reset-password")
    assert fake_embeddings.texts - before == n_texts(gift)
    assert finds(fork, "velvet bow", "gift-wrap")
    assert not finds(fork, "forgot password link", "reset-password")
    assert not finds(retriever, "velvet bow", "gift-wrap"), "the original is unchanged"
    assert finds(retriever, "forgot password link", "reset-password")
    assert "gift-wrap" not in retriever and len(retriever) == len(ARTICLES)


def test_upsert_of_an_unchanged_article_embeds_nothing(
    retriever: HybridRetriever, fake_embeddings: CountingEmbedding
) -> None:
    before = fake_embeddings.texts
    assert retriever.upsert(RETURN_EN) is False
    assert fake_embeddings.texts == before


def test_update_replaces_the_text_and_embeds_only_that_article(
    retriever: HybridRetriever, fake_embeddings: CountingEmbedding
) -> None:
    old_query = "forgot password link on the sign-in page"
    assert finds(retriever, old_query, "reset-password")
    before_conf = retriever.retrieve(old_query, mode="lexical").confidence
    new = Article(
        id="reset-password",
        title="Resetting your password",
        lang="en",
        body="## Recovery code\nType the magic recovery code printed on your welcome card.\n\n"
        "## Support\nOur helpdesk can unlock the account by phone.",
        url=PASSWORD_EN.url,
    )
    before = fake_embeddings.texts

    assert retriever.upsert(new) is True

    assert fake_embeddings.texts - before == n_texts(new)
    assert retriever.article("reset-password") == new
    assert len(retriever) == len(ARTICLES)
    assert finds(retriever, "magic recovery code", "reset-password")
    after = retriever.retrieve("sign-in page", mode="lexical")
    assert not finds(retriever, "sign-in page", "reset-password")
    assert retriever.retrieve(old_query, mode="lexical").confidence < before_conf
    texts = [p.text for a in after.articles for p in a.passages]
    assert not any("sign-in" in t for t in texts)


def test_update_that_changes_language_moves_the_article(
    retriever: HybridRetriever,
) -> None:
    moved = Article(
        id="return-item",
        title="返品について",
        lang="ja",
        body="## 手順\nマイページから返品を申し込みます。",
    )
    retriever.upsert(moved)
    en = retriever.retrieve("send back an item", mode="lexical")
    ja = retriever.retrieve("マイページから申し込み", mode="lexical")
    assert "return-item" not in ids(en)
    assert "return-item" in ids(ja)


def test_delete_removes_the_article(retriever: HybridRetriever) -> None:
    assert retriever.delete("reset-password") is True
    assert "reset-password" not in retriever
    assert retriever.article("reset-password") is None
    for mode in MODES:
        assert "reset-password" not in ids(retriever.retrieve("forgot my password", mode=mode))
    assert retriever.delete("reset-password") is False
    assert retriever.delete("never-existed") is False


def test_deleting_the_last_article_of_a_language_removes_the_language(
    retriever: HybridRetriever,
) -> None:
    retriever.delete("return-item-ja")
    retriever.delete("reset-password-ja")
    assert retriever.languages == ["en"]
    assert retriever.retrieve("返品したい", mode="lexical").lang == "en"


def test_sync_reports_added_updated_removed_unchanged(
    fake_embeddings: CountingEmbedding,
) -> None:
    retriever = make(fake_embeddings)
    first = retriever.sync(ARTICLES)
    assert sorted(first.added) == sorted(a.id for a in ARTICLES)
    assert (first.updated, first.removed, first.unchanged) == ([], [], 0)
    assert retriever.languages == ["en", "ja"]

    changed = Article(
        id=PASSWORD_JA.id,
        title=PASSWORD_JA.title,
        lang="ja",
        body=PASSWORD_JA.body + "\n\n## 注意\nリンクの有効期限は1時間です。",
    )
    new = Article(id="gift-wrap", title="Gift wrapping", lang="en", body="Satin ribbons.")
    before = fake_embeddings.texts

    second = retriever.sync([RETURN_EN, PASSWORD_EN, changed, new])

    assert second.added == ["gift-wrap"]
    assert second.updated == [PASSWORD_JA.id]
    assert second.removed == [RETURN_JA.id]
    assert second.unchanged == 2
    assert second.embedded == 2
    assert fake_embeddings.texts - before == n_texts(changed, new)
    assert "gift-wrap" in retriever
    assert RETURN_JA.id not in retriever

    third = retriever.sync([RETURN_EN, PASSWORD_EN, changed, new])
    assert (third.added, third.updated, third.removed, third.unchanged) == ([], [], [], 4)


# --------------------------------------------------------------------------- persistence


def test_restart_with_the_same_articles_embeds_nothing(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    first = make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    assert (tmp_path / "index" / "manifest.json").exists()

    again = CountingEmbedding(size=32)
    second = make(again, data_dir=tmp_path)
    report = second.sync(ARTICLES)

    assert again.texts == 0
    assert report.unchanged == len(ARTICLES)
    assert report.embedded == 0
    for query in ("I forgot my password", "send back an item", "返品したい"):
        a, b = first.retrieve(query), second.retrieve(query)
        assert [(x.article_id, x.score, x.dense_score) for x in a.articles] == [
            (x.article_id, x.score, x.dense_score) for x in b.articles
        ]
        assert a.confidence == b.confidence


def test_restart_uses_the_saved_vectors(tmp_path: Path, fake_embeddings: CountingEmbedding) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    second = make(CountingEmbedding(size=32), ARTICLES, data_dir=tmp_path)
    chunk = chunk_article(RETURN_EN)[2]
    top = second.retrieve(chunk.search_text, lang="en", mode="dense").top
    assert top is not None
    assert top.article_id == "return-item"
    assert top.dense_score is not None and top.dense_score > 0.6


def test_an_article_changed_while_stopped_is_the_only_one_re_embedded(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    changed = Article(
        id=RETURN_EN.id,
        title=RETURN_EN.title,
        lang="en",
        body=RETURN_EN.body + "\n\n## Exchanges\nSwap sizes for free.",
        url=RETURN_EN.url,
    )
    again = CountingEmbedding(size=32)
    second = make(again, data_dir=tmp_path)

    report = second.sync([changed, PASSWORD_EN, RETURN_JA, PASSWORD_JA])

    assert again.texts == n_texts(changed)
    assert report.unchanged == 3
    assert RETURN_EN.id in report.added + report.updated
    assert finds(second, "swap sizes", "return-item")
    # The unchanged articles still have their saved vectors.
    chunk = chunk_article(PASSWORD_EN)[0]
    top = second.retrieve(chunk.search_text, lang="en", mode="dense").top
    assert top is not None and top.article_id == PASSWORD_EN.id


def test_an_article_changed_while_stopped_is_reported_as_updated(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    changed = Article(id=RETURN_EN.id, title=RETURN_EN.title, lang="en", body="New body.")
    report = make(CountingEmbedding(size=32), data_dir=tmp_path).sync(
        [changed, PASSWORD_EN, RETURN_JA, PASSWORD_JA]
    )
    assert (report.added, report.updated) == ([], [RETURN_EN.id])


def test_an_article_deleted_while_stopped_is_reported_as_removed(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    report = make(CountingEmbedding(size=32), data_dir=tmp_path).sync(ARTICLES[:3])
    assert report.removed == [PASSWORD_JA.id]


def test_upsert_before_the_first_sync_after_restart_keeps_its_vectors(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    changed = Article(id=RETURN_EN.id, title=RETURN_EN.title, lang="en", body="Swap sizes.")
    second = make(CountingEmbedding(size=32), data_dir=tmp_path)
    second.upsert(changed)
    second.sync([changed, PASSWORD_EN, RETURN_JA, PASSWORD_JA])
    chunk = chunk_article(changed)[0]
    top = second.retrieve(chunk.search_text, lang="en", mode="dense").top
    assert top is not None and top.article_id == RETURN_EN.id


def test_a_different_model_re_embeds_everything(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    again = CountingEmbedding(size=32)
    second = make(again, data_dir=tmp_path, model_name="another-model")
    report = second.sync(ARTICLES)
    assert again.texts == n_texts(*ARTICLES)
    assert sorted(report.added) == sorted(a.id for a in ARTICLES)
    # ... and the index now belongs to the new model: a third start embeds nothing.
    third = CountingEmbedding(size=32)
    make(third, ARTICLES, data_dir=tmp_path, model_name="another-model")
    assert third.texts == 0


def test_a_different_vector_size_re_embeds_everything(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    wider = CountingEmbedding(size=48)
    second = make(wider, ARTICLES, data_dir=tmp_path)
    assert wider.texts == n_texts(*ARTICLES)
    assert finds(second, "I forgot my password", "reset-password")


@pytest.mark.parametrize(
    "damage",
    ["{not json", '{"version": 2}', ""],
    ids=["garbage", "truncated", "empty"],
)
def test_a_corrupt_manifest_is_ignored_and_rebuilt(
    tmp_path: Path, fake_embeddings: CountingEmbedding, damage: str
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    (tmp_path / "index" / "manifest.json").write_text(damage, encoding="utf-8")
    again = CountingEmbedding(size=32)
    second = make(again, ARTICLES, data_dir=tmp_path)
    assert again.texts == n_texts(*ARTICLES)
    assert finds(second, "I forgot my password", "reset-password")
    assert second.retrieve("I forgot my password").top is not None


def test_a_manifest_that_is_not_a_json_object_is_ignored(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    (tmp_path / "index" / "manifest.json").write_text("[]", encoding="utf-8")
    second = make(CountingEmbedding(size=32), ARTICLES, data_dir=tmp_path)
    assert finds(second, "I forgot my password", "reset-password")


def test_a_missing_vector_file_is_ignored_and_rebuilt(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    (tmp_path / "index" / "chunks-en.faiss").unlink()
    again = CountingEmbedding(size=32)
    second = make(again, ARTICLES, data_dir=tmp_path)
    assert again.texts == n_texts(*ARTICLES)
    assert finds(second, "I forgot my password", "reset-password")


def test_changes_are_saved_as_they_happen(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    first = make(fake_embeddings, ARTICLES, data_dir=tmp_path)
    gift = Article(id="gift-wrap", title="Gift wrapping", lang="en", body="Satin ribbons.")
    first.upsert(gift)
    first.delete(RETURN_JA.id)
    again = CountingEmbedding(size=32)
    report = make(again, data_dir=tmp_path).sync([gift, *ARTICLES[:2], PASSWORD_JA])
    assert again.texts == 0
    assert report.unchanged == 4


# --------------------------------------------------------------------------- threads


class CountingEncoder(HashingSentenceEncoder):
    """Fake sentence-encoder vectors that count the texts encoded (for tests only)."""

    def __init__(self) -> None:
        super().__init__(dimensions=16)
        self.texts = 0

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return super()._encode(texts)


def test_restart_encodes_nothing_for_the_answer_confidence_either(
    tmp_path: Path, fake_embeddings: CountingEmbedding
) -> None:
    encoder = CountingEncoder()
    first = HybridRetriever(
        fake_embeddings, model_name="fake-model", data_dir=tmp_path, sentence_encoder=encoder
    )
    first.sync(ARTICLES)
    assert encoder.texts == sum(len(chunk_article(a)) for a in ARTICLES)
    question = "I forgot my password"
    expected = first.retrieve(question).signals["encoder_similarity"]

    again = CountingEncoder()
    second = HybridRetriever(
        CountingEmbedding(size=32),
        model_name="fake-model",
        data_dir=tmp_path,
        sentence_encoder=again,
    )
    second.sync(ARTICLES)
    assert again.texts == 0, "the chunks' vectors come from the saved index"
    assert second.retrieve(question).signals["encoder_similarity"] == expected
