"""The hybrid retriever: dense (faiss) and lexical (BM25) search, fused per language."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from retrieval._hybrid_parts import (
    ArticleEvidence,
    LanguageIndexes,
    RetrievalConfig,
    aligned,
    article_key,
    best_per_article,
    unreadable_for_encoder,
)
from retrieval._maintenance import IndexMaintenance
from retrieval.analysis import (
    READING_PREFIX,
    READING_WORD_PREFIX,
    reading_words,
)
from retrieval.chunking import Chunk
from retrieval.embeddings import embedding_dimensions, encode
from retrieval.fusion import (
    FusionWeights,
    combine,
    confidence,
    fuse_articles,
    standardise,
    weights_for,
)
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
    Thread-safe: updates and searches may come from different threads.
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
        self._lock = threading.RLock()
        self._articles: dict[str, Article] = {}
        self._chunks: dict[int, Chunk] = {}
        self._article_chunks: dict[str, list[int]] = {}
        self._langs: dict[str, LanguageIndexes] = {}
        self.sentence_encoder: SentenceEncoder | None = sentence_encoder
        if sentence_encoder is None and self._uses_encoder():
            self.sentence_encoder = default_encoder()
        self._encoded: dict[int, np.ndarray] = {}  # chunk id -> sentence-encoder vector
        self._store: IndexStore | None = None
        self._saved: dict[str, SavedArticle] = {}
        if data_dir is not None:
            self._store = IndexStore(
                Path(data_dir) / "index",
                {
                    "model": model_name,
                    "dimensions": self.dimensions,
                    "chunk_max_chars": self.config.chunk_max_chars,
                },
            )
            saved = self._store.load(self.dimensions)
            self._saved = saved.articles
            for (kind, lang), index in saved.dense.items():
                target = self._language(lang)
                if kind == "chunks":
                    target.chunk_vectors = index
                else:
                    target.title_vectors = index

    def _uses_encoder(self) -> bool:
        return self.config.encoder_confidence and self.config.calibration.encoder_weight > 0

    # ------------------------------------------------------------------ contents
    @property
    def languages(self) -> list[str]:
        """Languages that have at least one indexed article."""
        with self._lock:
            return sorted(lang for lang, index in self._langs.items() if index.articles)

    def __len__(self) -> int:
        return len(self._articles)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._articles

    def article(self, article_id: str) -> Article | None:
        return self._articles.get(article_id)

    def chunk(self, chunk_id: int) -> Chunk:
        """One indexed passage (ids come from `evidence`)."""
        return self._chunks[chunk_id]

    def fork(self) -> HybridRetriever:
        """An in-memory copy to change without touching this one (what the bot would
        answer with a draft): it shares the models, copies the indexes and saves nothing."""
        twin = HybridRetriever.__new__(HybridRetriever)
        with self._lock:
            twin.__dict__.update(self.__dict__)
            twin._lock = threading.RLock()
            twin._store, twin._saved = None, {}
            twin._articles = dict(self._articles)
            twin._chunks = dict(self._chunks)
            twin._article_chunks = {k: list(v) for k, v in self._article_chunks.items()}
            twin._encoded = dict(self._encoded)
            twin._langs = {}
            for lang, index in self._langs.items():
                copy = twin._langs[lang] = LanguageIndexes.__new__(LanguageIndexes)
                copy.lang, copy.articles = lang, list(index.articles)
                copy.chunk_vectors = index.chunk_vectors.copy()
                copy.title_vectors = index.title_vectors.copy()
                copy.chunk_terms = index.chunk_terms.copy()
                copy.article_terms = index.article_terms.copy()
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
        )

    def detect_language(self, text: str) -> str:
        """The message's language among those the knowledge base has."""
        languages = self.languages or ["en"]
        lang = detect_language(text, languages, default="en" if "en" in languages else languages[0])
        if lang != "ja" and "ja" in languages and self._reads_as_romaji(text, lang):
            return "ja"
        return lang

    def _reads_as_romaji(self, text: str, lang: str) -> bool:
        """Latin text none of whose words the articles of `lang` know, but whose romaji
        reading is mostly words the Japanese articles know: "henpin", "kyanseru"."""
        kana = romaji_to_hiragana(text, require_marker=False)
        if kana is None:
            return False
        with self._lock:
            own = self._langs.get(lang)
            words = own.article_terms.analyzer.analyze(text) if own is not None else []
            if own is not None and any(own.article_terms.contains(w) for w in words):
                return False
            known = reading_words(text, self._langs["ja"].article_terms.contains)
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
        with self._lock:
            languages = self.languages
            lang = lang if lang in languages else self.detect_language(query)
            weights = self.fusion_weights(lang, mode)
            articles, signals, conf = (
                self._search(query, self._langs[lang], weights, k)
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

    def evidence(self, query: str, *, lang: str | None = None) -> ArticleEvidence:
        """Every raw signal the fusion sees, per article of the query's language.

        For studies of the ranking and the confidence (`python -m eval.ceiling`); the
        dense arrays are empty when the language has no embedding model coverage.
        """
        with self._lock:
            lang = lang if lang in self.languages else self.detect_language(query)
            weights = self.fusion_weights(lang)
            if lang not in self._langs:
                raise ValueError("the retriever has no articles to search")
            return self._evidence(query, self._langs[lang], weights)

    def _evidence(
        self, query: str, index: LanguageIndexes, weights: FusionWeights
    ) -> ArticleEvidence:
        with_dense = weights.uses_dense
        ids = index.articles
        keys = [article_key(aid) for aid in ids]
        tokens = index.chunk_terms.analyzer.analyze(query)
        if index.lang == "ja":  # typed in kana or romaji: the readings the articles know
            tokens += reading_words(query, index.article_terms.contains)
        words = {t for t in tokens if not t.startswith(READING_PREFIX)}
        chunk_ids = [cid for aid in ids for cid in self._article_chunks[aid]]
        owner = np.repeat(np.arange(len(ids)), [len(self._article_chunks[a]) for a in ids])
        chunk_lexical = aligned(*index.chunk_terms.scores(tokens), chunk_ids)
        article_lexical = aligned(*index.article_terms.scores(tokens), keys)
        best_chunk_lexical = best_per_article(chunk_lexical, owner, len(ids))
        # Lexical evidence for an article: the whole article matching the question's words,
        # and one section matching them together.
        lexical = standardise(article_lexical) + standardise(best_chunk_lexical)
        chunk_dense = np.zeros(len(chunk_ids), dtype=np.float32)
        titles = np.zeros(0, dtype=np.float32)
        best_chunk_dense = titles
        dense: np.ndarray | None = None
        if with_dense:
            vector = encode(self.embeddings, [query])[0]
            chunk_dense = aligned(*index.chunk_vectors.search(vector), chunk_ids)
            titles = aligned(*index.title_vectors.search(vector), keys)
            best_chunk_dense = best_per_article(chunk_dense, owner, len(ids))
            tw = self.config.title_weight
            dense = (1 - tw) * best_chunk_dense + tw * titles
        return ArticleEvidence(
            lang=index.lang,
            article_ids=ids,
            tokens=tokens,
            chunk_ids=chunk_ids,
            owner=owner,
            chunk_lexical=chunk_lexical,
            chunk_dense=chunk_dense,
            article_lexical=article_lexical,
            best_chunk_lexical=best_chunk_lexical,
            best_chunk_dense=best_chunk_dense,
            title_dense=titles,
            lexical=lexical,
            dense=dense,
            fused=fuse_articles(dense, lexical, weights),
            query_words=len(words),
            unknown_words=sum(1 for w in words if not index.article_terms.contains(w)),
        )

    def coverage(self, evidence: ArticleEvidence, row: int) -> tuple[float, float]:
        """(best section, whole article) share of the query's idf mass article `row` holds."""
        sections = [evidence.chunk_ids[j] for j in np.flatnonzero(evidence.owner == row)]
        with self._lock:  # the indexes may be updated from another thread
            index = self._langs[evidence.lang]
            best = max(
                (index.chunk_terms.coverage(evidence.tokens, cid) for cid in sections),
                default=0.0,
            )
            whole = index.article_terms.coverage(
                evidence.tokens, article_key(evidence.article_ids[row])
            )
        return best, whole

    def _search(
        self, query: str, index: LanguageIndexes, weights: FusionWeights, k: int
    ) -> tuple[list[ScoredArticle], dict[str, float], float]:
        ev = self._evidence(query, index, weights)
        ids, chunk_ids, owner, tokens = ev.article_ids, ev.chunk_ids, ev.owner, ev.tokens
        chunk_lexical, chunk_dense = ev.chunk_lexical, ev.chunk_dense
        lexical, dense, fused = ev.lexical, ev.dense, ev.fused
        passage_scores = combine(
            chunk_dense if weights.uses_dense else np.zeros(0), chunk_lexical, weights
        )
        order = np.argsort(-fused, kind="stable")[:k]
        results = [
            self._scored(
                ids[i],
                float(fused[i]),
                dense,
                lexical,
                i,
                np.flatnonzero(owner == i),
                chunk_ids,
                passage_scores,
            )
            for i in order
        ]
        if not results or (not tokens and dense is None):
            return results, {}, 0.0
        top = int(order[0])
        coverage, article_coverage = self.coverage(ev, top)
        similarity = float(dense[top]) if dense is not None else None
        encoder_similarity = self._encoder_similarity(query, ids[top], index.lang)
        conf = confidence(
            similarity, article_coverage, weights, self.config.calibration, encoder_similarity
        )
        signals = {
            "coverage": round(coverage, 4),
            "article_coverage": round(article_coverage, 4),
            "margin": round(float(fused[top] - fused[order[1]]), 4) if len(order) > 1 else 0.0,
            "top_score": round(float(fused[top]), 4),
        }
        if similarity is not None:
            signals["similarity"] = round(similarity, 4)
        if encoder_similarity is not None:
            signals["encoder_similarity"] = round(encoder_similarity, 4)
        return results, signals, round(conf, 4)

    def _encoder_similarity(self, query: str, article_id: str, lang: str) -> float | None:
        """The sentence encoder's cosine of the question and the article's best section."""
        if self.sentence_encoder is None or not self._uses_encoder():
            return None
        if lang == "ja" and unreadable_for_encoder(query):
            return None  # kana typed without conversion, or romaji: the encoder reads noise
        vectors = [self._encoded[c] for c in self._article_chunks[article_id] if c in self._encoded]
        if not vectors:
            return None
        question = self.sentence_encoder.encode_one(query)
        return float(np.max(np.stack(vectors) @ question))

    def _scored(
        self,
        article_id: str,
        score: float,
        dense: np.ndarray | None,
        lexical: np.ndarray,
        row: int,
        chunk_rows: np.ndarray,
        chunk_ids: list[int],
        passage_scores: np.ndarray,
    ) -> ScoredArticle:
        article = self._articles[article_id]
        best_rows = sorted(chunk_rows, key=lambda j: -passage_scores[j])
        passages = [
            Passage(
                chunk_id=chunk_ids[j],
                heading=self._chunks[chunk_ids[j]].heading,
                text=self._chunks[chunk_ids[j]].text,
                score=round(float(passage_scores[j]), 4),
            )
            for j in best_rows[: self.config.passages_per_article]
        ]
        return ScoredArticle(
            article_id=article_id,
            title=article.title,
            lang=article.lang,
            url=article.url,
            score=round(score, 4),
            dense_score=round(float(dense[row]), 4) if dense is not None else None,
            lexical_score=round(float(lexical[row]), 4),
            passages=passages,
        )
