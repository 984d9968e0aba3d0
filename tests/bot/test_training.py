"""Fitting the learned intents: which messages each head learns from, thresholds by CV."""

from __future__ import annotations

import pytest

from bot.intent_model import FRUSTRATION, HANDOFF, SMALLTALK, IntentClassifier
from bot.training import TrainingError, data_hash, examples, fit_intents
from eval.cases import Case
from retrieval.sentence_encoder import HashingSentenceEncoder

REQUESTS = [
    "talk to a person please",
    "can I speak with a human",
    "get me an agent",
    "connect me to an operator",
    "i want a real person",
    "let me talk to someone",
    "need to speak with somebody",
    "put me through to a human",
]
QUESTIONS = [
    "where is my parcel",
    "how do I return an item",
    "what payment methods do you take",
    "can I change my address",
    "how long does delivery take",
    "do you ship abroad",
    "how do I reset my password",
    "is gift wrapping free",
]


def _cases() -> list[Case]:
    cases = [Case(t, f"r{i}", "en", handoff=True) for i, t in enumerate(REQUESTS)]
    cases += [Case(t, f"q{i}", "en", gold=("x",)) for i, t in enumerate(QUESTIONS)]
    cases += [Case(t, f"f{i}", "en", frustrated=True) for i, t in enumerate(REQUESTS[:5])]
    cases += [Case(t, f"c{i}", "en", frustrated=False) for i, t in enumerate(QUESTIONS[:5])]
    return cases


def test_each_head_learns_from_its_labels_and_ordinary_questions() -> None:
    cases = _cases() + [Case("hi there", "s1", "en", smalltalk="greeting")]
    handoff = examples(cases, HANDOFF)
    assert {e.label for e in handoff} == {"yes", "no"}
    assert sum(e.label == "no" for e in handoff) == len(QUESTIONS) + 1  # small talk too
    assert [e.label for e in examples(cases, SMALLTALK)].count("greeting") == 1
    assert all(e.text != "hi there" for e in examples(cases, FRUSTRATION))


def test_the_data_hash_ignores_order_and_sees_labels() -> None:
    cases = _cases()
    assert data_hash(cases) == data_hash(list(reversed(cases)))
    flipped = [Case(cases[0].text, cases[0].id, "en", handoff=False), *cases[1:]]
    assert data_hash(flipped) != data_hash(cases)


def test_fit_gives_heads_with_thresholds_per_language_and_cv_figures() -> None:
    encoder = HashingSentenceEncoder()
    model = fit_intents(_cases(), encoder, ngram_features=256)
    assert set(model.heads) == {HANDOFF, FRUSTRATION}  # no small-talk labels: no head
    assert set(model.heads[HANDOFF].thresholds) == {"en", "*"}
    figures = model.training[HANDOFF]["en"]
    assert figures["n"] == len(REQUESTS) + len(QUESTIONS) and "with_rules" in figures
    classifier = IntentClassifier(model, encoder)
    assert classifier.judge("talk to a person please", "en").handoff is not None


def test_fit_refuses_data_without_both_labels() -> None:
    only_questions = [Case(t, f"q{i}", "en", gold=("x",)) for i, t in enumerate(QUESTIONS)]
    with pytest.raises(TrainingError, match="both kinds"):
        fit_intents(only_questions, HashingSentenceEncoder())


def test_only_messages_labelled_for_an_intent_are_kept_as_examples() -> None:
    model = fit_intents(_cases(), HashingSentenceEncoder(), ngram_features=256)
    shown = {(e.text, e.intent) for e in model.examples}
    assert ("talk to a person please", HANDOFF) in shown
    assert not any(text in QUESTIONS[5:] for text, _ in shown)  # plain negatives stay out
    classifier = IntentClassifier(model, HashingSentenceEncoder())
    near = classifier.nearest_examples("talk to a person please", k=2, intent=HANDOFF)
    assert near[0].example.text == "talk to a person please"
