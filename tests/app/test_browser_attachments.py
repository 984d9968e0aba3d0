"""Attachments in a real browser (Chromium via Playwright) against `kakehashi serve`: a
customer sends a photo from the widget, the agent who takes the conversation sees it and
sends a PDF back; a file the widget cannot send is refused in the customer's language."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pytest
from PIL import Image, ImageDraw

from tests.app._staff import StaffServer, browser, keep, signed_in, staff_server
from tests.attachments._files import HTML, PDF

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FilePayload, Locator, Page

__all__ = ["browser", "staff_server"]  # the fixtures
pytestmark = [pytest.mark.browser, pytest.mark.model]

LOADED = "(img) => img.complete && img.naturalWidth > 0"


def damaged_vase() -> bytes:
    """A photo-like JPEG: a blue vase on a table, cracked."""
    photo = Image.new("RGB", (1200, 900), (226, 220, 210))
    draw = ImageDraw.Draw(photo)
    draw.rectangle((0, 640, 1200, 900), fill=(150, 112, 80))  # the table
    draw.ellipse((430, 250, 770, 700), fill=(40, 90, 170))  # the body
    draw.rectangle((530, 150, 670, 320), fill=(40, 90, 170))  # the neck
    draw.ellipse((510, 130, 690, 180), fill=(30, 70, 140))
    draw.line(
        [(600, 160), (570, 300), (640, 420), (590, 560), (650, 690)], fill=(20, 20, 20), width=9
    )
    draw.polygon([(820, 700), (880, 660), (900, 720)], fill=(40, 90, 170))  # a shard
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=88)
    return out.getvalue()


def attach(page: Page, widget: Locator, file: FilePayload) -> None:
    """Choose a file through the paperclip, as a customer does."""
    button = widget.get_by_test_id("attach")
    page.wait_for_function(
        "() => { const b = document.querySelector('kakehashi-widget').shadowRoot"
        ".querySelector('[data-testid=attach]'); return b && !b.hidden && !b.disabled; }",
        timeout=30_000,
    )
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(file)


def test_a_customers_photo_reaches_the_agent_who_sends_a_pdf_back(
    browser: Browser, staff_server: StaffServer
) -> None:
    errors: list[str] = []
    # Aiko is online first: the customer is told a person will come, and she sees it live
    agent = signed_in(browser, staff_server, "/agent", "aiko", "agent")
    agent.on("pageerror", lambda error: errors.append(str(error)))
    thumbnails: list[int] = []
    agent.on(
        "response", lambda r: thumbnails.append(r.status) if r.url.endswith("/thumbnail") else None
    )
    customer = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    customer.on("pageerror", lambda error: errors.append(str(error)))
    customer.goto(staff_server.base)
    widget = customer.locator("kakehashi-widget")
    widget.get_by_test_id("launcher").click()
    widget.get_by_test_id("input").fill("My order arrived today and the vase is broken")
    widget.get_by_test_id("send").click()
    widget.locator('[data-testid="message"][data-role="bot"]').last.wait_for(timeout=60_000)

    attach(
        customer,
        widget,
        {"name": "broken-vase.jpg", "mimeType": "image/jpeg", "buffer": damaged_vase()},
    )
    thumb = widget.locator(
        '[data-role="customer"] [data-testid="attachment-image"][data-loaded="true"]'
    )
    thumb.wait_for(timeout=30_000)
    assert thumb.locator("img").evaluate(LOADED)
    assert widget.get_by_test_id("attach").get_attribute("aria-label") == "Attach a photo or PDF"
    # the bot does not answer the photo: it hands the conversation to a person
    notice = widget.locator('[data-testid="message"][data-role="bot"][data-kind="handoff"]')
    notice.last.wait_for(timeout=30_000)
    assert "can't look at photos" in notice.last.inner_text()
    widget.locator('[data-testid="state-banner"][data-state="waiting"]').wait_for(timeout=30_000)
    customer.wait_for_timeout(400)  # the last scroll
    assert notice.last.is_visible(), "the log follows the new messages"
    keep(customer, "widget-attachment")

    # the full picture opens over the page; Escape closes it and the chat stays open
    thumb.click()
    viewer = widget.get_by_test_id("viewer")
    viewer.wait_for()
    customer.wait_for_function(
        "() => { const i = document.querySelector('kakehashi-widget').shadowRoot"
        ".querySelector('[data-testid=viewer-image]'); return i && i.naturalWidth === 1200; }"
    )
    keep(customer, "widget-attachment-viewer")
    customer.keyboard.press("Escape")
    assert viewer.count() == 0 and widget.get_by_test_id("panel").is_visible()
    assert thumb.evaluate("(b) => b.getRootNode().activeElement === b"), "focus back on the photo"

    entry = agent.get_by_test_id("queue-entry").first
    entry.wait_for(timeout=30_000)
    assert "[attachment: broken-vase.jpg]" in entry.inner_text()
    entry.get_by_test_id("claim").click()
    seen = agent.locator('[data-testid="transcript"] [data-testid="attachment-thumbnail"]')
    seen.first.wait_for(timeout=30_000)
    agent.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=transcript] img')]"
        ".some((i) => i.complete && i.naturalWidth > 0)",
        timeout=15_000,
    )
    assert 200 in thumbnails, thumbnails
    link = agent.locator('[data-testid="transcript"] [data-testid="attachment-image"]').first
    assert (link.get_attribute("href") or "").startswith("/api/attachments/")
    context = agent.get_by_test_id("attachments")
    assert context.locator("img").first.get_attribute("alt") == "broken-vase.jpg"
    summary = agent.get_by_test_id("summary").inner_text()
    assert "sent a file for a person to look at" in summary, summary

    # the agent sends the return label back as a PDF
    agent.wait_for_function(
        "() => !document.querySelector('[data-testid=attach]').disabled", timeout=15_000
    )
    with agent.expect_file_chooser() as chooser:
        agent.get_by_test_id("attach").click()
    chooser.value.set_files(
        {"name": "return-label.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    agent.locator('[data-testid="transcript"] [data-testid="attachment-file"]').wait_for(
        timeout=15_000
    )
    keep(agent, "agent-attachment")
    chip = widget.locator('[data-role="agent"] [data-testid="attachment-file"]')
    chip.wait_for(timeout=15_000)
    assert "return-label.pdf" in chip.inner_text()
    with customer.expect_download() as download:
        chip.click()
    assert download.value.suggested_filename == "return-label.pdf"
    assert not errors, errors
    for page in (customer, agent):
        page.close()


def test_a_file_that_cannot_be_sent_is_refused_in_the_customers_language(
    browser: Browser, staff_server: StaffServer
) -> None:
    page = browser.new_context(viewport={"width": 375, "height": 740}).new_page()
    page.goto(f"{staff_server.base}/?lang=ja")
    widget = page.locator("kakehashi-widget")
    widget.get_by_test_id("launcher").click()
    widget.get_by_test_id("input").fill("返品したい")
    widget.get_by_test_id("send").click()
    answer = widget.locator('[data-testid="message"][data-role="bot"]').last
    answer.wait_for(timeout=60_000)
    attach(page, widget, {"name": "写真.png", "mimeType": "image/png", "buffer": HTML})
    error = widget.get_by_test_id("upload-error")
    error.wait_for(timeout=15_000)
    assert (
        "送信できるのは写真（PNG・JPEG・WebP・GIF）と PDF ファイルのみです。" in error.inner_text()
    )
    assert error.get_attribute("data-code") == "unsupported_type"
    assert widget.locator('[data-testid="message"][data-role="bot"]').count() >= 1  # kept
    page.wait_for_timeout(300)
    keep(page, "widget-attachment-refused")
    widget.get_by_test_id("upload-remove").click()
    assert widget.get_by_test_id("upload-error").count() == 0
    # the conversation goes on over the same socket
    widget.get_by_test_id("input").fill("送料はいくらですか")
    widget.get_by_test_id("send").click()
    widget.locator('[data-testid="message"][data-role="bot"]').nth(1).wait_for(timeout=60_000)
    page.close()
