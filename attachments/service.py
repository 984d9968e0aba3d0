"""Attachments: check an upload, keep it (and its thumbnail), and hand it back for serving.

A file becomes part of a message in the conversation's own transaction (its `Attachment`
row from `StoredFile.row`); what is checked and stored here first is only bytes under their
hash, so a refused or abandoned upload leaves no row behind.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attachments import images
from attachments.kinds import KINDS, AttachmentError, check
from attachments.names import clean_filename
from attachments.store import FileStore, content_key
from storage.models import Attachment

MAX_FILES = 5  # in one message
_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name the browser gave and the bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    """A checked file in the store, about to become part of a message."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    thumbnail: str | None
    width: int | None
    height: int | None

    def summary(self) -> dict[str, Any]:
        """What the message keeps about it (`meta["attachments"]`), for frames and mail."""
        return {
            "id": self.id,
            "name": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "image": self.thumbnail is not None,
            "width": self.width,
            "height": self.height,
        }

    def row(self, conversation_id: int, message_id: int) -> Attachment:
        return Attachment(
            id=self.id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename=self.filename,
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256,
            thumbnail=self.thumbnail,
            width=self.width,
            height=self.height,
        )


@dataclass(frozen=True)
class Download:
    """A file to serve: its bytes, type, name, and whether a browser may show it inline."""

    content: bytes
    content_type: str
    filename: str
    inline: bool


class Attachments:
    """Checks, keeps and serves attached files.

    Args:
        store: Where the bytes are kept.
        sessions: The database (to find a file's conversation when it is asked for).
        max_bytes: The largest file taken (`KAKEHASHI_ATTACHMENT_MAX_BYTES`).
        types: The content types taken (`KAKEHASHI_ATTACHMENT_TYPES`; empty: none).
    """

    def __init__(
        self,
        store: FileStore,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_bytes: int,
        types: Collection[str],
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.max_bytes = max_bytes
        self.types = tuple(t for t in KINDS if t in types)

    def limits(self) -> dict[str, Any]:
        """What a client may attach (the chat's `welcome` says it)."""
        return {"max_bytes": self.max_bytes, "types": list(self.types), "max_files": MAX_FILES}

    async def keep(self, uploads: Sequence[Upload]) -> list[StoredFile]:
        """Check every upload, then store each with its thumbnail.

        Raises:
            AttachmentError: the first refusal (`no_file`, `too_many_files`, `empty_file`,
                `file_too_large`, `unsupported_type`, `damaged_file`, `image_too_large`);
                nothing is stored then.
        """
        if not uploads:
            raise AttachmentError("no_file", "no file was sent: attach one in the field 'file'")
        if len(uploads) > MAX_FILES:
            raise AttachmentError(
                "too_many_files", f"{len(uploads)} files at once; at most {MAX_FILES} per message"
            )
        checked = []
        for upload in uploads:
            kind = check(upload.data, self.types, self.max_bytes)
            picture = (
                await anyio.to_thread.run_sync(images.picture, upload.data, kind)
                if kind.image
                else None
            )
            checked.append((upload, kind, picture))
        stored = []
        for upload, kind, picture in checked:
            thumbnail = await self.store.put(picture.thumbnail) if picture else None
            stored.append(
                StoredFile(
                    id=secrets.token_hex(16),
                    filename=clean_filename(upload.filename, kind),
                    content_type=kind.content_type,
                    size=len(upload.data),
                    sha256=await self.store.put(upload.data),
                    thumbnail=thumbnail,
                    width=picture.width if picture else None,
                    height=picture.height if picture else None,
                )
            )
        return stored

    async def download(
        self, attachment_id: str, conversation_id: int | None, *, thumbnail: bool = False
    ) -> Download:
        """A file (or its thumbnail) for someone allowed to see it.

        Args:
            attachment_id: The file's id (in its URL).
            conversation_id: The customer's conversation; None for staff, who see all.
            thumbnail: The thumbnail instead of the file (images only).

        Raises:
            AttachmentError: `not_found` for an unknown id, a file of another conversation,
                or a thumbnail of a file that has none: never which of them.
        """
        row = None
        if _ID.fullmatch(attachment_id):
            async with self.sessions() as session:
                row = await session.get(Attachment, attachment_id)
        if row is None or conversation_id not in (None, row.conversation_id):
            raise AttachmentError("not_found", "no such file in this conversation")
        if thumbnail:
            if row.thumbnail is None:
                raise AttachmentError("not_found", "this file has no thumbnail")
            stem = row.filename.rpartition(".")[0] or row.filename
            return Download(
                await self.store.get(row.thumbnail), "image/webp", f"{stem}.webp", inline=True
            )
        content = await self.store.get(row.sha256)
        if content_key(content) != row.sha256:  # never serve bytes that are not the upload
            raise AttachmentError("not_found", "the stored file is damaged")
        return Download(
            content, row.content_type, row.filename, inline=KINDS[row.content_type].image
        )
