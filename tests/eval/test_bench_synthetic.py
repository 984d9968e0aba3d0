"""The scale benchmark's knowledge base: the same in every run, the real articles inside."""

from __future__ import annotations

import re

from eval.bench.synthetic import ID_PREFIX, scale_kb, synthetic_article
from retrieval.chunking import chunk_article
from retrieval.kb import load_kb
from tests.conftest import SAMPLE_KB


def test_synthetic_articles_are_the_same_in_every_run() -> None:
    for lang in ("en", "ja"):
        assert synthetic_article(41, lang) == synthetic_article(41, lang)
    assert synthetic_article(41, "en") != synthetic_article(42, "en")


def test_a_larger_knowledge_base_starts_with_the_smaller_one_and_holds_the_real_articles() -> None:
    real = load_kb(SAMPLE_KB).articles
    small, small_chunks = scale_kb(real, 1000)  # the sample KB alone is 768 passages
    large, large_chunks = scale_kb(real, 2000)
    assert large[: len(small)] == small
    assert {a.id for a in real} <= {a.id for a in small}
    assert len({a.id for a in large}) == len(large)  # no id twice
    assert small_chunks == sum(len(chunk_article(a)) for a in small)
    assert 1000 <= small_chunks < 1000 + 4  # an article is four passages
    assert 2000 <= large_chunks < 2000 + 4


def test_synthetic_articles_read_as_shop_support_in_their_language() -> None:
    english, japanese = synthetic_article(3, "en"), synthetic_article(3, "ja")
    assert english.id.startswith(ID_PREFIX) and japanese.lang == "ja"
    assert len(chunk_article(english)) == len(chunk_article(japanese)) == 4
    assert re.search(r"[\u3040-\u30ff]", japanese.body)  # kana
    assert english.body.isascii()
    # the product the title names is the one the passages talk about
    product = english.title.split(" (")[0].split(" ", 2)[2]
    assert english.body.count(product) >= 2
