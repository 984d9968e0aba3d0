"""The widget in a real browser: Debian's chromium driven by Playwright, against a real
uvicorn server (`kakehashi serve`, real model) and a shop page on another origin."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import ROOT, SAMPLE_KB

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.model]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kakehashi serve` in its own process; the shop page's origin is allowed."""
    port = free_port()
    shop_port = free_port()
    data = tmp_path_factory.mktemp("server-data")
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "KAKEHASHI_DATA_DIR": str(data),
        "KAKEHASHI_KB_DIR": str(SAMPLE_KB),
        "KAKEHASHI_ALLOWED_ORIGINS": f"http://127.0.0.1:{shop_port}",
        "KAKEHASHI_BUSINESS_HOURS": "mon-sun 00:00-24:00",
    }
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "user",
            "create",
            "aiko",
            "--role",
            "agent",
            "--name",
            "Aiko",
            "--generate",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    (data / "agent-password").write_text(created.stdout.rsplit("Password: ", 1)[1].strip())
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "user",
            "create",
            "ken",
            "--role",
            "editor",
            "--name",
            "Ken",
            "--generate",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    (data / "editor-password").write_text(created.stdout.rsplit("Password: ", 1)[1].strip())
    log = (data / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError((data / "server.log").read_text())
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start:\n" + (data / "server.log").read_text())
            time.sleep(0.5)
        yield f"{base}|{shop_port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def shop_page(chat_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A customer's own site on another origin, embedding the widget with one tag."""
    base, shop_port = chat_server.split("|")
    site = tmp_path_factory.mktemp("shop")
    (site / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Shop</title>"
        "<style>* { font-family: serif !important; } button { all: unset; }</style></head>"
        "<body><h1>Another shop</h1><p>Our products.</p>"
        f'<script src="{base}/widget.js" data-lang="en" async></script></body></html>',
        encoding="utf-8",
    )
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(site), **k
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(shop_port)), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{shop_port}/index.html"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def ask_in_widget(page: Page, question: str) -> Locator:
    """Open the widget, ask, and return the locator of the bot's answer."""
    widget = page.locator("kakehashi-widget")
    widget.get_by_test_id("launcher").click()
    widget.get_by_test_id("input").fill(question)
    widget.get_by_test_id("send").click()
    answer = widget.locator('[data-testid="message"][data-role="bot"]').last
    answer.wait_for(timeout=30_000)
    return answer


def screenshot(page: Page, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """Save what the person sees to <pytest base temp>/screens/NAME.png (to look at by eye)."""
    folder = Path(tmp_path_factory.getbasetemp()) / "screens"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def sign_in(page: Page, url: str, username: str, password: Path) -> None:
    """Open `url` (a signed-in page), sign in on the form it redirects to, and come back."""
    page.goto(url)  # redirected to the sign-in form
    page.get_by_test_id("username").fill(username)
    page.get_by_test_id("password").fill(password.read_text())
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(url)


def test_a_shop_on_another_origin_gets_answers_with_source_links(
    browser: Browser, shop_page: str, chat_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    modules: dict[str, str | None] = {}  # the widget's ES modules, fetched across origins
    page.on(
        "response",
        lambda r: (
            modules.update({r.url: r.header_value("access-control-allow-origin")})
            if "/static/" in r.url
            else None
        ),
    )
    page.goto(shop_page)
    answer = ask_in_widget(page, "How do I return an item?")
    base = chat_server.split("|")[0]
    for name in ("widget/main.js", "shared/socket.js", "shared/sanitize.js"):
        assert modules.get(f"{base}/static/{name}") == "*", (name, modules)
    assert not errors, errors
    page.wait_for_timeout(500)  # the panel's opening animation
    screenshot(page, tmp_path_factory, "widget-answer")
    assert "Return request" in answer.inner_text()
    more = answer.get_by_role("link", name="Read the whole article")
    assert more.get_attribute("href") == "https://help.miraimart.example/en/return-item"
    # the customer's own bubble is there once, confirmed with its seq
    mine = page.locator("kakehashi-widget").locator('[data-testid="message"][data-role="customer"]')
    assert mine.count() == 1 and mine.first.get_attribute("data-seq") == "1"
    page.close()


def test_the_demo_page_answers_japanese(browser: Browser, chat_server: str) -> None:
    base = chat_server.split("|")[0]
    page = browser.new_page()
    page.goto(f"{base}/?lang=ja")
    answer = ask_in_widget(page, "返品したい")
    more = answer.get_by_role("link", name="記事の全文を読む")
    assert more.get_attribute("href") == "https://help.miraimart.example/ja/return-item-ja"
    page.close()


def test_an_agent_claims_a_widget_conversation_and_the_customer_sees_the_reply(
    browser: Browser,
    shop_page: str,
    chat_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = chat_server.split("|")[0]
    password = next(Path(tmp_path_factory.getbasetemp()).glob("server-data*/agent-password"))
    customer = browser.new_context().new_page()
    customer.goto(shop_page)
    widget = customer.locator("kakehashi-widget")
    widget.get_by_test_id("launcher").click()
    widget.get_by_test_id("input").fill("I'd like to talk to a person please")
    widget.get_by_test_id("send").click()
    widget.locator('[data-testid="state-banner"][data-state="waiting"]').wait_for(timeout=30_000)

    agent = browser.new_context().new_page()
    sign_in(agent, f"{base}/agent", "aiko", password)
    entry = agent.get_by_test_id("queue-entry").first
    entry.wait_for(timeout=15_000)
    assert entry.get_attribute("data-reason") == "customer_request"
    entry.get_by_test_id("claim").click()
    composer = agent.get_by_test_id("composer")
    composer.fill("Hello, this is Aiko. How can I help?")
    agent.get_by_test_id("send").click()

    reply = widget.locator('[data-testid="message"][data-role="agent"]').last
    reply.wait_for(timeout=15_000)
    assert "this is Aiko" in reply.inner_text()
    joined = widget.locator('[data-testid="message"][data-role="system"]')
    assert any("Aiko" in text for text in joined.all_inner_texts())
    agent.get_by_test_id("message").filter(has_text="this is Aiko").wait_for()
    screenshot(agent, tmp_path_factory, "agent-console")
    screenshot(customer, tmp_path_factory, "widget-agent-reply")

    # the customer writes again: the console says a message awaits the agent's reply
    widget.get_by_test_id("input").fill("Thanks! Where is my parcel?")
    widget.get_by_test_id("send").click()
    badge = agent.get_by_test_id("mine-entry").get_by_test_id("unread")
    badge.wait_for(timeout=15_000)
    assert badge.inner_text() == "1"
    assert badge.get_attribute("title") == "1 message awaiting your reply"
    screenshot(agent, tmp_path_factory, "agent-console-awaiting-reply")
    customer.close()
    agent.close()


def test_an_editor_publishes_a_change_and_the_widget_answers_with_it(
    browser: Browser,
    chat_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = chat_server.split("|")[0]
    password = next(Path(tmp_path_factory.getbasetemp()).glob("server-data*/editor-password"))
    editor = browser.new_context().new_page()
    errors: list[str] = []
    editor.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(editor, f"{base}/editor", "ken", password)
    # the list page draws the articles the API returns; a filter narrows them
    editor.get_by_test_id("article-row").first.wait_for(timeout=10_000)
    editor.locator("[data-role=filters] [name=q]").fill("gift-wrapping-ja")
    editor.locator("[data-role=count]").filter(has_text="1 article").wait_for()
    row = editor.get_by_test_id("article-row")
    assert row.count() == 1 and row.get_attribute("data-article-id") == "gift-wrapping-ja"
    editor.goto(f"{base}/editor/gaps")
    editor.wait_for_function(
        "() => /question/.test(document.querySelector('[data-role=message]').textContent)"
    )
    editor.goto(f"{base}/editor/articles/gift-wrapping-ja")
    body = editor.get_by_test_id("field-body")
    body.wait_for()
    editor.wait_for_function(
        "() => document.querySelector('[data-testid=\"field-body\"]').value.length > 0"
    )
    text = body.input_value()
    body.fill(text + "\n\n## 風呂敷包み\n年末年始限定で、風呂敷包みを1点550円で承ります。")
    editor.get_by_test_id("field-note").fill("風呂敷包みを追加")
    editor.get_by_test_id("save").click()
    editor.get_by_test_id("message").filter(has_text="2").wait_for(timeout=10_000)
    editor.get_by_test_id("publish").click()
    editor.wait_for_timeout(1500)
    editor.get_by_test_id("revision-row").filter(has_text="Revision 2").wait_for()
    assert not errors, errors

    customer = browser.new_context().new_page()
    customer.goto(f"{base}/?lang=ja")
    answer = ask_in_widget(customer, "風呂敷包みはできますか")
    assert "550円" in answer.inner_text()
    editor.close()
    customer.close()


def test_an_agent_opens_the_reports_and_sees_tiles_and_a_drawn_chart(
    browser: Browser, chat_server: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = chat_server.split("|")[0]
    password = next(Path(tmp_path_factory.getbasetemp()).glob("server-data*/agent-password"))
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/reports")  # redirected to the sign-in form
    page.get_by_test_id("username").fill("aiko")
    page.get_by_test_id("password").fill(password.read_text())
    page.get_by_test_id("login-submit").click()
    page.wait_for_url(f"{base}/reports")
    assert page.get_by_test_id("tile-conversations").is_visible()
    assert "Handled by the bot alone" in page.get_by_test_id("tile-automation").inner_text()
    page.locator('[data-role="charts"][data-drawn="true"]').wait_for(timeout=10_000)
    canvas = page.get_by_test_id("chart-days")
    assert canvas.is_visible()
    drawn = page.evaluate(
        "() => { const c = document.querySelector('[data-testid=\"chart-days\"]');"
        " const chart = window.Chart.getChart(c);"
        " return [c.width > 0 && c.height > 0, chart ? chart.data.labels.length : 0]; }"
    )
    assert drawn == [True, 30], "the chart has a bar group for each of the last 30 days"
    page.set_viewport_size({"width": 1440, "height": 900})
    page.evaluate(  # the agents' table as a team's looks (this server's agent took no chat)
        "() => { document.querySelector('[data-testid=\"table-agents\"] tbody').innerHTML ="
        ' \'<tr><td>Administrator</td><td class="ed-num">128</td>'
        '<td class="ed-num">1 min 05 s</td><td class="ed-num">4.50 (37)</td></tr>\'; }'
    )
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('.rp-grid .ed-table-wrap')]"
        ".filter(w => w.scrollWidth > w.clientWidth + 1)"
        ".map(w => w.querySelector('table').dataset.testid)"
    )
    assert clipped == [], "a table cut off at a desktop's width"
    if folder := os.environ.get("KAKEHASHI_SCREENSHOTS"):
        page.screenshot(path=str(Path(folder) / "reports.png"), full_page=True)
    assert not errors, errors
    page.close()


def test_a_customer_ends_the_chat_and_rates_it(
    browser: Browser,
    shop_page: str,
    chat_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = chat_server.split("|")[0]
    customer = browser.new_context().new_page()
    customer.goto(shop_page)
    ask_in_widget(customer, "How do I reset my password?")
    widget = customer.locator("kakehashi-widget")
    widget.get_by_test_id("end-chat").click()
    widget.get_by_test_id("end-confirm").click()  # asked to confirm first
    widget.locator('[data-testid="state-banner"][data-state="closed"]').wait_for(timeout=15_000)
    rating = widget.get_by_test_id("csat")
    rating.wait_for()
    assert "How was your conversation?" in rating.inner_text()
    assert widget.get_by_test_id("csat-thanks").is_hidden()

    good = rating.get_by_role("button", name="Good", exact=True)  # labelled, not just a face
    good.focus()
    customer.keyboard.press("Enter")  # keyboard operable
    widget.get_by_test_id("csat-thanks").wait_for(timeout=10_000)
    assert good.get_attribute("aria-pressed") == "true"
    cid = customer.evaluate("window.Kakehashi.state().conversationId")

    # an agent sees the rating in the conversation's details, and a change live
    password = next(Path(tmp_path_factory.getbasetemp()).glob("server-data*/agent-password"))
    agent = browser.new_context().new_page()
    sign_in(agent, f"{base}/agent", "aiko", password)
    agent.goto(f"{base}/agent#conversation={cid}")
    agent.reload()  # the console opens the conversation named in the address when it starts
    score = agent.locator('[data-testid="csat"] [data-testid="csat-score"]')
    score.wait_for(timeout=15_000)
    assert score.get_attribute("data-score") == "4" and "Good" in score.inner_text()
    widget.get_by_test_id("csat-comment").fill("Clear and quick")
    widget.get_by_test_id("csat-comment-send").click()
    comment = agent.locator('[data-testid="csat"] [data-testid="csat-comment"]')
    comment.wait_for(timeout=10_000)
    assert comment.inner_text() == "Clear and quick"
    details = agent.request.get(f"{base}/api/conversations/{cid}").json()
    assert details["outcome"] == "customer_ended"
    assert (details["csat"]["score"], details["csat"]["comment"]) == (4, "Clear and quick")

    # a reload shows the thanks and the chosen face, not the question unanswered
    customer.reload()
    widget.get_by_test_id("launcher").click()
    widget.get_by_test_id("csat-thanks").wait_for(timeout=15_000)
    chosen = widget.locator('[data-testid="csat-score"][aria-pressed="true"]')
    assert chosen.get_attribute("data-score") == "4"
    customer.close()
    agent.close()
