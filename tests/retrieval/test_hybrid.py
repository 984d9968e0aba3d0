"""HybridRetriever with fake embeddings: retrieval, updates, sync, persistence, threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from retrieval.chunking import chunk_article
from retrieval.hybrid import MODES, HybridRetriever
from retrieval.kb import Article
from retrieval.types import RetrievalResult
from tests.conftest import CountingEmbedding

RETURN_EN = Article(
    id="return-item",
    title="Returning an item",
    lang="en",
    body=(
        "Changed your mind? Send it back.\n\n"
        "## Return conditions\n"
        "Unused goods with their tags can be sent back within 30 days of delivery.\n\n"
        "## Return shipping fee\n"
        "The courier label costs 500 yen and is deducted from the refund."
    ),
    tags=("returns",),
    url="https://help.example.com/en/return-item",
)
PASSWORD_EN = Article(
    id="reset-password",
    title="Resetting your password",
    lang="en",
    body=(
        "## Forgotten password\n"
        "Click the forgot password link on the sign-in page.\n\n"
        "## Reset email\n"
        "We mail a reset link to your registered inbox; it expires after one hour."
    ),
    url="https://help.example.com/en/reset-password",
)
RETURN_JA = Article(
    id="return-item-ja",
    title="返品の方法",
    lang="ja",
    body=(
        "## 返品の条件\n"
        "未使用の商品は、到着から30日以内であれば返品できます。\n\n"
        "## 返品の送料\n"
        "返送の送料は500円で、返金額から差し引きます。"
    ),
    url="https://help.example.com/ja/return-item",
)
PASSWORD_JA = Article(
    id="reset-password-ja",
    title="パスワードの再設定",
    lang="ja",
    body=(
        "## パスワードを忘れた場合\n"
        "ログイン画面の「パスワードを忘れた方」から再設定できます。\n\n"
        "## 再設定メール\n"
        "登録したメールアドレスに再設定用のリンクを送ります。"
    ),
    url="https://help.example.com/ja/reset-password",
)
ARTICLES = [RETURN_EN, PASSWORD_EN, RETURN_JA, PASSWORD_JA]


def n_texts(*articles: Article) -> int:
    """What embedding these articles costs: every chunk plus the title."""
    return sum(len(chunk_article(a)) + 1 for a in articles)


def make(
    embeddings: CountingEmbedding,
    articles: list[Article] | None = None,
    data_dir: Path | None = None,
    model_name: str = "fake-model",
) -> HybridRetriever:
    retriever = HybridRetriever(embeddings, model_name=model_name, data_dir=data_dir)
    if articles:
        retriever.sync(articles)
    return retriever


def ids(result: RetrievalResult) -> list[str]:
    return [a.article_id for a in result.articles]


def finds(retriever: HybridRetriever, query: str, article_id: str) -> bool:
    """The article comes first with lexical evidence above every other article."""
    result = retriever.retrieve(query, mode="lexical")
    if result.top is None or result.top.article_id != article_id:
        return False
    others = [a.lexical_score or 0.0 for a in result.articles[1:]]
    return (result.top.lexical_score or 0.0) > max(others, default=float("-inf"))


@pytest.fixture
def retriever(fake_embeddings: CountingEmbedding) -> HybridRetriever:
    return make(fake_embeddings, ARTICLES)


# --------------------------------------------------------------------------- retrieval


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How do I send back an item?", "return-item"),
        ("what does the courier label cost", "return-item"),
        ("I forgot my password", "reset-password"),
        ("the reset link expired", "reset-password"),
        ("返品したい", "return-item-ja"),
        ("返送の送料はいくら？", "return-item-ja"),
        ("へんぴんしたい", "return-item-ja"),
        ("パスワードを忘れました", "reset-password-ja"),
        ("再設定メールが届かない", "reset-password-ja"),
    ],
)
def test_lexical_mode_finds_the_article_by_its_words(
    retriever: HybridRetriever, query: str, expected: str
) -> None:
    assert finds(retriever, query, expected)


def test_results_stay_in_the_query_language(retriever: HybridRetriever) -> None:
    en = retriever.retrieve("forgot password", mode="lexical")
    ja = retriever.retrieve("パスワードを忘れた", mode="lexical")
    assert en.lang == "en"
    assert set(ids(en)) == {"return-item", "reset-password"}
    assert ja.lang == "ja"
    assert set(ids(ja)) == {"return-item-ja", "reset-password-ja"}


def test_k_limits_the_number_of_articles(retriever: HybridRetriever) -> None:
    assert len(retriever.retrieve("password", k=1, mode="lexical").articles) == 1
    assert len(retriever.retrieve("password", k=10, mode="lexical").articles) == 2


def test_dense_mode_finds_the_article_whose_section_the_query_repeats(
    retriever: HybridRetriever,
) -> None:
    # Fake embeddings are deterministic per text: the exact search text of a chunk is the
    # one query whose vector matches that chunk.
    chunk = chunk_article(PASSWORD_EN)[1]
    result = retriever.retrieve(chunk.search_text, lang="en", mode="dense")
    assert result.top is not None
    assert result.top.article_id == "reset-password"
    assert result.top.passages[0].heading == chunk.heading


def test_results_carry_passages_with_headings_and_the_article_url(
    retriever: HybridRetriever,
) -> None:
    result = retriever.retrieve("courier label fee", mode="lexical")
    top = result.top
    assert top is not None
    assert top.article_id == "return-item"
    assert top.url == RETURN_EN.url
    assert top.title == RETURN_EN.title
    assert top.passages
    assert top.passages[0].heading == "Return shipping fee"
    assert "courier label" in top.passages[0].text
    assert len(top.passages) <= retriever.config.passages_per_article


def test_japanese_result_passage_has_its_heading(retriever: HybridRetriever) -> None:
    top = retriever.retrieve("返品の送料", mode="lexical").top
    assert top is not None
    assert top.url == RETURN_JA.url
    assert top.passages[0].heading == "返品の送料"


def test_hybrid_result_has_confidence_and_scores(retriever: HybridRetriever) -> None:
    result = retriever.retrieve("I forgot my password")
    assert result.mode == "hybrid"
    assert 0.0 <= result.confidence <= 1.0
    assert result.top is not None
    assert result.top.dense_score is not None  # English is an embedding language
    ja = retriever.retrieve("パスワードを忘れました")
    assert ja.top is not None
    assert ja.top.dense_score is None  # Japanese is lexical only by default
    assert ja.top.article_id == "reset-password-ja"


def test_a_matching_question_is_more_confident_than_an_unrelated_one(
    retriever: HybridRetriever,
) -> None:
    good = retriever.retrieve("forgot password reset link", mode="lexical")
    off = retriever.retrieve("is the linen shirt washable", mode="lexical")
    assert good.confidence > off.confidence


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_ranks_the_articles_of_the_query_language(
    retriever: HybridRetriever, mode: str
) -> None:
    for query, lang in (("I forgot my password", "en"), ("パスワードを忘れました", "ja")):
        result = retriever.retrieve(query, mode=mode)
        assert result.mode == mode
        assert result.lang == lang
        assert len(result.articles) == 2
        assert {a.lang for a in result.articles} == {lang}
        assert 0.0 <= result.confidence <= 1.0


def test_unknown_mode_raises_value_error(retriever: HybridRetriever) -> None:
    with pytest.raises(ValueError, match="'fuzzy'"):
        retriever.retrieve("password", mode="fuzzy")


@pytest.mark.parametrize(
    ("lang", "query", "detected", "expected"),
    [
        ("fr", "I forgot my password", "en", "reset-password"),
        ("ko", "返品したい", "ja", "return-item-ja"),
    ],
)
def test_a_language_without_articles_falls_back_to_the_detected_one(
    retriever: HybridRetriever, lang: str, query: str, detected: str, expected: str
) -> None:
    result = retriever.retrieve(query, lang=lang, mode="lexical")
    assert result.lang == detected
    assert ids(result)[0] == expected


def test_an_explicit_language_is_respected(retriever: HybridRetriever) -> None:
    result = retriever.retrieve("password", lang="ja", mode="lexical")
    assert result.lang == "ja"
    assert set(ids(result)) <= {"return-item-ja", "reset-password-ja"}


def test_empty_retriever_returns_nothing(fake_embeddings: CountingEmbedding) -> None:
    result = make(fake_embeddings).retrieve("where is my parcel")
    assert result.articles == []
    assert result.top is None
    assert result.confidence == 0.0


# --------------------------------------------------------------------------- updates


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


def test_concurrent_upserts_and_retrieves_do_not_crash(
    retriever: HybridRetriever,
) -> None:
    threads, ops = 4, 20
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(ops):
                if n % 2 == 0:
                    lang = "ja" if worker % 2 else "en"
                    body = f"{'返品' if lang == 'ja' else 'parcel'} note {worker} {n}"
                    retriever.upsert(
                        Article(id=f"t{worker}-{n}", title=f"T {worker} {n}", lang=lang, body=body)
                    )
                else:
                    query = "返品したい" if n % 4 == 1 else "I forgot my password"
                    result = retriever.retrieve(query, mode="hybrid" if n % 3 else "lexical")
                    assert result.articles
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)

    assert not any(t.is_alive() for t in pool)
    assert errors == []
    assert len(retriever) == len(ARTICLES) + threads * ops // 2
    assert finds(retriever, "I forgot my password", "reset-password")


def test_the_encoder_is_not_asked_about_japanese_it_cannot_read() -> None:
    from retrieval.hybrid import _unreadable_for_encoder

    assert _unreadable_for_encoder("へんぴんしたい")  # kana without conversion
    assert _unreadable_for_encoder("kyanseru dekimasu ka")  # romaji
    assert not _unreadable_for_encoder("返品したい")
    assert not _unreadable_for_encoder("キャンセルできますか")  # a katakana word it knows
