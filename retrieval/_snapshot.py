"""What the retriever searches: an immutable snapshot, replaced whole by re-indexing.

Searches read `retriever._snapshot` once and use only that object, so they never wait
for a lock and never see half an update: re-indexing copies what it changes into a
`Draft` (the dicts shallowly, a language's indexes only when it touches that language),
and publishes the draft as the next snapshot with one reference assignment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from retrieval._hybrid_parts import LanguageIndexes, RetrievalConfig, frozen_langs
from retrieval.chunking import Chunk
from retrieval.kb import Article


@dataclass(frozen=True)
class Snapshot:
    """One published state of the index; nothing in it changes after publication."""

    articles: Mapping[str, Article] = field(default_factory=dict)
    chunks: Mapping[int, Chunk] = field(default_factory=dict)
    article_chunks: Mapping[str, list[int]] = field(default_factory=dict)
    langs: Mapping[str, LanguageIndexes] = field(default_factory=dict)
    encoded: Mapping[int, np.ndarray] = field(default_factory=dict)  # sentence-encoder vectors
    languages: tuple[str, ...] = ()


class Draft:
    """The next snapshot, being made by the one writer that holds the write lock."""

    def __init__(self, base: Snapshot, dimensions: int, encoder_dimensions: int | None) -> None:
        self.dimensions = dimensions
        self.encoder_dimensions = encoder_dimensions
        self.articles = dict(base.articles)
        self.chunks = dict(base.chunks)
        self.article_chunks = dict(base.article_chunks)
        self.encoded = dict(base.encoded)
        self.langs = dict(base.langs)
        self._changed: set[str] = set()

    def language(self, lang: str) -> LanguageIndexes:
        """The language's indexes, copied on the first change."""
        if lang not in self._changed:
            base = self.langs.get(lang)
            self.langs[lang] = (
                base.thaw()
                if base is not None
                else LanguageIndexes(lang, self.dimensions, self.encoder_dimensions)
            )
            self._changed.add(lang)
        return self.langs[lang]

    @property
    def changed_languages(self) -> list[str]:
        return sorted(self._changed)

    def publish(self, config: RetrievalConfig) -> Snapshot:
        """Freeze the changed languages and make the snapshot searches will read."""
        for lang in self._changed:
            self.langs[lang].freeze(config)
        self._changed = set()
        return Snapshot(
            articles=self.articles,
            chunks=self.chunks,
            article_chunks=self.article_chunks,
            langs=self.langs,
            encoded=self.encoded,
            languages=tuple(frozen_langs(self.langs)),
        )
