"""Keeping the hybrid retriever's indexes: sync to a knowledge base, upsert, delete, save.

A mixin of `retrieval.hybrid.HybridRetriever`, which owns the state declared here; kept
apart so that the retriever's module says how it searches and this one how it indexes.

Every change is made on a `Draft` (a copy of what it touches) by one writer at a time,
and published as a new snapshot at the end: searches go on reading the previous one
meanwhile, and never wait. Embedding streams: texts are encoded in batches, sorted by
length within a window (less padding), and each batch's vectors go straight into faiss,
so no array of every vector is ever held beside the index.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from langchain_core.embeddings import Embeddings
from tqdm import tqdm

from retrieval._hybrid_parts import LanguageIndexes, RetrievalConfig, article_key
from retrieval._snapshot import Draft, Snapshot
from retrieval.chunking import Chunk, chunk_article
from retrieval.dense import DenseIndex
from retrieval.embeddings import encode
from retrieval.kb import Article
from retrieval.memory import release_memory
from retrieval.sentence_encoder import SentenceEncoder
from retrieval.store import IndexStore, SavedArticle
from retrieval.types import SyncReport

EMBED_BATCH = 64
SORT_WINDOW = 4096  # texts sorted by length together: batches of like lengths pad little

# What goes into which index: ("chunks" | "titles" | "encoded", language, id).
Target = tuple[str, str, int]


class IndexMaintenance:
    """Sync, upsert, delete and save; the state is the retriever's (set in its __init__)."""

    embeddings: Embeddings
    model_name: str
    config: RetrievalConfig
    dimensions: int
    sentence_encoder: SentenceEncoder | None
    _write_lock: threading.Lock
    _snapshot: Snapshot
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
        restored: list[Article] = []
        unchanged = 0
        with self._write_lock:
            draft = self._draft()
            removed = [aid for aid in draft.articles if aid not in wanted]
            for aid in removed:
                self._drop(draft, aid)
            # Articles saved by an earlier run: gone or edited while we were stopped.
            saved_before = set(self._saved)
            for aid, saved in list(self._saved.items()):
                if aid not in wanted:
                    removed.append(aid)
                    self._forget_saved(draft, aid)
                elif wanted[aid].content_hash != saved.hash:
                    self._forget_saved(draft, aid)
            for aid, article in wanted.items():
                current = draft.articles.get(aid)
                if current is not None and current.content_hash == article.content_hash:
                    unchanged += 1
                elif current is None and aid in self._saved:
                    restored.append(article)  # vectors loaded from disk
                    unchanged += 1
                else:
                    known = current is not None or aid in saved_before
                    (updated if known else added).append(aid)
                    changed.append(article)
            del wanted
            self._saved = {}
            for article in restored:
                self._index(draft, article, chunk_article(article, self.config.chunk_max_chars))
            self._embed_and_index(draft, changed, progress=progress, restored=restored)
            self._publish(draft)
            trim = getattr(self.embeddings, "trim", None)
            if changed and callable(trim):
                trim()
        release_memory()
        return SyncReport(added=added, updated=updated, removed=removed, unchanged=unchanged)

    def upsert(self, article: Article) -> bool:
        """Add or replace one article; False when it was already indexed unchanged."""
        with self._write_lock:
            current = self._snapshot.articles.get(article.id)
            if current is not None and current.content_hash == article.content_hash:
                return False
            draft = self._draft()
            if article.id in self._saved:  # saved by an earlier run, not yet synced
                self._forget_saved(draft, article.id)
            self._embed_and_index(draft, [article], progress=False)
            self._publish(draft)
            return True

    def delete(self, article_id: str) -> bool:
        """Remove one article; False when it was not indexed."""
        with self._write_lock:
            if article_id not in self._snapshot.articles:
                return False
            draft = self._draft()
            self._drop(draft, article_id)
            self._publish(draft)
            return True

    # ------------------------------------------------------------------ the draft
    def _draft(self) -> Draft:
        return Draft(self._snapshot, self.dimensions, self._encoder_dimensions())

    def _encoder_dimensions(self) -> int | None:
        if self.sentence_encoder is None or not self._uses_encoder():
            return None
        return self.sentence_encoder.dimensions

    def _publish(self, draft: Draft) -> None:
        changed = draft.changed_languages
        snapshot = draft.publish(self.config)
        self._snapshot = snapshot  # one reference assignment: searches see all or nothing
        self._save(snapshot, changed)

    def _embed_and_index(
        self,
        draft: Draft,
        articles: list[Article],
        progress: bool,
        restored: Sequence[Article] = (),
    ) -> None:
        """Index `articles` and embed them; `restored` ones only miss sentence-encoder
        vectors. The two models run at once, each on its own thread (the sentence encoder
        is numpy on one core, the embedding model has the rest): a third less time than
        one after the other on two cores."""
        for article in articles:
            self._drop(draft, article.id)
            self._index(draft, article, chunk_article(article, self.config.chunk_max_chars))
        with ThreadPoolExecutor(1, thread_name_prefix="kakehashi-encode") as pool:
            encoded = pool.submit(self._encode_missing, draft, [*restored, *articles])
            try:
                self._embed(draft, articles, progress)
            finally:
                encoded.result()  # its error, if any, is the sync's error too

    def _embed(self, draft: Draft, articles: list[Article], progress: bool) -> None:
        if not articles:
            return
        targets: list[Target] = []
        texts: list[str] = []
        for article in articles:
            lang = article.lang
            for cid in draft.article_chunks[article.id]:
                targets.append(("chunks", lang, cid))
                texts.append(draft.chunks[cid].search_text)
            targets.append(("titles", lang, article_key(article.id)))
            texts.append(article.title)
        self._stream(draft, targets, texts, lambda batch: encode(self.embeddings, batch), progress)

    def _encode_missing(self, draft: Draft, articles: Sequence[Article]) -> None:
        """Sentence-encoder vectors for the chunks of `articles` that have none."""
        if self._encoder_dimensions() is None or not articles:
            return
        encoder = self.sentence_encoder
        assert encoder is not None
        targets: list[Target] = []
        texts: list[str] = []
        have: dict[str, set[int]] = {}
        for article in articles:
            lang = article.lang
            if lang not in have:
                encoded = draft.langs[lang].encoded
                have[lang] = set(encoded.ids().tolist()) if encoded is not None else set()
            for cid in draft.article_chunks[article.id]:
                if cid not in have[lang]:
                    targets.append(("encoded", lang, cid))
                    texts.append(draft.chunks[cid].search_text)
        self._stream(draft, targets, texts, encoder.encode, progress=False)

    def _stream(
        self,
        draft: Draft,
        targets: list[Target],
        texts: list[str],
        encode_batch: Callable[[list[str]], np.ndarray],
        progress: bool,
    ) -> None:
        """Encode `texts` in batches and add each batch's vectors to its indexes."""
        if not texts:
            return
        with tqdm(total=len(texts), desc="Embedding", unit="text", disable=not progress) as bar:
            for batch in _batches(texts, EMBED_BATCH):
                vectors = encode_batch([texts[i] for i in batch])
                groups: dict[tuple[str, str], list[int]] = {}
                for row, i in enumerate(batch):
                    kind, lang, _ = targets[i]
                    groups.setdefault((kind, lang), []).append(row)
                for (kind, lang), rows in groups.items():
                    index = draft.language(lang)
                    dense = index.dense(kind)
                    ids = np.asarray([targets[batch[r]][2] for r in rows], dtype=np.int64)
                    dense.add(ids, vectors[rows], replace=False)  # dropped before: new ids
                bar.update(len(batch))

    def _index(self, draft: Draft, article: Article, chunks: list[Chunk]) -> None:
        """Give an article its rows and its lexical entries (its vectors come apart)."""
        index = draft.language(article.lang)
        key = article_key(article.id)
        draft.articles[article.id] = article
        ids = [c.id for c in chunks]
        draft.article_chunks[article.id] = ids
        index.place(article.id, ids)
        for chunk in chunks:
            draft.chunks[chunk.id] = chunk
        index.add_terms(chunks)
        # The title counts twice in the article's own BM25 document: it names the topic;
        # the customers' questions are in it too, in their words.
        document = "\n".join([article.title, article.title, article.body, *article.questions])
        index.article_terms.add([(key, document)])

    def _drop(self, draft: Draft, article_id: str) -> None:
        article = draft.articles.pop(article_id, None)
        ids = draft.article_chunks.pop(article_id, [])
        for cid in ids:
            draft.chunks.pop(cid, None)
        if article is None:
            return
        index = draft.language(article.lang)
        index.unplace(article_id)
        index.chunk_vectors.remove(ids)
        index.title_vectors.remove([article_key(article_id)])
        if index.encoded is not None:
            index.encoded.remove(ids)
        index.remove_terms(ids)
        index.article_terms.remove([article_key(article_id)])

    def _forget_saved(self, draft: Draft, article_id: str) -> None:
        saved = self._saved.pop(article_id)
        if saved.lang in draft.langs:
            index = draft.language(saved.lang)
            index.chunk_vectors.remove(saved.chunks)
            index.title_vectors.remove([article_key(article_id)])
            if index.encoded is not None:
                index.encoded.remove(saved.chunks)

    def _save(self, snapshot: Snapshot, languages: Iterable[str]) -> None:
        if self._store is None:
            return
        saved = {
            aid: SavedArticle(hash=a.content_hash, lang=a.lang, chunks=snapshot.article_chunks[aid])
            for aid, a in snapshot.articles.items()
        }
        dense: dict[tuple[str, str], DenseIndex] = {}
        for lang in languages:
            index: LanguageIndexes = snapshot.langs[lang]
            dense[("chunks", lang)] = index.chunk_vectors
            dense[("titles", lang)] = index.title_vectors
            if index.encoded is not None:
                dense[("encoded", lang)] = index.encoded
        self._store.save(saved, dense)


def _batches(texts: Sequence[str], size: int) -> Iterator[list[int]]:
    """Indexes of `texts` in batches of `size`, like lengths together within a window."""
    for start in range(0, len(texts), SORT_WINDOW):
        window = sorted(
            range(start, min(start + SORT_WINDOW, len(texts))), key=lambda i: len(texts[i])
        )
        for i in range(0, len(window), size):
            yield window[i : i + size]
