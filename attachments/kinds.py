"""What kind of file an upload is, read from its first bytes, and the limits it must meet.

Names and the Content-Type a browser sends are the user's word; the signature at the start
of the bytes is the file's. A PNG called `scan.pdf` is a PNG (and is named `scan.png`);
an HTML page called `photo.png` is not an image and is refused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


class AttachmentError(Exception):
    """A file that cannot be attached, or one that is not there; `code` names which.

    Codes: `empty_file`, `file_too_large`, `unsupported_type`, `damaged_file`,
    `image_too_large`, `too_many_files`, `not_found`.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Kind:
    """A kind of file Kakehashi can take."""

    content_type: str
    extension: str  # without the dot, the usual one
    label: str  # as people name it
    image: bool  # decoded, thumbnailed, shown inline


KINDS: Mapping[str, Kind] = {
    kind.content_type: kind
    for kind in (
        Kind("image/png", "png", "PNG", image=True),
        Kind("image/jpeg", "jpg", "JPEG", image=True),
        Kind("image/webp", "webp", "WebP", image=True),
        Kind("image/gif", "gif", "GIF", image=True),
        Kind("application/pdf", "pdf", "PDF", image=False),
    )
}
DEFAULT_TYPES = tuple(KINDS)
#: Extensions a file of each kind may already carry (a JPEG named .jpeg keeps it).
EXTENSIONS: Mapping[str, frozenset[str]] = {
    "image/png": frozenset({"png"}),
    "image/jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    "image/webp": frozenset({"webp"}),
    "image/gif": frozenset({"gif"}),
    "application/pdf": frozenset({"pdf"}),
}


def sniff(data: bytes) -> Kind | None:
    """The kind of file these bytes are, by their signature; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return KINDS["image/png"]
    if data.startswith(b"\xff\xd8\xff"):
        return KINDS["image/jpeg"]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return KINDS["image/webp"]
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return KINDS["image/gif"]
    if data.startswith(b"%PDF-"):
        return KINDS["application/pdf"]
    return None


def check(data: bytes, allowed: Collection[str], max_bytes: int) -> Kind:
    """The kind of an upload that meets the limits.

    Args:
        data: The whole file.
        allowed: The content types that may be attached (`KAKEHASHI_ATTACHMENT_TYPES`).
        max_bytes: The largest file that may be attached (`KAKEHASHI_ATTACHMENT_MAX_BYTES`).

    Raises:
        AttachmentError: `empty_file`, `file_too_large` or `unsupported_type`.
    """
    if not data:
        raise AttachmentError("empty_file", "the file is empty: choose another one")
    if len(data) > max_bytes:
        raise AttachmentError(
            "file_too_large",
            f"the file is {human_size(len(data))}; files of at most {human_size(max_bytes)} "
            "can be attached",
        )
    if not allowed:
        raise AttachmentError("unsupported_type", "attaching files is turned off here")
    kind = sniff(data)
    if kind is None or kind.content_type not in allowed:
        raise AttachmentError(
            "unsupported_type",
            f"only {describe(allowed)} files can be attached, and this file is not one of them",
        )
    return kind


def describe(types: Collection[str]) -> str:
    """ "PNG, JPEG, WebP, GIF or PDF" for the allowed types."""
    labels = [KINDS[t].label for t in KINDS if t in types]
    if len(labels) <= 1:
        return "".join(labels) or "no"
    return f"{', '.join(labels[:-1])} or {labels[-1]}"


def human_size(size: int) -> str:
    """1536 -> "1.5 KB", 10485760 -> "10 MB" (binary multiples, as file managers count)."""
    if size < 1024:
        return f"{size} bytes"
    value, unit = (size / 1024, "KB") if size < 1024 * 1024 else (size / 1024 / 1024, "MB")
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"
