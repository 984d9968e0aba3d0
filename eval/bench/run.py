"""`kakehashi bench`: every figure of the report, in an order that keeps them apart.

1. A server's first start (it builds its index): replies one at a time, then throughput
   at rising rates, then py-spy samples it at the rate that failed.
2. In this process: the floor (embedding, faiss, BM25) and the baselines.
3. The server restarted on the same data (it loads its index): the memory soak at
   20 messages/s, while the scale steps build their indexes in processes of their own at
   the least CPU priority (the soak's server comes first); their questions are timed once
   the soak is over, so that no timing shares the CPU.
4. The model backends, when the retrieval package has a measurement for them.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import logging
import random
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from eval.bench import live
from eval.bench.machine import load_average, machine, versions
from eval.bench.scale import Step
from eval.cases import Case, load_cases

SECTIONS = ("reply", "throughput", "memory", "floor", "baselines", "scale", "backends")
T = TypeVar("T")
Log = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    quick: bool
    out: Path = Path("eval/reports")
    cases: Path = Path("eval/datasets")
    kb: Path = Path("kb_articles")
    sessions: int = 1000
    rates: tuple[float, ...] = (30, 45, 60, 75, 90, 105, 120, 150)  # the soak is 20/s
    step_seconds: float = 30
    reply_timeout: float = 10
    profile: bool = True
    soak_minutes: float = 30
    soak_warmup_minutes: float = 1  # the query cache (1,024 questions) fills in 51 s
    soak_sessions: int = 200
    scale_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    skip_100k: bool = False
    scale_budget_minutes: float = 40
    overlap: bool = True
    questions_per_lang: int | None = None  # baselines: None = every answerable question
    reply_questions_per_lang: int = 150
    floor_questions: int = 300
    sections: frozenset[str] = field(default_factory=lambda: frozenset(SECTIONS))

    @classmethod
    def for_mode(cls, quick: bool, **changes: Any) -> Options:
        base = cls(quick=quick)
        if quick:
            base = replace(
                base,
                sessions=200,
                step_seconds=10,
                soak_minutes=1.5,  # the critical path: a 2-minute soak took the run to 306 s
                soak_warmup_minutes=0.5,
                soak_sessions=100,
                scale_sizes=(1_000, 10_000),
                scale_budget_minutes=2.5,
                questions_per_lang=100,
                reply_questions_per_lang=40,
                floor_questions=100,
            )
        return replace(base, **{k: v for k, v in changes.items() if v is not None})


def spread(items: Sequence[T], n: int | None) -> list[T]:
    """`n` items evenly spaced through `items` (all of them when n is None or larger)."""
    if n is None or n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def answerable(cases_dir: Path) -> dict[str, list[Case]]:
    """The questions with an answer in the knowledge base, per language (no heldout/)."""
    by_lang: dict[str, list[Case]] = {}
    for case in load_cases(cases_dir):
        if case.gold and case.lang:
            by_lang.setdefault(case.lang, []).append(case)
    return by_lang


def raise_open_files() -> int:
    """The soft limit on open files up to the hard one (a socket per session); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            return soft
    return soft


def backends(quick: bool, texts: Sequence[str], queries: Sequence[str]) -> dict[str, Any]:
    """The model backends' measurement (ONNX Runtime, OpenVINO, int8 against PyTorch),
    where the retrieval package provides one: `measure_backends` in `eval/backends.py` or
    `retrieval/backends.py`, given what of these it asks for."""
    offered: dict[str, Any] = {
        "texts": texts,
        "queries": queries,
        "quick": quick,
        "rounds": 1 if quick else 2,
        "threads": (1, 2),
    }
    for name in ("eval.backends", "retrieval.backends"):
        if importlib.util.find_spec(name) is None:
            continue
        call = getattr(importlib.import_module(name), "measure_backends", None)
        if not callable(call):
            return {"status": f"{name} has no measure_backends function to call"}
        params = inspect.signature(call).parameters
        unmet = [
            p
            for p, spec in params.items()
            if spec.default is inspect.Parameter.empty
            and spec.kind in (spec.POSITIONAL_OR_KEYWORD, spec.KEYWORD_ONLY)
            and p not in offered
        ]
        if unmet:
            return {"status": f"{name}.measure_backends wants {', '.join(unmet)}: not called"}
        kwargs = {k: v for k, v in offered.items() if k in params}
        return {"source": f"{name}.measure_backends", **call(**kwargs)}
    # HOOK: once eval/backends.py (or retrieval/backends.py) has measure_backends(...),
    # its figures appear here.
    return {"status": "not measured: no eval/backends.py or retrieval/backends.py yet (hook)"}


class Bench:
    def __init__(self, options: Options, log: Log) -> None:
        self.o = options
        began = time.perf_counter()
        self.log = lambda line: log(f"[{time.perf_counter() - began:4.0f} s] {line}")
        self.result: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.work = Path(tempfile.mkdtemp(prefix="kakehashi-bench-"))
        self.data = self.work / "server"
        self.cases = answerable(options.cases)
        self.servers: list[Any] = []
        self.steps: list[Step] = []
        self._texts: dict[str, list[str]] | None = None
        self._embeddings: Any = None

    def wanted(self, section: str) -> bool:
        return section in self.o.sections

    async def guarded(self, section: str, work: Any) -> Any:
        """Run one section (a coroutine, or a function to call); a failure is reported,
        and the other sections still run."""
        started = time.perf_counter()
        try:
            value = await work if inspect.isawaitable(work) else work()
        except Exception as exc:  # a broken section must not lose the others' figures
            self.errors[section] = f"{type(exc).__name__}: {str(exc)[-600:]}"
            self.log(f"{section}: failed\n{traceback.format_exc(limit=-6)}")
            return None
        self.log(f"{section}: done in {time.perf_counter() - started:.0f} s")
        return value

    def texts(self) -> dict[str, list[str]]:
        """What the load sends: every labelled message of a language (questions, ones the
        KB cannot answer, requests for a person, frustration, small talk), shuffled the same
        way every run. The pool is larger than a query cache of 1,024 entries, so cycling
        through it gets no cache hits: each message costs what a new one would."""
        if self._texts is None:
            distinct: dict[str, dict[str, None]] = {}
            for case in load_cases(self.o.cases):
                if case.lang:
                    distinct.setdefault(case.lang, {})[case.text] = None
            self._texts = {}
            for lang, texts in distinct.items():
                self._texts[lang] = list(texts)
                random.Random(f"bench-{lang}").shuffle(self._texts[lang])
        return self._texts

    def interleaved(self, per_lang: int) -> list[tuple[str, str]]:
        picked = {lang: spread(cases, per_lang) for lang, cases in sorted(self.cases.items())}
        longest = max((len(v) for v in picked.values()), default=0)
        return [
            (lang, picked[lang][i].text)
            for i in range(longest)
            for lang in picked
            if i < len(picked[lang])
        ]

    # ------------------------------------------------------------------ phases
    def settings(self) -> Any:
        from app.settings import Settings

        local = self.work / "in-process"
        return Settings(_env_file=None, kb_dir=self.o.kb, data_dir=local)  # type: ignore[call-arg]

    def embeddings(self) -> Any:
        """The retriever's embedding model in this process (loaded once), with the server's
        threads a call (the floor is one question's embedding as the server makes it)."""
        if self._embeddings is None:
            from app.bootstrap import load_embeddings

            settings = self.settings()
            self._embeddings = load_embeddings(settings, threads=settings.embedding_threads)
            self.result["settings"]["embedding_threads"] = settings.embedding_threads
            torch = sys.modules.get("torch")
            if torch is not None:  # intra-op threads of the model (the server has as many)
                self.result["settings"]["torch_threads"] = torch.get_num_threads()
        return self._embeddings

    async def first_server(self) -> None:
        if not {"reply", "throughput", "memory"} & self.o.sections:
            return
        server = live.bench_server("first", self.data, self.o.kb)
        self.servers.append(server)
        self.log("server: first start (builds its index)…")
        memory = self.result.setdefault("memory", {})
        started = await self.guarded("server start", partial(live.start, server))
        if started is None:
            return  # the error says why; the sections that need no server still run
        memory["first_start_ready_seconds"] = started["ready_seconds"]
        memory["first_start_ready_mib"] = started["rss_ready_mib"]
        # the same few questions a restart is asked before its memory is read: first start
        # and restart compared after the same work (the reply run's hundreds of questions
        # fill the query cache, which the restart's figure never saw)
        asked = self.interleaved(10)
        await live.replies(server, asked, warmup=0, log=lambda _: None)
        memory["first_start_rss_mib"] = round(server.rss_mib(), 1)
        if self.wanted("reply"):
            from eval.bench import floor
            from retrieval.embeddings import encode

            embeddings = self.embeddings()
            # none of those again: a repeated question is answered from the query cache
            questions = [q for q in self.interleaved(self.o.reply_questions_per_lang + 5)
                         if q not in asked]  # fmt: skip
            self.result["reply"] = reply = await self.guarded(
                "reply",
                live.replies(
                    server,
                    questions,
                    warmup=10,
                    log=self.log,
                    embed=lambda text: encode(embeddings, [text]),
                ),
            )
            paired = (reply or {}).pop("paired_embedding", None)
            if paired:
                self.result["embedding"] = {
                    **paired,
                    "thread": "worker",
                    "measured": "alternating with the replies",
                    "model": floor.model_label(embeddings),
                }
            memory["after_replies_rss_mib"] = round(server.rss_mib(), 1)
        if self.wanted("throughput"):
            self.result["throughput"] = await self.guarded(
                "throughput",
                live.throughput(
                    server,
                    self.texts(),
                    sessions=self.o.sessions,
                    rates=self.o.rates,
                    seconds=self.o.step_seconds,
                    timeout=self.o.reply_timeout,
                    profile_dir=self.o.out if self.o.profile else None,
                    log=self.log,
                ),
            )
        memory["after_throughput_rss_mib"] = round(server.rss_mib(), 1)
        server.stop()

    async def in_process(self) -> None:
        if not {"floor", "baselines"} & self.o.sections:
            return
        from app.bootstrap import build_retriever
        from eval.bench import baselines, floor
        from retrieval.chunking import chunk_article
        from retrieval.embeddings import resolve_model_path
        from retrieval.kb import load_kb

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
        settings = self.settings()
        local = settings.data_dir
        if (self.data / "index").exists():
            shutil.copytree(self.data / "index", local / "index")
        articles = load_kb(self.o.kb).articles
        embeddings = self.embeddings()
        if self.wanted("floor"):
            english = spread([c.text for c in self.cases.get("en", [])], self.o.floor_questions)
            chunks = sum(len(chunk_article(a, settings.chunk_max_chars)) for a in articles)
            alone = await self.guarded("embedding", partial(floor.embedding, embeddings, english))
            if "embedding" in self.result:  # measured alongside the replies: those come first
                self.result["embedding"]["alone"] = alone
            else:
                self.result["embedding"] = alone
            self.result["faiss"] = await self.guarded(
                "faiss",
                partial(floor.faiss_search, embeddings, english, local / "index", chunks),
            )
            questions = {
                lang: spread([c.text for c in cases], self.o.floor_questions)
                for lang, cases in self.cases.items()
            }
            self.result["bm25"] = await self.guarded(
                "bm25", partial(floor.bm25, articles, questions, settings.chunk_max_chars)
            )
        if self.wanted("baselines"):
            self.log("baselines: Kakehashi, the LangChain tutorial stack, rank_bm25…")
            retriever = build_retriever(settings, embeddings=embeddings)
            retriever.sync(articles)
            cases = {k: spread(v, self.o.questions_per_lang) for k, v in self.cases.items()}
            model_path = resolve_model_path(settings.embedding_model)
            self.result["baselines"] = await self.guarded(
                "baselines", partial(baselines.compare, retriever, articles, cases, model_path)
            )

    def backends(self) -> dict[str, Any]:
        from retrieval.chunking import chunk_article
        from retrieval.kb import load_kb

        passages = [c.search_text for a in load_kb(self.o.kb).articles for c in chunk_article(a)]
        english = [c.text for c in self.cases.get("en", [])]
        return backends(
            self.o.quick,
            spread(passages, 48 if self.o.quick else 384),  # a rate, not every passage
            spread(english, 20 if self.o.quick else 200),
        )

    async def restarted(self) -> Any:
        """The server started again on the same data (it loads its index), warmed up;
        None when it did not start."""
        server = live.bench_server("restart", self.data, self.o.kb)
        self.servers.append(server)
        started = await self.guarded("server restart", partial(live.start, server))
        if started is None:
            return None
        memory = self.result.setdefault("memory", {})
        memory["restart_ready_seconds"] = started["ready_seconds"]
        memory["restart_ready_mib"] = started["rss_ready_mib"]
        await live.replies(server, self.interleaved(10), warmup=0, log=lambda _: None)
        memory["restart_rss_mib"] = round(server.rss_mib(), 1)
        return server

    async def restart_and_scale(self) -> None:
        soak: asyncio.Task[dict[str, Any] | None] | None = None
        server = None
        if self.wanted("memory") and self.o.soak_minutes > 0:
            server = await self.restarted()
        if server is not None:
            soak = asyncio.create_task(
                self.guarded(
                    "memory",
                    live.soak(
                        server,
                        self.texts(),
                        minutes=self.o.soak_minutes,
                        rate=20,
                        sessions=self.o.soak_sessions,
                        sample_seconds=10,
                        log=self.log,
                        warmup_minutes=self.o.soak_warmup_minutes,
                    ),
                )
            )
            if not self.o.overlap:
                await soak
        if self.wanted("scale"):
            self.result["scale"] = await self.guarded("scale", self.scale(soak))
        if soak is not None:
            self.result.setdefault("memory", {}).update(await soak or {})
        if server is not None:
            server.stop()

    async def scale(self, soak: asyncio.Future[Any] | None) -> list[dict[str, Any]]:
        import json

        cases_file = self.work / "scale-cases.json"
        picked = [c for v in self.cases.values() for c in spread(v, self.o.questions_per_lang)]
        cases_file.write_text(
            json.dumps([{"text": c.text, "lang": c.lang, "gold": list(c.gold or ())}
                        for c in picked], ensure_ascii=False),
            "utf-8",
        )  # fmt: skip
        budget = self.o.scale_budget_minutes * 60
        if soak is not None and not soak.done():
            # beside the soak, indexing at the least priority is slower but lengthens the
            # run only past the soak's own length
            budget = max(budget, (self.o.soak_warmup_minutes + self.o.soak_minutes) * 60)
        entries: list[dict[str, Any]] = []
        spent, rate = 0.0, 0.0
        for target in self.o.scale_sizes:
            if target >= 100_000 and self.o.skip_100k:
                entries.append({"chunks_target": target, "skipped": "skipped (--skip-100k)"})
                continue
            if rate and spent + target / rate > budget:
                entries.append({"chunks_target": target, "skipped": (
                    f"skipped: at {rate:.0f} passages/s indexing would take "
                    f"~{target / rate / 60:.0f} min, past the {budget / 60:g}-minute budget "
                    "(--scale-budget-minutes)")})  # fmt: skip
                continue
            during_soak = soak is not None and not soak.done()
            step = Step(target, cases_file, self.work, self.o.kb, background=during_soak)
            self.steps.append(step)
            self.log(f"scale: indexing {target:,} passages…")
            try:
                said = await step.index()
            except RuntimeError as exc:
                entries.append({"chunks_target": target, "error": str(exc)})
                continue
            spent += said["index_seconds"]
            rate = said["indexed"] / max(said["index_seconds"], 1e-3)
            self.log(f"scale: {said['indexed']:,} passages indexed in {said['index_seconds']} s")
        if soak is not None:
            await soak  # time the questions alone
        for step in list(self.steps):
            try:
                entry = await step.finish()
            except RuntimeError as exc:
                entries.append({"chunks_target": step.chunks, "error": str(exc)})
                continue
            entry["chunks_target"] = step.chunks
            entry["indexed_during_soak"] = step.during_soak
            entries.append(entry)
            self.log(
                f"scale: {entry['chunks']:,} passages: retrieve p95 "
                f"{entry['retrieve_p95_ms_excluding_embedding']} ms without the models, "
                f"hit@3 {entry['hit_at_3']}"
            )
        return sorted(entries, key=lambda e: e["chunks_target"])

    async def run(self) -> dict[str, Any]:
        began = time.perf_counter()
        self.result.update(
            {
                "mode": "quick" if self.o.quick else "full",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": "kakehashi " + " ".join(sys.argv[1:]) if sys.argv else "",
                "machine": machine(),
                "versions": versions(),
                "settings": {
                    "open_files_limit": raise_open_files(),
                    "server_limits": live.BENCH_LIMITS,
                    "sections": sorted(self.o.sections),
                    "load_messages": {k: len(v) for k, v in self.texts().items()},
                },
            }
        )
        self.o.out.mkdir(parents=True, exist_ok=True)
        for stale in self.o.out.glob("profile-*.txt"):
            stale.unlink()
        try:
            await self.first_server()
            await self.in_process()
            await self.restart_and_scale()
            if self.wanted("backends"):
                self.result["backends"] = await self.guarded("backends", self.backends)
        finally:
            for server in self.servers:
                server.stop()
            for step in self.steps:
                step.kill()
            shutil.rmtree(self.work, ignore_errors=True)
        reply, emb = self.result.get("reply") or {}, self.result.get("embedding") or {}
        if reply.get("p95_ms") and emb.get("p50_ms"):
            reply["ratio_p95_to_embedding_p50"] = round(reply["p95_ms"] / emb["p50_ms"], 2)
        self.result["machine"]["load_average_at_end"] = load_average()
        self.result["duration_s"] = round(time.perf_counter() - began)
        self.result["errors"] = self.errors
        return self.result


def run_bench(options: Options, log: Log = print) -> dict[str, Any]:
    return asyncio.run(Bench(options, log).run())
