"""Who may use what: every route of the app against every role (signing in and out is in
test_sign_in.py)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from accounts.sessions import load_session
from accounts.users import Role
from app.deps import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from attachments.service import Upload
from conversations.attaching import send_files
from conversations.closing import end_chat
from tests.app import agents
from tests.app.agents import PASSWORD, add_user, next_event, sign_in
from tests.app.conftest import MakeClient, open_chat, services
from tests.attachments._files import image

# the fixtures: apps started from a database that already holds the sample knowledge base
seeded_data = agents.seeded_data
make_client = agents.make_client

ROLES = ("anonymous", "agent", "editor", "admin")


class Reply(Protocol):
    """What these tests read of a TestClient response (httpx or httpx2, as installed)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Any: ...

    @property
    def cookies(self) -> Any: ...

    def json(self) -> Any: ...


class Audience(Enum):
    PUBLIC = frozenset(ROLES)
    SIGNED_IN = frozenset({"agent", "editor", "admin"})
    AGENT = frozenset({"agent", "admin"})
    EDITOR = frozenset({"editor", "admin"})
    ADMIN = frozenset({"admin"})


_names = itertools.count()


def _canned() -> dict[str, Any]:
    return {"title": f"Greeting {next(_names)}", "text": "Hello! How can I help?"}


def _user() -> dict[str, Any]:
    return {"username": f"new{next(_names)}", "role": "agent", "password": "a long password"}


def _article() -> dict[str, Any]:
    return {"title": "Gift wrapping", "lang": "en", "body": "We wrap gifts for 300 yen."}


def _new_article() -> dict[str, Any]:
    return {**_article(), "id": f"gift-wrapping-{next(_names)}"}


@dataclass(frozen=True)
class Rule:
    audience: Audience
    ok: int = 200  # the status the roles who may use it get
    ok_signed_in: int | None = None  # ...when it differs for someone already signed in
    page: bool = False  # an HTML page: anonymous browsers are sent to /login instead of a 401
    body: Callable[[], dict[str, Any]] | None = None
    query: str = ""


# Every route the app serves, keyed by (method, path); "WS" for websockets, "MOUNT" for mounts.
# FastAPI's own /docs, /redoc and /openapi.json are public: they describe the API, they do
# not serve any data.
EXPECTED: dict[tuple[str, str], Rule] = {
    ("GET", "/"): Rule(Audience.PUBLIC),
    ("GET", "/widget.js"): Rule(Audience.PUBLIC),
    ("GET", "/healthz"): Rule(Audience.PUBLIC),
    ("GET", "/readyz"): Rule(Audience.PUBLIC),
    # the allowed addresses and the metrics token aside (the test client is neither)
    ("GET", "/metrics"): Rule(Audience.ADMIN),
    ("WS", "/ws/chat"): Rule(Audience.PUBLIC),
    ("GET", "/login"): Rule(Audience.PUBLIC, ok_signed_in=303),  # to their own start page
    ("POST", "/login"): Rule(Audience.PUBLIC, ok=303),
    ("GET", "/openapi.json"): Rule(Audience.PUBLIC),
    ("GET", "/docs"): Rule(Audience.PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(Audience.PUBLIC),
    ("GET", "/redoc"): Rule(Audience.PUBLIC),
    ("MOUNT", "/static"): Rule(Audience.PUBLIC),
    ("POST", "/logout"): Rule(Audience.SIGNED_IN, ok=303),
    ("GET", "/account/password"): Rule(Audience.SIGNED_IN, page=True),
    # the test posts no form fields: who may use it is told the form was empty
    ("POST", "/account/password"): Rule(Audience.SIGNED_IN, ok=422),
    ("GET", "/agent"): Rule(Audience.AGENT, page=True),
    ("GET", "/agent/canned"): Rule(Audience.AGENT, page=True),
    ("GET", "/api/canned"): Rule(Audience.AGENT),
    ("POST", "/api/canned"): Rule(Audience.AGENT, ok=201, body=_canned),
    ("PUT", "/api/canned/{canned_id}"): Rule(Audience.AGENT, body=_canned),
    ("DELETE", "/api/canned/{canned_id}"): Rule(Audience.AGENT, ok=204),
    ("GET", "/api/queue"): Rule(Audience.AGENT),
    ("GET", "/api/conversations/{conversation_id}"): Rule(Audience.AGENT),
    ("WS", "/ws/agent"): Rule(Audience.AGENT),
    ("GET", "/api/users"): Rule(Audience.ADMIN),
    ("POST", "/api/users"): Rule(Audience.ADMIN, ok=201, body=_user),
    ("POST", "/api/tokens"): Rule(Audience.ADMIN, ok=201, body=lambda: {"username": "agent1"}),
    # documenting a closed conversation reads it: for agents (and admins) only
    ("POST", "/api/conversations/{conversation_id}/draft-article"): Rule(Audience.AGENT, ok=201),
    ("GET", "/editor"): Rule(Audience.EDITOR, page=True),
    ("GET", "/editor/new"): Rule(Audience.EDITOR, page=True),
    ("GET", "/editor/gaps"): Rule(Audience.EDITOR, page=True),
    ("GET", "/editor/articles/{article_id}"): Rule(Audience.EDITOR, page=True),
    ("GET", "/api/articles"): Rule(Audience.EDITOR),
    ("POST", "/api/articles"): Rule(Audience.EDITOR, ok=201, body=_new_article),
    ("GET", "/api/articles/{article_id}"): Rule(Audience.EDITOR),
    ("PUT", "/api/articles/{article_id}"): Rule(Audience.EDITOR, body=_article),
    ("POST", "/api/articles/{article_id}/publish"): Rule(Audience.EDITOR),
    ("POST", "/api/articles/{article_id}/archive"): Rule(Audience.EDITOR),
    ("POST", "/api/articles/{article_id}/questions"): Rule(
        Audience.EDITOR, body=lambda: {"questions": ["where is my parcel"]}
    ),
    ("GET", "/api/articles/{article_id}/revisions"): Rule(Audience.EDITOR),
    ("GET", "/api/articles/{article_id}/diff"): Rule(Audience.EDITOR, query="?a=1&b=1"),
    ("POST", "/api/articles/{article_id}/revert"): Rule(
        Audience.EDITOR, body=lambda: {"revision": 1}
    ),
    ("POST", "/api/preview"): Rule(Audience.EDITOR, body=lambda: {"markdown": "**Hi**"}),
    ("POST", "/api/try"): Rule(
        Audience.EDITOR, body=lambda: {"question": "How do I return an item?"}
    ),
    ("GET", "/api/gaps"): Rule(Audience.EDITOR),
    # support reports: team leads (admins) and agents; editors have the knowledge-gaps report
    ("GET", "/reports"): Rule(Audience.AGENT, page=True),
    ("GET", "/api/reports"): Rule(Audience.AGENT),
    ("GET", "/api/reports.csv"): Rule(Audience.AGENT),
    ("POST", "/api/gaps/draft"): Rule(
        Audience.EDITOR, ok=201, body=lambda: {"questions": ["Do you wrap gifts?"]}
    ),
    # files: staff open any (the customer, with the conversation's token, only its own:
    # tests/app/test_attachments_access.py); the test posts no form, so the agent who may
    # attach is told it is missing
    ("POST", "/api/conversations/{conversation_id}/attachments"): Rule(Audience.AGENT, ok=400),
    ("GET", "/api/attachments/{attachment_id}"): Rule(Audience.AGENT),
    ("GET", "/api/attachments/{attachment_id}/thumbnail"): Rule(Audience.AGENT),
    # CORS preflights, answered to anyone (the shop's page asks before sending its token)
    ("OPTIONS", "/api/conversations/{conversation_id}/attachments"): Rule(Audience.PUBLIC, ok=204),
    ("OPTIONS", "/api/attachments/{attachment_id}"): Rule(Audience.PUBLIC, ok=204),
    ("OPTIONS", "/api/attachments/{attachment_id}/thumbnail"): Rule(Audience.PUBLIC, ok=204),
}


def served_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, read from the app itself."""
    found: list[tuple[str, str]] = []
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            found.append(("WS", route.path))
        elif isinstance(route, Mount):
            found.append(("MOUNT", route.path))
        elif isinstance(route, APIRoute | Route):
            methods = set(route.methods or ())
            if "GET" in methods:
                methods.discard("HEAD")  # answered by the GET handler
            found.extend((method, route.path) for method in sorted(methods))
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}: teach this test")
    return found


def csrf_token(client: TestClient, headers: dict[str, str]) -> str:
    """The CSRF token of the session in `headers` (what the pages embed for their forms)."""
    secret = headers["cookie"].removeprefix(f"{SESSION_COOKIE}=")

    async def load() -> str:
        async with services(client).sessions() as session:
            signed = await load_session(session, secret)
            assert signed is not None
            return signed.csrf_token

    assert client.portal is not None
    return client.portal.call(load)


def new_canned(client: TestClient, agent: dict[str, str]) -> int:
    response = client.post(
        "/api/canned",
        json=_canned(),
        headers={**agent, "x-csrf-token": csrf_token(client, agent)},
    )
    assert response.status_code == 201, response.text
    canned_id: int = response.json()["id"]
    return canned_id


def new_draft(client: TestClient) -> str:
    """A fresh draft article's id."""
    article_id = f"access-{next(_names)}"

    async def create() -> None:
        await services(client).articles.create(article_id, _article(), "Emi")

    assert client.portal is not None
    client.portal.call(create)
    return article_id


def customer_question(client: TestClient) -> str:
    """A conversation in which a customer asked something (and the bot answered)."""

    async def converse() -> str:
        conversations = services(client).conversations
        ref, _token = await conversations.start("en")
        await conversations.receive(ref, "c1", "Do you wrap gifts?")
        await conversations.drain()
        await end_chat(conversations, ref)  # closed: it may become an article
        return ref.public_id

    assert client.portal is not None
    return client.portal.call(converse)


def customer_photo(client: TestClient) -> str:
    """The id of a photo a customer sent (in a conversation of its own)."""

    async def send() -> str:
        conversations = services(client).conversations
        ref, _token = await conversations.start("en")
        upload = Upload("photo.png", image("PNG", (40, 30)))
        frame, _ = await send_files(
            conversations, services(client).attachments, ref, "p1", "", [upload]
        )
        return frame["attachments"][0]["id"]

    assert client.portal is not None
    return client.portal.call(send)


def websocket_outcome(client: TestClient, path: str, headers: dict[str, str]) -> str:
    """'open' when the socket greets us, else 'closed <code>'."""
    try:
        with client.websocket_connect(path, headers=headers) as ws:
            if path == "/ws/chat":
                open_chat(ws)
            else:
                assert next_event(ws)["type"] == "welcome"
            return "open"
    except WebSocketDisconnect as closed:
        return f"closed {closed.code}"


def post_login(client: TestClient, headers: dict[str, str]) -> Reply:
    """The sign-in form, posted by someone who may already be signed in."""
    client.cookies.clear()
    username = f"login{next(_names)}"
    add_user(client, username)
    form = client.get("/login")  # as a newcomer: a signed-in visitor is redirected
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert match is not None
    login_csrf = f"{LOGIN_CSRF_COOKIE}={form.cookies[LOGIN_CSRF_COOKIE]}"
    cookies = [c for c in (headers.get("cookie"), login_csrf) if c]
    client.cookies.clear()
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": match[1]},
        headers={"cookie": "; ".join(cookies)},
        follow_redirects=False,
    )
    client.cookies.clear()
    return response


def try_sign_in(client: TestClient, username: str, password: str) -> Reply:
    """Post the real login form once, with a fresh form and CSRF cookie."""
    client.cookies.clear()
    form = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert match is not None
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": match[1]},
        follow_redirects=False,
    )


def test_every_route_admits_exactly_the_roles_it_should(make_client: MakeClient) -> None:
    client = make_client()
    served = served_routes(client)
    unknown = [key for key in served if key not in EXPECTED]
    assert not unknown, (
        f"routes with no access rule: {unknown}. Add each to EXPECTED in "
        "tests/app/test_access.py, saying who may use it (and protect it in the app)"
    )
    gone = [key for key in EXPECTED if key not in served]
    assert not gone, f"EXPECTED lists routes the app no longer serves: {gone}"

    sessions: dict[str, dict[str, str]] = {"anonymous": {}}
    for role in (Role.AGENT, Role.EDITOR, Role.ADMIN):
        add_user(client, f"{role}1", role)
        sessions[role.value] = sign_in(client, f"{role}1")
    conversation_id = customer_question(client)
    attachment_id = customer_photo(client)

    def session_for(who: str, key: tuple[str, str]) -> dict[str, str]:
        if who != "anonymous" and key == ("POST", "/logout"):
            return sign_in(client, f"{who}1")  # a throwaway session: this ends it
        return sessions[who]

    problems: list[str] = []
    for (method, path), who in itertools.product(EXPECTED, ROLES):
        rule = EXPECTED[(method, path)]
        allowed = who in rule.audience.value
        headers = dict(session_for(who, (method, path)))
        where = f"{who} {method} {path}"

        if method == "WS":
            got = websocket_outcome(client, path, headers)
            want = "open" if allowed else "closed 1008"
            if got != want:
                problems.append(f"{where}: {got}, expected {want}")
            continue

        if (method, path) == ("POST", "/login"):
            response = post_login(client, headers)
        else:
            url = path.replace("{conversation_id}", conversation_id) + rule.query
            if "{canned_id}" in url:  # a fresh one each time: some of these delete it
                url = url.replace("{canned_id}", str(new_canned(client, sessions["agent"])))
            if "{article_id}" in url:
                url = url.replace("{article_id}", new_draft(client))
            url = url.replace("{attachment_id}", attachment_id)
            if method == "MOUNT":
                method, url = "GET", f"{path}/agent.css"
            if headers:
                headers["x-csrf-token"] = csrf_token(client, headers)
            if rule.page:
                headers["accept"] = "text/html,application/xhtml+xml"
            body = rule.body() if rule.body else None
            response = client.request(
                method, url, headers=headers, json=body, follow_redirects=False
            )

        status = response.status_code
        if allowed:
            ok = rule.ok_signed_in if rule.ok_signed_in and who != "anonymous" else rule.ok
            if status != ok:
                problems.append(f"{where}: {status}, expected {ok}: {response.text[:200]}")
        elif who == "anonymous" and rule.page:
            location = response.headers.get("location", "")
            if status != 303 or not location.startswith("/login?next="):
                problems.append(f"{where}: {status} {location!r}, expected 303 to /login")
        elif rule.page:  # a person without the role: a page saying so, not JSON
            if status != 403 or "You can’t open this page" not in response.text:
                problems.append(f"{where}: {status}, expected 403 and a page saying so")
        else:
            refusal = (401, "not_signed_in") if who == "anonymous" else (403, "forbidden")
            if (status, _error_code(response)) != refusal:
                problems.append(f"{where}: {status} {_error_code(response)}, expected {refusal}")
    assert not problems, "\n".join(problems)


def _error_code(response: Reply) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None
