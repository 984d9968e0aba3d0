"""Canned responses on the console and their page: a team without any is told what they
are for and where to create them."""

from __future__ import annotations

from accounts.users import Role
from tests.app import agents
from tests.app.agents import add_user, sign_in
from tests.app.conftest import MakeClient

# the fixtures: apps started from a database that already holds the sample knowledge base
seeded_data = agents.seeded_data
make_client = agents.make_client


def test_a_team_without_canned_responses_sees_a_hint_that_links_to_creating_some(
    make_client: MakeClient,
) -> None:
    client = make_client()
    add_user(client, "aiko", Role.AGENT, "Aiko")
    agent = sign_in(client, "aiko")
    console = client.get("/agent", headers=agent).text
    assert 'data-testid="canned-none"' in console
    assert 'href="/agent/canned#new" data-testid="create-canned"' in console
    page = client.get("/agent/canned", headers=agent).text
    assert "Your team has no canned responses yet." in page
    assert 'href="#new" data-testid="create-canned"' in page

    csrf = console.split('data-csrf="', 1)[1].split('"', 1)[0]  # as the page's script reads it
    created = client.post(
        "/api/canned",
        json={"title": "Greeting", "text": "Hello! How can I help?", "lang": "en"},
        headers={**agent, "x-csrf-token": csrf},
    )
    assert created.status_code == 201
    console = client.get("/agent", headers=agent).text
    assert 'data-testid="canned-none"' not in console and "Hello! How can I help?" in console
    assert (
        "Your team has no canned responses yet."
        not in client.get("/agent/canned", headers=agent).text
    )
