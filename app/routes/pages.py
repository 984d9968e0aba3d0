"""Public pages: the demo shop page with the widget, the widget script, health."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response
from starlette.types import Scope

router = APIRouter()
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
WIDGET = Path(__file__).resolve().parent.parent / "static" / "widget.js"


class PublicStaticFiles(StaticFiles):
    """/static: the widget's ES modules are imported by shops' pages on other origins.

    Module scripts are fetched with CORS, so every file says any origin may load it (all of
    them are public and no cookie is sent with such a request). `no-cache` makes browsers
    revalidate, so a page never mixes modules of two releases.
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


@router.get("/", response_class=HTMLResponse)
async def demo_page(request: Request, lang: Literal["en", "ja"] = "en") -> HTMLResponse:
    """A sample shop page with the chat widget embedded."""
    return TEMPLATES.TemplateResponse(
        request, "demo.html", {"widget_url": str(request.url_for("widget_script")), "lang": lang}
    )


@router.get(
    "/widget.js",
    name="widget_script",
    response_class=FileResponse,
    responses={200: {"content": {"text/javascript": {"schema": {"type": "string"}}}}},
)
async def widget_script() -> FileResponse:
    """The embeddable widget (one <script> tag on any site)."""
    return FileResponse(WIDGET, media_type="text/javascript", headers={"Cache-Control": "no-cache"})
