"""Files in conversations: customers and agents attach them, participants open them.

Customers (the widget, maybe on a shop's own origin) prove themselves with the
conversation's token in `X-Conversation-Token`; staff with their session (and CSRF token)
or an API token. Docs: docs/protocol.md, "Attachments".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette import status

from accounts.users import Role
from app.deps import ServicesDep, get_signed_in, require
from app.errors import HTTPError
from app.guard import ChatGuard, RateLimited, client_address
from app.routes._responses import (
    AttachmentId,
    ConversationId,
    Responses,
    refused,
)
from app.routes._uploads import (
    FILE_CSP,
    TOKEN_HEADER,
    UploadError,
    content_disposition,
    cors_headers,
    http_error,
    read_upload,
)
from app.services import Services
from attachments.kinds import AttachmentError
from attachments.service import MAX_FILES
from conversations.attaching import send_files
from conversations.errors import ChatError

router = APIRouter()

# What each refusal is in HTTP
STATUS = {
    "no_file": status.HTTP_400_BAD_REQUEST,
    "too_many_files": status.HTTP_400_BAD_REQUEST,
    "empty_file": status.HTTP_400_BAD_REQUEST,
    "file_too_large": status.HTTP_413_CONTENT_TOO_LARGE,
    "image_too_large": status.HTTP_413_CONTENT_TOO_LARGE,
    "unsupported_type": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "damaged_file": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "not_found": status.HTTP_404_NOT_FOUND,
    "unknown_conversation": status.HTTP_404_NOT_FOUND,
    "conversation_closed": status.HTTP_409_CONFLICT,
    "not_claimed": status.HTTP_409_CONFLICT,
    "not_owner": status.HTTP_403_FORBIDDEN,
    "rate_limited": status.HTTP_429_TOO_MANY_REQUESTS,
}
NO_SUCH_CONVERSATION = "no conversation with this id holds this token"
TOKEN_CSRF = "x-csrf-token"

# What the OpenAPI schema says of these routes (the form is read by hand, within its limit)
_TOKEN = {
    "name": TOKEN_HEADER,
    "in": "header",
    "required": False,
    "description": "The customer's conversation token (staff sign in instead)",
    "schema": {"type": "string"},
}
_TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # no NUL
_UPLOAD: dict[str, Any] = {
    "parameters": [_TOKEN],
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "client_id"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "maxItems": MAX_FILES,
                        },
                        "client_id": {
                            **_TEXT,
                            "minLength": 1,
                            "maxLength": 64,
                            "pattern": "^[^\\x00]*[^\\x00\\s][^\\x00]*$",  # not blank
                        },
                        "text": {**_TEXT, "maxLength": 4000},
                    },
                }
            }
        },
    },
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}


_FILE: Responses = {
    200: {
        "description": "The file, with the type read from its bytes",
        "content": {kind: _BINARY for kind in ("image/*", "application/pdf")},
    },
    **refused(401, 403, 404),
}


@router.post(
    "/api/conversations/{conversation_id}/attachments",
    status_code=201,
    responses={
        200: {"description": "A resend (the same `client_id`): the stored message again"},
        **refused(400, 401, 403, 404, 409, 413, 415, 422, 429),
    },
    openapi_extra=_UPLOAD,
)
async def attach_files(
    conversation_id: ConversationId, request: Request, services: ServicesDep
) -> Response:
    """Send files (and optional text) as a message: the customer, or the agent who has it."""
    cors = cors_headers(request, services.settings.allowed_origins)
    try:
        frame, duplicate = await _attach(conversation_id, request, services)
    except HTTPError as exc:
        return _error(exc, cors)
    code = status.HTTP_200_OK if duplicate else status.HTTP_201_CREATED
    return JSONResponse(frame, status_code=code, headers=cors)


async def _attach(
    conversation_id: str, request: Request, services: ServicesDep
) -> tuple[dict[str, Any], bool]:
    files = services.attachments

    async def form() -> Any:
        return await read_upload(
            request,
            max_bytes=files.max_bytes,
            max_files=MAX_FILES,
            max_chars=services.settings.max_message_chars,
        )

    try:
        token = request.headers.get(TOKEN_HEADER)
        if token is not None:  # the customer
            ref = await services.conversations.resume(token)
            if ref is None or ref.public_id != conversation_id:
                raise http_error(status.HTTP_404_NOT_FOUND, "not_found", NO_SUCH_CONVERSATION)
            guard: ChatGuard = request.app.state.guard
            await guard.event(client_address(request), ref.public_id)
            upload = await form()
            frame, duplicate = await send_files(
                services.conversations, files, ref, upload.client_id, upload.text, upload.uploads
            )
            return dict(frame), duplicate
        signed_in = await get_signed_in(request)
        if signed_in is not None and not signed_in.via_token and TOKEN_CSRF not in request.headers:
            # checked before anything reads the form (where a CSRF token could be too)
            raise http_error(
                status.HTTP_403_FORBIDDEN, "csrf_failed", "missing or wrong CSRF token"
            )
        signed = await require(Role.AGENT)(request, signed_in)
        upload = await form()
        reply = await services.agents.reply(
            signed.user.id, conversation_id, upload.client_id, upload.text, upload.uploads
        )
        return reply, False
    except RateLimited as exc:
        raise UploadError(STATUS["rate_limited"], exc.code, exc.message, exc.retry_after) from None
    except (AttachmentError, ChatError) as exc:
        code = exc.code
        raise http_error(STATUS.get(code, status.HTTP_400_BAD_REQUEST), code, exc.message) from None


@router.get(
    "/api/attachments/{attachment_id}",
    response_class=Response,
    responses=_FILE,
    openapi_extra={"parameters": [_TOKEN]},
)
async def attachment_file(
    attachment_id: AttachmentId, request: Request, services: ServicesDep
) -> Response:
    """An attached file, for its conversation's customer and for staff."""
    return await _serve(attachment_id, request, services, thumbnail=False)


@router.get(
    "/api/attachments/{attachment_id}/thumbnail",
    response_class=Response,
    responses=_FILE,
    openapi_extra={"parameters": [_TOKEN]},
)
async def attachment_thumbnail(
    attachment_id: AttachmentId, request: Request, services: ServicesDep
) -> Response:
    """An attached image's thumbnail (at most 320 pixels on a side, WebP)."""
    return await _serve(attachment_id, request, services, thumbnail=True)


# a browser's CORS preflight, not an operation of the API: not in the OpenAPI schema
@router.options("/api/conversations/{conversation_id}/attachments", include_in_schema=False)
@router.options("/api/attachments/{attachment_id}", include_in_schema=False)
@router.options("/api/attachments/{attachment_id}/thumbnail", include_in_schema=False)
async def preflight(request: Request, services: ServicesDep) -> Response:
    """CORS: the widget on an allowed shop's page may send its token to these routes."""
    headers = cors_headers(request, services.settings.allowed_origins)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)


async def _serve(
    attachment_id: str, request: Request, services: Services, *, thumbnail: bool
) -> Response:
    cors = cors_headers(request, services.settings.allowed_origins)
    try:
        viewer = await _viewer(request, services)
        file = await services.attachments.download(attachment_id, viewer, thumbnail=thumbnail)
    except HTTPError as exc:
        return _error(exc, cors)
    except AttachmentError as exc:
        return _error(http_error(status.HTTP_404_NOT_FOUND, exc.code, exc.message), cors)
    headers = {
        **cors,
        "Content-Disposition": content_disposition(file.filename, file.inline),
        "Content-Security-Policy": FILE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400",
    }
    return Response(file.content, media_type=file.content_type, headers=headers)


async def _viewer(request: Request, services: Services) -> int | None:
    """The conversation whose files the customer may see, or None for staff (all files).

    Raises:
        HTTPError: 404 for a token of no conversation, 401 without any credentials, 403
            for someone signed in who is not an agent or an admin.
    """
    token = request.headers.get(TOKEN_HEADER)
    if token is not None:
        ref = await services.conversations.resume(token)
        if ref is None:
            raise http_error(status.HTTP_404_NOT_FOUND, "not_found", "no such file")
        return ref.id
    await require(Role.AGENT)(request, await get_signed_in(request))
    return None


def _error(exc: HTTPError, headers: dict[str, str]) -> JSONResponse:
    extra = {}
    if isinstance(exc, UploadError) and exc.retry_after is not None:
        extra["retry_after"] = exc.retry_after
        headers = {**headers, "Retry-After": str(exc.retry_after)}
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message, **extra}},
        status_code=exc.status_code,
        headers=headers,
    )
