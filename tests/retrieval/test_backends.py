"""The embedding model on OpenVINO and ONNX Runtime: exported from the packaged model's own
files (no network), giving the vectors PyTorch gives, and measured side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.backends import measure_backends
from retrieval.embeddings import SentenceTransformerEmbeddings
from retrieval.errors import ModelLoadError

pytestmark = pytest.mark.model

TEXTS = [
    "How do I return an item?",
    "Returning an item\nReturn conditions\nUnused goods with their tags can be sent back "
    "within 30 days of delivery.",
    "パスワードを忘れました",
]


@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_an_exported_backend_gives_the_vectors_pytorch_gives(
    backend: str, tmp_path: Path, real_embeddings: SentenceTransformerEmbeddings
) -> None:
    exported = SentenceTransformerEmbeddings(backend=backend, cache_dir=tmp_path)
    assert list(tmp_path.glob("*/model.onnx")), "exported once, into the cache folder"
    vectors = exported.encode(TEXTS)
    reference = real_embeddings.encode(TEXTS)
    assert vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.999
    again = SentenceTransformerEmbeddings(backend=backend, cache_dir=tmp_path)
    np.testing.assert_allclose(again.encode(TEXTS[:1]), vectors[:1], atol=1e-5)


def test_questions_of_every_length_reach_openvino_in_a_few_shapes(
    tmp_path: Path, real_embeddings: SentenceTransformerEmbeddings
) -> None:
    # each new shape costs OpenVINO kernels it keeps: a server's memory grew without end
    exported = SentenceTransformerEmbeddings(backend="openvino", cache_dir=tmp_path)
    encoder = exported._exported
    tokenizer, lengths = encoder.tokenizer, set()

    def tokenize(*args: Any, **kwargs: Any) -> Any:
        tokens = tokenizer(*args, **kwargs)
        lengths.add(tokens["input_ids"].shape[1])
        return tokens

    encoder.tokenizer = tokenize
    questions = [" ".join(["where is my parcel"] * n) for n in range(1, 60, 2)]
    one_by_one = np.vstack([exported.encode([q]) for q in questions])
    together = exported.encode(questions)
    # 30 lengths of question (4 to 240 tokens) in 15 shapes, and no more will ever come
    assert lengths <= {16 * k for k in range(1, 17)}
    reference = real_embeddings.encode(questions)  # the padding changes no vector
    assert np.min(np.sum(one_by_one * reference, axis=1)) > 0.999
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_an_unknown_backend_is_refused_with_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="openvino"):
        SentenceTransformerEmbeddings(backend="tpu", cache_dir=tmp_path)


def test_the_measurement_reports_every_backend_it_could_run(tmp_path: Path) -> None:
    figures = measure_backends(
        TEXTS, TEXTS[:2], backends=("torch", "openvino"), rounds=1, cache_dir=tmp_path
    )
    assert figures["machine"]["cores"] >= 1
    for backend in ("torch", "openvino"):
        row = figures["backends"][backend]
        assert row["query_p50_ms"] > 0 and row["index_passages_per_s"] > 0
        assert row["min_cosine_to_torch"] > 0.999
