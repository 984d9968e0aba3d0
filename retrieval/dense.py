"""Dense vectors in faiss, addressable by chunk id (add, remove, search, save, load)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np


class DenseIndex:
    """Exact inner-product search over normalised vectors (cosine similarity).

    Help centres have thousands of chunks, not millions: an exact flat index answers in
    well under a millisecond and needs no training, so it is always right after an update.
    """

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimensions))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def copy(self) -> DenseIndex:
        """An independent copy (changes to either leave the other alone)."""
        twin = DenseIndex(self.dimensions)
        twin._index = faiss.clone_index(self._index)
        return twin

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        if not ids:
            return
        if vectors.shape != (len(ids), self.dimensions):
            raise ValueError(
                f"expected {len(ids)} vectors of {self.dimensions} dimensions, got {vectors.shape}"
            )
        self.remove(ids)
        self._index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
        )

    def remove(self, ids: list[int]) -> int:
        if not ids or not len(self):
            return 0
        selector = faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64))
        return int(self._index.remove_ids(selector))

    def search(self, vector: np.ndarray, k: int | None = None) -> tuple[list[int], np.ndarray]:
        """The k nearest chunks (all of them by default) as (chunk ids, cosine scores)."""
        total = len(self)
        if total == 0:
            return [], np.zeros(0, dtype=np.float32)
        k = total if k is None else min(k, total)
        scores, ids = self._index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
        keep = ids[0] >= 0
        return [int(i) for i in ids[0][keep]], scores[0][keep]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        faiss.write_index(self._index, str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, dimensions: int) -> DenseIndex:
        index = cls(dimensions)
        loaded = faiss.read_index(str(path))
        if loaded.d != dimensions:
            raise ValueError(f"{path}: vectors have {loaded.d} dimensions, expected {dimensions}")
        index._index = loaded
        return index
