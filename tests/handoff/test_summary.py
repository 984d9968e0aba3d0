"""The summary an agent reads before taking over."""

from __future__ import annotations

from handoff.summary import Line, needs_now, summarise

RETURNS = {"article_id": "return-item", "title": "How to return an item", "url": "u"}
REFUNDS = {"article_id": "refund-timing", "title": "When you get your refund", "url": "u"}


def test_leads_with_the_problem_then_why_then_what_the_bot_answered() -> None:
    lines = [
        Line("customer", "How do I return an item?"),
        Line("bot", "You can return it within 30 days…", "answer", [RETURNS], confidence=0.8),
        Line("customer", "ok"),  # too short to say anything
        Line("customer", "And when is my   money back?"),
        Line("bot", "Refunds take 5-7 days…", "answer", [REFUNDS, RETURNS], helpful=False),
        Line("customer", "Can I talk to a human please?"),
        Line("bot", "Of course…", "handoff"),
    ]
    assert summarise(lines, "customer_request", {}) == [
        # the bare request for a person points back to the problem before it
        "Needs now: “And when is my money back?”",
        "Handed off because the customer asked for a person",
        "First asked: “How do I return an item?”",
        "Bot answered from: When you get your refund, How to return an item",
        "Customer marked 1 answer as not helpful",
    ]


def test_a_frustrated_customer_s_latest_problem_comes_first_not_her_first_question() -> None:
    lines = [
        Line("customer", "Hello!"),
        Line("bot", "Hello! How can I help?", "smalltalk"),
        Line("customer", "How long does delivery take?"),
        Line("bot", "2-3 days…", "answer", [{"title": "Delivery options"}]),
        Line("customer", "My order 1234 still hasn't arrived after 10 days"),
        Line("bot", "You can track it…", "answer", [{"title": "Track your package"}]),
        Line("customer", "This is useless!!! Where is my parcel?? I want a refund"),
        Line("bot", "I'm sorry, a colleague will help.", "handoff"),
    ]
    scores = {"frustration": 0.9, "frustration_signals": {"negative": 0.7, "shouting": 0.4}}
    summary = summarise(lines, "frustration", scores)
    assert summary[:3] == [
        "Needs now: “This is useless!!! Where is my parcel?? I want a refund”",
        "Handed off because the customer seemed frustrated (signals: negative, shouting)",
        "First asked: “How long does delivery take?”",
    ]
    assert needs_now(lines, "frustration") == lines[6].text


def test_names_at_most_three_articles_the_latest_first() -> None:
    lines: list[Line] = []
    for n in range(8):
        lines += [Line("customer", f"question number {n}")]
        lines += [Line("bot", "…", "answer", [{"title": f"Article {n}"}])]
    answered = [line for line in summarise(lines, None, None) if line.startswith("Bot answered")]
    assert answered == ["Bot answered from: Article 7, Article 6, Article 5 and 5 more"]


def test_counts_declines_and_gives_the_confidence_of_a_low_confidence_handoff() -> None:
    lines = [
        Line("customer", "zorblax quantum flux capacitor"),
        Line("bot", "Sorry, I don't know.", "decline"),
        Line("customer", "glorp vexillology yak"),
        Line("bot", "Sorry, I still don't know.", "decline", helpful=False),
        Line("bot", "Let me find someone.", "handoff", helpful=False),
    ]
    summary = summarise(lines, "low_confidence", {"confidence": 0.1834})
    assert "Bot could not answer 2 questions" in summary
    assert "Customer marked 2 answers as not helpful" in summary
    assert summary[1] == "Handed off because the bot could not answer (confidence 0.18)"
    assert not any(line.startswith("Bot answered from") for line in summary)


def test_names_the_strongest_frustration_signals() -> None:
    lines = [Line("customer", "This is RIDICULOUS!!! Third time I ask, worst service ever")]
    scores = {
        "frustration": 0.9,
        "frustration_signals": {  # as bot.frustration names them
            "repeated_punctuation": 0.2,
            "shouting": 0.5,
            "negative": 0.7,
            "repeated_question": 0.4,
        },
    }
    assert summarise(lines, "frustration", scores)[1] == (
        "Handed off because the customer seemed frustrated "
        "(signals: negative, shouting, repeated question)"
    )
    assert summarise(lines, "frustration", {})[1] == (
        "Handed off because the customer seemed frustrated"
    )
    # a last message that is all feeling and no problem is quoted in the reason
    angry = [*lines, Line("bot", "…", "answer"), Line("customer", "!!!")]
    assert summarise(angry, "frustration", {})[:2] == [
        f"Needs now: “{lines[0].text}”",
        "Handed off because the customer seemed frustrated: “!!!”",
    ]


def test_a_long_message_is_quoted_short_and_on_one_line() -> None:
    text = "My parcel\nnever arrived " + "and I am still waiting " * 20
    first = summarise([Line("customer", text)], None, None)[0]
    assert first.startswith("Needs now: “My parcel never arrived and")
    assert first.endswith("…”") and "\n" not in first
    assert len(first) == len("Needs now: ") + 160 + 2


def test_the_same_question_twice_is_quoted_once_and_no_reason_means_no_handoff_line() -> None:
    lines = [Line("customer", "Where is my order?"), Line("customer", "Where is my order?")]
    assert summarise(lines, None, None) == ["Needs now: “Where is my order?”"]
    assert summarise([], None, None) == []
