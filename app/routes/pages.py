"""Public pages: the demo shop page with the widget, the widget script, health."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.deps import ServicesDep

router = APIRouter()
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
WIDGET = Path(__file__).resolve().parent.parent / "static" / "widget.js"


@router.get("/", response_class=HTMLResponse)
async def demo_page(request: Request, lang: Literal["en", "ja"] = "en") -> HTMLResponse:
    """A sample shop page with the chat widget embedded."""
    return TEMPLATES.TemplateResponse(
        request, "demo.html", {"widget_url": str(request.url_for("widget_script")), "lang": lang}
    )


@router.get("/widget.js", name="widget_script")
async def widget_script() -> FileResponse:
    """The embeddable widget (one <script> tag on any site)."""
    return FileResponse(WIDGET, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/healthz")
async def health(services: ServicesDep) -> dict[str, object]:
    """Liveness and what the bot knows."""
    return {
        "status": "ok",
        "articles": len(services.retriever),
        "languages": services.retriever.languages,
    }
