"""`bench.json`, `bench.md` and the plots from one run's result."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eval.bench import plots
from eval.bench.live import MODELS_READY

# The figures every report carries (issue 12); a run that skipped one says so.
REQUIRED = (
    "date",
    "machine.cpu",
    "machine.cores",
    "machine.ram_gib",
    "versions.python",
    "versions.torch",
    "versions.sentence-transformers",
    "versions.faiss-cpu",
    "versions.numpy",
    "versions.kakehashi",
    "embedding.p50_ms",
    "embedding.p95_ms",
    "faiss.p50_ms",
    "bm25.p50_ms",
    "reply.p50_ms",
    "reply.p95_ms",
    "reply.ratio_p95_to_embedding_p50",
    "throughput.max_rate_p95_under_500ms",
    "scale",
    "memory.rss_start_mib",
    "memory.rss_end_mib",
    "memory.growth_pct",
    "baselines",
)
_ABSENT = object()


def get(result: dict[str, Any], dotted: str, default: Any = None) -> Any:
    value: Any = result
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def missing(result: dict[str, Any]) -> list[str]:
    return [key for key in REQUIRED if get(result, key, _ABSENT) in (_ABSENT, None)]


def _n(value: Any, digits: int | None = None) -> str:
    """A figure as people read it: about three significant digits, thousands separated."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or value == 0:
        return f"{value:,.0f}"
    if digits is None:
        size = abs(value)
        digits = 3 if size < 1 else 2 if size < 10 else 1 if size < 100 else 0
    return f"{value:,.{digits}f}"


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_n(c) for c in row) + " |" for row in rows]
    return lines + [""]


def _steps(rep: dict[str, Any], embedding_p50: Any, cores: Any) -> list[str]:
    """Where the replies above spent their time in the server, step by step."""
    every_step = rep.get("steps") or []
    steps = [s for s in every_step if s["step"] != MODELS_READY]
    models = next((s for s in every_step if s["step"] == MODELS_READY), None)
    if not steps:
        return []
    server = sum(s["mean_ms"] for s in steps)
    every = [ms for by_lang in (rep.get("latencies_ms") or {}).values() for ms in by_lang]
    client = sum(every) / len(every) if every else None
    rows = [(s["step"], s["n"], s["mean_ms"], s["p50_ms"], s["p95_ms"],
             f"{100 * s['mean_ms'] / client:.0f}" if client else "-") for s in steps]  # fmt: skip
    if client is not None:
        rest = f"{100 * (1 - server / client):.0f}"
        rows.append(("the rest: the websocket both ways, the client", "-",
                     round(client - server, 2), "-", "-", rest))  # fmt: skip
    out = [
        "### Where a reply's time goes (the server's own clock)",
        "",
        "Each step of the replies above as the server timed it (`kakehashi_reply_step_seconds` "
        "on `/metrics`, read before and after them; `conversations.timing` says what each "
        "step holds). The p50 and p95 are read off the histogram's buckets, so they are "
        "approximate; the means add up to the server's part of a reply.",
        "",
    ]
    out += _table(("step", "n", "mean ms", "~p50 ms", "~p95 ms", "% of the mean reply"), rows)
    by_step = {s["step"]: s for s in steps}
    database = sum(by_step[s]["mean_ms"] for s in ("stored", "read", "settled") if s in by_step)
    if "thought" in by_step and client is not None and embedding_p50:
        out += [
            f"The mean reply took {client:.1f} ms at the customer, {server:.1f} ms of it in "
            f"the server. The message, what the bot is told and the reply went through the "
            f"database in {database:.1f} ms (`stored`, `read`, `settled`). The models start "
            f"when the message arrives and run beside those steps",
            "",
        ]
        if models is not None:
            out[-2] += (
                f": their vectors were ready {models['mean_ms']:.1f} ms after it at the mean "
                f"(~p50 {_n(models['p50_ms'])}, ~p95 {_n(models['p95_ms'])} ms), against "
                f"{_n(embedding_p50)} ms for one embedding alone (the floor, above): the "
                f"models (two on an English message, one on a Japanese one) and the storing "
                f"share {_n(cores) if cores else 'the'} cores"
            )
        out[-2] += (
            f". The bot's decision once it began (`thought`: the rest of the models' time, "
            f"then the search, the judgement and the composed answer) took "
            f"{by_step['thought']['mean_ms']:.1f} ms."
        )
    return out


def _targets(r: dict[str, Any]) -> list[str]:
    scale = {e.get("chunks_target", e.get("chunks")): e for e in r.get("scale") or []}
    small, large = scale.get(1000, {}), scale.get(100000, {})
    p_small = small.get("retrieve_p95_ms_excluding_embedding")
    p_large = large.get("retrieve_p95_ms_excluding_embedding")
    hit_large = large.get("hit_at_3")
    # a step whose index is exact at this size (approximate_above raised) is its own exact
    hit_exact = large.get("exact_hit_at_3", hit_large)
    ratio = get(r, "reply.ratio_p95_to_embedding_p50")
    rate = get(r, "throughput.max_rate_p95_under_500ms")
    growth = get(r, "memory.growth_pct")
    # the memory figure counts only if the soak sent (nearly) its rate
    achieved, soak_p95 = get(r, "memory.replies.achieved_rate"), get(r, "memory.replies.p95_ms")
    held = achieved is None or achieved >= 0.95 * (get(r, "memory.rate") or 20)
    first, restart = get(r, "memory.first_start_rss_mib"), get(r, "memory.restart_rss_mib")
    # both warm, after a few questions

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "**not met**")

    rows = [
        ("p95(reply) / p50(embedding)", "≤ 2.0 (goal 1.5)", _n(ratio, 2),
         verdict(None if ratio is None else ratio <= 2.0)),
        (f"rate with p95 ≤ 500 ms ({get(r, 'throughput.sessions', '?')} sessions)",
         "≥ 90 msg/s with 1,000 sessions", _n(rate),
         verdict(None if rate is None else rate >= 90)),
        ("retrieve p95 w/o models, 100k vs 1k", "≤ 3×",
         _n(p_large / p_small, 2) + "×" if p_small and p_large else "–",
         verdict(None if not (p_small and p_large) else p_large <= 3 * p_small)),
        ("hit@3 on the real questions at 100k: approximate vs exact index",
         "within 0.01 of the exact index", f"{_n(hit_large, 3)} vs "
         f"{_n(hit_exact, 3)} (1k: {_n(small.get('hit_at_3'), 3)})",
         verdict(None if hit_large is None or hit_exact is None
                 else round(hit_exact - hit_large, 3) <= 0.01)),
        ("100k passages indexed", "< 30 min",
         _n(large["index_seconds"] / 60, 1) + " min" if "index_seconds" in large else "–",
         verdict(None if "index_seconds" not in large else large["index_seconds"] < 1800)),
        (f"RSS over {_n(get(r, 'memory.minutes'))} min at 20 msg/s, after "
         f"{_n(get(r, 'memory.warmup_minutes', 0))} min of warm-up", "flat (±10 %) over 30 min",
         (f"{growth:+.1f} % (at {_n(achieved)} msg/s, reply p95 {_n(soak_p95)} ms)"
          if growth is not None else "–"),
         verdict(None if growth is None else abs(growth) <= 10 and held)),
        ("first start vs restart RSS", "first ≤ restart", f"{_n(first)} vs {_n(restart)} MiB",
         verdict(None if not (first and restart) else first <= restart * 1.05)),
    ]  # fmt: skip
    out = ["## Targets (issue 12)", "", *_table(("figure", "target", "this run", ""), rows)]
    if ratio is not None and ratio > 2.0 and get(r, "reply.steps"):
        out += ["What stands in the way of the reply's ratio: \"Where a reply's time goes\", "
                "under the replies.", ""]  # fmt: skip
    if rate is not None and rate < 90:
        out += ['What stands in the way of the rate: "Profile of the server under load".', ""]
    return out


def _sections(r: dict[str, Any]) -> list[str]:
    out: list[str] = []
    emb, fa, bm = r.get("embedding") or {}, r.get("faiss") or {}, r.get("bm25") or {}
    alone = emb.get("alone") or emb
    out += ["## The floor: one embedding, one faiss search, one BM25 scoring", "",
            "Each alone, warm, in a worker thread as the server runs them (and in the main "
            "thread where that differs); the embedding with the server's threads a call "
            f"(`KAKEHASHI_EMBEDDING_THREADS`: {get(r, 'settings.embedding_threads') or '?'}).",
            ""]  # fmt: skip
    out += _table(
        ("what", "p50 ms", "p95 ms", "n"),
        [
            (f"query embedding ({emb.get('model', '?')}), worker thread"
             + (", alternating with the replies" if emb.get("measured") else ""),
             emb.get("p50_ms"), emb.get("p95_ms"), emb.get("n")),
            *([("query embedding alone, worker thread", get(emb, "alone.p50_ms"),
                get(emb, "alone.p95_ms"), get(emb, "alone.n"))] if emb.get("alone") else []),
            ("query embedding alone, main thread", get(alone, "main_thread.p50_ms"),
             get(alone, "main_thread.p95_ms"), get(alone, "main_thread.n")),
            (f"faiss, k = all ({fa.get('vectors', '?')} vectors)", get(fa, "k_all.p50_ms"),
             get(fa, "k_all.p95_ms"), get(fa, "k_all.n")),
            ("faiss, k = all, main thread", get(fa, "k_all.main_thread.p50_ms"),
             get(fa, "k_all.main_thread.p95_ms"), get(fa, "k_all.main_thread.n")),
            ("faiss, k = 10", get(fa, "k_10.p50_ms"), get(fa, "k_10.p95_ms"), get(fa, "k_10.n")),
            *[(f"BM25 scoring, {lang} ({bm[lang]['chunks']} chunks)", bm[lang]["score"]["p50_ms"],
               bm[lang]["score"]["p95_ms"], bm[lang]["score"]["n"])
              for lang in ("en", "ja") if isinstance(bm.get(lang), dict)],
            *[(f"query analysis, {lang}", bm[lang]["analyse"]["p50_ms"],
               bm[lang]["analyse"]["p95_ms"], bm[lang]["analyse"]["n"])
              for lang in ("en", "ja") if isinstance(bm.get(lang), dict)],
        ],
    )  # fmt: skip
    rep = r.get("reply") or {}
    out += ["## Replies over the websocket (real server, one question at a time)", ""]
    out += _table(
        ("language", "n", "p50 ms", "p95 ms", "max ms", "silent", "timeouts"),
        [(lang, b["n"], b["p50_ms"], b["p95_ms"], b["max_ms"], b["silent"], b["timeout"])
         for lang, b in (rep.get("by_lang") or {}).items()]
        + ([("all", rep["n"], rep["p50_ms"], rep["p95_ms"], rep["max_ms"], rep["silent"],
             rep["timeout"])] if "n" in rep else []),
    )  # fmt: skip
    if rep.get("ratio_p95_to_embedding_p50") is not None:
        out += [f"p95(reply) / p50(embedding) = **{rep['ratio_p95_to_embedding_p50']:.2f}**.",
                "", "![replies](reply.png)", ""]  # fmt: skip
    out += _steps(rep, get(r, "embedding.p50_ms"), get(r, "machine.usable_cores"))
    thr = r.get("throughput") or {}
    out += ["## Throughput (open loop)", ""]
    if thr.get("steps"):
        out += [
            f"{thr['sessions']} open sessions (opened in {thr['open_seconds']} s); each rate "
            f"for {thr['step_seconds']} s; a reply not back within {thr['timeout_seconds']} s "
            "is a timeout (and counts that long). A rate fails on p95 over 500 ms, a "
            "timeout, an error or no idle session to send to; the run stops there.",
            "",
        ]
        out += _table(
            ("rate/s", "sent", "achieved/s", "p50 ms", "p95 ms", "timeouts", "silent",
             "errors", "server MiB", "server CPU ms/message", "SQLite writer held %",
             "ms a write held", "ms a write waited", ""),
            [(s["rate"], s["sent"], s["achieved_rate"], s["p50_ms"], s["p95_ms"], s["timeout"],
              s["silent"], s["error"] + s.get("lost_connections", 0), s["rss_mib"],
              s.get("server_cpu_ms_per_message"), s.get("sqlite_writer_busy_pct"),
              s.get("sqlite_write_hold_ms"), s.get("sqlite_write_wait_ms"),
              "ok" if s["ok"] else "fails")
             for s in thr["steps"]],
        )  # fmt: skip
        out += ["Server CPU per message is all its threads' (user and system) over the step, "
                "replies included; two cores give 2,000 ms of CPU a second, so a message "
                "costing C ms caps the rate at 2,000 / C a second, and less where the work "
                "waits on Python's one interpreter lock.", "",
                "On SQLite, write transactions take turns (`storage.engine.WriterTurns`): "
                "\"SQLite writer held %\" is the share of the step's time one of them held "
                "the turn, from the server's own counters (`kakehashi_sqlite_write_*` on "
                "`/metrics`). Near 100 % the writes queue and replies wait for their turn "
                "however much CPU is left; each message costs about two writes (the message, "
                "then the reply).", ""]  # fmt: skip
        out += [f"Highest rate with p95 ≤ 500 ms: **{thr['max_rate_p95_under_500ms']:g} "
                "messages/s**.", "", "![throughput](throughput.png)", ""]  # fmt: skip
    out += _profile(thr.get("profiles") or [])
    out += _scale(r.get("scale") or [])
    out += _memory(r.get("memory") or {})
    out += _baselines(r.get("baselines") or {})
    out += _backends(r.get("backends") or {})
    return out


def _backends(b: dict[str, Any]) -> list[str]:
    out = ["## Where the embedding model runs (PyTorch, ONNX Runtime, OpenVINO)", ""]
    measured = b.get("backends")
    if not isinstance(measured, dict):
        return out + [f"{b.get('status', 'Not measured.')}", ""]
    out += [f"From `{b.get('source')}`, batches of {b.get('batch_size', '?')} when indexing:", ""]
    out += _table(
        ("backend", "query p50 ms", "query p95 ms", "indexing passages/s", "min cosine to torch",
         "load s"),
        [(name, m.get("query_p50_ms"), m.get("query_p95_ms"), m.get("index_passages_per_s"),
          m.get("min_cosine_to_torch"), m.get("load_seconds")) if "error" not in m
         else (name, "failed: " + str(m["error"])[:120], None, None, None, None)
         for name, m in measured.items()],
    )  # fmt: skip
    threads = b.get("torch_threads") or {}
    if threads:
        out += _table(("PyTorch threads", "query p50 ms", "indexing passages/s"),
                      [(n, t.get("query_p50_ms"), t.get("index_passages_per_s"))
                       for n, t in threads.items()])  # fmt: skip
    return out


def _profile(profiles: list[dict[str, Any]]) -> list[str]:
    out = ["## Profile of the server under load", ""]
    ok = [p for p in profiles if p.get("status") == "ok"]
    if not ok:
        failed = next((p for p in profiles if p.get("reason")), {})
        return out + [f"Not profiled: {failed.get('reason', 'not run')}.", ""]
    out += ["After the steps, py-spy sampled the server's threads at "
            + ", ".join(f"{p['rate']:g}/s for {_n(p.get('seconds'))} s (the replies "
                        f"meanwhile: p50 {_n(p.get('p50_ms'))} ms, p95 {_n(p.get('p95_ms'))} ms)"
                        for p in ok)
            + ", the rate that failed or the last one; the steps ran without it, as a "
            "profiler takes CPU the server would otherwise have (raw stacks in "
            "`profile-<rate>.txt` beside this report, not kept in git). py-spy counts a "
            "thread blocked in C (on a queue, a lock, the event loop's wait for sockets) as "
            "busy; those samples are left out here (waiting: "
            + ", ".join(f"{p.get('waiting_pct', '?')} % at {p['rate']:g}/s" for p in ok)
            + " of all samples). Share of the busy samples, each counted for the group of "
            "its innermost frame that is in one:",
            ""]  # fmt: skip
    names = list(dict.fromkeys(c["what"] for p in ok for c in p["by_category"]))
    shares = [{c["what"]: c["pct"] for c in p["by_category"]} for p in ok]
    out += _table(
        ("where the time goes", *[f"{p['rate']:g}/s (%)" for p in ok]),
        [(name, *[share.get(name, 0.0) for share in shares]) for name in names],
    )
    last = ok[-1]
    out += [f"At {last['rate']:g} messages/s ({last['samples']} samples):", ""]
    out += _table(("Kakehashi function (time under it)", "share %"),
                  [(c["what"], c["pct"]) for c in last["kakehashi_functions"][:10]])  # fmt: skip
    out += _table(("function on top of the stack", "share %"),
                  [(c["what"], c["pct"]) for c in last["top_leaf_functions"][:10]])  # fmt: skip
    return out


def _scale(entries: list[dict[str, Any]]) -> list[str]:
    out = ["## Scale: synthetic passages around the real articles", ""]
    rows, notes = [], []
    for e in entries:
        if "skipped" in e or "error" in e:
            notes.append(f"- {e.get('chunks_target', e.get('chunks'))} passages: "
                         f"{e.get('skipped') or 'failed: ' + str(e.get('error'))}")  # fmt: skip
            continue
        rows.append((e["chunks"], e["retrieve_p50_ms_excluding_embedding"],
                     e["retrieve_p95_ms_excluding_embedding"], e["retrieve_p95_ms"],
                     e["hit_at_3"], e.get("exact_hit_at_3", "same (exact)"),
                     e["index_seconds"], e["passages_per_s"], e["rss_mib"],
                     "yes, nice 19" if e.get("indexed_during_soak") else "no"))  # fmt: skip
    out += _table(("passages", "p50 ms w/o models", "p95 ms w/o models", "p95 ms all",
                   "hit@3", "hit@3 exact index", "index s", "passages/s", "RSS MiB",
                   "indexed during soak"),
                  rows)  # fmt: skip
    out += notes + ([""] if notes else [])
    config = next((e.get("config") for e in entries if e.get("config")), None)
    if config:
        out += [f"Retriever settings: `{json.dumps(config)}`", ""]
    return out + (["![scale](scale.png)", ""] if rows else [])


def _memory(m: dict[str, Any]) -> list[str]:
    out = ["## Memory of the server", ""]
    out += _table(("when", "RSS MiB"), [
        ("first start (index built), ready", m.get("first_start_ready_mib")),
        ("first start, after a few questions (as the restart)", m.get("first_start_rss_mib")),
        ("first start, after the questions one at a time", m.get("after_replies_rss_mib")),
        ("first start, after the throughput run", m.get("after_throughput_rss_mib")),
        ("restart (index loaded), ready", m.get("restart_ready_mib")),
        ("restart, after a few questions", m.get("restart_rss_mib")),
        (f"soak, cold start ({_n(m.get('rate'))} msg/s)", m.get("rss_cold_mib")),
        (f"soak start, after {_n(m.get('warmup_minutes', 0))} min of warm-up",
         m.get("rss_start_mib")),
        (f"soak end, {_n(m.get('minutes'))} min later", m.get("rss_end_mib")),
        ("soak maximum after the warm-up", m.get("rss_max_mib")),
    ])  # fmt: skip
    if m.get("growth_pct") is not None:
        out += [f"Growth over the {_n(m.get('minutes'))} min after the warm-up: "
                f"**{m['growth_pct']:+.1f} %**; from the cold start: "
                f"{_n(m.get('growth_from_cold_pct'))} % (the warm-up is the server filling "
                "its working set: the dictionary's and the model's pages, buffers, caches).",
                ""]  # fmt: skip
    replies = m.get("replies") or {}
    if replies:
        out += [f"The soak's traffic: {_n(replies.get('achieved_rate'))} of "
                f"{_n(m.get('rate'))} messages/s sent, reply p50 {_n(replies.get('p50_ms'))} ms, "
                f"p95 {_n(replies.get('p95_ms'))} ms, {_n(replies.get('timeout', 0))} timeouts "
                f"({_n(replies.get('no_idle_customer', 0))} sends skipped: every customer was "
                "still waiting for a reply).", ""]  # fmt: skip
    if m.get("growth_pct") is not None:
        out += ["![memory](memory.png)", ""]
    return out


def _baselines(b: dict[str, Any]) -> list[str]:
    out = ["## Against the usual alternatives (answerable questions, `eval/datasets`)", ""]
    rows = [(system, lang, s["n"], s["hit_at_1"], s["hit_at_3"], s["p50_ms"], s["p95_ms"])
            for system, block in b.items() if isinstance(block, dict)
            for lang, s in block.items() if isinstance(s, dict) and "n" in s]  # fmt: skip
    out += _table(("system", "lang", "n", "hit@1", "hit@3", "query p50 ms", "query p95 ms"), rows)
    return out + (["![baselines](baselines.png)", ""] if rows else [])


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# Kakehashi benchmark ({r.get('mode', '?')} run)",
        "",
        f"{r.get('date', '?')}, {_n(r.get('duration_s'))} s, `{r.get('command', '')}`. "
        "Written by `kakehashi bench`; what each figure means is in eval/README.md.",
        "",
    ]
    machine, versions = r.get("machine") or {}, r.get("versions") or {}
    lines += _table(("machine", ""), [(k.replace("_", " "), v) for k, v in machine.items()])
    loads = [*(machine.get("load_average_at_start") or [])[:1],
             *(machine.get("load_average_at_end") or [])[:1]]  # fmt: skip
    cores = machine.get("cores") or 1
    if loads and max(loads) > cores:
        lines += [
            f"**Other jobs loaded this machine** (load average up to {max(loads):g} on {cores} "
            "cores): every time here is inflated, the model's most; compare figures of one "
            "run, and rerun on a quiet machine for absolute ones.",
            "",
        ]
    lines += _table(("version", ""), list(versions.items()))
    lines += _targets(r)
    lines += _sections(r)
    gaps = missing(r)
    if gaps or r.get("errors"):
        lines += ["## Not measured in this run", ""]
        lines += [f"- `{key}`" for key in gaps]
        lines += [f"- {section}: {error}" for section, error in (r.get("errors") or {}).items()]
        lines += [""]
    return "\n".join(lines)


PICTURES = ("reply.png", "throughput.png", "scale.png", "memory.png", "baselines.png")


def _plain(value: Any) -> Any:
    """numpy numbers (and anything else) in a form JSON holds."""
    item = getattr(value, "item", None)
    return item() if callable(item) else str(value)


def write(result: dict[str, Any], out: Path) -> list[Path]:
    """bench.json, bench.md and the PNG plots in `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in PICTURES:  # a section skipped this time leaves no old picture behind
        (out / stale).unlink(missing_ok=True)
    written = [out / "bench.json", out / "bench.md"]
    text = json.dumps(result, ensure_ascii=False, indent=1, default=_plain)
    written[0].write_text(text + "\n", "utf-8")
    embedding_p50 = get(result, "embedding.p50_ms")
    for picture in (
        plots.replies(result.get("reply") or {}, embedding_p50, out / "reply.png"),
        plots.throughput(result.get("throughput") or {}, out / "throughput.png"),
        plots.scale(result.get("scale") or [], out / "scale.png"),
        plots.memory(result.get("memory") or {}, out / "memory.png"),
        plots.baselines(result.get("baselines") or {}, out / "baselines.png"),
    ):
        if picture is not None:
            written.append(picture)
    written[1].write_text(markdown(result) + "\n", "utf-8")
    return written
