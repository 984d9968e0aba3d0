"""What people see, in a real browser, kept as the README's pictures: `make screenshots`
runs this module with KAKEHASHI_SCREENSHOTS=docs/screenshots. Without that setting it is a
browser test like the others: the agent's context panel, the canned-responses hint, the
editor and the widget in English, Japanese and at 375 px wide."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.app._staff import StaffServer, browser, keep, signed_in, staff_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

__all__ = ["browser", "staff_server"]  # the fixtures
pytestmark = [pytest.mark.browser, pytest.mark.model]

ONE_LINE = """(cell) => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  const lines = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
  return lines.size;
}"""


def open_widget(page: Page, question: str) -> None:
    widget = page.locator("kakehashi-widget")
    widget.get_by_test_id("launcher").click()
    widget.get_by_test_id("input").fill(question)
    widget.get_by_test_id("send").click()
    widget.locator('[data-testid="message"][data-role="bot"]').last.wait_for(timeout=60_000)
    page.wait_for_timeout(600)  # the panel's opening animation


@pytest.mark.parametrize(
    ("name", "path", "question", "size"),
    [
        ("widget-en", "/", "How do I return an item?", {"width": 1280, "height": 860}),
        ("widget-ja", "/?lang=ja", "返品したい", {"width": 1280, "height": 860}),
        ("widget-mobile", "/", "How long does a refund take?", {"width": 375, "height": 740}),
    ],
)
def test_the_widget_answers_on_the_demo_page(
    browser: Browser,
    staff_server: StaffServer,
    name: str,
    path: str,
    question: str,
    size: ViewportSize,
) -> None:
    page = browser.new_context(viewport=size).new_page()
    page.goto(staff_server.base + path)
    open_widget(page, question)
    keep(page, name)
    page.close()


def test_the_agent_sees_the_problem_first_and_the_agent_stays_named_after_closing(
    browser: Browser, staff_server: StaffServer
) -> None:
    customer = browser.new_context().new_page()
    customer.goto(staff_server.base)
    open_widget(customer, "How long does delivery take?")
    widget = customer.locator("kakehashi-widget")
    problem = "My order 4411 still hasn't arrived after 10 days!!! This is ridiculous"
    widget.get_by_test_id("input").fill(problem)
    widget.get_by_test_id("send").click()
    waiting = widget.locator('[data-testid="state-banner"][data-state="waiting"]')
    try:
        waiting.wait_for(timeout=30_000)
    except Exception:  # not read as frustration: the customer asks for a person
        widget.get_by_test_id("input").fill("I want to talk to a person")
        widget.get_by_test_id("send").click()
        waiting.wait_for(timeout=30_000)

    agent = signed_in(browser, staff_server, "/agent", "aiko", "agent")
    errors: list[str] = []
    agent.on("pageerror", lambda error: errors.append(str(error)))
    entry = agent.get_by_test_id("queue-entry").first
    entry.wait_for(timeout=30_000)
    entry.get_by_test_id("claim").click()
    summary = agent.get_by_test_id("summary")
    summary.locator("li").first.wait_for(timeout=30_000)
    first = summary.locator("li").first.inner_text()
    assert first.startswith("Needs now:") and "4411" in first, first

    suggestions = agent.get_by_test_id("suggestion")
    suggestions.first.wait_for(timeout=15_000)
    assert 1 <= suggestions.count() <= 3
    previews = agent.get_by_test_id("suggestion-preview")
    for text in previews.all_inner_texts():
        assert "|---" not in text and "**" not in text and "## " not in text, text
    for cell in agent.locator('[data-testid="scores"] td').all():
        assert cell.evaluate(ONE_LINE) <= 1, f"{cell.inner_text()!r} wraps"

    # a team without canned responses is shown where to create them
    hint = agent.get_by_test_id("canned-none")
    assert hint.is_visible()
    assert hint.get_by_test_id("create-canned").get_attribute("href") == "/agent/canned#new"

    agent.get_by_test_id("composer").fill("Hello, this is Aiko. Let me look into order 4411.")
    agent.get_by_test_id("send").click()
    agent.get_by_test_id("message").filter(has_text="Let me look into").wait_for()
    keep(agent, "agent-console")

    agent.get_by_test_id("close").click()
    agent.get_by_test_id("close-outcome-resolved").check()
    agent.get_by_test_id("close-confirm").click()
    agent.locator('[data-testid="conv-state"]').filter(has_text="Closed").wait_for(timeout=15_000)
    assert "Aiko" in agent.get_by_test_id("conv-agent").inner_text(), "not 'Unassigned'"
    agent.reload()  # read back from the server as well
    cid = customer.evaluate("window.Kakehashi.state().conversationId")
    agent.goto(f"{staff_server.base}/agent#conversation={cid}")
    agent.reload()
    agent.locator('[data-testid="conv-state"]').filter(has_text="Closed").wait_for(timeout=15_000)
    assert "Aiko" in agent.get_by_test_id("conv-agent").inner_text()
    assert not errors, errors

    canned = agent.get_by_test_id("create-canned")
    canned.click()
    agent.wait_for_url(f"{staff_server.base}/agent/canned#new")
    assert agent.evaluate("document.activeElement.name") == "title", "ready to write one"
    keep(agent, "canned-empty")
    customer.close()
    agent.close()


def test_the_editor_shows_an_article_with_its_preview_and_history(
    browser: Browser, staff_server: StaffServer
) -> None:
    editor = signed_in(browser, staff_server, "/editor", "ken", "editor")
    editor.get_by_test_id("article-row").first.wait_for(timeout=15_000)
    keep(editor, "editor-list")
    editor.goto(f"{staff_server.base}/editor/articles/return-item")
    editor.locator('[data-testid="revision-row"][data-live="true"]').wait_for(timeout=15_000)
    editor.get_by_test_id("preview").locator("h2").first.wait_for()
    keep(editor, "editor-article")
    editor.close()
