"""The benchmarks against a real server process: replies, throughput, memory.

The server is `python -m app serve` on loopback (uvicorn, as deployed), with a data folder
of its own (SQLite, its index), the sample knowledge base, and the chat limits raised so
that the bench measures speed, not the limits. It runs in that folder, so a `.env` in the
repository does not reach it; exported KAKEHASHI_* variables (other retrieval settings, an
embedding backend) do, so the bench measures what you configured.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from eval._server import Server
from eval.bench.load import (
    REPLY,
    SILENT,
    Customer,
    ask_in_turn,
    close_customers,
    open_customers,
    run_rate,
    summarise,
)
from eval.bench.profile import Profiler
from eval.metrics import percentile

BENCH_LIMITS = {
    "KAKEHASHI_CHAT_CONNECTIONS_PER_IP": "100000",
    "KAKEHASHI_CHAT_MESSAGES_PER_IP": "1000000/second",
    "KAKEHASHI_CHAT_MESSAGES_PER_TOKEN": "1000000/second",
    "KAKEHASHI_CHAT_FRAMES_PER_CONNECTION": "1000000/second",
    "KAKEHASHI_CHAT_HELLO_SECONDS": "120",
    "KAKEHASHI_CHAT_IDLE_SECONDS": "86400",
}
# what a deployment's environment may hold and the bench must not use
_ISOLATED = {
    "KAKEHASHI_ENVIRONMENT": "development",
    "KAKEHASHI_DATABASE_URL": "",  # SQLite in the data folder
    "KAKEHASHI_REDIS_URL": "",
    "KAKEHASHI_RATE_LIMIT_STORAGE": "memory://",
    "KAKEHASHI_MAIL_FROM": "",
    "KAKEHASHI_IMAP_HOST": "",
    "KAKEHASHI_SMTP_LISTEN_PORT": "",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
P95_LIMIT_MS = 500.0
PROFILED_SECONDS = 15.0  # py-spy's run at the rate that failed, after the steps

Log = Callable[[str], None]


def bench_server(name: str, data: Path, kb: Path) -> Server:
    env = {**_ISOLATED, **BENCH_LIMITS, "KAKEHASHI_KB_DIR": str(kb.resolve())}
    return Server(name, env, data, cwd=data)


def start(server: Server) -> dict[str, float]:
    """Start the server; seconds until /healthz answers, and its memory then."""
    started = time.perf_counter()
    server.start(timeout=1800)
    return {
        "ready_seconds": round(time.perf_counter() - started, 1),
        "rss_ready_mib": round(server.rss_mib(), 1),
    }


async def replies(
    server: Server,
    questions: Sequence[tuple[str, str]],
    warmup: int,
    log: Log,
    embed: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Questions one at a time over the websocket, after `warmup` untimed ones.

    With `embed`, each English question is also encoded here once its reply is in (in a
    worker thread, as the server does): the embedding's figures then come from the same
    minutes as the replies', so that load from other processes falls on both alike.
    """
    await ask_in_turn(server.ws, questions[:warmup])
    embedded: list[float] = []
    between = None
    if embed is not None:
        pool = ThreadPoolExecutor(1)
        loop = asyncio.get_running_loop()

        def timed(text: str) -> float:
            started = time.perf_counter()
            embed(text)
            return (time.perf_counter() - started) * 1000

        for _, text in questions[:warmup]:  # warm
            await loop.run_in_executor(pool, timed, text)

        async def encode_too(lang: str, text: str) -> None:
            if lang == "en":
                embedded.append(await loop.run_in_executor(pool, timed, text))

        between = encode_too
    steps_before = await step_counts(server)
    try:
        results = await ask_in_turn(server.ws, questions[warmup:], between=between)
    finally:
        if embed is not None:
            pool.shutdown()
    steps = step_figures(await step_counts(server), steps_before)
    answered = [(outcome, ms) for _, outcome, ms in results]
    out: dict[str, Any] = {**summarise(answered), "warmup": warmup}
    out["by_lang"] = {
        lang: summarise([(o, ms) for lg, o, ms in results if lg == lang])
        for lang in sorted({lg for lg, _, _ in results})
    }
    out["latencies_ms"] = {
        lang: [round(ms, 2) for lg, o, ms in results if lg == lang and o in (REPLY, SILENT)]
        for lang in out["by_lang"]
    }
    if steps:
        out["steps"] = steps
    if embedded:
        out["paired_embedding"] = {
            "n": len(embedded),
            "p50_ms": round(percentile(embedded, 50), 3),
            "p95_ms": round(percentile(embedded, 95), 3),
            "max_ms": round(max(embedded), 3),
        }
    log(f"reply: p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms over {out['n']} questions")
    return out


WRITER_COUNTERS = ("turns", "wait_seconds", "hold_seconds")
_STEPS = "kakehashi_reply_step_seconds"
_MODELS = "kakehashi_reply_models_seconds"
#: not a step: from the arrival until the models' vectors were ready, beside the steps
MODELS_READY = "models ready"


async def _metrics(server: Server) -> list[Sample] | None:
    """The samples of the server's `/metrics` (from loopback), or None when they do not
    answer."""
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
            response = await client.get("/metrics")
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return [s for family in text_string_to_metric_families(response.text) for s in family.samples]


async def step_counts(server: Server) -> dict[str, dict[str, Any]] | None:
    """Each reply step's histogram as the server keeps it (`kakehashi_reply_step_seconds`,
    and `MODELS_READY`): per step, how many, their seconds in all, and how many took at
    most each bucket's bound; None where the metrics do not answer."""
    samples = await _metrics(server)
    if samples is None:
        return None
    out: dict[str, dict[str, Any]] = {}
    for sample in samples:
        if sample.name.startswith(_STEPS):
            family, step = _STEPS, sample.labels.get("step")
        elif sample.name.startswith(_MODELS):
            family, step = _MODELS, MODELS_READY
        else:
            continue
        if step is None:
            continue
        got = out.setdefault(step, {"count": 0.0, "sum": 0.0, "buckets": {}})
        if sample.name == f"{family}_count":
            got["count"] = sample.value
        elif sample.name == f"{family}_sum":
            got["sum"] = sample.value
        elif sample.name == f"{family}_bucket":
            got["buckets"][float(sample.labels["le"])] = sample.value
    return out


def step_figures(
    after: dict[str, dict[str, Any]] | None, before: dict[str, dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """Where the replies between two readings of `step_counts` spent their time, step by
    step in the server's order: how many, the mean, and the p50 and p95 read off the
    histogram's buckets (linear within a bucket, so approximate)."""
    if after is None or before is None:
        return []  # without both readings the replies cannot be told from earlier ones
    rows = []
    for step, now in after.items():
        then = before.get(step, {"count": 0.0, "sum": 0.0, "buckets": {}})
        count = now["count"] - then["count"]
        if count <= 0:
            continue
        buckets = sorted(
            (bound, n - then["buckets"].get(bound, 0.0)) for bound, n in now["buckets"].items()
        )
        rows.append(
            {
                "step": step,
                "n": int(count),
                "mean_ms": round(1000 * (now["sum"] - then["sum"]) / count, 2),
                "p50_ms": _from_buckets(buckets, count, 0.50),
                "p95_ms": _from_buckets(buckets, count, 0.95),
            }
        )
    return rows


def _from_buckets(buckets: list[tuple[float, float]], count: float, q: float) -> float | None:
    """The `q` quantile from cumulative bucket counts, interpolated within its bucket."""
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= q * count:
            if bound == float("inf"):
                return None  # past the last bound: not known
            inside = cumulative - below
            share = (q * count - below) / inside if inside else 1.0
            return round(1000 * (lower + share * (bound - lower)), 2)
        lower, below = bound, cumulative
    return None


async def writer_counters(server: Server) -> dict[str, float] | None:
    """The SQLite writer's line as the server counts it (`/metrics`, from loopback), or None
    where it keeps none (PostgreSQL) or the metrics do not answer."""
    got = await _metrics(server)
    if got is None:
        return None
    samples = {sample.name: sample.value for sample in got if not sample.labels}
    found = {
        name: samples[key]
        for name in WRITER_COUNTERS
        if (key := f"kakehashi_sqlite_write_{name}_total") in samples
    }
    return found if len(found) == len(WRITER_COUNTERS) else None


async def _profiled(
    server: Server,
    customers: list[Customer],
    texts: Mapping[str, Sequence[str]],
    rate: float,
    timeout: float,
    profile_dir: Path,
    seconds: float,
) -> dict[str, Any]:
    """py-spy's samples of the server at `rate` for `seconds`, and what that load got
    meanwhile, once the replies still owed from the step before have come (or a while has
    passed): the profile is of that rate, not of a backlog draining."""
    late = [c.pending.done for c in customers if c.pending is not None]
    if late:
        await asyncio.wait(late, timeout=3 * timeout)
    idle = [c for c in customers if c.settled()]
    profiler = Profiler(profile_dir / f"profile-{rate:g}.txt")
    try:
        profiler.start(server.pid, seconds)
        run = await run_rate(idle, texts, rate, seconds, timeout=timeout)
        got = run.summary()
        return {
            "rate": rate,
            "seconds": seconds,
            "p50_ms": got["p50_ms"],
            "p95_ms": got["p95_ms"],
            **await profiler.finish(),
        }
    except Exception as exc:  # the steps' figures stand without it
        return {"rate": rate, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}


def _difference(
    after: dict[str, float] | None, before: dict[str, float] | None
) -> dict[str, float] | None:
    if after is None or before is None:
        return None
    return {name: after[name] - before[name] for name in WRITER_COUNTERS}


def _writer_figures(
    writers: dict[str, float] | None, seconds: float, sent: int
) -> dict[str, float]:
    """Per step: how much of the time between the two readings one SQLite write
    transaction held the writer's turn (near 100 %: writes queue, whatever the CPU does),
    and what a turn cost."""
    if writers is None or not writers["turns"]:
        return {}
    turns = writers["turns"]
    return {
        "sqlite_writer_busy_pct": round(100 * writers["hold_seconds"] / seconds, 1),
        "sqlite_write_hold_ms": round(1000 * writers["hold_seconds"] / turns, 1),
        "sqlite_write_wait_ms": round(1000 * writers["wait_seconds"] / turns, 1),
        "sqlite_writes_per_message": round(turns / max(1, sent), 2),
    }


async def throughput(
    server: Server,
    texts: Mapping[str, Sequence[str]],
    *,
    sessions: int,
    rates: Sequence[float],
    seconds: float,
    timeout: float,
    profile_dir: Path | None,
    log: Log,
) -> dict[str, Any]:
    """Open `sessions` conversations, then send at each rate in turn until one fails
    (p95 over 500 ms, a timeout, an error, or no idle customer to send to). With a
    `profile_dir`, py-spy samples the server afterwards, for `PROFILED_SECONDS` (or a
    step, if shorter) at the rate that failed (or the last one): a profiler takes CPU the
    server would otherwise have (py-spy at 50 Hz, ~5 % of a core), which moved the rate
    the steps found, so they run without it."""
    opened = time.perf_counter()
    customers = await open_customers(server.ws, sessions)
    open_seconds = time.perf_counter() - opened
    log(f"throughput: {sessions} sessions open in {open_seconds:.1f} s")
    steps: list[dict[str, Any]] = []
    best: float = 0.0
    profiles: list[dict[str, Any]] = []
    try:
        for rate in rates:
            cpu_before = server.cpu_seconds()
            writers_before = await writer_counters(server)
            counted_from = time.perf_counter()
            run = await run_rate(customers, texts, rate, seconds, timeout=timeout)
            cpu = server.cpu_seconds() - cpu_before
            writers = _difference(await writer_counters(server), writers_before)
            # the counters cover the step and the wait for its last replies
            counted = time.perf_counter() - counted_from
            step = run.summary()
            # what one message costs the server, all its threads (the ceiling on two cores
            # is 2,000 ms a second over this)
            step["server_cpu_ms_per_message"] = round(1000 * cpu / max(1, run.sent), 1)
            step["rss_mib"] = round(server.rss_mib(), 1)
            step.update(_writer_figures(writers, counted, run.sent))
            step["ok"] = bool(
                step["p95_ms"] <= P95_LIMIT_MS
                and not step["timeout"]
                and not step["error"]
                and not step["no_idle_customer"]
                and not step["lost_connections"]
            )
            steps.append(step)
            log(
                f"throughput: {rate:g}/s for {seconds:g} s: p50 {step['p50_ms']} ms, "
                f"p95 {step['p95_ms']} ms, {step['timeout']} timeouts -> "
                f"{'ok' if step['ok'] else 'fails'}"
            )
            if not step["ok"]:
                break
            best = rate
        if profile_dir is not None and steps:
            profiles.append(
                await _profiled(
                    server,
                    customers,
                    texts,
                    steps[-1]["rate"],
                    timeout,
                    profile_dir,
                    # no longer than a step (quick mode's are 10 s)
                    seconds=min(PROFILED_SECONDS, seconds),
                )
            )
    finally:
        await close_customers(customers)
    return {
        "sessions": sessions,
        "rates": list(rates),
        "open_seconds": round(open_seconds, 1),
        "step_seconds": seconds,
        "timeout_seconds": timeout,
        "p95_limit_ms": P95_LIMIT_MS,
        "steps": steps,
        "max_rate_p95_under_500ms": best,
        "profiles": profiles,
    }


async def soak(
    server: Server,
    texts: Mapping[str, Sequence[str]],
    *,
    minutes: float,
    rate: float,
    sessions: int,
    sample_seconds: float,
    log: Log,
    warmup_minutes: float = 0.0,
) -> dict[str, Any]:
    """`rate` messages a second for `warmup_minutes` and then `minutes`, customers leaving
    after five questions and new ones arriving; the server's resident memory sampled every
    `sample_seconds`. Growth is measured over the `minutes` after the warm-up (the server
    filling its working set: dictionary pages, model buffers, caches) and, separately, from
    the cold start."""
    customers = await open_customers(server.ws, sessions)
    samples: list[tuple[float, float]] = []
    began = time.perf_counter()

    async def sample() -> None:
        while True:
            samples.append((round(time.perf_counter() - began, 1), round(server.rss_mib(), 1)))
            await asyncio.sleep(sample_seconds)

    sampler = asyncio.create_task(sample())
    try:
        run = await run_rate(
            customers,
            texts,
            rate,
            (warmup_minutes + minutes) * 60,
            timeout=30,
            renew_after=5,
            ws_base=server.ws,
        )
    finally:
        sampler.cancel()
        await close_customers(customers)
    samples.append((round(time.perf_counter() - began, 1), round(server.rss_mib(), 1)))
    cold_mib = samples[0][1]
    window = [m for t, m in samples if t >= warmup_minutes * 60] or [samples[-1][1]]
    start_mib, end_mib = window[0], samples[-1][1]
    out = {
        "minutes": minutes,
        "warmup_minutes": warmup_minutes,
        "rate": rate,
        "sessions": sessions,
        "sample_seconds": sample_seconds,
        "rss_cold_mib": cold_mib,
        "rss_start_mib": start_mib,
        "rss_end_mib": end_mib,
        "rss_max_mib": max(window),
        "growth_pct": _growth(start_mib, end_mib),
        "growth_from_cold_pct": _growth(cold_mib, end_mib),
        "samples": samples,
        "replies": {k: v for k, v in run.summary().items() if k != "rate"},
    }
    log(
        f"memory: {start_mib:.0f} -> {end_mib:.0f} MiB over {minutes:g} min after "
        f"{warmup_minutes:g} min of warm-up ({out['growth_pct']:+.1f} %; from the cold "
        f"start {cold_mib:.0f} MiB, {out['growth_from_cold_pct']:+.1f} %)"
    )
    return out


def _growth(start: float, end: float) -> float:
    return round((end - start) / start * 100, 1) if start else 0.0
