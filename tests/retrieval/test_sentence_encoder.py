"""The packaged sentence encoder, run by OpenVINO, gives the package's own vectors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
    "",
    "   ",
    "届いた箱が潰れてた😭📦 交換できますか？",
    "Order #10482 was charged ¥12,800 twice",
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
    # at most 64 padded tokens a call: two of 16, then one of 32, 48 and 80 alone
    assert _usem3_openvino._groups([16, 48, 16, 80, 32]) == [[0, 2], [4], [1], [3]]


@pytest.mark.parametrize(
    "drift",
    [
        lambda v: np.roll(v, 1, axis=1),  # other directions
        lambda v: v * 1.5,  # the same directions, not unit vectors
        lambda v: np.full_like(v, np.nan),
    ],
    ids=["rotated", "scaled", "nan"],
)
def test_a_graph_that_gives_other_vectors_is_not_used(
    drift: Callable[[np.ndarray], np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If the package's network ever changes under the graph, the bot keeps the
    package's own (slower) forward pass instead of judging on different vectors."""
    real = _usem3_openvino.OpenVinoForward.encode

    def drifted(self: _usem3_openvino.OpenVinoForward, texts: list[str]) -> np.ndarray:
        return drift(real(self, texts))

    monkeypatch.setattr(_usem3_openvino.OpenVinoForward, "encode", drifted)
    with caplog.at_level(logging.WARNING, logger="retrieval.sentence_encoder"):
        encoder = UniversalSentenceEncoder()
    assert encoder.runtime == "numpy"
    assert "gives other vectors" in caplog.text
    message = "人と話したい"
    assert float(encoder.encode([message])[0] @ encoder._model.encode([message])[0]) > 0.9999


def test_an_unknown_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="openvino or numpy"):
        UniversalSentenceEncoder(runtime="onnx")  # type: ignore[arg-type]


def test_threads_encoding_at_once_get_their_own_vectors(
    encoders: tuple[UniversalSentenceEncoder, UniversalSentenceEncoder],
) -> None:
    """The micro-batcher's worker and an index sync may call the graph together."""
    graph, numpy = encoders
    expected = numpy.encode(MESSAGES)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: graph.encode([MESSAGES[i % len(MESSAGES)]]), range(80)))
    for i, got in enumerate(results):
        assert float(got[0] @ expected[i % len(MESSAGES)]) > 0.9999


def test_a_text_too_long_for_the_graph_gets_the_packages_vector(
    encoders: tuple[UniversalSentenceEncoder, UniversalSentenceEncoder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pasted e-mail past `MAX_GRAPH_TOKENS` goes to the numpy pass: OpenVINO would keep
    buffers sized for it for the life of the process."""
    graph, numpy = encoders
    forward = graph._graph
    assert forward is not None
    widths: list[int] = []
    infer = forward._infer

    def seen(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        widths.append(ids.shape[1])
        return infer(ids, mask)

    monkeypatch.setattr(forward, "_infer", seen)
    long = "The parcel arrived damaged and the box was wet. " * 60  # ~700 tokens
    messages = ["short question", long]
    got = graph.encode(messages)
    assert widths and max(widths) <= _usem3_openvino.MAX_GRAPH_TOKENS
    assert np.min(np.sum(got * numpy.encode(messages), axis=1)) > 0.9999


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
    infer = forward._infer

    def seen(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        widths.add(ids.shape[1])
        return infer(ids, mask)

    monkeypatch.setattr(forward, "_infer", seen)
    messages = [" ".join(["where is my parcel"] * n) for n in range(1, 40, 2)]
    vectors = np.vstack([graph.encode([m]) for m in messages])
    # 20 lengths (up to ~160 tokens) in the multiples of 16 up to 160: at most 10 shapes
    assert widths <= {16 * k for k in range(1, 11)}
    # the padding is masked out: the vectors are the package's own
    assert np.min(np.sum(vectors * numpy.encode(messages), axis=1)) > 0.9999


def test_forgetting_recent_messages_runs_the_model_again(
    encoders: tuple[UniversalSentenceEncoder, UniversalSentenceEncoder],
) -> None:
    graph, _ = encoders
    cache = graph._query_encoder().cache
    first = graph.encode_one("返品したい")
    assert "返品したい" in cache
    graph.forget_recent()
    assert "返品したい" not in cache
    np.testing.assert_allclose(graph.encode_one("返品したい"), first, atol=1e-6)
