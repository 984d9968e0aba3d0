"""Errors reach people as pages and scripts as JSON."""

from __future__ import annotations

from accounts.users import Role
from tests.app import agents
from tests.app.agents import add_user, sign_in
from tests.app.conftest import MakeClient

# the fixtures: apps started from a database that already holds the sample knowledge base
seeded_data = agents.seeded_data
make_client = agents.make_client

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_page_the_role_may_not_open_is_a_page_saying_so_with_a_way_back(
    make_client: MakeClient,
) -> None:
    client = make_client()
    add_user(client, "ken", Role.EDITOR, "Ken")
    editor = sign_in(client, "ken")
    page = client.get("/reports", headers={**editor, **BROWSER})
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "You can’t open this page" in page.text
    assert "This page is for agents. You are signed in as Ken, an editor." in page.text
    assert 'href="/editor"' in page.text and "Go to the editor" in page.text
    assert '"error"' not in page.text and "this needs the role" not in page.text
    assert 'data-testid="user-name">Ken<' in page.text, "the top bar shows who is signed in"


def test_the_api_and_scripts_get_json(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "ken", Role.EDITOR, "Ken")
    editor = sign_in(client, "ken")
    for url, headers in [
        ("/api/reports", {**editor, **BROWSER}),  # JSON under /api/, whatever the browser says
        ("/reports", editor),  # a script that does not ask for HTML
    ]:
        refused = client.get(url, headers=headers)
        assert refused.status_code == 403, url
        assert refused.json()["error"]["code"] == "forbidden", url


def test_a_missing_article_is_a_not_found_page(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "ken", Role.EDITOR, "Ken")
    editor = sign_in(client, "ken")
    page = client.get("/editor/articles/no-such-article", headers={**editor, **BROWSER})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text and "No article &#39;no-such-article&#39;." in page.text
    assert 'href="/editor"' in page.text
