"""The bench's customers against a real server process: every reply is counted, once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from conversations.timing import STEPS
from eval._server import Server
from eval.bench import report
from eval.bench.live import MODELS_READY, bench_server, replies
from eval.bench.load import (
    REPLY,
    SILENT,
    TIMEOUT,
    ask_in_turn,
    close_customers,
    open_customers,
    run_rate,
)
from tests.conftest import SAMPLE_KB

pytestmark = pytest.mark.model

QUESTIONS = {
    "en": ["how do i return an item", "when will i get my refund", "can i change my address"],
    "ja": ["返品の方法を教えてください", "返金はいつになりますか"],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = bench_server("bench", tmp_path_factory.mktemp("bench") / "data", SAMPLE_KB)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_questions_asked_in_turn_each_get_the_bots_reply(server: Server) -> None:
    asked = [("en", QUESTIONS["en"][0]), ("ja", QUESTIONS["ja"][0]), ("en", QUESTIONS["en"][1])]

    results = asyncio.run(ask_in_turn(server.ws, asked))

    assert [(lang, outcome) for lang, outcome, _ in results] == [
        ("en", REPLY), ("ja", REPLY), ("en", REPLY)
    ]  # fmt: skip
    assert all(ms > 0 for _, _, ms in results)


def test_the_report_says_where_the_servers_part_of_a_reply_went(server: Server) -> None:
    asked = [  # never asked of this server before: the models run on each
        ("en", "what payment methods do you take"),
        ("en", "how long does shipping take to osaka"),
        ("ja", "送料はいくらかかりますか"),
    ]

    got = asyncio.run(replies(server, asked, warmup=0, log=lambda _: None))

    assert [s["step"] for s in got["steps"]] == [*STEPS, MODELS_READY]
    assert all(s["n"] == len(asked) and s["mean_ms"] >= 0 for s in got["steps"])
    steps = got["steps"][:-1]  # the models run beside the steps
    every = [ms for by_lang in got["latencies_ms"].values() for ms in by_lang]
    # the server's part of a reply is inside what the customer waited
    assert sum(s["mean_ms"] for s in steps) < sum(every) / len(every)
    text = report.markdown({"reply": got, "embedding": {"p50_ms": 4.0}})
    assert "Where a reply's time goes" in text and "| thought |" in text
    assert "vectors were ready" in text


def test_an_open_loop_run_counts_every_message_sent_and_its_reply(server: Server) -> None:
    async def go() -> tuple[int, list[str], int]:
        customers = await open_customers(server.ws, 4)
        try:
            run = await run_rate(customers, QUESTIONS, rate=2, seconds=3, timeout=60)
        finally:
            await close_customers(customers)
        return run.sent, [outcome for outcome, _ in run.results], run.no_idle_customer

    sent, outcomes, skipped = asyncio.run(go())

    assert sent + skipped == 6  # 2 a second for 3 seconds
    assert len(outcomes) == sent
    assert TIMEOUT not in outcomes
    assert set(outcomes) <= {REPLY, SILENT}


def test_a_customer_who_leaves_is_replaced_by_a_new_conversation(server: Server) -> None:
    async def go() -> tuple[int, list[str], bool]:
        customers = await open_customers(server.ws, 1, langs=("en",))
        first = customers[0]  # held, so that no new customer can reuse its id()
        try:
            run = await run_rate(
                customers, QUESTIONS, rate=2, seconds=2, timeout=60, renew_after=1,
                ws_base=server.ws,
            )  # fmt: skip
        finally:
            await close_customers(customers)
        return run.sent, [o for o, _ in run.results], any(c is first for c in customers)

    sent, outcomes, still_there = asyncio.run(go())

    assert sent >= 1 and outcomes[0] == REPLY
    assert not still_there  # the first customer left after one question


def test_the_bench_server_runs_in_its_own_folder_with_the_limits_raised(tmp_path: Path) -> None:
    server = bench_server("x", tmp_path / "data", SAMPLE_KB)
    assert server.cwd == tmp_path / "data"  # no .env of the repository reaches it
    assert server.env["KAKEHASHI_CHAT_CONNECTIONS_PER_IP"] == "100000"
    assert server.env["KAKEHASHI_DATABASE_URL"] == ""  # SQLite in its data folder
    assert Path(server.env["KAKEHASHI_KB_DIR"]).is_absolute()
