"""One step of the scale benchmark, in a process of its own (its memory is its own):

    python -m eval.bench.scale --chunks 10000 --cases cases.json --out step.json [--wait]

Indexes the sample knowledge base plus synthetic articles (`eval.bench.synthetic`) up to
`--chunks` passages with the retriever the settings build (its own defaults pick the kind
of index), then asks the real questions: hit@3 (and, where the index is approximate, hit@3
of the same passages searched exactly), and the time of `retrieve` without the
time spent on the models (the query embedding and the sentence encoder are timed where
the retriever asks for them, their batching thread included, and taken out; a cached
query costs nothing to take out).

With `--wait` it prints a line once indexed and waits for a line on stdin before asking,
so that the bench can index while something else runs and time the questions alone.
`--background` lowers its CPU priority to the least (nice 19) first: indexing beside the
memory soak then takes what the soak's server leaves, rather than half the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval._server import rss_mib
from eval.bench._clock import ModelClock
from eval.metrics import percentile, rank_of, retrieval_metrics


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _config(retriever: Any) -> dict[str, Any]:
    config = getattr(retriever, "config", None)
    if config is None or not dataclasses.is_dataclass(config):
        return {}
    fields = dataclasses.asdict(config)  # type: ignore[arg-type]
    fields.pop("calibration", None)
    return {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in fields.items()}


def run(chunks: int, cases: Sequence[dict[str, Any]], wait: bool = False) -> dict[str, Any]:
    from app.bootstrap import build_retriever, load_embeddings
    from app.settings import Settings
    from eval.bench.synthetic import scale_kb
    from retrieval.kb import load_kb

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    clock = ModelClock()
    started = time.perf_counter()
    embeddings = load_embeddings(settings)
    retriever = build_retriever(settings, embeddings=embeddings, persist=False)
    # What a query asks of the models, as the retriever asks it: the cache, the batcher's
    # worker thread and the model call (timing only the model would leave the hop to the
    # worker thread in, once there are more questions than the cache holds).
    retriever.query_vectors = clock.wrap(retriever.query_vectors)
    if retriever.sentence_encoder is not None:
        clock.watch(retriever.sentence_encoder, "encode_one")
    load_seconds = time.perf_counter() - started
    articles, total = scale_kb(load_kb(settings.kb_dir).articles, chunks, settings.chunk_max_chars)
    started = time.perf_counter()
    retriever.sync(articles)
    index_seconds = time.perf_counter() - started
    rss_indexed = rss_mib(os.getpid())
    print(json.dumps({"indexed": total, "index_seconds": round(index_seconds, 1)}), flush=True)
    if wait:
        sys.stdin.readline()

    started = time.perf_counter()
    retriever.retrieve(cases[0]["text"], lang=cases[0]["lang"])
    first_query_ms = (time.perf_counter() - started) * 1000
    for case in cases:  # warm: caches, lazily built structures
        retriever.retrieve(case["text"], lang=case["lang"])
    totals, without, model, ranks = [], [], [], []
    for case in cases:
        clock.reset()
        started = time.perf_counter()
        result = retriever.retrieve(case["text"], lang=case["lang"])
        elapsed = (time.perf_counter() - started) * 1000
        totals.append(elapsed)
        model.append(clock.seconds * 1000)
        without.append(max(0.0, elapsed - clock.seconds * 1000))
        ranks.append(rank_of([a.article_id for a in result.articles], case["gold"]))
    n = len(ranks)
    peak_mib = _peak_rss_mib()  # before the exact fork copies the vectors
    exact = _exact_hits(retriever, cases) if total > retriever.config.approximate_above else {}
    return {
        "chunks": total,
        "articles": len(articles),
        "synthetic_articles": len(articles) - sum(1 for a in articles if a.tags != ("bench",)),
        "index_seconds": round(index_seconds, 1),
        "passages_per_s": round(total / index_seconds, 1) if index_seconds else 0.0,
        "rss_mib": round(rss_indexed, 1),
        "peak_rss_mib": round(peak_mib, 1),
        "model_load_seconds": round(load_seconds, 1),
        "first_query_ms": round(first_query_ms, 1),
        "n": n,
        **_hits(ranks),
        "retrieve_p50_ms": round(percentile(totals, 50), 2),
        "retrieve_p95_ms": round(percentile(totals, 95), 2),
        "retrieve_p50_ms_excluding_embedding": round(percentile(without, 50), 2),
        "retrieve_p95_ms_excluding_embedding": round(percentile(without, 95), 2),
        "model_ms_taken_out_p50": round(percentile(model, 50), 2),
        **exact,
        "config": _config(retriever),
    }


def _exact_hits(retriever: Any, cases: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """hit@1 and hit@3 of the same passages searched exactly (every chunk scored, a flat
    index): what the approximate index loses, apart from what the larger knowledge base
    costs any index. Untimed; nothing is embedded again."""
    exact = retriever.with_config(dataclasses.replace(retriever.config, approximate_above=10**12))
    ranks = []
    for case in cases:
        result = exact.retrieve(case["text"], lang=case["lang"])
        ranks.append(rank_of([a.article_id for a in result.articles], case["gold"]))
    return _hits(ranks, prefix="exact_")


def _hits(ranks: Sequence[int | None], prefix: str = "") -> dict[str, float]:
    metrics = retrieval_metrics(ranks)
    return {f"{prefix}hit_at_{k}": round(float(metrics[f"hit@{k}"]), 3) for k in (1, 3)}


class Step:
    """A scale step in a process of its own: `index()`, then `finish()` to time it."""

    def __init__(
        self, chunks: int, cases: Path, work: Path, kb: Path, background: bool = False
    ) -> None:
        self.chunks = chunks
        self.kb = kb
        self.cases = cases
        self.out = work / f"scale-{chunks}.json"
        self.log = work / f"scale-{chunks}.log"
        self.during_soak = background  # indexed while the memory soak ran (at nice 19)
        self._process: asyncio.subprocess.Process | None = None

    async def index(self) -> dict[str, Any]:
        """Start it and wait until its index is built: {"indexed", "index_seconds"}."""
        with self.log.open("w") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "eval.bench.scale", "--chunks", str(self.chunks),
                "--cases", str(self.cases), "--out", str(self.out), "--wait",
                *(["--background"] if self.during_soak else []),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
                env={**os.environ, "KAKEHASHI_KB_DIR": str(self.kb.resolve())},
            )  # fmt: skip
        assert self._process.stdout is not None
        async for line in self._process.stdout:
            try:
                said = json.loads(line)
            except ValueError:
                continue
            if isinstance(said, dict) and "indexed" in said:
                return said
        await self._process.wait()
        raise RuntimeError(f"the {self.chunks}-passage step failed: {self._tail()}")

    async def finish(self) -> dict[str, Any]:
        """Let it ask the questions; its figures."""
        process = self._process
        assert process is not None and process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
        if process.stdout is not None:
            await process.stdout.read()
        if await process.wait() != 0 or not self.out.exists():
            raise RuntimeError(f"the {self.chunks}-passage step failed: {self._tail()}")
        return dict(json.loads(self.out.read_text(encoding="utf-8")))

    def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()

    def _tail(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return " | ".join(text.strip().splitlines()[-3:]) or "no output"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--cases", type=Path, required=True, help="JSON: [{text, lang, gold}]")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--background", action="store_true", help="index at nice 19")
    args = parser.parse_args(argv)
    if args.background:
        os.nice(19 - os.nice(0))  # the least priority: whatever else runs comes first
    cases = json.loads(args.cases.read_text(encoding="utf-8"))
    result = run(args.chunks, cases, wait=args.wait)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
