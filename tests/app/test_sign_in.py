"""Signing in and out: CSRF on writes, wrong passwords, logout, where a sign-in may
redirect to, sockets from other sites, and the page an editor lands on."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from accounts.users import Role
from app.deps import SESSION_COOKIE
from tests.app import agents
from tests.app.agents import PASSWORD, add_user, sign_in
from tests.app.conftest import MakeClient, on_both_databases
from tests.app.test_access import _canned, csrf_token, try_sign_in, websocket_outcome

# the fixtures: apps started from a database that already holds the sample knowledge base
seeded_data = agents.seeded_data
make_client = agents.make_client


def test_writes_without_the_csrf_token_are_refused(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "aiko", Role.AGENT, "Aiko")
    agent = sign_in(client, "aiko")
    for extra in ({}, {"x-csrf-token": "forged"}):
        refused = client.post("/api/canned", json=_canned(), headers={**agent, **extra})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
    form = client.post("/logout", data={"csrf_token": ""}, headers=agent, follow_redirects=False)
    assert form.status_code == 403 and form.json()["error"]["code"] == "csrf_failed"

    # nothing was created, and the session was not ended
    assert client.get("/api/canned", headers=agent).json() == []
    token = csrf_token(client, agent)
    created = client.post("/api/canned", json=_canned(), headers={**agent, "x-csrf-token": token})
    assert created.status_code == 201


@on_both_databases
def test_a_wrong_password_shows_an_error_and_signs_nobody_in(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "aiko", Role.AGENT, "Aiko")
    # a NUL character: PostgreSQL refuses even to compare such text
    for username, password in [
        ("aiko", "not my password"),
        ("nobody", PASSWORD),
        ("ai\x00ko", PASSWORD),
    ]:
        response = try_sign_in(client, username, password)
        assert response.status_code == 401
        assert "Wrong user name or password." in response.text
        assert 'name="username"' in response.text, "the form is shown again"
        assert SESSION_COOKIE not in response.cookies and SESSION_COOKIE not in client.cookies
    assert client.get("/api/queue").status_code == 401

    # a form posted without its CSRF cookie (e.g. from another site) is refused too
    client.cookies.clear()
    forged = client.post(
        "/login",
        data={"username": "aiko", "password": PASSWORD, "csrf_token": "guess"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and SESSION_COOKIE not in forged.cookies


def test_logout_ends_the_session(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "aiko", Role.AGENT, "Aiko")
    agent = sign_in(client, "aiko")
    assert client.get("/api/queue", headers=agent).status_code == 200

    out = client.post(
        "/logout",
        headers={**agent, "x-csrf-token": csrf_token(client, agent)},
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"], "the browser keeps the cookie"

    # the old cookie is worthless now, wherever it is presented
    assert client.get("/api/queue", headers=agent).status_code == 401
    page = client.get("/agent", headers={**agent, "accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert websocket_outcome(client, "/ws/agent", agent) == "closed 1008"


def test_signing_in_only_redirects_within_the_site(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "aiko", Role.AGENT, "Aiko")
    for target, expected in [
        ("/api/queue", "/api/queue"),
        ("", "/agent"),
        ("//evil.example/phish", "/agent"),
        ("https://evil.example/phish", "/agent"),
        ("/\\evil.example/phish", None),
    ]:
        client.cookies.clear()
        form = client.get(f"/login?next={target}")
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert match is not None
        response = client.post(
            "/login",
            data={
                "username": "aiko",
                "password": PASSWORD,
                "csrf_token": match[1],
                "next": target,
            },
            follow_redirects=False,
        )
        location = response.headers["location"]
        # browsers read a backslash in a URL as a slash
        assert urlsplit(location.replace("\\", "/")).netloc == "", (target, location)
        if expected is not None:
            assert location == expected


def test_a_socket_from_another_site_cannot_use_an_agents_session(
    make_client: MakeClient,
) -> None:
    client = make_client()
    add_user(client, "aiko", Role.AGENT, "Aiko")
    agent = sign_in(client, "aiko")
    hijack = {**agent, "origin": "http://evil.example"}
    assert websocket_outcome(client, "/ws/agent", hijack) == "closed 1008"
    same_site = {**agent, "origin": "http://testserver"}
    assert websocket_outcome(client, "/ws/agent", same_site) == "open"


def test_an_editor_who_signs_in_lands_on_a_page_that_exists(make_client: MakeClient) -> None:
    client = make_client()
    add_user(client, "emi", Role.EDITOR, "Emi")
    response = try_sign_in(client, "emi", PASSWORD)
    landing = client.get(
        response.headers["location"], headers={"accept": "text/html"}, follow_redirects=False
    )
    assert landing.status_code == 200, f"{response.headers['location']}: {landing.status_code}"
