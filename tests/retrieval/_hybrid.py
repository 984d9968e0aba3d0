"""What the hybrid retriever's tests share: four small articles and a retriever over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.chunking import chunk_article
from retrieval.hybrid import HybridRetriever
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
