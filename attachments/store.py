"""Where attached files' bytes are kept: a `FileStore`, by key.

Keys are the SHA-256 of the content (64 hex digits), so a file sent twice is kept once and
nothing a user chose ever becomes a path. `DiskStore` keeps them under a folder
(`<data_dir>/attachments` by default); a store on S3 or the like would be another
subclass, implementing `_put` and `_get`.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

import anyio

from attachments.kinds import AttachmentError

_KEY = re.compile(r"[0-9a-f]{64}")


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class FileStore(ABC):
    """Keeps bytes under the SHA-256 of their content."""

    async def put(self, data: bytes) -> str:
        """Keep `data` (once, however often it is put); its key."""
        key = content_key(data)
        await self._put(key, data)
        return key

    async def get(self, key: str) -> bytes:
        """The bytes kept under `key`.

        Raises:
            AttachmentError: `not_found` when nothing is kept under `key`.
        """
        if not _KEY.fullmatch(key):
            raise AttachmentError("not_found", "no such file")
        data = await self._get(key)
        if data is None:
            raise AttachmentError("not_found", "the file is missing from the store")
        return data

    @abstractmethod
    async def _put(self, key: str, data: bytes) -> None:
        """Keep `data` under `key` (a well-formed key; it may be there already)."""

    @abstractmethod
    async def _get(self, key: str) -> bytes | None:
        """The bytes under `key`, or None."""


class DiskStore(FileStore):
    """Files in a folder, two levels of sub-folders by key: ab/cd/abcd…"""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:4] / key

    async def _put(self, key: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._write, self._path(key), data)

    async def _get(self, key: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._read, self._path(key))

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return  # the same content, by its key
        path.parent.mkdir(parents=True, exist_ok=True)
        # written aside, then renamed: a reader never sees half a file, even after a crash
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
