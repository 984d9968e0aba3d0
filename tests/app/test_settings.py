"""Settings: every field documented in .env.example, environment parsing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def documented_settings() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"^(KAKEHASHI_[A-Z_]+)=(.*)$", text, flags=re.M))


def test_every_setting_is_documented_in_env_example() -> None:
    fields = {f"KAKEHASHI_{name.upper()}" for name in Settings.model_fields}
    assert set(documented_settings()) == fields


def test_env_example_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in documented_settings().items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.embedding_languages == ["en"]
    assert settings.answer_threshold >= settings.suggest_threshold


def test_languages_accept_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAKEHASHI_EMBEDDING_LANGUAGES", "en, ja")
    assert Settings(_env_file=None).embedding_languages == ["en", "ja"]  # type: ignore[call-arg]


def test_out_of_range_threshold_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAKEHASHI_ANSWER_THRESHOLD", "1.5")
    with pytest.raises(ValidationError, match="answer_threshold"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_answer_thresholds_per_language_are_parsed_and_checked() -> None:
    from pydantic import ValidationError

    from app.settings import Settings

    # the environment's form, as a string: the validator parses it
    parse: Any = Settings
    assert parse(answer_threshold_by_lang="en:0.4, ja:0.7").answer_threshold_by_lang == {
        "en": 0.4,
        "ja": 0.7,
    }
    with pytest.raises(ValidationError, match="not lang:threshold"):
        parse(answer_threshold_by_lang="en=0.4")
    with pytest.raises(ValidationError, match="not lang:threshold"):
        parse(answer_threshold_by_lang="ja:1.5")


def test_encoder_rank_weights_per_language_are_parsed_and_checked() -> None:
    from pydantic import ValidationError

    parse: Any = Settings  # the environment's form, as a string: the validator parses it
    assert parse(encoder_rank_weight_by_lang="ja:0.8").encoder_rank_weight_by_lang == {"ja": 0.8}
    assert parse(encoder_rank_weight_by_lang="").encoder_rank_weight_by_lang == {}  # none
    with pytest.raises(ValidationError, match="KAKEHASHI_ENCODER_RANK_WEIGHT_BY_LANG"):
        parse(encoder_rank_weight_by_lang="ja:-1")
    with pytest.raises(ValidationError, match="KAKEHASHI_ENCODER_RANK_WEIGHT_BY_LANG"):
        parse(encoder_rank_weight_by_lang="ja:11")
    # the JSON form, from the environment or in code, is checked the same way
    assert parse(encoder_rank_weight_by_lang='{"ja": 0.8}').encoder_rank_weight_by_lang == {
        "ja": 0.8
    }
    with pytest.raises(ValidationError, match="KAKEHASHI_ENCODER_RANK_WEIGHT_BY_LANG"):
        parse(encoder_rank_weight_by_lang={"ja": float("nan")})


def test_attachment_types_are_a_list_of_kinds_kakehashi_can_check() -> None:
    parse: Any = Settings  # the environment's form, as a string: the validator parses it
    settings = parse(_env_file=None, attachment_types="image/png, Application/PDF")
    assert settings.attachment_types == ["image/png", "application/pdf"]
    assert parse(_env_file=None, attachment_types="").attachment_types == []  # attaching off
    with pytest.raises(ValidationError, match="'image/svg\\+xml' cannot be attached"):
        parse(_env_file=None, attachment_types="image/png,image/svg+xml")


def test_the_answer_model_is_a_file_or_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parse: Any = Settings
    assert parse(_env_file=None, answer_model="").answer_model is None  # curves for all
    shipped = parse(_env_file=None).answer_model
    assert shipped is not None and shipped.is_file()
    monkeypatch.chdir(tmp_path)  # .env.example's relative path works from any folder
    relative = parse(_env_file=None, answer_model="retrieval/models/answer.json")
    assert relative.answer_model == shipped
    with pytest.raises(ValidationError, match="no such answer-model file"):
        parse(_env_file=None, answer_model=tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", "utf-8")
    with pytest.raises(ValidationError, match="not a readable JSON file"):
        parse(_env_file=None, answer_model=broken)
