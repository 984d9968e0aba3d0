"""The OpenAPI schema tells the truth: schemathesis sends every operation what the schema
describes (and what it forbids), as an administrator and as an agent, against the app
in-process; no answer may be a 5xx or differ from what the schema promises."""

from __future__ import annotations

import io
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
import urllib3
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from accounts.tokens import issue_token_for
from accounts.users import Role
from app.main import create_app
from app.settings import Settings
from tests.app import agents
from tests.app.agents import add_user
from tests.app.conftest import services
from tests.conftest import SAMPLE_KB, CountingEmbedding

seeded_data = agents.seeded_data
BASE_URL = "http://testserver"


class ThroughTestClient(requests.adapters.HTTPAdapter):
    """Hands schemathesis's requests to a started TestClient: one app, whose lifespan runs
    once for the module (schemathesis's own ASGI transport starts and stops the lifespan
    around every operation, 2-3 s each here)."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client
        self.sent: Counter[str] = Counter()  # requests per status class, for the figures

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        assert body is None or isinstance(body, bytes)  # schemathesis sends no streams
        reply = self.client.request(
            str(request.method),
            str(request.url),
            headers=[
                (k, v if isinstance(v, str) else v.decode("latin-1"))
                for k, v in request.headers.items()
            ],
            content=body,
            follow_redirects=False,
        )
        self.sent[f"{reply.status_code // 100}xx"] += 1
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(reply.content),
            headers=urllib3.HTTPHeaderDict(reply.headers.multi_items()),
            status=reply.status_code,
            reason=reply.reason_phrase,
            version=11,
            preload_content=False,
        )
        return self.build_response(request, raw)


@dataclass(frozen=True)
class Api:
    session: requests.Session  # reaches the app
    admin: dict[str, str]  # the headers of an administrator's API token
    agent: dict[str, str]  # and of an agent's


@pytest.fixture(scope="module")
def api(seeded_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("schema") / "data"
    shutil.copytree(seeded_data, data)
    settings = Settings(  # as tests.app.conftest.make_settings builds them
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data,
        kb_dir=SAMPLE_KB,
        embedding_languages=[],
    )
    with TestClient(create_app(settings, embeddings=CountingEmbedding(size=16))) as client:
        add_user(client, "root", Role.ADMIN, "Root")
        add_user(client, "aiko", Role.AGENT, "Aiko")

        async def issue() -> str:
            async with services(client).sessions.begin() as session:
                return await issue_token_for(session, "root", "schemathesis")

        assert client.portal is not None
        admin = {"Authorization": f"Bearer {client.portal.call(issue)}"}
        # the agent's token as an administrator's script gets one
        issued = client.post("/api/tokens", json={"username": "aiko"}, headers=admin)
        assert issued.status_code == 201, issued.text
        agent = {"Authorization": f"Bearer {issued.json()['token']}"}
        session = requests.Session()
        adapter = ThroughTestClient(client)
        session.mount("http://", adapter)
        yield Api(session, admin, agent)
        print(
            f"schemathesis: {adapter.sent.total()} requests, {dict(sorted(adapter.sent.items()))}"
        )


def _described() -> dict[str, object]:
    """The schema the app serves at /openapi.json (building it needs no database)."""
    settings = Settings(_env_file=None, data_dir=Path("unused"), kb_dir=SAMPLE_KB)  # type: ignore[call-arg]
    return create_app(settings).openapi()


def _refusing(name: str, *statuses: str) -> dict[str, Any]:
    """Requests the schema calls valid that the operation `name` may still refuse with
    `statuses`, for a rule no schema can state."""
    accepted = ["2xx", "3xx", "401", "403", "404", "409", "429", *statuses]
    return {
        # one filter (several include-* keys would each admit operations of their own)
        "include-name": name,
        "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
    }


# Every operation is run, those that delete or close things too (on throwaway data)
REFUSING = [
    # a wrong current password; two new ones that differ
    _refusing("POST /account/password", "400"),
    # a real ISO date (2026-02-30 is none), `to` after `from`, a year at most
    _refusing("GET /reports", "422"),
    _refusing("GET /api/reports", "422"),
    _refusing("GET /api/reports.csv", "422"),
    # the knowledge base's rules (patterns in Python's sense: hypothesis reads \s otherwise)
    _refusing("POST /api/articles", "422"),
    _refusing("PUT /api/articles/{article_id}", "422"),
    # what a file is comes from its bytes: random ones are no PNG
    _refusing("POST /api/conversations/{conversation_id}/attachments", "400", "413", "415", "422"),
]
described = _described()
schema = schemathesis.openapi.from_dict(
    described, config=SchemathesisConfig.from_dict({"operations": REFUSING})
)
# As an agent: fewer, random requests (no coverage phase), mostly to see the refusals
as_agent = schemathesis.openapi.from_dict(
    described,
    config=SchemathesisConfig.from_dict(
        {"operations": REFUSING, "phases": {"coverage": {"enabled": False}}}
    ),
)
# FUZZ_RANDOM=1 draws new requests each run (and FUZZ_EXAMPLES=200 more of them) instead
# of the same ones
RUN = settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@schema.parametrize()
@settings(RUN, max_examples=EXAMPLES)
def test_every_operation_answers_an_administrator_as_its_schema_says(case: Case, api: Api) -> None:
    case.call_and_validate(BASE_URL, session=api.session, headers=api.admin)


@as_agent.parametrize()
@settings(RUN, max_examples=max(EXAMPLES // 3, 1))
def test_every_operation_answers_an_agent_as_its_schema_says(case: Case, api: Api) -> None:
    case.call_and_validate(BASE_URL, session=api.session, headers=api.agent)
