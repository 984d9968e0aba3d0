"""Configuration: one settings class, read from KAKEHASHI_* environment variables or .env."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from accounts.throttle import parse_limit
from attachments.kinds import DEFAULT_TYPES, KINDS
from guards.rates import MEMORY_SCHEMES, REDIS_SCHEMES, parse_limits
from retrieval import answer_model
from retrieval.answer_model import SHIPPED_MODEL as SHIPPED_ANSWER_MODEL
from retrieval.embeddings import DEFAULT_MODEL
from retrieval.fusion import ENCODER_RANK_WEIGHTS, Calibration

_CURVES = Calibration()  # the fitted curves: one place for their numbers


class Settings(BaseSettings):
    """Every field is documented in .env.example (a test checks they match)."""

    model_config = SettingsConfigDict(env_prefix="KAKEHASHI_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    kb_dir: Path = Path("kb_articles")
    embedding_model: str = DEFAULT_MODEL
    embedding_languages: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["en"])
    other_dense_weight: float = Field(default=0.0, ge=0.0, le=1.0)
    chunk_max_chars: int = Field(default=1200, ge=200, le=20000)
    embedding_backend: Literal["torch", "onnx", "onnx-int8", "openvino"] = "openvino"
    approximate_above: int = Field(default=20_000, ge=0)
    ann_nprobe: int = Field(default=32, ge=1, le=65_536)
    dense_candidates: int = Field(default=100, ge=1, le=100_000)
    query_cache_size: int = Field(default=1024, ge=0, le=10_000_000)
    batch_window_ms: float = Field(default=2.0, ge=0.0, le=1000.0)
    max_batch: int = Field(default=32, ge=1, le=1024)
    # CPU threads one model call of the server's query embeddings uses (indexing uses all)
    embedding_threads: int = Field(default=1, ge=1, le=256)
    confidence_dense_midpoint: float = Field(default=_CURVES.dense_midpoint, ge=-5.0, le=5.0)
    confidence_dense_scale: float = Field(default=_CURVES.dense_scale, gt=0.0, le=1.0)
    confidence_lexical_midpoint: float = Field(default=_CURVES.lexical_midpoint, ge=-5.0, le=5.0)
    confidence_lexical_scale: float = Field(default=_CURVES.lexical_scale, gt=0.0, le=1.0)
    confidence_encoder_midpoint: float = Field(default=_CURVES.encoder_midpoint, ge=-5.0, le=5.0)
    confidence_encoder_scale: float = Field(default=_CURVES.encoder_scale, gt=0.0, le=1.0)
    confidence_encoder_weight: float = Field(default=_CURVES.encoder_weight, ge=0.0, le=10.0)
    # the learned answer confidence per language (`kakehashi calibrate` writes it); an
    # empty value keeps the curves above for every language
    answer_model: Path | None = SHIPPED_ANSWER_MODEL
    answer_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    answer_threshold_by_lang: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"en": 0.7417, "ja": 0.8067}
    )
    # how much the multilingual sentence encoder counts in ranking beside BM25's 1, by
    # language (a language not listed: 0); it reads Japanese, the embedding model does not
    encoder_rank_weight_by_lang: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: dict(ENCODER_RANK_WEIGHTS)
    )
    suggest_threshold: float = Field(default=0.3, ge=0.0, le=1.0)
    suggest_threshold_by_lang: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: {"en": 0.5}
    )
    frustration_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    misses_before_handoff: int = Field(default=2, ge=1, le=10)
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"]
    )
    max_message_chars: int = Field(default=4000, ge=1, le=100_000)
    average_handle_seconds: int = Field(default=240, ge=10, le=36_000)
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    cookie_secure: bool = False
    business_hours: str = "mon-fri 09:00-18:00"
    timezone: str = "Asia/Tokyo"
    holidays: Annotated[list[str], NoDecode] = Field(default_factory=list)
    sla_seconds_frustration: int = Field(default=120, ge=10)
    sla_seconds_low_confidence: int = Field(default=300, ge=10)
    sla_seconds_customer_request: int = Field(default=300, ge=10)
    queue_aging_per_minute: float = Field(default=10.0, ge=0)
    agent_grace_seconds: int = Field(default=60, ge=0, le=3600)
    auto_assign: bool = False
    console_waiting_shown: int = Field(default=200, ge=1, le=10_000)
    default_max_open_chats: int = Field(default=3, ge=1, le=50)
    rate_limit_storage: str = "memory://"
    redis_url: str | None = None
    login_attempts_per_account: str = "5/15 minutes"
    login_attempts_per_ip: str = "20/15 minutes"
    chat_messages_per_token: str = "20/10 seconds; 40/minute"
    chat_messages_per_ip: str = "60/10 seconds; 200/minute"
    chat_frames_per_connection: str = "40/10 seconds; 120/minute"
    chat_connections_per_ip: int = Field(default=30, ge=1, le=100_000)
    chat_refusals_before_close: int = Field(default=50, ge=1, le=100_000)
    chat_hello_seconds: float = Field(default=10.0, gt=0, le=600)
    chat_idle_seconds: float = Field(default=1800.0, gt=0, le=7 * 24 * 3600)
    ws_max_frame_bytes: int = Field(default=65_536, ge=1024, le=16 * 1024 * 1024)
    http_request_seconds: float = Field(default=20.0, gt=0, le=3600)
    http_keep_alive_seconds: int = Field(default=5, ge=1, le=3600)
    # at shutdown, each step (bot replies under way, timers, connections) at most this long
    shutdown_step_seconds: float = Field(default=10.0, gt=0, le=600)
    metrics_allowed_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"]
    )
    metrics_token: str | None = None
    # Files customers and agents attach (images and PDFs): the largest, and which kinds
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    attachment_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_TYPES)
    )
    attachment_dir: Path | None = None  # None: <data_dir>/attachments

    # E-mail (docs/email.md): off unless KAKEHASHI_MAIL_FROM is set.
    mail_from: str | None = None
    mail_from_name: str = "Support"
    mail_public_url: str = "http://127.0.0.1:8000"
    mail_max_bytes: int = Field(default=10 * 1024 * 1024, ge=10_000, le=200 * 1024 * 1024)
    mail_signatures: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    mail_retry_seconds: float = Field(default=30.0, gt=0, le=3600)
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Literal["ssl", "starttls", "none"] = "ssl"
    imap_user: str | None = None
    imap_password: str | None = None
    imap_folder: str = "INBOX"
    imap_poll_seconds: float = Field(default=60.0, ge=1, le=3600)
    imap_more_inboxes: Annotated[list[str], NoDecode] = Field(default_factory=list)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["ssl", "starttls", "none"] = "starttls"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("mail_signatures", mode="before")
    @classmethod
    def _parse_signatures(cls, value: object) -> object:
        """A JSON object of team → signature ("default" for the bot and other teams)."""
        if isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except ValueError:
                value = None
            if not isinstance(value, dict):
                raise ValueError(
                    "KAKEHASHI_MAIL_SIGNATURES: expected a JSON object such as "
                    '{"default": "Mirai Mart support", "billing": "Billing team"}'
                )
        return value

    @field_validator("attachment_types", mode="before")
    @classmethod
    def _check_attachment_types(cls, value: object) -> object:
        """Comma-separated content types, each one Kakehashi can check (empty: none)."""
        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for content_type in value:
                if content_type not in KINDS:
                    raise ValueError(
                        f"KAKEHASHI_ATTACHMENT_TYPES: {content_type!r} cannot be attached "
                        f"(choose from {', '.join(KINDS)}, or leave it empty for none)"
                    )
        return value

    @field_validator("smtp_listen_port", "attachment_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("imap_more_inboxes", mode="before")
    @classmethod
    def _split_inboxes(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for url in value:
                if urlsplit(str(url)).scheme not in ("imap", "imaps", "imap+starttls"):
                    raise ValueError(
                        f"KAKEHASHI_IMAP_MORE_INBOXES: {str(url).split('@')[-1]!r} is not an "
                        "IMAP URL (expected imaps://user:password@host:993/INBOX)"
                    )
        return value

    @field_validator(
        "embedding_languages", "allowed_origins", "holidays", "metrics_allowed_ips", mode="before"
    )
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("answer_model", mode="before")
    @classmethod
    def _answer_model_file(cls, value: object) -> object:
        """An empty value turns the learned model off; a relative path not found here is
        looked up beside the installed packages (`retrieval/models/answer.json` works from
        any folder); the file must load."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        path = Path(str(value))
        if not path.is_absolute() and not path.is_file():
            beside_packages = SHIPPED_ANSWER_MODEL.parents[2] / path
            if beside_packages.is_file():
                path = beside_packages
        try:
            answer_model.load(path)
        except answer_model.AnswerModelError as exc:
            raise ValueError(f"{exc} (`kakehashi calibrate --out FILE` writes one)") from None
        return path

    @field_validator("answer_threshold_by_lang", "suggest_threshold_by_lang", mode="before")
    @classmethod
    def _parse_thresholds(cls, value: object, info: ValidationInfo) -> object:
        """ "en:0.52,ja:0.66" (or a JSON object); each threshold in [0, 1]."""
        name = f"KAKEHASHI_{str(info.field_name).upper()}"
        return _by_language(value, name, "threshold", 1.0)

    @field_validator("encoder_rank_weight_by_lang", mode="before")
    @classmethod
    def _parse_rank_weights(cls, value: object) -> object:
        """ "ja:0.5" (or a JSON object); each weight in [0, 10]."""
        return _by_language(value, "KAKEHASHI_ENCODER_RANK_WEIGHT_BY_LANG", "weight", 10.0)

    @field_validator("login_attempts_per_account", "login_attempts_per_ip")
    @classmethod
    def _parse_limit(cls, value: str, info: ValidationInfo) -> str:
        parse_limit(value, f"KAKEHASHI_{str(info.field_name).upper()}")
        return value

    @field_validator(
        "chat_messages_per_token", "chat_messages_per_ip", "chat_frames_per_connection"
    )
    @classmethod
    def _parse_limits(cls, value: str, info: ValidationInfo) -> str:
        parse_limits(value, f"KAKEHASHI_{str(info.field_name).upper()}")
        return value

    @model_validator(mode="after")
    def _frames_fit_a_message(self) -> Settings:
        # a message of max_message_chars, each a JSON-escaped surrogate pair (12 bytes)
        # in the worst case, must fit in one frame
        needed = self.max_message_chars * 12 + 1024
        if self.ws_max_frame_bytes < needed:
            raise ValueError(
                f"KAKEHASHI_WS_MAX_FRAME_BYTES={self.ws_max_frame_bytes} cannot hold a message "
                f"of KAKEHASHI_MAX_MESSAGE_CHARS={self.max_message_chars} characters "
                f"(set it to at least {needed})"
            )
        return self

    @field_validator("rate_limit_storage")
    @classmethod
    def _check_storage(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in MEMORY_SCHEMES | REDIS_SCHEMES:
            raise ValueError(
                f"KAKEHASHI_RATE_LIMIT_STORAGE: unsupported scheme {scheme!r} (expected "
                "memory:// or a redis URI such as redis://127.0.0.1:6379/0)"
            )
        if scheme in REDIS_SCHEMES and importlib.util.find_spec("redis") is None:
            raise ValueError(
                f"KAKEHASHI_RATE_LIMIT_STORAGE: {scheme}:// needs the redis package "
                "(pip install 'redis>=5.2')"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                "KAKEHASHI_REDIS_URL: expected a redis URL such as redis://127.0.0.1:6379/0 "
                "(or rediss:// for TLS, unix:///path/to/redis.sock)"
            )
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if not self.cookie_secure:
                raise ValueError("production needs KAKEHASHI_COOKIE_SECURE=true (serve over https)")
            if "*" in self.allowed_origins:
                raise ValueError("production refuses KAKEHASHI_ALLOWED_ORIGINS=*: list your sites")
        return self

    @property
    def sla_targets(self) -> dict[str, int]:
        return {
            "frustration": self.sla_seconds_frustration,
            "low_confidence": self.sla_seconds_low_confidence,
            "customer_request": self.sla_seconds_customer_request,
        }


def get_settings() -> Settings:
    """Settings from the environment, built on call (never at import) so tests make their own."""
    return Settings()


def resolved_database_url(settings: Settings) -> str:
    """The configured database, or the embedded SQLite file in the data folder."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite+aiosqlite:///{(settings.data_dir / 'kakehashi.db').resolve()}"


def _by_language(value: object, name: str, what: str, high: float) -> object:
    """ "lang:number,lang:number" (or a JSON object, or a dict) as a dict, each number
    in [0, `high`]."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{name}: not a JSON object ({exc})") from None
    if isinstance(value, dict):
        value = ",".join(f"{lang}:{number}" for lang, number in value.items())
    if not isinstance(value, str):
        return value
    parsed: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        lang, sep, number = part.partition(":")
        try:
            figure = float(number)
        except ValueError:
            figure = -1.0
        if not sep or not lang.strip() or not 0 <= figure <= high:
            raise ValueError(
                f"{name}: {part!r} is not lang:{what} "
                f"(expected e.g. en:0.5,ja:0.7, each {what} between 0 and {high:g})"
            )
        parsed[lang.strip()] = figure
    return parsed
