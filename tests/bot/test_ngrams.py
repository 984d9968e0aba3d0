"""The heads' lexical features: the same message in any width, script or process reads alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.ngrams import NGRAM_FEATURES, lexical_terms, ngram_matrix, ngram_vector

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("ｵﾍﾟﾚｰﾀｰにつないでください", "オペレーターにつないでください"),  # half-width kana
        ("ＡＧＥＮＴ　ｐｌｅａｓｅ！", "agent please!"),  # full-width Latin and space
        ("人と話したい！", "人と話したい!"),
        ("Talk  to a   HUMAN", "talk to a human"),
    ],
)
def test_full_and_half_width_forms_give_the_same_vector(typed: str, plain: str) -> None:
    assert np.array_equal(ngram_vector(typed), ngram_vector(plain))


def test_the_vector_is_the_same_in_another_process() -> None:
    """Buckets come from BLAKE2b, not Python's per-process string hash."""
    text = "担当者につないでください talk to a person"
    script = (
        "import json, sys; from bot.ngrams import ngram_vector; "
        "v = ngram_vector(sys.argv[1]); print(json.dumps([int(i) for i in v.nonzero()[0]]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script, text],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert json.loads(out.stdout) == [int(i) for i in ngram_vector(text).nonzero()[0]]
    assert np.array_equal(ngram_vector(text), ngram_vector(text))


def test_romaji_and_kana_read_like_the_kanji_they_stand_for() -> None:
    def reading(text: str) -> set[str]:
        return {t for t in lexical_terms(text)[0] if t.startswith("r")}

    kanji = reading("担当者と話したい")
    assert reading("tantousha to hanashitai") == kanji
    assert reading("たんとうしゃとはなしたい") == kanji
    assert reading("タントウシャトハナシタイ") == kanji


def test_katakana_and_hiragana_share_their_character_grams() -> None:
    katakana, _ = lexical_terms("オペレーター")
    hiragana, _ = lexical_terms("おぺれーたー")
    assert set(katakana) == set(hiragana)


def test_english_words_and_their_pairs_are_terms() -> None:
    terms, japanese_words = lexical_terms("Need a human")
    assert {"w1:need", "w1:human", "w2:a human", "w2:<s> need"} <= set(terms)
    assert japanese_words == []  # no Japanese words block for English


def test_each_block_has_unit_length() -> None:
    assert float(np.linalg.norm(ngram_vector("talk to a person"))) == pytest.approx(1.0)
    japanese = ngram_vector("人と話したい")  # characters and readings, plus Sudachi's words
    assert 1.0 < float(np.linalg.norm(japanese)) <= 2.0
    assert ngram_matrix(["a", "人"]).shape == (2, NGRAM_FEATURES)
    assert not ngram_vector("   ").any()
