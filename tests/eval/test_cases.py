"""Evaluation cases: JSON Lines loading and validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cases import CaseError, load_cases

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, *objects: object) -> Path:
    path.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in objects) + "\n", "utf-8")
    return path


def test_fields_are_read_and_absent_gold_means_not_scored(tmp_path: Path) -> None:
    cases = load_cases(
        write(
            tmp_path / "c.jsonl",
            {"id": "a", "text": "refund?", "lang": "en", "gold": ["refund-timing"]},
            {"text": "what is the weather", "gold": []},
            {"text": "I WANT A HUMAN", "handoff": True, "frustrated": True},
        )
    )
    assert [c.gold for c in cases] == [("refund-timing",), (), None]
    assert cases[0].id == "a" and cases[1].id == "case-2"
    assert cases[2].handoff is True and cases[2].frustrated is True


def test_a_folder_loads_every_jsonl_file_below_it(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", {"text": "one"})
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "b.jsonl", {"text": "two"})
    assert sorted(c.text for c in load_cases(tmp_path)) == ["one", "two"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"text": ""}', "'text' is required"),
        ('{"text": "x", "gold": "return-item"}', "'gold' must be a list"),
        ('{"text": "x", "handoff": "yes"}', "'handoff' must be true or false"),
    ],
)
def test_a_bad_line_is_reported_with_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "fine"}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(CaseError, match=rf"c\.jsonl:3: .*{message}"):
        load_cases(path)


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="no such file"):
        load_cases(tmp_path / "missing.jsonl")
    with pytest.raises(CaseError, match="no \\*.jsonl"):
        load_cases(tmp_path)


def test_project_datasets_meet_the_documented_sizes() -> None:
    cases = load_cases(ROOT / "eval" / "datasets")
    for lang in ("en", "ja"):
        mine = [c for c in cases if c.lang == lang]
        assert sum(1 for c in mine if c.gold) >= 150
        assert sum(1 for c in mine if c.gold == ()) >= 40
        assert sum(1 for c in mine if c.handoff) >= 20
        assert sum(1 for c in mine if c.frustrated is not None) >= 60
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"


def test_a_folder_leaves_its_heldout_split_out_unless_named(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", {"text": "tuned"})
    (tmp_path / "heldout").mkdir()
    write(tmp_path / "heldout" / "a.jsonl", {"text": "held aside"})
    assert [c.text for c in load_cases(tmp_path)] == ["tuned"]
    assert [c.text for c in load_cases(tmp_path / "heldout")] == ["held aside"]


def test_smalltalk_labels_are_read_and_null_means_not_small_talk(tmp_path: Path) -> None:
    cases = load_cases(
        write(
            tmp_path / "c.jsonl",
            {"text": "hi there", "smalltalk": "greeting"},
            {"text": "hi, where is my parcel", "smalltalk": None},
            {"text": "where is my parcel"},
        )
    )
    assert [c.smalltalk for c in cases] == ["greeting", "none", None]
    with pytest.raises(CaseError, match="'smalltalk' must be"):
        load_cases(write(tmp_path / "d.jsonl", {"text": "yo", "smalltalk": "hello"}))
