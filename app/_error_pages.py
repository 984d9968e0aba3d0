"""Errors as pages for people: what went wrong in their words, and a way back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import Response

from app.routes.templates import templates

if TYPE_CHECKING:
    from app.errors import HTTPError

ROLE_PEOPLE = {"agent": "agents", "editor": "editors", "admin": "administrators"}
ROLE_ONE = {"agent": "an agent", "editor": "an editor", "admin": "an administrator"}
HOMES = {
    "agent": ("/agent", "Go to the agent console"),
    "admin": ("/agent", "Go to the agent console"),
    "editor": ("/editor", "Go to the editor"),
}


async def error_page(request: Request, exc: HTTPError) -> Response:
    """An HTML page for an HTTP error, with the top bar of the signed-in user."""
    from app.deps import get_signed_in  # deps raises these errors: imported when needed

    signed = await get_signed_in(request)
    user = signed.user if signed is not None else None
    role = str(getattr(user, "role", "") or "")
    home, home_label = HOMES.get(role, ("/", "Go to the start page"))
    roles: tuple[str, ...] = getattr(exc, "roles", ())
    if roles and user is not None:
        heading = "You can’t open this page"
        who = " or ".join(ROLE_PEOPLE.get(r, r) for r in roles)
        message = (
            f"This page is for {who}. You are signed in as {user.display_name}, "
            f"{ROLE_ONE.get(role, role)}. Ask an administrator if you need access."
        )
    elif exc.status_code == 404:
        heading, message = "Not found", f"{exc.message[:1].upper()}{exc.message[1:]}."
    else:
        heading, message = "This did not work", f"{exc.message[:1].upper()}{exc.message[1:]}."
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "user": user,
            "csrf_token": signed.csrf_token if signed is not None else "",
            "title": heading,
            "heading": heading,
            "message": message,
            "home": home,
            "home_label": home_label,
            "status": exc.status_code,
        },
        status_code=exc.status_code,
    )
