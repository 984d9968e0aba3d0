"""Claims: exactly one winner, whatever the race; the open-chats limit holds."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from accounts.users import Role
from conversations.errors import ChatError
from tests.app import agents
from tests.app.agents import (
    ALWAYS_OPEN,
    add_user,
    agent_socket,
    answer_to,
    claimed_by,
    events_until,
    is_type,
    new_agent,
    send,
    start_waiting,
    stored,
)
from tests.app.conftest import (
    MakeClient,
    on_both_databases,
    on_postgres,
    services,
)

# the apps these tests run (pytest finds fixtures by name in the module)
seeded_data = agents.seeded_data
make_client = agents.make_client


def test_simultaneous_claims_from_two_consoles_have_exactly_one_winner(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    ids = {}
    ids["aiko"], aiko_headers = new_agent(client, "aiko", "Aiko", max_open_chats=50)
    ids["ben"], ben_headers = new_agent(client, "ben", "Ben", max_open_chats=50)
    with agent_socket(client, aiko_headers) as aiko, agent_socket(client, ben_headers) as ben:
        consoles = {"aiko": aiko, "ben": ben}
        for round_ in range(20):
            cid = start_waiting(client)
            order = ["aiko", "ben"] if round_ % 2 else ["ben", "aiko"]
            for name in order:  # both frames are in flight before either is answered
                send(consoles[name], "claim", cid)
            outcomes = {}
            for name, ws in consoles.items():
                answer = events_until(ws, answer_to(cid))[-1]
                outcomes[name] = answer["type"] if answer["type"] == "claimed" else answer["code"]
            assert sorted(outcomes.values()) == ["already_claimed", "claimed"], outcomes
            winner = next(name for name, outcome in outcomes.items() if outcome == "claimed")
            row = stored(client, cid)
            assert (row.state, row.agent_id) == ("agent", ids[winner]), f"round {round_}"


@on_both_databases
def test_simultaneous_claims_through_the_service_have_exactly_one_winner(
    make_client: MakeClient,
) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    aiko = add_user(client, "aiko", Role.AGENT, "Aiko", max_open_chats=50)
    ben = add_user(client, "ben", Role.AGENT, "Ben", max_open_chats=50)
    assert client.portal is not None
    for _ in range(25):
        cid = start_waiting(client)

        async def race(cid: str = cid) -> list[BaseException | None]:
            agents = services(client).agents
            return list(
                await asyncio.gather(
                    agents.claim(aiko, cid), agents.claim(ben, cid), return_exceptions=True
                )
            )

        results = client.portal.call(race)
        winners = [who for who, r in zip((aiko, ben), results, strict=True) if r is None]
        errors = [r for r in results if isinstance(r, ChatError)]
        assert len(winners) == 1 and [e.code for e in errors] == ["already_claimed"], results
        assert stored(client, cid).agent_id == winners[0]


@on_postgres
def test_many_agents_on_two_servers_claim_one_conversation_and_exactly_one_wins(
    make_client: MakeClient,
) -> None:
    # scale-out: two server processes on one database; no in-process lock orders their claims
    servers = [make_client(business_hours=ALWAYS_OPEN) for _ in range(2)]
    agents = [
        add_user(servers[0], f"agent{n}", Role.AGENT, f"Agent {n}", max_open_chats=50)
        for n in range(8)
    ]

    def claims(server: TestClient, user_ids: list[int], cid: str) -> list[BaseException | None]:
        async def race() -> list[BaseException | None]:
            agents = services(server).agents
            claiming = (agents.claim(user_id, cid) for user_id in user_ids)
            return list(await asyncio.gather(*claiming, return_exceptions=True))

        assert server.portal is not None
        return server.portal.call(race)

    for _ in range(5):
        cid = start_waiting(servers[0])
        with ThreadPoolExecutor(len(servers)) as pool:
            halves = [
                pool.submit(claims, server, agents[n :: len(servers)], cid)
                for n, server in enumerate(servers)
            ]
            results = [result for half in halves for result in half.result()]
        order = [user_id for n in range(len(servers)) for user_id in agents[n :: len(servers)]]
        winners = [who for who, r in zip(order, results, strict=True) if r is None]
        codes = sorted(r.code for r in results if isinstance(r, ChatError))
        assert len(winners) == 1 and codes == ["already_claimed"] * 7, results
        assert stored(servers[1], cid).agent_id == winners[0]


def test_an_agent_at_their_limit_cannot_claim_another(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    _, headers = new_agent(client, "aiko", "Aiko", max_open_chats=1)
    first, second = start_waiting(client), start_waiting(client)
    with agent_socket(client, headers) as agent:
        claimed_by(agent, first)
        send(agent, "claim", second)
        error = events_until(agent, is_type("error"))[-1]
        assert error["code"] == "limit_reached" and error["conversation_id"] == second
        assert "1 open chat" in error["message"]
    assert stored(client, second).state == "waiting" and stored(client, second).agent_id is None


def test_the_limit_holds_when_two_claims_arrive_at_once(make_client: MakeClient) -> None:
    client = make_client(business_hours=ALWAYS_OPEN)
    aiko = add_user(client, "aiko", Role.AGENT, "Aiko", max_open_chats=1)
    first, second = start_waiting(client), start_waiting(client)

    async def race() -> list[BaseException | None]:
        agents = services(client).agents  # e.g. two console tabs, or a tab and auto-assign
        return list(
            await asyncio.gather(
                agents.claim(aiko, first), agents.claim(aiko, second), return_exceptions=True
            )
        )

    assert client.portal is not None
    results = client.portal.call(race)
    owned = [cid for cid in (first, second) if stored(client, cid).agent_id == aiko]
    assert len(owned) == 1, f"max_open_chats=1 but the agent owns {len(owned)}: {results}"


# ---------------------------------------------------------------------- presence
