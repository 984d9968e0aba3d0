"""Keeping the hybrid retriever's indexes: sync to a knowledge base, upsert, delete, save.

A mixin of `retrieval.hybrid.HybridRetriever`, which owns the state declared here; kept
apart so that the retriever's module says how it searches and this one how it indexes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from retrieval._hybrid_parts import LanguageIndexes, RetrievalConfig, article_key
from retrieval.chunking import Chunk, chunk_article
from retrieval.dense import DenseIndex
from retrieval.embeddings import encode
from retrieval.kb import Article
from retrieval.sentence_encoder import SentenceEncoder
from retrieval.store import IndexStore, SavedArticle
from retrieval.types import SyncReport

EMBED_BATCH = 64


class IndexMaintenance:
    """Sync, upsert, delete and save; the state is the retriever's (set in its __init__)."""

    embeddings: Embeddings
    model_name: str
    config: RetrievalConfig
    dimensions: int
    sentence_encoder: SentenceEncoder | None
    _lock: threading.RLock
    _articles: dict[str, Article]
    _chunks: dict[int, Chunk]
    _article_chunks: dict[str, list[int]]
    _langs: dict[str, LanguageIndexes]
    _encoded: dict[int, np.ndarray]
    _store: IndexStore | None
    _saved: dict[str, SavedArticle]

    def _uses_encoder(self) -> bool:
        raise NotImplementedError  # the retriever's

    def sync(self, articles: Iterable[Article], progress: bool = False) -> SyncReport:
        """Make the index hold exactly `articles`, embedding only new and changed ones."""
        wanted = {a.id: a for a in articles}
        added: list[str] = []
        updated: list[str] = []
        changed: list[Article] = []
        unchanged = 0
        with self._lock:
            removed = [aid for aid in self._articles if aid not in wanted]
            for aid in removed:
                self._drop(aid)
            # Articles saved by an earlier run: gone or edited while we were stopped.
            saved_before = set(self._saved)
            for aid, saved in list(self._saved.items()):
                if aid not in wanted:
                    removed.append(aid)
                    self._forget_saved(aid)
                elif wanted[aid].content_hash != saved.hash:
                    self._forget_saved(aid)
            for aid, article in wanted.items():
                current = self._articles.get(aid)
                if current is not None and current.content_hash == article.content_hash:
                    unchanged += 1
                elif current is None and aid in self._saved:
                    self._index(article, vectors=None)  # vectors loaded from disk
                    unchanged += 1
                else:
                    known = current is not None or aid in saved_before
                    (updated if known else added).append(aid)
                    changed.append(article)
            self._saved = {}
            self._embed_and_index(changed, progress=progress)
            self._save()
        return SyncReport(added=added, updated=updated, removed=removed, unchanged=unchanged)

    def upsert(self, article: Article) -> bool:
        """Add or replace one article; False when it was already indexed unchanged."""
        with self._lock:
            current = self._articles.get(article.id)
            if current is not None and current.content_hash == article.content_hash:
                return False
            if article.id in self._saved:  # saved by an earlier run, not yet synced
                self._forget_saved(article.id)
            self._embed_and_index([article], progress=False)
            self._save()
            return True

    def delete(self, article_id: str) -> bool:
        """Remove one article; False when it was not indexed."""
        with self._lock:
            if article_id not in self._articles:
                return False
            self._drop(article_id)
            self._save()
            return True

    def _embed_and_index(self, articles: list[Article], progress: bool) -> None:
        if not articles:
            return
        per_article = [chunk_article(a, self.config.chunk_max_chars) for a in articles]
        texts = [c.search_text for chunks in per_article for c in chunks]
        texts += [a.title for a in articles]
        vectors = self._encode(texts, progress)
        titles = vectors[len(texts) - len(articles) :]
        start = 0
        for n, (article, chunks) in enumerate(zip(articles, per_article, strict=True)):
            self._drop(article.id)
            self._index(article, (vectors[start : start + len(chunks)], titles[n : n + 1]), chunks)
            start += len(chunks)

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        parts = [np.zeros((0, self.dimensions), dtype=np.float32)]
        with tqdm(total=len(texts), desc="Embedding", unit="text", disable=not progress) as bar:
            for i in range(0, len(texts), EMBED_BATCH):
                batch = texts[i : i + EMBED_BATCH]
                parts.append(encode(self.embeddings, batch))
                bar.update(len(batch))
        return np.vstack(parts)

    def _index(
        self,
        article: Article,
        vectors: tuple[np.ndarray, np.ndarray] | None,
        chunks: list[Chunk] | None = None,
    ) -> None:
        chunks = (
            chunks if chunks is not None else chunk_article(article, self.config.chunk_max_chars)
        )
        index = self._language(article.lang)
        key = article_key(article.id)
        self._articles[article.id] = article
        self._article_chunks[article.id] = [c.id for c in chunks]
        index.articles.append(article.id)
        for chunk in chunks:
            self._chunks[chunk.id] = chunk
        if vectors is not None:
            index.chunk_vectors.add([c.id for c in chunks], vectors[0])
            index.title_vectors.add([key], vectors[1])
        if self.sentence_encoder is not None and self._uses_encoder() and chunks:
            encoded = self.sentence_encoder.encode([c.search_text for c in chunks])
            self._encoded.update(zip((c.id for c in chunks), encoded, strict=True))
        index.chunk_terms.add_chunks(chunks)
        # The title counts twice in the article's own BM25 document: it names the topic.
        index.article_terms.add([(key, f"{article.title}\n{article.title}\n{article.body}")])

    def _drop(self, article_id: str) -> None:
        article = self._articles.pop(article_id, None)
        ids = self._article_chunks.pop(article_id, [])
        for cid in ids:
            self._chunks.pop(cid, None)
            self._encoded.pop(cid, None)
        if article is None:
            return
        index = self._language(article.lang)
        index.articles.remove(article_id)
        index.chunk_vectors.remove(ids)
        index.title_vectors.remove([article_key(article_id)])
        index.chunk_terms.remove(ids)
        index.article_terms.remove([article_key(article_id)])

    def _forget_saved(self, article_id: str) -> None:
        saved = self._saved.pop(article_id)
        if saved.lang in self._langs:
            self._langs[saved.lang].chunk_vectors.remove(saved.chunks)
            self._langs[saved.lang].title_vectors.remove([article_key(article_id)])

    def _language(self, lang: str) -> LanguageIndexes:
        if lang not in self._langs:
            self._langs[lang] = LanguageIndexes(lang, self.dimensions)
        return self._langs[lang]

    def _save(self) -> None:
        if self._store is None:
            return
        saved = {
            aid: SavedArticle(hash=a.content_hash, lang=a.lang, chunks=self._article_chunks[aid])
            for aid, a in self._articles.items()
        }
        dense: dict[tuple[str, str], DenseIndex] = {}
        for lang, index in self._langs.items():
            dense[("chunks", lang)] = index.chunk_vectors
            dense[("titles", lang)] = index.title_vectors
        self._store.save(saved, dense)

    # ------------------------------------------------------------------ search
