"""The hybrid retriever: dense (faiss) and lexical (BM25) search, fused per language."""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from retrieval._hybrid_parts import (
    ArticleEvidence,
    LanguageIndexes,
    RetrievalConfig,
    article_key,
    unreadable_for_encoder,
)
from retrieval._maintenance import IndexMaintenance
from retrieval._search import PassageScores, top_rows
from retrieval._search import evidence as search_evidence
from retrieval._snapshot import Snapshot
from retrieval.analysis import READING_WORD_PREFIX, reading_words
from retrieval.batching import QueryEncoder
from retrieval.chunking import Chunk
from retrieval.embeddings import embedding_dimensions, encode
from retrieval.fusion import FusionWeights, confidence, weights_for
from retrieval.kb import Article
from retrieval.language import detect_language
from retrieval.romaji import romaji_to_hiragana
from retrieval.sentence_encoder import SentenceEncoder, default_encoder
from retrieval.store import IndexStore, SavedArticle
from retrieval.types import Passage, RetrievalResult, ScoredArticle

# the names other modules import from here
__all__ = ["MODES", "ArticleEvidence", "HybridRetriever", "RetrievalConfig", "article_key"]
_unreadable_for_encoder = unreadable_for_encoder

MODES = ("hybrid", "dense", "lexical", "rrf")


class HybridRetriever(IndexMaintenance):
    """Finds the articles that answer a question, in the question's language.

    Articles are added, updated and removed by id; only their own chunks are re-embedded.
    With a `data_dir`, vectors and a manifest (model, dimensions, content hashes) are
    persisted, so a restart with an unchanged knowledge base embeds nothing.
    Thread-safe without waiting: searches read an immutable snapshot of the indexes
    (`retrieval._snapshot`), which re-indexing replaces whole; writers take turns.
    """

    def __init__(
        self,
        embeddings: Embeddings,
        *,
        model_name: str,
        config: RetrievalConfig | None = None,
        data_dir: str | Path | None = None,
        sentence_encoder: SentenceEncoder | None = None,
    ) -> None:
        self.embeddings = embeddings
        self.model_name = model_name
        self.config = config or RetrievalConfig()
        self.dimensions = embedding_dimensions(embeddings)
        self._write_lock = threading.Lock()
        self.sentence_encoder: SentenceEncoder | None = sentence_encoder
        if sentence_encoder is None and self._uses_encoder():
            self.sentence_encoder = default_encoder()
        self.query_vectors = QueryEncoder(
            lambda texts: encode(self.embeddings, texts),  # looked up per call
            cache_size=self.config.query_cache_size,
            window_ms=self.config.batch_window_ms,
            max_batch=self.config.max_batch,
        )
        self._snapshot = Snapshot()
        self._store: IndexStore | None = None
        self._saved: dict[str, SavedArticle] = {}
        if data_dir is not None:
            encoder_dims = self._encoder_dimensions()
            self._store = IndexStore(
                Path(data_dir) / "index",
                {
                    "model": model_name,
                    "dimensions": self.dimensions,
                    "chunk_max_chars": self.config.chunk_max_chars,
                },
                encoder=(
                    (self.sentence_encoder.name, encoder_dims)
                    if self.sentence_encoder is not None and encoder_dims
                    else None
                ),
            )
            saved = self._store.load(self.dimensions)
            self._saved = saved.articles
            draft = self._draft()
            for (kind, lang), index in saved.dense.items():
                target = draft.language(lang)
                if kind == "chunks":
                    target.chunk_vectors = index
                elif kind == "titles":
                    target.title_vectors = index
                elif target.encoded is not None:
                    target.encoded = index
            self._snapshot = draft.publish(self.config)

    def _uses_encoder(self) -> bool:
        config = self.config
        return config.encoder_confidence and (
            config.calibration.encoder_weight > 0
            or any(w > 0 for w in config.encoder_rank_weights.values())
        )

    def close(self) -> None:
        """Stop the query batcher (searches after this fail)."""
        self.query_vectors.close()

    # ------------------------------------------------------------------ contents
    @property
    def languages(self) -> list[str]:
        """Languages that have at least one indexed article."""
        return list(self._snapshot.languages)

    def __len__(self) -> int:
        return len(self._snapshot.articles)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._snapshot.articles

    def article(self, article_id: str) -> Article | None:
        return self._snapshot.articles.get(article_id)

    def chunk(self, chunk_id: int) -> Chunk:
        """One indexed passage (ids come from `evidence`)."""
        return self._snapshot.chunks[chunk_id]

    def index_info(self) -> dict[str, dict[str, object]]:
        """Per language: articles, chunks and the dense indexes' kind ("flat" or "ivf")."""
        snapshot = self._snapshot
        return {
            lang: {
                "articles": len(index.articles),
                "chunks": len(index.chunk_vectors),
                "dense": index.chunk_vectors.kind,
                "titles": index.title_vectors.kind,
            }
            for lang, index in sorted(snapshot.langs.items())
            if lang in snapshot.languages
        }

    def fork(self) -> HybridRetriever:
        """An in-memory copy to change without touching this one (what the bot would
        answer with a draft): it shares the models and, until it changes, the indexes
        (a snapshot never changes); it saves nothing."""
        twin = HybridRetriever.__new__(HybridRetriever)
        twin.__dict__.update(self.__dict__)
        twin._write_lock = threading.Lock()
        twin._store, twin._saved = None, {}
        return twin

    def with_config(self, config: RetrievalConfig) -> HybridRetriever:
        """A fork that searches the same vectors under other settings, e.g. exact where
        this one is approximate (`approximate_above`): nothing is embedded again."""
        twin = self.fork()
        twin.config = config
        with self._write_lock:
            draft = twin._draft()
            for lang in self._snapshot.languages:
                draft.language(lang)  # copied, and frozen again under the new settings
            twin._snapshot = draft.publish(config)
        return twin

    # ------------------------------------------------------------------ updates
    def fusion_weights(self, lang: str, mode: str = "hybrid") -> FusionWeights:
        """How much dense and lexical search count for a language in a mode."""
        return weights_for(
            lang,
            mode,
            self.config.embedding_languages,
            self.config.other_dense_weight,
            self.config.covered_dense_weight,
            self.config.encoder_rank_weights.get(lang, 0.0) if self._uses_encoder() else 0.0,
        )

    def detect_language(self, text: str) -> str:
        """The message's language among those the knowledge base has."""
        return self._detect_language(text, self._snapshot)

    def _detect_language(self, text: str, snapshot: Snapshot) -> str:
        languages = list(snapshot.languages) or ["en"]
        lang = detect_language(text, languages, default="en" if "en" in languages else languages[0])
        if lang != "ja" and "ja" in languages and self._reads_as_romaji(text, lang, snapshot):
            return "ja"
        return lang

    @staticmethod
    def _reads_as_romaji(text: str, lang: str, snapshot: Snapshot) -> bool:
        """Latin text none of whose words the articles of `lang` know, but whose romaji
        reading is mostly words the Japanese articles know: "henpin", "kyanseru"."""
        kana = romaji_to_hiragana(text, require_marker=False)
        if kana is None:
            return False
        own = snapshot.langs.get(lang)
        words = own.article_terms.analyzer.analyze(text) if own is not None else []
        if own is not None and any(own.article_terms.contains(w) for w in words):
            return False
        known = reading_words(text, snapshot.langs["ja"].article_terms.contains)
        covered = sum(len(t) - len(READING_WORD_PREFIX) for t in known)
        return covered >= 0.6 * len(kana.replace(" ", ""))

    def retrieve(
        self, query: str, *, lang: str | None = None, k: int = 5, mode: str = "hybrid"
    ) -> RetrievalResult:
        """Rank the articles of the query's language for `query`.

        Args:
            query: The customer's question.
            lang: Its language; detected from the text when not given. A language the
                knowledge base has no articles in falls back to the detected one.
            k: How many articles to return.
            mode: "hybrid" (default), "dense", "lexical", or "rrf" (the naive baseline).

        Returns:
            The ranked articles with their best passages and the answer confidence.
        """
        started = time.perf_counter()
        if mode not in MODES:
            raise ValueError(
                f"unknown retrieval mode {mode!r} (expected one of {', '.join(MODES)})"
            )
        snapshot = self._snapshot  # read once: a re-index meanwhile changes nothing here
        languages = snapshot.languages
        lang = lang if lang in languages else self._detect_language(query, snapshot)
        weights = self.fusion_weights(lang, mode)
        articles, signals, conf = (
            self._search(query, snapshot, snapshot.langs[lang], weights, k)
            if lang in languages
            else ([], {}, 0.0)
        )
        return RetrievalResult(
            query=query,
            lang=lang,
            mode=mode,
            articles=articles,
            confidence=conf,
            latency_ms=(time.perf_counter() - started) * 1000,
            signals=signals,
        )

    def prefetch(self, query: str, *, lang: str | None = None) -> Future[np.ndarray] | None:
        """Start embedding `query` for a `retrieve` that will follow, and return at once:
        the model runs in its batcher's thread while the caller does other work (the bot
        judges the message meanwhile). Nothing to do where the language is not embedded."""
        snapshot = self._snapshot
        lang = lang if lang in snapshot.languages else self._detect_language(query, snapshot)
        if self.fusion_weights(lang).uses_dense:
            return self.query_vectors.prefetch(query)
        return None

    def evidence(self, query: str, *, lang: str | None = None) -> ArticleEvidence:
        """Every raw signal the fusion sees, per article of the query's language.

        For studies of the ranking and the confidence (`python -m eval.ceiling`); the
        dense arrays are empty when the language has no embedding model coverage. Every
        chunk is scored, even where searches use the approximate index.
        """
        snapshot = self._snapshot
        lang = lang if lang in snapshot.languages else self._detect_language(query, snapshot)
        weights = self.fusion_weights(lang)
        if lang not in snapshot.langs or lang not in snapshot.languages:
            raise ValueError("the retriever has no articles to search")
        return self._evidence(query, snapshot.langs[lang], weights, exact=True)

    def _evidence(
        self, query: str, index: LanguageIndexes, weights: FusionWeights, exact: bool = False
    ) -> ArticleEvidence:
        vector = self.query_vectors(query) if weights.uses_dense else None
        encoded = None
        encoder = self.sentence_encoder
        readable = not (index.lang == "ja" and unreadable_for_encoder(query))
        if weights.encoder > 0 and encoder is not None and index.encoded is not None and readable:
            encoded = encoder.encode_one(query)
        return search_evidence(
            index,
            query,
            vector,
            weights,
            self.config.title_weight,
            self.config.candidates,
            exact=exact,
            encoded=encoded,
        )

    def coverage(self, evidence: ArticleEvidence, row: int) -> tuple[float, float]:
        """(best section, whole article) share of the query's idf mass article `row` holds."""
        index = evidence.index or self._snapshot.langs[evidence.lang]
        sections = [evidence.chunk_ids[j] for j in evidence.chunk_rows(row)]
        best = max(
            (index.coverage(evidence.tokens, cid) for cid in sections),
            default=0.0,
        )
        whole = index.article_terms.coverage(
            evidence.tokens, article_key(evidence.article_ids[row])
        )
        return best, whole

    def _search(
        self,
        query: str,
        snapshot: Snapshot,
        index: LanguageIndexes,
        weights: FusionWeights,
        k: int,
    ) -> tuple[list[ScoredArticle], dict[str, float], float]:
        ev = self._evidence(query, index, weights)
        ids, tokens = ev.article_ids, ev.tokens
        dense, fused = ev.dense, ev.fused
        passage_scores = PassageScores(
            ev.chunk_dense if weights.uses_dense else np.zeros(0),
            ev.chunk_lexical,
            weights,
            sections=index.arrays.sections if index.arrays is not None else None,
        )
        order = top_rows(fused, k)
        results = [self._scored(snapshot, ev, int(i), passage_scores) for i in order]
        if not results or (not tokens and dense is None):
            return results, {}, 0.0
        top = int(order[0])
        coverage, article_coverage = self.coverage(ev, top)
        similarity = float(dense[top]) if dense is not None else None
        nearby = order[:3] if len(order) >= 3 else top_rows(fused, 3)  # whatever k is
        encoder = (
            self._encoder_view(ev.encoder, nearby)
            if ev.encoder is not None
            else self._encoder_signals(query, snapshot, index, [ids[int(i)] for i in nearby])
        )
        signals = {
            "coverage": round(coverage, 4),
            "article_coverage": round(article_coverage, 4),
            "margin": round(float(fused[top] - fused[order[1]]), 4) if len(order) > 1 else 0.0,
            "top_score": round(float(fused[top]), 4),
            "top_share": round(float(fused[top]) / math.sqrt(max(len(fused) - 1, 1)), 4),
            **encoder,
        }
        if similarity is not None:
            signals["similarity"] = round(similarity, 4)
        calibration = self.config.calibration
        model = calibration.models.get(index.lang)
        # The learned model weighs mostly what the encoder says; a question it cannot read
        # (kana typed without conversion, romaji) has none of that, and the model, fitted
        # on few such questions, doubted even clear readings ("へんぴんしたい"): the curves
        # over the lexical evidence (readings included) judge those, as before the model.
        if model is not None and encoder.get("encoder_readable") == 1.0:
            conf = model.probability(signals)
        else:
            conf = confidence(
                similarity,
                article_coverage,
                weights,
                calibration,
                encoder.get("encoder_similarity"),
            )
        return results, signals, round(conf, 4)

    @staticmethod
    def _encoder_view(by_article: np.ndarray, rows: np.ndarray) -> dict[str, float]:
        """`_encoder_signals` from the encoder's scores the ranking already computed."""
        return _encoder_summary([float(by_article[int(r)]) for r in rows])

    def _encoder_signals(
        self, query: str, snapshot: Snapshot, index: LanguageIndexes, article_ids: list[str]
    ) -> dict[str, float]:
        """The sentence encoder's view of the top article (`article_ids[0]`): its cosine with
        the question (best section), and the margin over the next articles' (the next two,
        for any `k`). Empty when the encoder is not in use or the top article has no
        encoder vectors; only `encoder_readable` 0 when it cannot read the question."""
        if self.sentence_encoder is None or not self._uses_encoder() or index.encoded is None:
            return {}
        if index.lang == "ja" and unreadable_for_encoder(query):
            return {"encoder_readable": 0.0}  # kana without conversion, romaji: noise to it
        best: list[float] = []
        question = None
        for article_id in article_ids:
            chunk_ids = snapshot.article_chunks.get(article_id, [])
            try:
                vectors = index.encoded.vectors(np.asarray(chunk_ids, dtype=np.int64))
            except RuntimeError:  # some chunk has no vector (cannot happen after a sync)
                vectors = np.zeros((0, 0), dtype=np.float32)
            if not len(vectors):
                if not best:
                    return {}
                continue
            if question is None:
                question = self.sentence_encoder.encode_one(query)
            best.append(float(np.max(vectors @ question)))
        return _encoder_summary(best)

    def _scored(
        self,
        snapshot: Snapshot,
        ev: ArticleEvidence,
        row: int,
        passage_scores: PassageScores,
    ) -> ScoredArticle:
        article_id = ev.article_ids[row]
        article = snapshot.articles[article_id]
        chunk_rows = ev.chunk_rows(row)
        scores = passage_scores(chunk_rows)
        passages: list[Passage] = []
        for j in np.argsort(-scores, kind="stable"):
            chunk = snapshot.chunks[ev.chunk_ids[chunk_rows[j]]]
            if chunk.question:  # found the article; the answer is in its sections
                continue
            if len(passages) == self.config.passages_per_article:
                break
            passages.append(
                Passage(
                    chunk_id=chunk.id,
                    heading=chunk.heading,
                    text=chunk.text,
                    score=round(float(scores[j]), 4),
                )
            )
        dense = ev.dense
        return ScoredArticle(
            article_id=article_id,
            title=article.title,
            lang=article.lang,
            url=article.url,
            score=round(float(ev.fused[row]), 4),
            dense_score=round(float(dense[row]), 4) if dense is not None else None,
            lexical_score=round(float(ev.lexical[row]), 4),
            passages=passages,
        )


def _encoder_summary(best: list[float]) -> dict[str, float]:
    """The encoder's signals from its best-section cosine of the top articles, best first:
    the top one's, and its margin over the next ones'."""
    runner_up = max(best[1:], default=best[0])
    return {
        "encoder_similarity": round(best[0], 4),
        "encoder_margin": round(best[0] - runner_up, 4),
        "encoder_readable": 1.0,
    }
