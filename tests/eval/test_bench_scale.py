"""A scale step in its own process: it indexes, waits, then answers the real questions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from eval.bench.scale import Step
from tests.conftest import SAMPLE_KB

pytestmark = pytest.mark.model

CASES = [
    {"text": "how do i return an item", "lang": "en", "gold": ["return-item"]},
    {"text": "返品の方法を教えてください", "lang": "ja", "gold": ["return-item-ja"]},
]


def test_a_scale_step_reports_its_index_and_the_questions_it_answered(tmp_path: Path) -> None:
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(CASES, ensure_ascii=False), "utf-8")
    step = Step(1000, cases, tmp_path, SAMPLE_KB)  # the sample KB alone is 768

    async def go() -> tuple[dict[str, object], dict[str, object]]:
        try:
            indexed = await step.index()
            return indexed, await step.finish()
        finally:
            step.kill()

    indexed, figures = asyncio.run(go())

    assert indexed["indexed"] == figures["chunks"]
    assert 1000 <= int(figures["chunks"]) < 1004  # type: ignore[call-overload]
    assert int(figures["synthetic_articles"]) > 0  # type: ignore[call-overload]
    assert figures["n"] == 2
    assert figures["hit_at_3"] == 1.0  # the real articles are found among the synthetic ones
    timed = ("index_seconds", "passages_per_s", "rss_mib", "retrieve_p95_ms_excluding_embedding")
    for key in timed:
        assert float(figures[key]) > 0  # type: ignore[arg-type]
