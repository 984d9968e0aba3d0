"""Runs evaluation cases through the same retriever and answer policy the bot uses."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.answer import AnswerOutcome, Thresholds, decide_answer
from bot.policy import Bot, DecisionKind, HandoffReason
from eval.cases import NOT_SMALLTALK, Case
from eval.metrics import classification_metrics, percentile, rank_of, retrieval_metrics
from retrieval.hybrid import HybridRetriever


@dataclass(frozen=True)
class CaseResult:
    case: Case
    lang: str
    ranked: list[str]
    rank: int | None
    outcome: AnswerOutcome
    confidence: float
    latency_ms: float


def run_case(
    retriever: HybridRetriever, case: Case, mode: str, thresholds: Thresholds, k: int = 10
) -> CaseResult:
    result = retriever.retrieve(case.text, lang=case.lang, k=k, mode=mode)
    ranked = [a.article_id for a in result.articles]
    return CaseResult(
        case=case,
        lang=case.lang or result.lang,
        ranked=ranked,
        rank=rank_of(ranked, case.gold or ()),
        outcome=decide_answer(result, thresholds),
        confidence=result.confidence,
        latency_ms=result.latency_ms,
    )


def _answer_block(results: list[CaseResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.case.gold]
    unanswerable = [r for r in results if r.case.gold is not None and not r.case.gold]

    def share(items: list[CaseResult], test: Callable[[CaseResult], bool]) -> float:
        return round(sum(1 for r in items if test(r)) / len(items), 4) if items else 0.0

    answered = AnswerOutcome.ANSWER
    return {
        "n_answerable": len(answerable),
        "answered_correct": share(answerable, lambda r: r.outcome == answered and r.rank == 1),
        "answered_wrong": share(answerable, lambda r: r.outcome == answered and r.rank != 1),
        "declined": share(answerable, lambda r: r.outcome != answered),
        "n_unanswerable": len(unanswerable),
        "false_answer": share(unanswerable, lambda r: r.outcome == answered),
    }


@dataclass(frozen=True)
class PolicyResult:
    """The bot's decisions on one labelled message, for the handoff and frustration blocks."""

    case: Case
    lang: str
    asked_for_person: bool
    frustrated: bool
    chatted: bool = False  # answered as small talk


def run_policy(bot: Bot, case: Case) -> PolicyResult:
    """What the live bot decides for a message that opens a conversation."""
    decision = bot.respond(case.text, lang=case.lang)
    asked = decision.handoff_reason is HandoffReason.CUSTOMER_REQUEST or bool(
        decision.scores.get("asked_for_person")
    )
    frustrated = decision.frustration is not None and decision.frustration.exceeds(
        bot.frustration_threshold
    )
    chatted = decision.kind is DecisionKind.SMALLTALK
    return PolicyResult(case, decision.lang, asked, frustrated, chatted)


def _classification_block(
    results: list[PolicyResult],
    label: Callable[[Case], bool | None],
    predicted: Callable[[PolicyResult], bool],
    with_f1: bool,
) -> dict[str, Any]:
    def block(items: list[PolicyResult]) -> dict[str, Any]:
        metrics = classification_metrics(
            [(predicted(r), bool(label(r.case))) for r in items if label(r.case) is not None]
        )
        if not with_f1:
            metrics.pop("f1")
        return metrics

    by_lang: dict[str, list[PolicyResult]] = defaultdict(list)
    for r in results:
        if label(r.case) is not None:
            by_lang[r.case.lang or r.lang].append(r)
    return {
        **block(results),
        "by_lang": {lang: block(items) for lang, items in sorted(by_lang.items())},
    }


def evaluate(
    retriever: HybridRetriever,
    cases: Iterable[Case],
    *,
    mode: str = "hybrid",
    thresholds: Thresholds | None = None,
    bot: Bot | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], list[CaseResult]]:
    """Score every case; returns the report and the per-case retrieval results.

    Cases with `gold` are scored for retrieval and answering; with a `bot`, cases labelled
    `handoff` or `frustrated` are run through its policy for the handoff and frustration
    blocks.
    """
    thresholds = thresholds or Thresholds()
    results: list[CaseResult] = []
    all_cases = list(cases)
    policy: list[PolicyResult] = []
    for case in all_cases:
        if case.gold is not None:
            results.append(run_case(retriever, case, mode, thresholds))
        labelled = (case.handoff, case.frustrated, case.smalltalk)
        if bot is not None and any(label is not None for label in labelled):
            policy.append(run_policy(bot, case))
        if progress is not None:
            progress(1)
    scored = [r for r in results if r.case.gold]
    by_lang: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_lang[r.lang].append(r)
    latencies = [r.latency_ms for r in results]
    report: dict[str, Any] = {
        "cases": len(all_cases),
        "mode": mode,
        "retrieval": retrieval_metrics([r.rank for r in scored]),
        "by_lang": {
            lang: {
                **retrieval_metrics([r.rank for r in items if r.case.gold]),
                "answer": _answer_block(items),
            }
            for lang, items in sorted(by_lang.items())
        },
        "answer": _answer_block(results),
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 2),
            "p95": round(percentile(latencies, 95), 2),
        },
    }
    if bot is not None:
        handoff = _classification_block(
            policy, lambda c: c.handoff, lambda r: r.asked_for_person, with_f1=False
        )
        frustration = _classification_block(
            policy, lambda c: c.frustrated, lambda r: r.frustrated, with_f1=True
        )
        chat = _classification_block(
            policy,
            lambda c: None if c.smalltalk is None else c.smalltalk != NOT_SMALLTALK,
            lambda r: r.chatted,
            with_f1=True,
        )
        report["handoff"] = handoff
        report["frustration"] = frustration
        report["smalltalk"] = chat
        for lang, block in report["by_lang"].items():
            block["handoff"] = handoff["by_lang"].get(lang)
            block["frustration"] = frustration["by_lang"].get(lang)
            block["smalltalk"] = chat["by_lang"].get(lang)
    return report, results
