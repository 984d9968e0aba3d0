"""Reply latency of the bot's policy, paired: with and without the learned signals, or
with and without the articles' customer questions.

    python -m eval.latency [--cases eval/datasets] [--limit 300] [--compare signals|questions]

Times `Bot.respond` on each labelled question twice, in one process, so load from other
processes falls on both alike; which runs first alternates from one question to the next.
Prints p50 and p95 of each and of the paired differences.

- `signals` (the default): once with the learned intents and the encoder's confidence
  signal, once with the rules and the lexical and dense evidence alone (as before them).
- `questions`: the knowledge base as it is, and the same articles with their `questions:`
  left out (fewer chunks to search). Both bots run the models on every message: the
  query caches are emptied before each call, so neither reuses the other's vectors.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from eval.cases import load_cases
from eval.metrics import percentile


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=Path("eval/datasets"))
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--compare", choices=("signals", "questions"), default="signals")
    args = parser.parse_args(argv)

    pair = _questions_pair() if args.compare == "questions" else _signals_pair()
    questions = [c for c in load_cases(args.cases) if c.gold is not None]
    half = args.limit // 2  # both languages alike
    texts = [
        c.text for lang in ("en", "ja") for c in [q for q in questions if q.lang == lang][:half]
    ]
    for text in texts[:10]:  # warm up both
        for respond in pair.values():
            respond(text)
    timings: dict[str, list[float]] = {name: [] for name in pair}
    for i, text in enumerate(texts):
        # which goes first alternates: the second call of a message finds warm what the
        # first left (text-keyed caches in the intent rules, a shape's compiled kernels)
        for name in list(pair)[:: 1 if i % 2 == 0 else -1]:
            started = time.perf_counter()
            pair[name](text)
            timings[name].append((time.perf_counter() - started) * 1000)
    first, second = timings.values()
    diffs = [a - b for a, b in zip(first, second, strict=True)]
    report = {
        name: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)}
        for name, v in {**timings, "difference": diffs}.items()
    }
    report["n"] = len(texts)  # type: ignore[assignment]
    print(json.dumps(report, indent=2))


def _signals_pair() -> dict[str, Callable[[str], Any]]:
    from app.bootstrap import build_bot, build_retriever, index_kb
    from app.settings import Settings
    from bot.policy import Bot

    settings = Settings()
    retriever = build_retriever(settings)
    index_kb(retriever, settings)
    with_signals = build_bot(retriever, settings)
    plain_retriever = build_retriever(settings)
    plain_retriever.config = replace(plain_retriever.config, encoder_confidence=False)
    index_kb(plain_retriever, settings)
    without = Bot(
        plain_retriever,
        thresholds=with_signals.thresholds,
        frustration_threshold=with_signals.frustration_threshold,
        learned_intents=False,
    )
    return {"with": with_signals.respond, "without": without.respond}


def _questions_pair() -> dict[str, Callable[[str], Any]]:
    from app.bootstrap import build_bot, build_retriever
    from app.settings import Settings
    from retrieval.kb import load_kb

    settings = Settings()
    articles = load_kb(settings.kb_dir).articles
    pair: dict[str, Callable[[str], Any]] = {}
    for name, kept in (
        ("with", articles),
        ("without", [replace(a, questions=()) for a in articles]),
    ):
        retriever = build_retriever(settings, persist=False)  # the saved index stays as it is
        retriever.sync(kept)
        pair[name] = _uncached(build_bot(retriever, settings).respond, retriever)
    return pair


def _uncached(respond: Callable[[str], Any], retriever: Any) -> Callable[[str], Any]:
    """`respond` that encodes every message anew, as for a message never seen before."""

    def fresh(text: str) -> Any:
        retriever.query_vectors.cache.clear()
        if retriever.sentence_encoder is not None:
            retriever.sentence_encoder.forget_recent()
        return respond(text)

    return fresh


if __name__ == "__main__":
    main()
