"""Configuration: one settings class, read from KAKEHASHI_* environment variables or .env."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from retrieval.embeddings import DEFAULT_MODEL


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
    answer_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    suggest_threshold: float = Field(default=0.3, ge=0.0, le=1.0)
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

    @field_validator("embedding_languages", "allowed_origins", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


def get_settings() -> Settings:
    """Settings from the environment, built on call (never at import) so tests make their own."""
    return Settings()


def resolved_database_url(settings: Settings) -> str:
    """The configured database, or the embedded SQLite file in the data folder."""
    if settings.database_url:
        return settings.database_url
    return f"sqlite+aiosqlite:///{(settings.data_dir / 'kakehashi.db').resolve()}"
