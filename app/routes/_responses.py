"""What the OpenAPI schema says routes answer besides success: the error JSON, pages, files.

Every refusal of the JSON API is `{"error": {"code", "message"}}` (app/errors.py); a request
FastAPI itself finds invalid gets its `{"detail": [...]}` list with 422. Routes declare the
statuses they can answer with `responses=refused(...)`, so the schema matches what they do
(tests/app/test_schema.py holds them to it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

from retrieval.kb import ARTICLE_ID

Responses = dict[int | str, dict[str, Any]]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and machine-readable, e.g. `not_found`, `csrf_failed`")
    message: str = Field(description="What was wrong and what to do instead")
    retry_after: int | None = Field(
        default=None, description="With 429: whole seconds to wait before sending it again"
    )


class ErrorBody(BaseModel):
    """A refusal: what was wrong, as a code and a message."""

    error: ErrorDetail


class FieldProblem(BaseModel):
    loc: list[str | int] = Field(description="Where: `body`, `query`, `path`, then the field")
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """FastAPI's answer to a request whose fields do not match the schema."""

    detail: list[FieldProblem]


WHY = {
    400: "The request cannot be carried out as sent (a JSON body that is not UTF-8 text, "
    "say); the message says why",
    401: "Not signed in: no session cookie or API token, or one that is unknown or expired",
    403: "Signed in without the role this needs, a missing or wrong CSRF token, or a "
    "temporary password still to be replaced (`password_change_required`)",
    404: "Nothing with this id (the message names it)",
    405: "Not a method this path answers (`Allow` lists those it does)",
    409: "In conflict with the current state (the message says which)",
    413: "Larger than the limit (the message says it)",
    415: "A kind of file or body that is not accepted",
    422: "A field or parameter that is not valid: FastAPI's `detail` list, or an `error` "
    "(such as `unstorable`, text with a NUL character the database refuses)",
    429: "Too many requests: wait `retry_after` seconds (also in `Retry-After`)",
}
HTML = {"text/html": {"schema": {"type": "string"}}}
_REF = "#/components/schemas/"


def refused(*statuses: int, page: bool = False, why: dict[int, str] | None = None) -> Responses:
    """Declarations of these error statuses; a `page` answers a browser with HTML instead.

    Args:
        statuses: The statuses the route can refuse with.
        page: The route is a page (its refusals may be HTML too).
        why: Descriptions of this route's own, instead of the general ones.
    """
    declared: Responses = {}
    for status in statuses:
        description = (why or {}).get(status, WHY[status])
        if not page:
            model: Any = ErrorBody | InvalidRequest if status == 422 else ErrorBody
            declared[status] = {"model": model, "description": description}
            continue
        # a page's own media type is HTML: its JSON answers are spelled out
        names = ["ErrorBody", "InvalidRequest"] if status == 422 else ["ErrorBody"]
        schema = {"anyOf": [{"$ref": _REF + name} for name in names]}
        declared[status] = {
            "description": description,
            "content": {"application/json": {"schema": schema}, **HTML},
        }
    return declared


SIGNED_IN = refused(401, 403)  # every route that needs someone signed in

# What ids look like, shown in the schema; any other is simply found nowhere (404)
_CONVERSATION_ID = {"type": "string", "format": "uuid"}
_ATTACHMENT_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
ConversationId = Annotated[str, Path(json_schema_extra=_CONVERSATION_ID)]
ArticleId = Annotated[str, Path(json_schema_extra={"pattern": ARTICLE_ID.pattern})]
AttachmentId = Annotated[str, Path(json_schema_extra=_ATTACHMENT_ID)]


def page(*statuses: int, why: dict[int, str] | None = None) -> Responses:
    """A page for signed-in people: HTML, a redirect to sign in, or refusals as JSON or HTML."""
    return {
        200: {"content": HTML, "description": "The page"},
        303: {"description": "Not signed in (a browser): to /login, or to choose a password"},
        **refused(401, 403, *statuses, page=True, why=why),
    }


def redirect(description: str) -> Responses:
    return {303: {"description": description}}


def form(done: str, again: dict[int, str], *statuses: int) -> Responses:
    """A form a browser posts: a redirect once `done`, else the form again (HTML) with what
    was wrong (`again`: status -> when), or JSON refusals of `statuses`."""
    shown: Responses = {s: {"content": HTML, "description": why} for s, why in again.items()}
    return {**redirect(done), **shown, **refused(*statuses)}
