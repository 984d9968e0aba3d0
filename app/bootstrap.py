"""Builds the heavy objects (embedding model, retriever) from settings, once per process."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from langchain_core.embeddings import Embeddings

from app.settings import Settings
from bot.answer import Thresholds
from bot.policy import Bot
from retrieval import answer_model
from retrieval.embeddings import SentenceTransformerEmbeddings
from retrieval.fusion import Calibration
from retrieval.hybrid import HybridRetriever, RetrievalConfig
from retrieval.kb import Article, LoadResult, load_kb
from retrieval.memory import limit_malloc_arenas
from retrieval.threads import one_thread_per_call
from retrieval.types import SyncReport


def retrieval_config(settings: Settings) -> RetrievalConfig:
    return RetrievalConfig(
        embedding_languages=tuple(settings.embedding_languages),
        other_dense_weight=settings.other_dense_weight,
        chunk_max_chars=settings.chunk_max_chars,
        calibration=calibration(settings),
        encoder_rank_weights=dict(settings.encoder_rank_weight_by_lang),
        approximate_above=settings.approximate_above,
        nprobe=settings.ann_nprobe,
        candidates=settings.dense_candidates,
        query_cache_size=settings.query_cache_size,
        batch_window_ms=settings.batch_window_ms,
        max_batch=settings.max_batch,
    )


def calibration(settings: Settings) -> Calibration:
    return Calibration(
        dense_midpoint=settings.confidence_dense_midpoint,
        dense_scale=settings.confidence_dense_scale,
        lexical_midpoint=settings.confidence_lexical_midpoint,
        lexical_scale=settings.confidence_lexical_scale,
        encoder_midpoint=settings.confidence_encoder_midpoint,
        encoder_scale=settings.confidence_encoder_scale,
        encoder_weight=settings.confidence_encoder_weight,
        models=answer_model.load(settings.answer_model) if settings.answer_model else {},
    )


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(
        answer=settings.answer_threshold,
        suggest=settings.suggest_threshold,
        answer_by_lang=dict(settings.answer_threshold_by_lang),
        suggest_by_lang=dict(settings.suggest_threshold_by_lang),
    )


def load_embeddings(
    settings: Settings, threads: int | None = None
) -> SentenceTransformerEmbeddings:
    """The configured embedding model; `threads` per model call (None: every core, as
    indexing wants; the server's questions use `settings.embedding_threads`)."""
    return SentenceTransformerEmbeddings(
        settings.embedding_model, backend=settings.embedding_backend, threads=threads
    )


def build_retriever(
    settings: Settings,
    *,
    embeddings: Embeddings | None = None,
    persist: bool = True,
    threads: int | None = None,
) -> HybridRetriever:
    """A retriever with the configured model (`threads` per model call: `load_embeddings`),
    loading the saved index from the data folder."""
    limit_malloc_arenas()  # before the reply threads start allocating
    one_thread_per_call()
    embeddings = embeddings if embeddings is not None else load_embeddings(settings, threads)
    return HybridRetriever(
        embeddings,
        model_name=settings.embedding_model,
        config=retrieval_config(settings),
        data_dir=settings.data_dir if persist else None,
    )


# From this many articles to embed, a start builds the index in a child process: the peak
# memory of embedding (the model runtime's buffers for big batches, freed memory the
# allocator keeps) goes when the child ends, and the server holds what a restart would.
INDEX_IN_CHILD_FROM = 20

log = logging.getLogger("kakehashi")


def _index_here(settings: Settings, articles: Sequence[Article]) -> int:
    retriever = build_retriever(settings)
    try:
        return retriever.sync(articles).embedded
    finally:
        retriever.close()


def index_in_child(settings: Settings, articles: Sequence[Article]) -> int | None:
    """Embed and save `articles` into the data folder's index from a child process; the
    number embedded, or None when the child failed (the caller then embeds them itself)."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads copied
    try:
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            return pool.submit(_index_here, settings, list(articles)).result()
    except Exception as exc:  # a child that died, or could not start: the old way works
        log.warning("indexing in a child process failed (%s): indexing here instead", exc)
        return None


def index_kb(
    retriever: HybridRetriever, settings: Settings, progress: bool = False
) -> tuple[LoadResult, SyncReport]:
    """Load the knowledge-base folder and sync the retriever to it (bad files are skipped)."""
    loaded = load_kb(settings.kb_dir)
    report = retriever.sync(loaded.articles, progress=progress)
    return loaded, report


def build_bot(retriever: HybridRetriever, settings: Settings) -> Bot:
    """The bot policy with the configured thresholds (the same for the server and eval)."""
    return Bot(
        retriever,
        thresholds=thresholds(settings),
        frustration_threshold=settings.frustration_threshold,
        misses_before_handoff=settings.misses_before_handoff,
    )
