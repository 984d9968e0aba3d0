"""Dense vectors in faiss, addressable by chunk id (add, remove, search, save, load).

Two kinds of index, one interface:

- "flat": exact inner-product search (cosine over normalised vectors). A help centre's
  few thousand chunks are searched in well under a millisecond, and it needs no training.
- "ivf": an inverted file (faiss `IndexIVFFlat`): the vectors are split into `nlist`
  clusters and a query visits the `nprobe` nearest. Sub-linear, so it is used past a
  size threshold (`retrieval.hybrid.RetrievalConfig.approximate_above`). It was chosen
  over HNSW from a measured curve (100k vectors of real-article neighbourhoods, 2 cores:
  IVF nprobe=32 recall@100 0.91 at 0.64 ms p50, HNSW M=32 ef=256 0.55 at 0.64 ms) and
  because it removes vectors in place, which an edited article needs; HNSW cannot.

Both keep every vector once: the ivf index is built from the flat one's storage
in batches and the flat one is then dropped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

Kind = Literal["flat", "ivf"]
TRAIN_PER_LIST = 40  # faiss wants ~39 training points per cluster
_ADD_BATCH = 8192


def ivf_lists(n: int) -> int:
    """Clusters for `n` vectors: 4·√n (faiss's rule of thumb), at least 16."""
    return max(16, int(4 * math.sqrt(max(n, 1))))


class DenseIndex:
    """Inner-product search over normalised vectors, exact ("flat") or approximate ("ivf")."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimensions))
        self.nprobe = 32

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def kind(self) -> Kind:
        return "ivf" if isinstance(self._index, faiss.IndexIVF) else "flat"

    def copy(self) -> DenseIndex:
        """An independent copy (changes to either leave the other alone)."""
        twin = DenseIndex.__new__(DenseIndex)
        twin.dimensions, twin.nprobe = self.dimensions, self.nprobe
        twin._index = faiss.clone_index(self._index)
        return twin

    def add(
        self, ids: list[int] | np.ndarray, vectors: np.ndarray, *, replace: bool = True
    ) -> None:
        """Add vectors by id; `replace=False` when the ids are known to be new (it skips
        the removal, a scan of the whole index)."""
        if not len(ids):
            return
        if vectors.shape != (len(ids), self.dimensions):
            raise ValueError(
                f"expected {len(ids)} vectors of {self.dimensions} dimensions, got {vectors.shape}"
            )
        if replace:
            self.remove(ids)
        self._index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
        )

    def remove(self, ids: list[int] | np.ndarray) -> int:
        if not len(ids) or not len(self):
            return 0
        wanted = np.asarray(ids, dtype=np.int64)
        if self.kind == "ivf":  # its id hashtable removes by array only
            return int(self._index.remove_ids(faiss.IDSelectorArray(wanted)))
        return int(self._index.remove_ids(faiss.IDSelectorBatch(wanted)))

    def search(self, vector: np.ndarray, k: int | None = None) -> tuple[list[int], np.ndarray]:
        """The k nearest chunks (all of them by default) as (chunk ids, cosine scores)."""
        ids, scores = self.nearest(vector, len(self) if k is None else k)
        return ids.tolist(), scores

    def nearest(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest as arrays (ids, scores), best first; approximate for "ivf"."""
        k = min(k, len(self))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if self.kind == "ivf":
            params: Any = faiss.SearchParametersIVF()
            params.nprobe = self.nprobe
            scores, ids = self._index.search(query, k, params=params)
        else:
            scores, ids = self._index.search(query, k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def ids(self) -> np.ndarray:
        """Every id, in storage order (the order of `matrix()` rows for "flat")."""
        index: Any = self._index
        if self.kind == "flat":
            return faiss.vector_to_array(index.id_map).astype(np.int64)
        out = []
        invlists = index.invlists
        for lst in range(index.nlist):
            size = invlists.list_size(lst)
            if size:
                ptr = invlists.get_ids(lst)
                out.append(faiss.rev_swig_ptr(ptr, size).copy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def matrix(self) -> np.ndarray:
        """The vectors of a flat index in storage order, as a read-only view (no copy).

        Valid while this index is alive and unchanged; the retriever only reads it
        from a published snapshot, which nothing changes.
        """
        if self.kind != "flat":
            raise TypeError("only a flat index stores its vectors as one matrix")
        n = len(self)
        if n == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        idmap: Any = self._index
        flat: Any = faiss.downcast_index(idmap.index)
        view = faiss.rev_swig_ptr(flat.get_xb(), n * self.dimensions)
        view = view.reshape(n, self.dimensions)
        view.flags.writeable = False
        return view

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of `ids` (each must be in the index)."""
        if not len(ids):
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.asarray(self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64)))

    def to_ivf(self, nlist: int | None = None, seed: int = 0) -> None:
        """Become an inverted-file index (trained on a sample of the vectors it holds)."""
        if self.kind == "ivf":
            return
        n = len(self)
        nlist = nlist or ivf_lists(n)
        if n < nlist:
            raise ValueError(f"an ivf index of {nlist} clusters needs {nlist}+ vectors, has {n}")
        matrix, ids = self.matrix(), self.ids()
        rng = np.random.default_rng(seed)
        sample = rng.choice(n, min(n, nlist * TRAIN_PER_LIST), replace=False)
        ivf = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(self.dimensions), self.dimensions, nlist, faiss.METRIC_INNER_PRODUCT
        )
        ivf.cp.seed = seed
        ivf.train(np.ascontiguousarray(matrix[np.sort(sample)]))
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # vectors by id, and removal
        for start in range(0, n, _ADD_BATCH):
            end = start + _ADD_BATCH
            ivf.add_with_ids(np.ascontiguousarray(matrix[start:end]), ids[start:end])
        del matrix
        self._index = ivf  # the flat index (and its copy of the vectors) goes

    def to_flat(self) -> None:
        """Become an exact index again (the knowledge base shrank)."""
        if self.kind == "flat":
            return
        ids = self.ids()
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimensions))
        for start in range(0, len(ids), _ADD_BATCH):
            part = ids[start : start + _ADD_BATCH]
            flat.add_with_ids(self.vectors(part), part)
        self._index = flat

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
