"""The benchmark report: bench.json with every figure the issue names, bench.md, plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.bench.profile import summarise_samples
from eval.bench.report import REQUIRED, missing, write

PNG = b"\x89PNG\r\n\x1a\n"


def fake_result() -> dict[str, Any]:
    step = {"n": 10, "reply": 10, "silent": 0, "error": 0, "timeout": 0, "max_ms": 90.0,
            "sent": 10, "achieved_rate": 20.0, "no_idle_customer": 0, "seconds": 10,
            "sender_lag_p95_ms": 1.0, "rss_mib": 800.0}  # fmt: skip
    scale_entry = {
        "chunks": 1003, "chunks_target": 1000, "retrieve_p50_ms_excluding_embedding": 1.0,
        "retrieve_p95_ms_excluding_embedding": 2.0, "retrieve_p95_ms": 12.0, "hit_at_3": 0.95,
        "index_seconds": 30.0, "passages_per_s": 33.4, "rss_mib": 900.0,
    }  # fmt: skip
    system = {"en": {"n": 5, "hit_at_1": 0.8, "hit_at_3": 1.0, "p50_ms": 9.0, "p95_ms": 12.0}}
    return {
        "mode": "quick",
        "date": "2026-12-01T00:00:00+00:00",
        "duration_s": 123,
        "machine": {"cpu": "Test CPU", "cores": 2, "ram_gib": 8.0},
        "versions": {
            "python": "3.11.7",
            "torch": "2",
            "sentence-transformers": "6",
            "faiss-cpu": "1.15",
            "numpy": "2.4",
            "kakehashi": "abc123",
        },  # fmt: skip
        "embedding": {"p50_ms": 9.2, "p95_ms": 11.0, "n": 100, "model": "MiniLM"},
        "faiss": {"p50_ms": 0.05, "p95_ms": 0.06, "vectors": 312},
        "bm25": {"p50_ms": 0.04, "p95_ms": 0.07},
        "reply": {
            "n": 4,
            "p50_ms": 20.0,
            "p95_ms": 40.0,
            "max_ms": 41.0,
            "reply": 4,
            "silent": 0,
            "error": 0,
            "timeout": 0,
            "ratio_p95_to_embedding_p50": 4.35,
            "latencies_ms": {"en": [18.0, 20.0], "ja": [12.0, 40.0]},
        },  # fmt: skip
        "throughput": {
            "sessions": 200,
            "open_seconds": 2.0,
            "step_seconds": 10,
            "timeout_seconds": 10,
            "p95_limit_ms": 500,
            "max_rate_p95_under_500ms": 20,
            "steps": [
                {**step, "rate": 20, "p50_ms": 30.0, "p95_ms": 80.0, "ok": True},
                {**step, "rate": 40, "p50_ms": 900.0, "p95_ms": 4000.0, "ok": False},
            ],
            "profiles": [
                {
                    "rate": 20,
                    "status": "ok",
                    "samples": 3,
                    **summarise_samples(["main (/x/torch/nn/linear.py:3) 3"]),
                }
            ],
        },  # fmt: skip
        "scale": [scale_entry, {"chunks_target": 100000, "skipped": "skipped (--skip-100k)"}],
        "memory": {
            "rss_start_mib": 800.0,
            "rss_end_mib": 820.0,
            "growth_pct": 2.5,
            "minutes": 2,
            "rate": 20,
            "samples": [[0, 800.0], [60, 810.0], [120, 820.0]],
            "first_start_rss_mib": 900.0,
            "restart_rss_mib": 780.0,
        },  # fmt: skip
        "baselines": {"kakehashi": system, "langchain": system, "rank_bm25": system},
        "backends": {"status": "not measured"},
        "errors": {},
    }


def test_the_report_carries_every_figure_the_issue_names(tmp_path: Path) -> None:
    written = write(fake_result(), tmp_path)

    saved = json.loads((tmp_path / "bench.json").read_text("utf-8"))
    assert missing(saved) == []
    assert saved["reply"]["ratio_p95_to_embedding_p50"] == 4.35
    assert saved["scale"][0]["retrieve_p95_ms_excluding_embedding"] == 2.0
    text = (tmp_path / "bench.md").read_text("utf-8")
    assert "p95(reply) / p50(embedding) = **4.35**" in text
    assert "Highest rate with p95 ≤ 500 ms: **20 messages/s**" in text
    assert "skipped (--skip-100k)" in text  # a skipped step is said, not dropped
    assert "embedding model (torch, OpenVINO, ONNX Runtime)" in text  # the profile's summary
    assert "Not measured in this run" not in text
    pictures = {p.name for p in written if p.suffix == ".png"}
    assert pictures == {"reply.png", "throughput.png", "scale.png", "memory.png", "baselines.png"}
    for name in pictures:
        assert (tmp_path / name).read_bytes().startswith(PNG)


def test_a_run_without_a_section_says_what_it_did_not_measure(tmp_path: Path) -> None:
    write(fake_result(), tmp_path)  # an earlier run's pictures
    partial = fake_result()
    del partial["memory"], partial["scale"]
    partial["errors"] = {"scale": "RuntimeError: the 1000-passage step failed"}

    write(partial, tmp_path)

    text = (tmp_path / "bench.md").read_text("utf-8")
    assert "- `memory.growth_pct`" in text
    assert "- `scale`" in text
    assert "- scale: RuntimeError: the 1000-passage step failed" in text
    assert not (tmp_path / "memory.png").exists()  # not the old run's picture
    assert set(missing(partial)) == {
        "scale", "memory.rss_start_mib", "memory.rss_end_mib", "memory.growth_pct"
    }  # fmt: skip
    assert set(REQUIRED) >= set(missing(partial))


def test_a_profile_is_summarised_by_where_the_time_goes() -> None:
    summary = summarise_samples(
        [
            "run (/r/lib/python3.11/threading.py:1) ;_reply (/w/main/conversations/replies.py:5);"
            "forward (/v/site-packages/torch/nn/modules/linear.py:9) 60",
            "run (/v/site-packages/aiosqlite/core.py:1) 30",
            "select (/r/lib/python3.11/selectors.py:4) 10",
        ]
    )
    shares = {c["what"]: c["pct"] for c in summary["by_category"]}
    assert summary["samples"] == 100
    assert shares["embedding model (torch, OpenVINO, ONNX Runtime)"] == 60.0
    assert shares["database thread (aiosqlite, sqlite3)"] == 30.0
    assert summary["top_leaf_functions"][0]["what"] == "forward (torch/nn/modules/linear.py)"
    assert shares["event loop (sockets, scheduling)"] == 10.0


def test_a_frame_named_with_a_line_break_does_not_end_the_profile() -> None:
    """Code compiled from a string is named by it, line breaks and all: a run under load
    stopped its throughput section on `invalid literal for int(): 'history**.'`."""
    summary = summarise_samples(
        [
            "_reply (/w/main/conversations/replies.py:5);<module> (1. Log in and go to step 2",
            "**My Page > Order history**.:1) 40",
            "forward (/v/site-packages/torch/nn/modules/linear.py:9) 60",
            " 25",  # a thread with no Python frame
        ]
    )
    assert summary["samples"] == 125
    shares = {c["what"]: c["pct"] for c in summary["by_category"]}
    assert shares["embedding model (torch, OpenVINO, ONNX Runtime)"] == 48.0
    native = [c for c in summary["by_category"] if "no Python frame" in c["what"]]
    assert [c["samples"] for c in native] == [25]


def test_threads_blocked_on_a_queue_are_not_counted_as_busy() -> None:
    """py-spy takes a thread blocked in C for a busy one: aiosqlite's thread waiting for its
    next statement made the database look like 28 % of the server's time under load."""
    import aiosqlite.core

    source = Path(aiosqlite.core.__file__)
    lines = source.read_text().splitlines()
    waits = next(n for n, text in enumerate(lines, 1) if "tx.get()" in text)
    works = next(n for n, text in enumerate(lines, 1) if "result = function()" in text)
    worker = f"_connection_worker_thread ({source}"
    summary = summarise_samples(
        [
            f"{worker}:{waits}) 70",
            f"{worker}:{works}) 10",
            "Runner.run (/r/lib/python3.11/asyncio/runners.py:118) 50",
            "forward (/v/site-packages/torch/nn/modules/linear.py:9) 30",
        ]
    )
    assert summary["waiting_samples"] == 120
    assert summary["samples"] == 40
    shares = {c["what"]: c["pct"] for c in summary["by_category"]}
    assert shares == {
        "database thread (aiosqlite, sqlite3)": 25.0,
        "embedding model (torch, OpenVINO, ONNX Runtime)": 75.0,
    }


def test_the_approximate_index_is_judged_against_the_exact_one_on_the_same_passages(
    tmp_path: Path,
) -> None:
    result = fake_result()
    small = result["scale"][0]
    large = {**small, "chunks": 100012, "chunks_target": 100000, "hit_at_3": 0.93,
             "exact_hit_at_3": 0.935}  # fmt: skip
    result["scale"] = [small, large]

    write(result, tmp_path)

    text = (tmp_path / "bench.md").read_text("utf-8")
    row = next(line for line in text.splitlines() if "approximate vs exact index" in line)
    assert "0.930 vs 0.935 (1k: 0.950)" in row and "| met |" in row
    large["exact_hit_at_3"] = 0.95
    write(result, tmp_path)
    text = (tmp_path / "bench.md").read_text("utf-8")
    row = next(line for line in text.splitlines() if "approximate vs exact index" in line)
    assert "**not met**" in row
    large["hit_at_3"], large["exact_hit_at_3"] = 0.94, 0.95  # 0.010000000000000009 apart
    write(result, tmp_path)
    text = (tmp_path / "bench.md").read_text("utf-8")
    row = next(line for line in text.splitlines() if "approximate vs exact index" in line)
    assert "| met |" in row


def test_flat_memory_counts_only_if_the_soak_sent_its_rate(tmp_path: Path) -> None:
    result = fake_result()
    result["memory"]["replies"] = {"achieved_rate": 16.2, "p50_ms": 9830.9, "p95_ms": 17080.7,
                                   "timeout": 0, "no_idle_customer": 7479}  # fmt: skip

    write(result, tmp_path)

    text = (tmp_path / "bench.md").read_text("utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| RSS over"))
    assert "+2.5 % (at 16.2 msg/s, reply p95 17,081 ms)" in row and "**not met**" in row
    assert "16.2 of 20 messages/s sent, reply p50 9,831 ms" in text
    result["memory"]["replies"]["achieved_rate"] = 19.6
    write(result, tmp_path)
    row = next(
        line
        for line in (tmp_path / "bench.md").read_text("utf-8").splitlines()
        if line.startswith("| RSS over")
    )
    assert "| met |" in row
