"""Persistence of the dense index: faiss files plus a manifest in the data folder.

The manifest records the model, its dimensions, the chunking and, per article, the hash
of its content and the ids of its vectors. A restart whose knowledge base hashes the
same loads the vectors instead of re-embedding; anything that does not match the running
configuration is ignored (and rebuilt), never half-used.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.dense import DenseIndex
from retrieval.errors import IndexMismatchError

log = logging.getLogger(__name__)

MANIFEST_VERSION = 3  # 3: tables read as header: cell pairs (`retrieval.chunking`)
KINDS = ("chunks", "titles")
# The sentence encoder's vectors of the chunks, when it is used: optional (an index
# saved without them loads, and the chunks are encoded again).
ENCODED = "encoded"


@dataclass
class SavedArticle:
    hash: str
    lang: str
    chunks: list[int]


@dataclass
class SavedIndex:
    """What a previous run left on disk."""

    articles: dict[str, SavedArticle] = field(default_factory=dict)
    dense: dict[tuple[str, str], DenseIndex] = field(default_factory=dict)


def has_saved_index(data_dir: Path) -> bool:
    """Whether a data folder holds a saved index (of any model: a mismatch is rebuilt)."""
    return (Path(data_dir) / "index" / "manifest.json").is_file()


class IndexStore:
    """Reads and writes the index folder (`<data_dir>/index`)."""

    def __init__(
        self,
        directory: Path,
        identity: dict[str, Any],
        encoder: tuple[str, int] | None = None,
    ) -> None:
        """Args:
        directory: The index folder.
        identity: What the saved index must match to be used (model, dimensions...).
        encoder: The sentence encoder's (name, dimensions), when its vectors are kept.
        """
        self.directory = directory
        self.identity = {"version": MANIFEST_VERSION, **identity}
        self.encoder = encoder

    def _path(self, kind: str, lang: str) -> Path:
        if kind == ENCODED and self.encoder is not None:
            return self.directory / f"{kind}-{self.encoder[0]}-{lang}.faiss"
        return self.directory / f"{kind}-{lang}.faiss"

    def save(
        self, articles: dict[str, SavedArticle], dense: dict[tuple[str, str], DenseIndex]
    ) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for (kind, lang), index in dense.items():
            index.save(self._path(kind, lang))
        manifest = {
            **self.identity,
            "articles": {aid: vars(saved) for aid, saved in sorted(articles.items())},
        }
        tmp = self.directory / "manifest.json.tmp"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.directory / "manifest.json")

    def load(self, dimensions: int) -> SavedIndex:
        """The saved index, or an empty one when there is none or it does not fit this run."""
        path = self.directory / "manifest.json"
        if not path.exists():
            return SavedIndex()
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(manifest, dict) or not isinstance(manifest.get("articles"), dict):
                raise ValueError("manifest is not an object with an 'articles' object")
            for key, value in self.identity.items():
                if manifest.get(key) != value:
                    raise IndexMismatchError(
                        f"it has {key}={manifest.get(key)!r}, this run uses {value!r}"
                    )
            articles = {aid: SavedArticle(**entry) for aid, entry in manifest["articles"].items()}
            langs = {a.lang for a in articles.values()}
            dense = {
                (kind, lang): DenseIndex.load(self._path(kind, lang), dimensions)
                for kind in KINDS
                for lang in langs
            }
            if self.encoder is not None:
                for lang in langs:
                    path = self._path(ENCODED, lang)
                    if path.exists():
                        dense[(ENCODED, lang)] = DenseIndex.load(path, self.encoder[1])
        except (
            OSError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RuntimeError,
            IndexMismatchError,
        ) as exc:
            log.warning(
                "not using the saved index in %s (%s): it will be rebuilt", self.directory, exc
            )
            return SavedIndex()
        return SavedIndex(articles=articles, dense=dense)
