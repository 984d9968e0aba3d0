"""The `kakehashi` command line, run in-process with typer's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.conftest import SAMPLE_KB

runner = CliRunner()


def test_kb_check_passes_on_the_sample_knowledge_base() -> None:
    result = runner.invoke(cli, ["kb", "check", str(SAMPLE_KB)])
    assert result.exit_code == 0, result.output
    assert "0 problems" in result.output


def test_kb_check_lists_every_problem_and_exits_non_zero(
    write_article: Callable[..., Path], tmp_path: Path
) -> None:
    write_article("good.md", id="good", title="Good", lang="en")
    write_article("no-lang.md", id="no-lang", title="No language")
    write_article("dup.md", id="good", title="Duplicate", lang="en")
    result = runner.invoke(cli, ["kb", "check", str(tmp_path / "kb")])
    assert result.exit_code == 1
    assert "no-lang.md: front matter has no 'lang'" in result.output
    assert "duplicate id 'good' (already used by" in result.output
    assert "1 articles loaded" in result.output and "2 problems" in result.output


def test_kb_check_on_a_missing_folder_says_so(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["kb", "check", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_eval_rejects_a_bad_cases_line_naming_file_and_line(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "hello", "gold": []}\n{"gold": ["x"]}\n', encoding="utf-8")
    result = runner.invoke(cli, ["eval", "--cases", str(cases)])
    assert result.exit_code == 2
    assert f"{cases}:2: 'text' is required" in result.output


def test_unknown_mode_is_refused_before_loading_anything() -> None:
    result = runner.invoke(cli, ["ask", "hello", "--mode", "fuzzy"])
    assert result.exit_code == 2
    assert "--mode 'fuzzy' is not one of: hybrid, dense, lexical, rrf" in result.output


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index for the module's CLI runs with the real model (built by the first)."""
    return tmp_path_factory.mktemp("data")


@pytest.mark.model
def test_ask_json_answers_english_and_japanese_with_sources(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAKEHASHI_DATA_DIR", str(data_dir))
    result = runner.invoke(
        cli, ["ask", "How do I return an item?", "--kb", str(SAMPLE_KB), "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["lang"] == "en"
    assert answer["articles"][0]["article_id"] == "return-item"
    assert answer["articles"][0]["url"].startswith("https://")
    assert answer["articles"][0]["passages"], "the answer needs a passage to quote"
    assert 0 <= answer["confidence"] <= 1 and answer["would_answer"] is True

    result = runner.invoke(
        cli, ["ask", "パスワードを忘れてしまいました", "--kb", str(SAMPLE_KB), "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["lang"] == "ja"
    assert answer["articles"][0]["article_id"] == "reset-password-ja"


@pytest.mark.model
def test_index_second_run_embeds_nothing(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAKEHASHI_DATA_DIR", str(data_dir))
    runner.invoke(cli, ["index", "--kb", str(SAMPLE_KB)])
    result = runner.invoke(cli, ["index", "--kb", str(SAMPLE_KB)])
    assert result.exit_code == 0, result.output
    assert "0 added, 0 updated, 0 removed" in result.stdout


@pytest.mark.model
def test_eval_writes_the_report_keys(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAKEHASHI_DATA_DIR", str(data_dir))
    cases = tmp_path / "cases.jsonl"
    lines = [
        {"text": "How do I return an item?", "lang": "en", "gold": ["return-item"]},
        {"text": "返品したい", "lang": "ja", "gold": ["return-item-ja"]},
        {"text": "what is the capital of australia", "lang": "en", "gold": []},
        {"text": "this is ridiculous!!!", "frustrated": True},
    ]
    cases.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    out = tmp_path / "report.json"
    result = runner.invoke(
        cli, ["eval", "--kb", str(SAMPLE_KB), "--cases", str(cases), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cases"] == 4
    assert set(report["retrieval"]) >= {"n", "hit@1", "hit@3", "mrr@10"}
    assert report["retrieval"]["n"] == 2
    assert set(report["by_lang"]) == {"en", "ja"}
    assert set(report["answer"]) >= {
        "n_answerable",
        "answered_correct",
        "answered_wrong",
        "declined",
        "n_unanswerable",
        "false_answer",
    }
    assert report["answer"]["n_unanswerable"] == 1
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert report["by_lang"]["en"]["hit@1"] == 1.0


@pytest.mark.model
def test_calibrate_fits_settings_that_keep_false_answers_within_the_limit(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAKEHASHI_DATA_DIR", str(data_dir))
    cases = Path(__file__).parents[2] / "eval" / "datasets" / "en_retrieval.jsonl"
    result = runner.invoke(
        cli,
        [
            "calibrate",
            "--kb",
            str(SAMPLE_KB),
            "--cases",
            str(cases),
            "--max-false-answer",
            "0.1",
            "--out",
            str(data_dir / "answer.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (data_dir / "answer.json").is_file()
    fitted = dict(
        line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("KAKEHASHI_")
    )
    assert set(fitted) >= {
        "KAKEHASHI_CONFIDENCE_DENSE_MIDPOINT",
        "KAKEHASHI_CONFIDENCE_LEXICAL_MIDPOINT",
        "KAKEHASHI_ANSWER_THRESHOLD",
        "KAKEHASHI_ANSWER_THRESHOLD_BY_LANG",
        "KAKEHASHI_ANSWER_MODEL",
    }
    # the printed settings, applied, give what calibrate promised
    for name, value in fitted.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(cli, ["eval", "--kb", str(SAMPLE_KB), "--cases", str(cases)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["answer"]["false_answer"] <= 0.10
    assert report["answer"]["answered_correct"] >= 0.6


def test_calibrate_without_unanswerable_cases_says_what_is_missing(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "How do I return an item?", "gold": ["return-item"]}\n', "utf-8")
    result = runner.invoke(cli, ["calibrate", "--kb", str(SAMPLE_KB), "--cases", str(cases)])
    assert result.exit_code == 2
    assert "unanswerable" in result.output
