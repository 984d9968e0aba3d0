"""Reading an upload within its limit, and the headers that go with attached files.

The body of an upload is read up to its limit before anything parses it (a client that
sends more is refused at that point, never spooled whole to disk first), then handed to
Starlette's multipart parser. Files are served so that a browser can never run them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request
from starlette import status
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Message

from app.errors import HTTPError
from app.routes._fields import clean_text
from app.routes._origins import parse_origin
from attachments.kinds import human_size
from attachments.service import Upload

TOKEN_HEADER = "X-Conversation-Token"
FORM_SLACK = 64 * 1024  # the form's own parts: boundaries, headers, the text, client_id
MAX_CLIENT_ID = 64
# Served files run nothing and load nothing, even opened on their own in a tab
FILE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


class UploadError(HTTPError):
    """An attachment route's refusal: JSON `{"error": {"code", "message"}}` with a status
    of its own (and `retry_after` seconds when it was a rate limit)."""

    def __init__(
        self, status_code: int, code: str, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.retry_after = retry_after


def http_error(status_code: int, code: str, message: str) -> UploadError:
    return UploadError(status_code, code, message)


@dataclass(frozen=True)
class UploadForm:
    client_id: str
    text: str
    uploads: list[Upload]


async def read_upload(
    request: Request, *, max_bytes: int, max_files: int, max_chars: int
) -> UploadForm:
    """The multipart form of an upload: `file` (once or more), `client_id`, `text`.

    Raises:
        HTTPError: 413 `file_too_large` past the limit (files and form together), 400
            `invalid_upload` for a body that is not such a form.
    """
    limit = max_bytes * max_files + FORM_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(len(body), max_bytes)

    async def replay() -> Message:
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=max_files, max_fields=4) as form:
            files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
            uploads = [Upload(f.filename or "", await f.read()) for f in files]
            client_id, text = form.get("client_id"), form.get("text") or ""
    except HTTPException as exc:  # not multipart, too many parts
        raise http_error(status.HTTP_400_BAD_REQUEST, "invalid_upload", str(exc.detail)) from None
    if not isinstance(client_id, str) or not 0 < len(client_id.strip()) <= MAX_CLIENT_ID:
        raise http_error(
            status.HTTP_400_BAD_REQUEST,
            "invalid_field",
            f"'client_id' must be 1-{MAX_CLIENT_ID} characters (a new one per message)",
        )
    if not isinstance(text, str) or not clean_text(text) or not clean_text(client_id):
        raise http_error(
            status.HTTP_400_BAD_REQUEST, "invalid_field", "'text' must be text (or left out)"
        )
    if len(text) > max_chars:
        raise http_error(
            status.HTTP_400_BAD_REQUEST,
            "text_too_long",
            f"the message has {len(text)} characters; the limit is {max_chars}",
        )
    return UploadForm(client_id, text.strip(), uploads)


def _too_large(size: int, max_bytes: int) -> UploadError:
    return http_error(
        status.HTTP_413_CONTENT_TOO_LARGE,
        "file_too_large",
        f"the upload is {human_size(size)}; files of at most {human_size(max_bytes)} "
        "can be attached",
    )


def content_disposition(filename: str, inline: bool) -> str:
    """`inline` or `attachment`, with an ASCII name and the real one (RFC 6266 / 5987)."""
    stem, _, extension = filename.rpartition(".")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = "".join(c if c.isalnum() or c in " -_.()" else "_" for c in ascii_stem)
    fallback = f"{ascii_stem.strip(' ._') or 'attachment'}.{extension}"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def cors_headers(request: Request, allowed: list[str]) -> dict[str, str]:
    """A shop's page (an allowed origin) may call the customers' routes from its widget."""
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    parsed = parse_origin(origin)
    if parsed is None or ("*" not in allowed and parsed not in {parse_origin(o) for o in allowed}):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": f"{TOKEN_HEADER}, Content-Type",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
