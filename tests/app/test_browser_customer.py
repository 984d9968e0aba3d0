"""What a customer sees in the widget, in a real browser (Debian's chromium via Playwright)
against `kakehashi serve` with the real model, outside business hours.

Each test saves a screenshot to <pytest base temp>/screens/ to look at by eye.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.app import test_browser
from tests.app._staff import serving
from tests.app.test_browser import screenshot
from tests.conftest import SAMPLE_KB

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.model]

browser = test_browser.browser  # the shared chromium fixture

BOT_MESSAGE = '[data-testid="message"][data-role="bot"]'


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kakehashi serve`, open one minute a week (Tokyo time): closed whenever tests run."""
    data = tmp_path_factory.mktemp("closed-server")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "KAKEHASHI_DATA_DIR": str(data),
        "KAKEHASHI_KB_DIR": str(SAMPLE_KB),
        "KAKEHASHI_BUSINESS_HOURS": "sun 00:00-00:01",
        "KAKEHASHI_TIMEZONE": "Asia/Tokyo",
    }
    with serving(env, data) as base:
        yield base


def ask(page: Page, question: str) -> Locator:
    """Ask in the open widget; the locator of the bot's reply to it."""
    widget = page.locator("kakehashi-widget")
    before = widget.locator(BOT_MESSAGE).count()
    widget.get_by_test_id("input").fill(question)
    widget.get_by_test_id("input").press("Enter")
    reply = widget.locator(BOT_MESSAGE).nth(before)
    reply.wait_for(timeout=60_000)
    return reply


def open_widget(page: Page, url: str) -> Locator:
    page.goto(url)
    widget = page.locator("kakehashi-widget")
    widget.get_by_test_id("launcher").click()
    widget.get_by_test_id("input").wait_for()
    return widget


def test_an_answer_is_the_passage_that_answers_with_a_link_to_the_article(
    browser: Browser, closed_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser.new_context(locale="en-GB", timezone_id="Europe/London").new_page()
    open_widget(page, f"{closed_server}/?lang=en")
    answer = ask(page, "How do I return an item?")
    text = answer.locator(".kk-bubble").inner_text()
    assert "Return request" in text and len(text) <= 500, text
    assert "This article" not in text
    more = answer.get_by_role("link", name="Read the whole article")
    assert more.get_attribute("href") == "https://help.miraimart.example/en/return-item"
    source = answer.get_by_test_id("citation")
    assert source.count() == 1 and source.inner_text() == "Source: How to return an item"
    assert answer.inner_text().count("How to return an item") == 1, "the source named once"
    stamp = answer.get_by_test_id("time")
    assert stamp.get_attribute("datetime") and ":" in stamp.inner_text()
    page.wait_for_timeout(400)
    screenshot(page, tmp_path_factory, "customer-concise-answer")
    page.close()


def test_a_quick_reply_is_answered_in_the_chat(
    browser: Browser, closed_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo").new_page()
    widget = open_widget(page, f"{closed_server}/?lang=ja")
    offer = ask(page, "届け方")  # 「送料はいくらですか」 is one of the article's questions
    assert offer.get_attribute("data-kind") == "suggestions"
    assert offer.get_by_role("link").count() == 0, "no links out of the chat"
    choices = offer.get_by_test_id("choice")
    assert choices.count() >= 2
    assert offer.get_by_test_id("choice-person").inner_text() == "担当者と話す"
    choice = offer.locator('[data-article-id="delivery-options-ja"]')
    choice.click()
    answer = widget.locator(BOT_MESSAGE).nth(1)
    answer.wait_for(timeout=60_000)
    assert answer.get_attribute("data-kind") == "answer"
    assert answer.get_by_test_id("citation").inner_text() == "参照: 配送方法と送料"
    assert "円" in answer.inner_text()
    mine = widget.locator('[data-testid="message"][data-role="customer"]').last
    assert mine.inner_text().count("配送方法と送料") == 1
    assert choice.get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(400)
    screenshot(page, tmp_path_factory, "customer-quick-reply")
    page.close()


def test_after_hours_in_japanese_the_opening_time_is_shown_and_the_bot_still_answers(
    browser: Browser, closed_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo").new_page()
    widget = open_widget(page, f"{closed_server}/?lang=ja")
    widget.get_by_test_id("handoff").click()
    banner = widget.locator('[data-testid="state-banner"][data-state="waiting"]')
    banner.wait_for(timeout=30_000)
    said = banner.inner_text()
    assert "から対応いたします" in said and "0:00" in said, said
    assert "番目" not in said and "待ち時間" not in said, "no queue place while nobody can answer"
    notice = widget.locator(BOT_MESSAGE).last
    assert "0:00 から対応いたします（日本時間）" in notice.inner_text()
    assert "mon-fri" not in notice.inner_text() and "Asia/Tokyo" not in notice.inner_text()
    assert widget.get_by_test_id("contact-form").is_visible()

    answer = ask(page, "パスワードを忘れました")
    assert answer.get_attribute("data-kind") == "answer"
    assert "パスワードをお忘れの方" in answer.inner_text()
    page.wait_for_timeout(400)
    screenshot(page, tmp_path_factory, "customer-after-hours-ja")
    page.close()


def test_keyboard_only_use_returns_focus_to_the_launcher(
    browser: Browser, closed_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{closed_server}/?lang=en")
    widget = page.locator("kakehashi-widget")
    launcher = widget.get_by_test_id("launcher")
    launcher.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('kakehashi-widget').shadowRoot.activeElement"
        "?.getAttribute('data-testid') === 'input'"
    )
    page.keyboard.type("How do I reset my password?")
    page.keyboard.press("Enter")
    widget.locator(BOT_MESSAGE).first.wait_for(timeout=60_000)
    assert widget.get_by_role("group", name="Was this answer helpful?").count() == 1
    assert widget.get_by_role("log", name="Conversation").count() == 1
    assert widget.get_by_role("textbox", name="Your message").count() == 1
    page.keyboard.press("Escape")
    assert widget.get_by_test_id("panel").is_hidden()
    focused = page.evaluate(
        "() => document.querySelector('kakehashi-widget').shadowRoot.activeElement"
        "?.getAttribute('data-testid')"
    )
    assert focused == "launcher", "focus goes back to the launcher, not the page body"
    page.keyboard.press("Enter")  # and opens again from there
    widget.get_by_test_id("panel").wait_for()
    # opening puts the cursor in the message box once the panel is laid out (a frame
    # later): only then does moving to the close button stay there
    page.wait_for_function(
        "() => document.querySelector('kakehashi-widget').shadowRoot.activeElement"
        "?.getAttribute('data-testid') === 'input'"
    )
    widget.get_by_test_id("close").focus()
    page.keyboard.press("Enter")
    assert (
        page.evaluate(
            "() => document.querySelector('kakehashi-widget').shadowRoot.activeElement"
            "?.getAttribute('data-testid')"
        )
        == "launcher"
    )
    page.close()


def test_at_375_px_the_launcher_is_on_screen_and_the_panel_fills_it(
    browser: Browser, closed_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    context = browser.new_context(
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = context.new_page()
    page.goto(f"{closed_server}/?lang=ja")  # the demo shop, with its own (and hostile) CSS
    widget = page.locator("kakehashi-widget")
    launcher = widget.get_by_test_id("launcher")
    launcher.wait_for()
    box = launcher.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= 667, box
    screenshot(page, tmp_path_factory, "customer-mobile-375-closed")
    launcher.tap()
    panel = widget.get_by_test_id("panel")
    panel.wait_for()
    ask(page, "返品したい")
    page.wait_for_timeout(400)
    panel_box = panel.bounding_box()
    assert panel_box is not None and panel_box["width"] >= 370
    send = widget.get_by_test_id("send").bounding_box()
    assert send is not None and send["x"] + send["width"] <= 375
    assert send["y"] + send["height"] <= 667
    screenshot(page, tmp_path_factory, "customer-mobile-375-open")
    context.close()


def test_messages_refused_for_being_too_many_are_sent_again_by_themselves(
    browser: Browser, closed_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser.new_context(locale="en-GB").new_page()
    widget = open_widget(page, f"{closed_server}/?lang=en")
    box = widget.get_by_test_id("input")
    for n in range(24):  # past the default 20 per 10 s of one conversation
        box.fill(f"quick question {n}")
        box.press("Enter")
    retrying = widget.locator('[data-testid="message"][data-status="retrying"]')
    retrying.first.wait_for(timeout=20_000)
    assert "sending again in" in retrying.first.inner_text()
    screenshot(page, tmp_path_factory, "widget-retrying")
    # within the limit's window they go by themselves: none left waiting, none failed
    page.wait_for_function(
        "() => !document.querySelector('kakehashi-widget').shadowRoot"
        ".querySelector('[data-testid=message][data-status]')",
        timeout=60_000,
    )
    sent = widget.locator('[data-testid="message"][data-role="customer"]')
    assert sent.count() == 24
    assert widget.locator('[data-status="failed"]').count() == 0
