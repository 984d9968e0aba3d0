"""Shared fixtures: small knowledge bases, fake and real embeddings."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from retrieval.embeddings import SentenceTransformerEmbeddings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_KB = ROOT / "kb_articles"


class CountingEmbedding(DeterministicFakeEmbedding):
    """Deterministic fake vectors (for tests only) that counts how many texts it embedded."""

    calls: int = 0
    texts: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        return super().embed_documents(texts)


@pytest.fixture
def fake_embeddings() -> CountingEmbedding:
    return CountingEmbedding(size=32)


@pytest.fixture
def write_article(tmp_path: Path) -> Callable[..., Path]:
    """Write one KB file: write_article("en/a.md", id=..., title=..., lang=..., body=...)."""

    def write(relative: str, body: str = "Some body text.", **meta: object) -> Path:
        path = tmp_path / "kb" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["---", *(f"{k}: {v}" for k, v in meta.items()), "---", body]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def real_embeddings() -> SentenceTransformerEmbeddings:
    """The packaged all-MiniLM-L6-v2 model, loaded once per test session."""
    return SentenceTransformerEmbeddings()
