"""Reply latency of the bot's policy with and without the learned signals, paired.

    python -m eval.latency [--cases eval/datasets] [--limit 300]

Times `Bot.respond` on each labelled question twice, alternating: once with the learned
intents and the encoder's confidence signal, once with the rules and the lexical and dense
evidence alone (as before them), in one process over one index, so load from other
processes falls on both alike. Prints p50 and p95 of each and of the paired differences.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from eval.cases import load_cases
from eval.metrics import percentile


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=Path("eval/datasets"))
    parser.add_argument("--limit", type=int, default=300)
    args = parser.parse_args(argv)

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
    questions = [c for c in load_cases(args.cases) if c.gold is not None]
    half = args.limit // 2  # both languages alike
    texts = [
        c.text for lang in ("en", "ja") for c in [q for q in questions if q.lang == lang][:half]
    ]
    for text in texts[:10]:  # warm up both
        with_signals.respond(text)
        without.respond(text)
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for text in texts:
        for name, bot in (("with", with_signals), ("without", without)):
            started = time.perf_counter()
            bot.respond(text)
            timings[name].append((time.perf_counter() - started) * 1000)
    diffs = [a - b for a, b in zip(timings["with"], timings["without"], strict=True)]
    report = {
        name: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)}
        for name, v in {**timings, "difference": diffs}.items()
    }
    report["n"] = len(texts)  # type: ignore[assignment]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
