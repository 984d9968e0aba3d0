"""The packaged sentence encoder, run by OpenVINO, gives the package's own vectors."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from retrieval import _usem3_openvino
from retrieval.sentence_encoder import UniversalSentenceEncoder

MESSAGES = [
    "I want to talk to a real person",
    "人と話したい",
    "注文した商品がまだ届きません。いつ届きますか？",
    "henpin shitai",
    "ok",
    "My parcel says delivered but it is not here. " * 30,  # an e-mail-sized message
    "返品の送料は誰が負担しますか",
]


@pytest.fixture(scope="module")
def encoders() -> tuple[UniversalSentenceEncoder, UniversalSentenceEncoder]:
    return UniversalSentenceEncoder(), UniversalSentenceEncoder(runtime="numpy")


def test_the_openvino_graph_gives_the_packages_vectors(
    encoders: tuple[UniversalSentenceEncoder, UniversalSentenceEncoder],
) -> None:
    graph, numpy = encoders
    assert graph.runtime == "openvino"
    assert numpy.runtime == "numpy"
    # one call mixing short messages and a long one, as the micro-batcher sends them
    got, expected = graph.encode(MESSAGES), numpy.encode(MESSAGES)
    assert got.shape == (len(MESSAGES), 512)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(got * expected, axis=1)) > 0.9999
    # and one at a time, as a quiet server sends them
    for message, row in zip(MESSAGES, expected, strict=True):
        assert float(graph.encode([message])[0] @ row) > 0.9999


def test_a_batch_is_cut_into_calls_of_like_lengths(
    encoders: tuple[UniversalSentenceEncoder, UniversalSentenceEncoder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long message is not the width every short one is padded to; the rows still
    come back in the callers' order."""
    graph, numpy = encoders
    monkeypatch.setattr(_usem3_openvino, "PADDED_TOKEN_BUDGET", 64)
    messages = MESSAGES * 3
    assert np.min(np.sum(graph.encode(messages) * numpy.encode(messages), axis=1)) > 0.9999
    assert _usem3_openvino._groups([3, 40, 2, 70, 5]) == [[2, 0, 4], [1], [3]]


def test_a_graph_that_gives_other_vectors_is_not_used(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """If the package's network ever changes under the graph, the bot keeps the
    package's own (slower) forward pass instead of judging on different vectors."""
    real = _usem3_openvino.OpenVinoForward.encode

    def drifted(self: _usem3_openvino.OpenVinoForward, texts: list[str]) -> np.ndarray:
        vectors = real(self, texts)
        return np.roll(vectors, 1, axis=1)

    monkeypatch.setattr(_usem3_openvino.OpenVinoForward, "encode", drifted)
    with caplog.at_level(logging.WARNING, logger="retrieval.sentence_encoder"):
        encoder = UniversalSentenceEncoder()
    assert encoder.runtime == "numpy"
    assert "gives other vectors" in caplog.text
    message = "人と話したい"
    assert float(encoder.encode([message])[0] @ encoder._model.encode([message])[0]) > 0.9999


def test_messages_of_every_length_reach_openvino_in_a_few_shapes(
    encoders: tuple[UniversalSentenceEncoder, UniversalSentenceEncoder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """OpenVINO keeps kernels for each input shape it sees: unbucketed lengths grew a
    server's memory without end (eval/README.md, fifteenth session)."""
    graph, numpy = encoders
    forward = graph._graph
    assert forward is not None
    widths: set[int] = set()
    embed = forward._embed

    def seen(ids: np.ndarray) -> np.ndarray:
        widths.add(ids.shape[1])
        return embed(ids)

    monkeypatch.setattr(forward, "_embed", seen)
    messages = [" ".join(["where is my parcel"] * n) for n in range(1, 40, 2)]
    vectors = np.vstack([graph.encode([m]) for m in messages])
    # 20 lengths (up to ~160 tokens) in the multiples of 16 up to 160: at most 10 shapes
    assert widths <= {16 * k for k in range(1, 11)}
    # the padding is masked out: the vectors are the package's own
    assert np.min(np.sum(vectors * numpy.encode(messages), axis=1)) > 0.9999
