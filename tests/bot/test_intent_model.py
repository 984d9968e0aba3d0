"""Learned intents: the model file, the heads, and the shipped model on messages it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.intent_model import (
    FRUSTRATION,
    HANDOFF,
    SHIPPED_MODEL,
    SMALLTALK,
    Head,
    IntentClassifier,
    IntentModel,
    IntentModelError,
    default_classifier,
    encoder_text,
    frustration_signal,
)
from bot.training import fit_intents
from eval.cases import Case
from retrieval.sentence_encoder import ENCODER_NAME, HashingSentenceEncoder


def test_frustration_signal_is_one_half_at_the_heads_threshold() -> None:
    assert frustration_signal(0.3, 0.3) == pytest.approx(0.5)
    assert frustration_signal(0.15, 0.3) == pytest.approx(0.25)
    assert frustration_signal(1.0, 0.3) == pytest.approx(1.0)


def test_romaji_is_read_as_kana_by_the_encoder() -> None:
    assert encoder_text("denwa de hanashitai") == "でんわ で はなしたい"
    assert encoder_text("talk to a person") == "talk to a person"
    assert encoder_text("返品したい") == "返品したい"


def _model(encoder: HashingSentenceEncoder) -> IntentModel:
    dims = encoder.dimensions
    request = encoder.encode_one("talk to a person")
    return IntentModel(
        encoder=encoder.name,
        dimensions=dims,
        data_hash="abc",
        heads={
            HANDOFF: Head(("yes",), 20 * request[None, :], np.array([-10.0]), {"*": 0.5}),
            SMALLTALK: Head(
                ("goodbye", "greeting", "none", "thanks"),
                np.zeros((4, dims), dtype=np.float32),
                np.array([0.0, 0.0, 5.0, 0.0]),
                {"*": 0.5},
            ),
        },
    )


def test_a_model_round_trips_through_its_file(tmp_path: Path) -> None:
    encoder = HashingSentenceEncoder()
    model = _model(encoder)
    model.save(tmp_path / "m.json")
    loaded = IntentModel.load(tmp_path / "m.json")
    assert loaded.data_hash == "abc" and set(loaded.heads) == {HANDOFF, SMALLTALK}
    classifier = IntentClassifier(loaded, encoder)
    assert classifier.judge("talk to a person", "en").asked_for_person
    judgement = classifier.judge("where is my parcel", "en")
    assert not judgement.asked_for_person and judgement.smalltalk is None
    assert judgement.frustration is None  # no frustration head in this model


def _fitted_with_lexical_features() -> IntentModel:
    requests = ["talk to a person", "get me a human", "オペレーターにつないで", "人と話したい"]
    questions = ["where is my parcel", "do you ship abroad", "送料はいくら", "返品したい"]
    cases = [
        Case(t, f"r{i}", "ja" if i > 1 else "en", handoff=True) for i, t in enumerate(requests)
    ]
    cases += [
        Case(t, f"q{i}", "ja" if i > 1 else "en", handoff=False) for i, t in enumerate(questions)
    ]
    return fit_intents(cases * 3, HashingSentenceEncoder(), ngram_features=512)


def test_a_model_with_lexical_features_round_trips_through_its_file(tmp_path: Path) -> None:
    encoder = HashingSentenceEncoder()
    model = _fitted_with_lexical_features()
    model.save(tmp_path / "m.json")
    loaded = IntentModel.load(tmp_path / "m.json")
    assert loaded.ngram_features == 512
    for text, lang in [("ｵﾍﾟﾚｰﾀｰにつないで", "ja"), ("talk to a person", "en"), ("送料", "ja")]:
        before = IntentClassifier(model, encoder).judge(text, lang)
        after = IntentClassifier(loaded, encoder).judge(text, lang)
        assert after.handoff == pytest.approx(before.handoff, abs=1e-4)
        assert after.asked_for_person == before.asked_for_person


def test_a_model_of_the_old_format_or_other_lexical_features_is_refused(tmp_path: Path) -> None:
    data = _fitted_with_lexical_features().to_dict()
    for key, value, message in [
        ("format", 1, "format 1, expected 2"),
        ("ngram_scheme", "char2-4", "lexical features 'char2-4'"),
        ("ngram_features", 256, r"576 weights a label, expected 320"),
    ]:
        (tmp_path / "m.json").write_text(json.dumps({**data, key: value}), encoding="utf-8")
        with pytest.raises(IntentModelError, match=message):
            IntentModel.load(tmp_path / "m.json")


def test_a_request_about_hours_is_never_a_learned_handoff() -> None:
    encoder = HashingSentenceEncoder()
    classifier = IntentClassifier(_model(encoder), encoder)
    vector = encoder.encode_one("talk to a person")
    judgement = classifier.judge("can I talk to a person on weekends?", "en", vector=vector)
    assert judgement.handoff is not None and judgement.handoff > 0.5
    assert not judgement.asked_for_person


def test_a_model_for_another_encoder_or_format_is_refused(tmp_path: Path) -> None:
    model = _model(HashingSentenceEncoder())
    with pytest.raises(IntentModelError, match="kakehashi train"):
        IntentClassifier(model, HashingSentenceEncoder(dimensions=32))
    (tmp_path / "old.json").write_text('{"format": 0}', encoding="utf-8")
    with pytest.raises(IntentModelError, match="format 0"):
        IntentModel.load(tmp_path / "old.json")


def test_the_shipped_model_names_its_encoder_and_training_data() -> None:
    model = IntentModel.load(SHIPPED_MODEL)
    assert model.encoder == ENCODER_NAME
    assert {HANDOFF, FRUSTRATION, SMALLTALK} <= set(model.heads)
    assert len(model.data_hash) == 16
    assert model.training[HANDOFF]["en"]["with_rules"]["precision"] >= 0.95


# Written for this test, in the words the rules were never written from.
@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "lang", "asked"),
    [
        ("wanna contact somebody", "en", True),
        ("help me to talk with an operator", "en", True),
        ("I have got to speak with somebody", "en", True),
        ("does the jacket come in navy?", "en", False),
        ("誰か対応できる人いませんか", "ja", True),
        ("この商品は在庫がありますか", "ja", False),
        # obvious Japanese requests, in kanji, kana, half-width kana and romaji
        ("オペレーターにつないでください", "ja", True),
        ("人と話したい", "ja", True),
        ("ｵﾍﾟﾚｰﾀｰにつないでください", "ja", True),
        ("tantousha to hanashitai", "ja", True),
        ("ningen to hanashitai", "ja", True),
        # questions that name a phone or a person are not requests to be connected
        ("電話番号を教えてください", "ja", False),
        ("担当者名を領収書に入れたい", "ja", False),
        ("スタッフ募集はしていますか", "ja", False),
    ],
)
def test_the_shipped_model_recognises_new_wordings(text: str, lang: str, asked: bool) -> None:
    judgement = default_classifier().judge(text, lang)
    assert judgement.asked_for_person is asked


@pytest.mark.model
def test_the_nearest_labelled_examples_explain_a_verdict() -> None:
    near = default_classifier().nearest_examples("i need to talk to a human", k=3, intent=HANDOFF)
    assert len(near) == 3
    assert all(n.example.intent == HANDOFF for n in near)
    assert near[0].example.label == "yes"
    assert near[0].similarity >= near[-1].similarity


@pytest.mark.model
def test_a_message_started_early_is_encoded_once_and_judged_the_same() -> None:
    classifier = default_classifier()
    text = "denwa de tantousha to hanashitai desu"  # romaji: the encoder reads it as kana
    expected = classifier.judge(text, "ja")
    queries = classifier.encoder._query_encoder()
    queries.cache.clear()
    calls = queries.batcher.calls
    classifier.prefetch(text)
    assert classifier.judge(text, "ja") == expected
    assert queries.batcher.calls == calls + 1
