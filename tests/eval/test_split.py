"""The deterministic training / held-aside split of new labelled messages."""

from __future__ import annotations

import json
from pathlib import Path

from eval.cases import load_cases
from eval.split import is_heldout, split_file


def test_the_split_is_by_id_and_about_forty_percent() -> None:
    ids = [f"bw-en-hnd-{i:03d}" for i in range(1000)]
    held = [i for i in ids if is_heldout(i)]
    assert 350 <= len(held) <= 450
    assert held == [i for i in ids if is_heldout(i)]  # the same every time


def test_split_file_writes_both_parts_and_a_folder_load_sees_only_training(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in" / "en_handoff.jsonl"
    source.parent.mkdir()
    rows = [{"id": f"x-{i}", "text": f"message {i}", "handoff": i % 2 == 0} for i in range(50)]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    train, held = split_file(source, tmp_path / "out", "blind2")
    assert train + held == 50 and held == sum(is_heldout(str(r["id"])) for r in rows)
    seen = {c.id for c in load_cases(tmp_path / "out")}
    aside = {c.id for c in load_cases(tmp_path / "out" / "heldout")}
    assert len(seen) == train and len(aside) == held and not seen & aside
