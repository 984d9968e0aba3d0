"""What staff see, in a real browser (Chromium via Playwright) against `kakehashi serve`:
staged article changes in the editor, error pages for people, the agent's context panel."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from websockets.asyncio.client import connect

from tests.app._staff import StaffServer, browser, keep, serving, signed_in, staff_server
from tests.app.test_browser import ask_in_widget
from tests.conftest import SAMPLE_KB

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

__all__ = ["browser", "staff_server"]  # the fixtures

pytestmark = [pytest.mark.browser, pytest.mark.model]
QUESTION = "風呂敷包みはできますか"
FUROSHIKI = "年末年始限定で、風呂敷包みを1点550円で承ります。"


def test_a_staged_change_reaches_the_bot_only_when_published(
    browser: Browser, staff_server: StaffServer
) -> None:
    base = staff_server.base
    editor = signed_in(browser, staff_server, "/editor", "ken", "editor")
    errors: list[str] = []
    editor.on("pageerror", lambda error: errors.append(str(error)))
    editor.goto(f"{base}/editor/articles/gift-wrapping-ja")
    body = editor.get_by_test_id("field-body")
    editor.wait_for_function(
        "() => document.querySelector('[data-testid=\"field-body\"]').value.length > 0"
    )
    live_badge = editor.locator('[data-testid="revision-row"][data-live="true"]')
    live_badge.wait_for()
    assert editor.get_by_test_id("publish").is_disabled(), "nothing to publish yet"
    body.fill(body.input_value() + "\n\n## 風呂敷包み\n" + FUROSHIKI)
    editor.get_by_test_id("field-note").fill("風呂敷包みを追加")
    editor.get_by_test_id("save").click()
    message = editor.get_by_test_id("message")
    message.filter(has_text="as a draft").wait_for(timeout=10_000)
    assert "publish to make it live" in message.inner_text()
    assert "the bot answers from it" not in message.inner_text()
    staged = editor.get_by_test_id("staged")
    assert staged.is_visible() and "revision 1" in staged.inner_text()
    rows = editor.get_by_test_id("revision-row")
    rows.filter(has_text="Revision 2").wait_for()
    assert rows.first.get_attribute("data-live") is None, "the new revision is not live"
    assert editor.locator('[data-live="true"]').get_attribute("data-revision") == "1"

    # the customers' bot does not know the draft
    customer = browser.new_context().new_page()
    customer.goto(f"{base}/?lang=ja")
    answer = ask_in_widget(customer, QUESTION)
    assert "550円" not in answer.inner_text()

    # "Try it" answers as customers are answered now, or with the draft when asked to
    editor.get_by_test_id("try-question").fill(QUESTION)
    editor.get_by_test_id("try-submit").click()
    source = editor.get_by_test_id("try-source")
    source.filter(has_text="now").wait_for(timeout=30_000)
    assert "550円" not in editor.get_by_test_id("try-result").inner_text()
    draft = editor.get_by_test_id("try-draft")
    assert draft.is_visible()
    draft.check()
    editor.get_by_test_id("try-submit").click()
    source.filter(has_text="revision 2").wait_for(timeout=30_000)
    assert "550円" in editor.get_by_test_id("try-result").inner_text()
    keep(editor, "editor-staged-draft")

    editor.get_by_test_id("publish").click()
    message.filter(has_text="Published revision 3").wait_for(timeout=10_000)
    assert "the bot answers from it now" in message.inner_text()  # it does: asked below
    assert editor.get_by_test_id("staged").is_hidden()
    editor.locator('[data-live="true"][data-revision="3"]').wait_for()
    assert editor.get_by_test_id("try-draft").is_hidden(), "no draft left to preview"
    assert not errors, errors
    message.scroll_into_view_if_needed()
    keep(editor, "editor-published")

    later = browser.new_context().new_page()
    later.goto(f"{base}/?lang=ja")
    assert "550円" in ask_in_widget(later, QUESTION).inner_text()
    for page in (editor, customer, later):
        page.close()


def test_staff_move_between_their_pages_from_the_top_bar(
    browser: Browser, staff_server: StaffServer
) -> None:
    """The console, the articles and the reports are a click apart for whoever may open
    them; nobody is offered a page that would refuse them."""
    base = staff_server.base
    editor = signed_in(browser, staff_server, "/editor/gaps", "ken", "editor")
    assert editor.get_by_test_id("nav-console").count() == 0
    assert editor.get_by_test_id("nav-reports").count() == 0
    editor.get_by_test_id("nav-articles").click()
    editor.wait_for_url(f"{base}/editor")
    editor.close()
    agent = signed_in(browser, staff_server, "/reports", "aiko", "agent")
    assert agent.get_by_test_id("nav-articles").count() == 0
    agent.get_by_test_id("nav-console").click()
    agent.wait_for_url(f"{base}/agent")
    keep(agent, "agent-top-bar")
    agent.set_viewport_size({"width": 390, "height": 844})
    bar = agent.locator(".kk-topbar").bounding_box()
    assert bar is not None
    for link in ("nav-console", "nav-reports", "logout"):
        box = agent.get_by_test_id(link).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, link
    keep(agent, "agent-top-bar-phone")
    agent.close()


def test_an_editor_opening_the_reports_gets_a_page_with_a_way_back(
    browser: Browser, staff_server: StaffServer
) -> None:
    editor = signed_in(browser, staff_server, "/editor", "ken", "editor")
    response = editor.goto(f"{staff_server.base}/reports")
    assert response is not None and response.status == 403
    heading = editor.get_by_test_id("error-heading")
    assert heading.inner_text() == "You can’t open this page"
    assert "This page is for agents" in editor.get_by_test_id("error-message").inner_text()
    assert "{" not in editor.locator("main").inner_text(), "no raw JSON"
    keep(editor, "error-page")
    editor.get_by_test_id("error-home").click()
    editor.wait_for_url(f"{staff_server.base}/editor")
    editor.close()


def test_a_temporary_password_asks_for_a_new_one_before_the_console_opens(
    browser: Browser, staff_server: StaffServer
) -> None:
    base = staff_server.base
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(f"{base}/agent")
    page.get_by_test_id("username").fill("mika")
    page.get_by_test_id("password").fill(staff_server.password("admin"))
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base}/account/password?next=/agent")
    assert "temporary password" in page.get_by_test_id("password-required").inner_text()
    page.get_by_test_id("current-password").fill(staff_server.password("admin"))
    page.get_by_test_id("new-password").fill("mika-chooses-this-one")
    page.get_by_test_id("repeat-password").fill("mika-chooses-this-too")
    page.get_by_test_id("password-submit").click()
    error = page.get_by_test_id("password-error")
    error.wait_for()
    assert "not the same" in error.inner_text()
    keep(page, "password-change")
    page.get_by_test_id("current-password").fill(staff_server.password("admin"))
    page.get_by_test_id("new-password").fill("mika-chooses-this-one")
    page.get_by_test_id("repeat-password").fill("mika-chooses-this-one")
    page.get_by_test_id("password-submit").click()
    page.wait_for_url(f"{base}/agent")
    assert page.get_by_test_id("user-name").inner_text() == "Mika"


def write_again_then_open_gaps(
    browser: Browser, staff_server: StaffServer, customer: Page, text: str
) -> tuple[Page, list[str]]:
    """The customer's second message, answered; then the editor's gaps page, and the
    page errors it will collect."""
    widget = customer.locator("kakehashi-widget")
    widget.get_by_test_id("input").fill(text)
    widget.get_by_test_id("send").click()
    widget.locator('[data-testid="message"][data-role="bot"]').nth(1).wait_for(timeout=30_000)
    editor = signed_in(browser, staff_server, "/editor/gaps", "ken", "editor")
    errors: list[str] = []
    editor.on("pageerror", lambda error: errors.append(str(error)))
    return editor, errors


def test_an_answer_followed_by_asking_for_a_person_shows_on_the_gaps_page(
    browser: Browser, staff_server: StaffServer
) -> None:
    base = staff_server.base
    customer = browser.new_context().new_page()
    customer.goto(f"{base}/?lang=en")
    question = "How do I return an item I bought?"
    answer = ask_in_widget(customer, question)
    given = answer.inner_text()
    editor, errors = write_again_then_open_gaps(
        browser, staff_server, customer, "That doesn't help. Can I talk to a real person?"
    )
    mistake = editor.get_by_test_id("gap-mistake").filter(has_text=question)
    mistakes = editor.get_by_test_id("gap-mistakes").filter(has=mistake)
    mistakes.locator("summary").click()
    mistake.wait_for(timeout=10_000)
    shown = mistake.inner_text()
    assert "answered, then asked for a person" in shown
    first_step = given.splitlines()[1][:30]  # after the widget's "Assistant:" label
    assert first_step in shown and "**" not in shown, (given, shown)
    assert mistake.locator("a[href^='/editor/articles/']").count() == 1, "the cited article"
    keep(editor, "editor-gaps-mistakes")
    assert not errors, errors


def test_articles_offered_and_passed_over_show_on_the_gaps_page(
    browser: Browser, staff_server: StaffServer
) -> None:
    customer = browser.new_context().new_page()
    customer.goto(f"{staff_server.base}/?lang=ja")
    question = "注文した商品がまだ届きません"
    offer = ask_in_widget(customer, question)
    assert offer.get_attribute("data-kind") == "suggestions", offer.inner_text()
    none_taken = "どれも違います。荷物が来ないんです"
    editor, errors = write_again_then_open_gaps(browser, staff_server, customer, none_taken)
    topic = editor.get_by_test_id("gap-topic").filter(has_text=question)
    topic.wait_for(timeout=10_000)
    assert "offered articles, none taken" in topic.inner_text()
    offered = topic.get_by_test_id("gap-offered").locator("a")
    titles = [offered.nth(i).inner_text() for i in range(offered.count())]
    assert titles and "配送状況の確認" not in titles, "what was offered; tracking was not"
    topic.scroll_into_view_if_needed()
    keep(editor, "editor-gaps-none-taken")
    assert not errors, errors


def test_an_editor_teaches_an_article_a_question_from_the_gaps_page(
    browser: Browser, staff_server: StaffServer
) -> None:
    base = staff_server.base
    customer = browser.new_context().new_page()
    customer.goto(f"{base}/?lang=ja")
    question = "配送料金について"
    declined = ask_in_widget(customer, question)
    assert declined.get_attribute("data-kind") == "decline", declined.inner_text()

    editor = signed_in(browser, staff_server, "/editor/gaps", "ken", "editor")
    errors: list[str] = []
    editor.on("pageerror", lambda error: errors.append(str(error)))
    topic = editor.get_by_test_id("gap-topic").filter(has_text=question)
    topic.wait_for(timeout=10_000)
    form = topic.get_by_test_id("gap-teach")
    form.get_by_test_id("gap-teach-submit").click()
    assert "Choose the article" in editor.get_by_test_id("message").inner_text()
    form.get_by_test_id("gap-teach-article").select_option("delivery-options-ja")
    form.get_by_test_id("gap-teach-submit").click()
    done = form.get_by_test_id("gap-teach-done")
    done.wait_for(timeout=10_000)
    assert "配送方法と送料" in done.inner_text() and "draft" in done.inner_text()
    keep(editor, "editor-gaps-teach")

    form.get_by_test_id("gap-teach-review").click()
    editor.wait_for_url(f"{base}/editor/articles/delivery-options-ja")
    questions = editor.get_by_test_id("field-questions")
    editor.wait_for_function(
        "() => document.querySelector('[data-testid=\"field-questions\"]').value.length > 0"
    )
    assert question in questions.input_value().splitlines()
    editor.get_by_test_id("publish").click()
    editor.get_by_test_id("message").filter(has_text="ublished").wait_for(timeout=10_000)
    keep(editor, "editor-article-questions")
    assert not errors, errors

    later = browser.new_context().new_page()
    later.goto(f"{base}/?lang=ja")
    deadline = 20.0
    while True:  # re-indexing one article takes a moment after publishing
        answer = ask_in_widget(later, "配送料金を教えて")
        if answer.get_by_test_id("citation").count() or deadline <= 0:
            break
        later.wait_for_timeout(1000)
        deadline -= 1
        later.reload()
    assert answer.get_by_test_id("citation").inner_text() == "参照: 配送方法と送料"


def test_a_console_lists_the_first_of_a_long_queue_and_says_how_many_wait(
    browser: Browser, staff_server: StaffServer, tmp_path: Path
) -> None:
    # a server of its own (the staff server's data, indexed already), listing 2 waiting
    data = tmp_path / "data"
    shutil.copytree(staff_server.data, data, ignore=shutil.ignore_patterns("server.log"))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "KAKEHASHI_DATA_DIR": str(data),
        "KAKEHASHI_KB_DIR": str(SAMPLE_KB),
        "KAKEHASHI_BUSINESS_HOURS": "mon-sun 00:00-24:00",
        "KAKEHASHI_CONSOLE_WAITING_SHOWN": "2",
    }
    with serving(env, data) as base:
        ws_base = base.replace("http://", "ws://")
        with ThreadPoolExecutor(1) as thread:  # (Playwright's loop runs in this one)
            waiting = thread.submit(asyncio.run, _ask_for_people(ws_base, 4)).result()
        page = signed_in(browser, StaffServer(base, data), "/agent", "aiko", "agent")
        more = page.get_by_test_id("queue-more")
        more.wait_for(timeout=15_000)
        entries = page.get_by_test_id("queue-entry")
        assert entries.count() == 2
        listed = [entries.nth(i).get_attribute("data-conversation-id") for i in range(2)]
        # in service order: the later ones (and any the staff server had) wait below
        assert waiting[2] not in listed and waiting[3] not in listed
        total = int(page.locator("[data-role='queue-count']").inner_text())
        assert total >= 4, "the count is of everyone waiting, not of those listed"
        assert f"The first 2 of {total} waiting are listed" in more.inner_text()
        assert page.title().startswith(f"({total}) ")
        keep(page, "agent-long-queue")
        page.screenshot(path=str(tmp_path / "agent-long-queue.png"))
        page.close()


async def _ask_for_people(ws_base: str, count: int) -> list[str]:
    """`count` customers ask for a person, one after another; their conversation ids."""
    ids = []
    for n in range(count):
        async with connect(f"{ws_base}/ws/chat", proxy=None) as ws:
            await ws.send(json.dumps({"type": "hello", "token": None, "last_seq": 0, "lang": "en"}))
            await ws.send(
                json.dumps(
                    {
                        "type": "message",
                        "client_id": f"p{n}",
                        "text": "I'd like to talk to a person please",
                    }
                )
            )
            async with asyncio.timeout(60):
                while True:
                    event = json.loads(await ws.recv())
                    if event.get("type") == "welcome":
                        ids.append(event["conversation_id"])
                    if event.get("type") == "state" and event.get("state") == "waiting":
                        break
    return ids
