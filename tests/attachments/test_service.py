"""Checking, keeping and serving attached files (a real SQLite database, files on disk)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attachments.kinds import DEFAULT_TYPES, AttachmentError
from attachments.service import Attachments, StoredFile, Upload
from attachments.store import DiskStore
from storage.models import Conversation, Message
from tests.attachments._files import HTML, PDF, image

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def files(tmp_path: Path, sessions: async_sessionmaker[AsyncSession]) -> Attachments:
    return Attachments(
        DiskStore(tmp_path / "attachments"), sessions, max_bytes=1024 * 1024, types=DEFAULT_TYPES
    )


async def _attach(
    sessions: async_sessionmaker[AsyncSession], stored: list[StoredFile], name: str
) -> int:
    """A conversation with one customer message carrying `stored`; the conversation's id."""
    async with sessions.begin() as session:
        conversation = Conversation(public_id=name, token_hash=name, last_seq=1)
        session.add(conversation)
        await session.flush()
        message = Message(conversation_id=conversation.id, seq=1, role="customer", text="")
        session.add(message)
        await session.flush()
        session.add_all(s.row(conversation.id, message.id) for s in stored)
        return conversation.id


async def test_files_are_kept_under_their_hash_never_their_name(
    files: Attachments, tmp_path: Path
) -> None:
    photo = image("JPEG")
    [stored] = await files.keep([Upload("../破損.jpg", photo)])
    digest = hashlib.sha256(photo).hexdigest()
    assert stored.sha256 == digest and stored.filename == "破損.jpg"
    assert stored.content_type == "image/jpeg" and stored.size == len(photo)
    assert (stored.width, stored.height) == (800, 600) and stored.thumbnail is not None
    root = tmp_path / "attachments"
    kept = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    assert Path(f"{digest[:2]}/{digest[2:4]}/{digest}") in kept
    assert len(kept) == 2  # the photo and its thumbnail, nothing named by the user
    assert len(stored.id) == 32 and stored.summary()["image"] is True


async def test_a_refused_file_among_several_stores_none_of_them(
    files: Attachments, tmp_path: Path
) -> None:
    with pytest.raises(AttachmentError) as refused:
        await files.keep([Upload("a.png", image("PNG")), Upload("b.png", HTML)])
    assert refused.value.code == "unsupported_type"
    assert not (tmp_path / "attachments").exists()
    with pytest.raises(AttachmentError) as none:
        await files.keep([])
    assert none.value.code == "no_file"
    with pytest.raises(AttachmentError) as many:
        await files.keep([Upload("x.pdf", PDF)] * 6)
    assert many.value.code == "too_many_files"


async def test_a_file_is_served_to_its_conversation_and_staff_only(
    files: Attachments, sessions: async_sessionmaker[AsyncSession]
) -> None:
    [pdf] = await files.keep([Upload("label.pdf", PDF)])
    [photo] = await files.keep([Upload("photo.png", image("PNG"))])
    mine = await _attach(sessions, [pdf, photo], "mine")
    other = await _attach(sessions, [], "other")

    served = await files.download(pdf.id, mine)
    assert (served.content, served.content_type, served.filename) == (
        PDF,
        "application/pdf",
        "label.pdf",
    )
    assert served.inline is False  # a PDF is downloaded, an image shown
    assert (await files.download(photo.id, None)).inline is True  # staff
    thumb = await files.download(photo.id, mine, thumbnail=True)
    assert thumb.content_type == "image/webp" and thumb.filename == "photo.webp"

    for attachment_id, conversation, thumbnail in [
        (pdf.id, other, False),  # another conversation's customer
        (pdf.id, mine, True),  # a PDF has no thumbnail
        ("0" * 32, None, False),  # no such file
        ("../../etc/passwd", None, False),
    ]:
        with pytest.raises(AttachmentError) as missing:
            await files.download(attachment_id, conversation, thumbnail=thumbnail)
        assert missing.value.code == "not_found"


async def test_a_file_changed_on_disk_is_not_served(
    files: Attachments, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    [pdf] = await files.keep([Upload("label.pdf", PDF)])
    conversation = await _attach(sessions, [pdf], "c")
    path = tmp_path / "attachments" / pdf.sha256[:2] / pdf.sha256[2:4] / pdf.sha256
    path.write_bytes(HTML)
    with pytest.raises(AttachmentError) as refused:
        await files.download(pdf.id, conversation)
    assert refused.value.code == "not_found"
