"""Where the embedding model runs: PyTorch, ONNX Runtime or OpenVINO, and how fast each is.

sentence-transformers' own `backend="onnx"`/`"openvino"` need optimum-onnx (which pins
transformers below 4.58) and optimum-intel (which pulls a CUDA build of torch), neither of
which fits this project's environment. So the model is exported here, from the weights
already on disk (torch's TorchScript ONNX exporter: no network, no hub), once, into a
cache folder, and run directly: the same tokenizer, then mean pooling and normalisation
as the sentence-transformers modules do. `onnx-int8` is the export with dynamically
quantised int8 weights (onnxruntime.quantization).

`measure_backends` times each on this machine (a query at a time, and batched indexing)
and reports how far its vectors are from PyTorch's; `kakehashi bench` can call it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import statistics
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from retrieval.errors import ModelLoadError

log = logging.getLogger(__name__)

Backend = Literal["torch", "onnx", "onnx-int8", "openvino"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnx", "onnx-int8", "openvino")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_EXPORT_LOCK = threading.Lock()
TOKEN_BUCKET = 16
"""Token counts are padded up to a multiple of this. OpenVINO's CPU plugin keeps compiled
kernels for every input shape it has seen (up to thousands, each holding its own buffers),
and customers' questions come in every length and batch size: a server's memory grew
without end, 2.2 GB after 3,000 batches of random shapes in a throwaway test. Padded, the
lengths fall in 16 buckets and memory levels off; the padding is masked out of the
attention and the pooling, so the vectors do not change, and the kernels are reused, so a
question is no slower (p50 4.6-5.0 ms against 4.9-5.5 unpadded, one at a time)."""


def default_cache_dir() -> Path:
    """Where exported models are kept unless told otherwise."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kakehashi" / "models"


def _fingerprint(model_path: str) -> str:
    """Changes when the model's weights do (the name alone could point at new files)."""
    digest = hashlib.blake2b(digest_size=8)
    for name in ("model.safetensors", "pytorch_model.bin", "config.json"):
        path = Path(model_path) / name
        if path.exists():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    digest.update(model_path.encode())
    return digest.hexdigest()


def exported_model(model: Any, model_path: str, cache_dir: Path, int8: bool = False) -> Path:
    """The ONNX file of a loaded SentenceTransformer's transformer, exported on first use.

    Raises:
        ModelLoadError: the export (or the quantisation) failed; the message says why.
    """
    folder = cache_dir / _fingerprint(model_path)
    path = folder / ("model-int8.onnx" if int8 else "model.onnx")
    with _EXPORT_LOCK:
        if path.exists():
            return path
        folder.mkdir(parents=True, exist_ok=True)
        plain = folder / "model.onnx"
        try:
            if not plain.exists():
                _export(model, plain)
            if int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                tmp = path.with_suffix(f".{os.getpid()}.tmp.onnx")  # processes may race
                quantize_dynamic(str(plain), str(tmp), weight_type=QuantType.QInt8)
                tmp.replace(path)
        except Exception as exc:  # torch, onnx and onnxruntime raise many kinds
            raise ModelLoadError(
                f"cannot export the embedding model to ONNX in {folder}: {exc}. "
                "Set KAKEHASHI_EMBEDDING_BACKEND=torch to run it with PyTorch."
            ) from exc
        (folder / "source.json").write_text(json.dumps({"model": model_path}), encoding="utf-8")
    return path


def _export(model: Any, path: Path) -> None:
    import torch

    transformer = model[0].auto_model
    transformer.eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    questions = ["a question", "a longer question here"]
    sample = model.tokenizer(questions, padding=True, return_tensors="pt")
    tmp = path.with_suffix(f".{os.getpid()}.tmp.onnx")  # servers starting together may race
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    # The TorchScript exporter warns that it is the legacy one, and tracing warns about
    # Python branches on shapes (the attention mask's): neither applies to this model.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(transformer),
            tuple(sample[name] for name in _INPUTS),
            str(tmp),
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: nothing else to install
        )
    tmp.replace(path)


class ExportedEncoder:
    """Runs an exported transformer with ONNX Runtime or OpenVINO: tokenise, run, mean-pool
    over the attention mask, normalise (what the sentence-transformers modules do)."""

    def __init__(
        self,
        tokenizer: Any,
        onnx_path: Path,
        runtime: str,
        max_length: int,
        threads: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.runtime = runtime
        threads = threads or _threads()
        if runtime == "openvino":
            try:
                import openvino
            except ImportError:
                raise ModelLoadError(
                    "the openvino backend needs the PyPI package 'openvino' (pip install it)"
                ) from None
            core = openvino.Core()
            # compiled once per model and kept beside the export: a restart loads it
            core.set_property({"CACHE_DIR": str(onnx_path.parent / "openvino-cache")})
            self._compile = lambda: core.compile_model(
                str(onnx_path),
                "CPU",
                {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"},
            )
            self._compiled = self._compile()
            self._local = threading.local()  # an infer request serves one thread at a time
        else:
            try:
                import onnxruntime
            except ImportError:
                raise ModelLoadError(
                    "the onnx backends need the PyPI package 'onnxruntime' (pip install it)"
                ) from None
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )

    def trim(self) -> None:
        """Give back the memory a big batch of work left behind: OpenVINO keeps buffers
        for the largest inputs it has seen (~400 MB after indexing the sample KB) until
        its compiled model goes; compiling again from the cache takes about a second."""
        if self.runtime == "openvino":
            self._compiled = self._compile()
            self._local = threading.local()

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), 0), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")  # like lengths together
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            vectors = self._run([texts[i] for i in rows])
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(
            texts,
            padding=True,
            pad_to_multiple_of=TOKEN_BUCKET if self.max_length % TOKEN_BUCKET == 0 else None,
            truncation=True,
            max_length=self.max_length,
            return_tensors="np",
        )
        feed = {name: np.asarray(tokens[name], dtype=np.int64) for name in _INPUTS}
        if self.runtime == "openvino":
            request = getattr(self._local, "request", None)
            if request is None:
                request = self._local.request = self._compiled.create_infer_request()
            hidden = np.asarray(request.infer(feed)[0])
        else:
            hidden = self._session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.where(norms == 0, 1, norms)).astype(np.float32)


def _threads() -> int:
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:  # pragma: no cover - torch comes with sentence-transformers
        return os.cpu_count() or 1


def measure_backends(
    texts: Sequence[str],
    queries: Sequence[str],
    *,
    model: str | None = None,
    backends: Sequence[str] = BACKENDS,
    batch_size: int = 16,
    rounds: int = 3,
    cache_dir: Path | None = None,
    threads: Sequence[int] = (),
) -> dict[str, Any]:
    """Time each backend on this machine: one query at a time and batched indexing.

    Args:
        texts: Passages to index (a few hundred is plenty).
        queries: Questions, encoded one at a time.
        model: The sentence-transformers model (the packaged MiniLM by default).
        backends: Which to measure ("torch", "onnx", "onnx-int8", "openvino").
        batch_size: Texts per model call when indexing.
        rounds: Rounds, each backend in turn within a round, so that load from other
            processes falls on all alike; the median round is reported.
        cache_dir: Where exports are kept (a temporary place is fine).
        threads: Also time torch with each of these thread counts (`torch.set_num_threads`).

    Returns:
        {"machine": {...}, "backends": {name: {"query_p50_ms", "query_p95_ms",
        "index_passages_per_s", "min_cosine_to_torch", "load_seconds"}}, "torch_threads":
        {n: {"query_p50_ms", "index_passages_per_s"}}}; a backend that cannot load has
        {"error": "..."} instead.
    """
    from retrieval.embeddings import DEFAULT_MODEL, SentenceTransformerEmbeddings

    name = model or DEFAULT_MODEL
    loaded: dict[str, SentenceTransformerEmbeddings] = {}
    result: dict[str, Any] = {"machine": _machine(), "backends": {}, "batch_size": batch_size}
    for backend in backends:
        started = time.perf_counter()
        try:
            loaded[backend] = SentenceTransformerEmbeddings(
                name, batch_size=batch_size, backend=backend, cache_dir=cache_dir
            )
        except ModelLoadError as exc:
            result["backends"][backend] = {"error": str(exc)}
            continue
        result["backends"][backend] = {"load_seconds": round(time.perf_counter() - started, 2)}
    texts, queries = list(texts), list(queries)
    reference = loaded["torch"].encode(texts) if "torch" in loaded else None
    timings: dict[str, dict[str, list[float]]] = {b: {"query": [], "index": []} for b in loaded}
    for embeddings in loaded.values():
        embeddings.encode(texts[:batch_size])  # warm up
    for _ in range(rounds):
        for backend, embeddings in loaded.items():
            timings[backend]["query"] += _query_times(embeddings, queries)
            started = time.perf_counter()
            vectors = embeddings.encode(texts)
            timings[backend]["index"].append(len(texts) / (time.perf_counter() - started))
            if reference is not None:
                cosine = float(np.min(np.sum(vectors * reference, axis=1)))
                result["backends"][backend]["min_cosine_to_torch"] = round(cosine, 4)
    for backend, times in timings.items():
        result["backends"][backend].update(_summary(times))
    if threads and "torch" in loaded:
        result["torch_threads"] = _torch_threads(loaded["torch"], texts, queries, threads)
    return result


def _query_times(embeddings: Any, queries: list[str]) -> list[float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        embeddings.encode([query])
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(times: dict[str, list[float]]) -> dict[str, float]:
    query = sorted(times["query"])
    return {
        "query_p50_ms": round(statistics.median(query), 2),
        "query_p95_ms": round(query[min(len(query) - 1, int(0.95 * len(query)))], 2),
        "index_passages_per_s": round(statistics.median(times["index"]), 1),
    }


def _torch_threads(
    embeddings: Any, texts: list[str], queries: list[str], counts: Sequence[int]
) -> dict[str, dict[str, float]]:
    import torch

    before = torch.get_num_threads()
    out = {}
    try:
        for count in counts:
            torch.set_num_threads(count)
            started = time.perf_counter()
            embeddings.encode(texts)
            rate = len(texts) / (time.perf_counter() - started)
            query = sorted(_query_times(embeddings, queries))
            out[str(count)] = {
                "query_p50_ms": round(statistics.median(query), 2),
                "index_passages_per_s": round(rate, 1),
            }
    finally:
        torch.set_num_threads(before)
    return out


def _machine() -> dict[str, Any]:
    flags: set[str] = set()
    model_name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name") and not model_name:
                model_name = line.split(":", 1)[1].strip()
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return {
        "cpu": model_name,
        "cores": os.cpu_count(),
        "flags": [f for f in wanted if f in flags],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
