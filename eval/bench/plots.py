"""The report's pictures (matplotlib, drawn to PNG files without a display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

SIZE = (7.0, 4.2)


def _plain_log(axes: Axes, axis: str) -> None:
    """A log scale labelled 20, 50, 100 rather than 2x10^1."""
    plain = FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1000 else f"{value:g}")
    target = axes.xaxis if axis == "x" else axes.yaxis
    (axes.set_xscale if axis == "x" else axes.set_yscale)("log")
    target.set_major_formatter(plain)
    target.set_minor_formatter(plain)


def _label(axes: Axes, xlabel: str, ylabel: str | None, title: str) -> None:
    axes.set_xlabel(xlabel)
    if ylabel:
        axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend()


def _save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def replies(reply: dict[str, Any], embedding_p50: float | None, path: Path) -> Path | None:
    """Cumulative share of replies within a time, per language."""
    series = {lang: sorted(ms) for lang, ms in reply.get("latencies_ms", {}).items() if ms}
    if not series:
        return None
    figure, axes = plt.subplots(figsize=SIZE)
    for lang, values in series.items():
        shares = [(i + 1) / len(values) for i in range(len(values))]
        axes.step(values, shares, where="post", label=f"{lang} ({len(values)} questions)")
    if embedding_p50:
        axes.axvline(embedding_p50, color="grey", linestyle=":", label="one query embedding (p50)")
    axes.axhline(0.95, color="grey", linewidth=0.5)
    _plain_log(axes, "x")
    axes.tick_params(axis="x", which="minor", labelsize=7)
    _label(axes, "message sent -> bot's reply received (ms, log scale)", "share of replies",
           "Reply time over the websocket, one question at a time")  # fmt: skip
    return _save(figure, path)


def throughput(result: dict[str, Any], path: Path) -> Path | None:
    steps = result.get("steps") or []
    if not steps:
        return None
    figure, axes = plt.subplots(figsize=SIZE)
    rates = [s["rate"] for s in steps]
    axes.plot(rates, [s["p95_ms"] for s in steps], "o-", label="p95")
    axes.plot(rates, [s["p50_ms"] for s in steps], "s--", label="p50")
    axes.axhline(result.get("p95_limit_ms", 500), color="red", linestyle=":", label="500 ms")
    for s in steps:
        if s.get("timeout"):
            axes.annotate(f"{s['timeout']} timeouts", (s["rate"], s["p95_ms"]), fontsize=8)
    _plain_log(axes, "y")
    axes.tick_params(axis="y", which="minor", labelsize=7)
    planned = result.get("rates") or rates  # the rates not reached stay on the axis
    axes.set_xticks(planned)
    axes.set_xlim(0, max(planned) * 1.08)
    _label(axes, "messages per second (open loop)", "reply time (ms, log scale)",
           f"Reply time under load, {result.get('sessions')} open sessions")  # fmt: skip
    return _save(figure, path)


def scale(entries: list[dict[str, Any]], path: Path) -> Path | None:
    done = [e for e in entries if "retrieve_p95_ms_excluding_embedding" in e]
    if not done:
        return None
    chunks = [e["chunks"] for e in done]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10.0, 4.2))
    left.plot(chunks, [e["retrieve_p95_ms_excluding_embedding"] for e in done], "o-", label="p95")
    left.plot(chunks, [e["retrieve_p50_ms_excluding_embedding"] for e in done], "s--", label="p50")
    _plain_log(left, "x")
    left.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    _label(left, "passages in the index (log scale)", "retrieve without the models (ms)",
           "Search time by knowledge-base size")  # fmt: skip
    right.plot(chunks, [e["index_seconds"] for e in done], "o-", label="indexing (s)")
    right.plot(chunks, [e["rss_mib"] for e in done], "s--", label="memory (MiB)")
    _plain_log(right, "x")
    right.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    right.set_yscale("log")
    _label(right, "passages in the index (log scale)", None, "Indexing time and memory")
    return _save(figure, path)


def memory(result: dict[str, Any], path: Path) -> Path | None:
    samples = result.get("samples") or []
    if not samples:
        return None
    figure, axes = plt.subplots(figsize=SIZE)
    axes.plot([t / 60 for t, _ in samples], [m for _, m in samples], "-", label="server RSS")
    for key, style, label in (
        ("first_start_rss_mib", "r:", "after a first start (index built)"),
        ("restart_rss_mib", "g--", "after a restart (index loaded)"),
    ):
        if result.get(key):
            axes.axhline(result[key], linestyle=style[1:], color=style[0], label=label)
    if result.get("warmup_minutes"):
        axes.axvline(result["warmup_minutes"], color="grey", linestyle=":", label="warm-up ends")
    axes.set_xlabel("minutes")
    axes.set_ylabel("resident memory (MiB)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"Server memory at {result.get('rate')} messages/s")
    axes.legend(loc="lower right")
    return _save(figure, path)


def baselines(result: dict[str, Any], path: Path) -> Path | None:
    systems = [name for name, block in result.items() if isinstance(block, dict) and block]
    langs = sorted(
        {lang for s in systems for lang in result[s] if isinstance(result[s][lang], dict)}
    )
    if not systems or not langs:
        return None
    figure, (quality, speed) = plt.subplots(1, 2, figsize=(10.0, 4.2))
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        xs = [j + i * width for j in range(len(langs))]
        quality.bar(xs, [result[system].get(lang, {}).get("hit_at_1", 0) for lang in langs],
                    width, label=system)  # fmt: skip
        speed.bar(xs, [result[system].get(lang, {}).get("p95_ms", 0) for lang in langs],
                  width, label=system)  # fmt: skip
    for axes in (quality, speed):
        axes.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(len(langs))], langs)
        axes.legend()
    quality.set_ylabel("hit@1")
    quality.set_ylim(0, 1)
    quality.set_title("Right article first")
    speed.set_ylabel("query p95 (ms)")
    speed.set_title("Time of one query")
    return _save(figure, path)
