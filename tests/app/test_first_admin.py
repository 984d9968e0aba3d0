"""The first administrator's printed password is temporary: at the first sign-in its owner
must choose their own, nothing else opens until they do, and the printed one stops working."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import MakeClient
from tests.app.test_access import csrf_token, websocket_outcome

NEW_PASSWORD = "a-password-of-my-own"


def printed_password(capsys: pytest.CaptureFixture[str]) -> str:
    match = re.search(r"one-time password:\s+(\S+)", capsys.readouterr().out)
    assert match is not None, "the first start printed no password"
    return match[1]


def sign_in(
    client: TestClient, password: str, username: str = "admin"
) -> tuple[int, str, dict[str, str]]:
    """(status, where it leads, headers with the session cookie if one was set)."""
    client.cookies.clear()
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf[1], "next": "/agent"},
        follow_redirects=False,
    )
    secret = response.cookies.get("kakehashi_session")
    client.cookies.clear()
    headers = {"cookie": f"kakehashi_session={secret}"} if secret else {}
    return response.status_code, response.headers.get("location", ""), headers


def choose(client: TestClient, admin: dict[str, str], current: str, new: str, again: str):
    return client.post(
        "/account/password",
        headers=admin,
        data={
            "current_password": current,
            "new_password": new,
            "repeat_password": again,
            "csrf_token": csrf_token(client, admin),
            "next": "/agent",
        },
        follow_redirects=False,
    )


def test_the_printed_password_leads_to_choosing_a_new_one_and_then_stops_working(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    printed = printed_password(capsys)

    status, location, admin = sign_in(client, printed)
    assert status == 303 and location == "/account/password?next=/agent"
    form = client.get(location, headers=admin)
    assert form.status_code == 200 and "temporary password" in form.text

    # nothing else opens meanwhile: pages lead back to the form, the API and sockets refuse
    page = client.get("/agent", headers={**admin, "accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/account/password?next=/agent"
    api = client.get("/api/users", headers=admin)
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "password_change_required"
    assert websocket_outcome(client, "/ws/agent", admin) == "closed 1008"

    # mistakes are said, and change nothing
    wrong = choose(client, admin, "not-the-password", NEW_PASSWORD, NEW_PASSWORD)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    differ = choose(client, admin, printed, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert differ.status_code == 400 and "not the same" in differ.text
    short = choose(client, admin, printed, "short", "short")
    assert short.status_code == 400 and "at least 10 characters" in short.text
    same = choose(client, admin, printed, printed, printed)
    assert same.status_code == 400 and "different" in same.text

    done = choose(client, admin, printed, NEW_PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "/agent"
    assert client.get("/api/users", headers=admin).status_code == 200  # this session goes on
    assert client.get("/agent", headers=admin).status_code == 200

    assert sign_in(client, printed)[0] == 401  # the printed password is dead
    status, location, _ = sign_in(client, NEW_PASSWORD)
    assert status == 303 and location == "/agent"


def test_someone_with_a_temporary_password_can_still_sign_out(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    _, _, admin = sign_in(client, printed_password(capsys))
    out = client.post(
        "/logout",
        headers={**admin, "x-csrf-token": csrf_token(client, admin)},
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/account/password", headers=admin, follow_redirects=False).status_code == 401


def test_a_generated_password_handed_to_a_new_agent_is_temporary_too(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    printed = printed_password(capsys)
    _, _, admin = sign_in(client, printed)
    choose(client, admin, printed, NEW_PASSWORD, NEW_PASSWORD)
    created = client.post(
        "/api/users",
        headers={**admin, "x-csrf-token": csrf_token(client, admin)},
        json={"username": "aiko", "role": "agent"},
    )
    assert created.status_code == 201
    _, location, _ = sign_in(client, created.json()["password"], "aiko")
    assert location == "/account/password?next=/agent"
