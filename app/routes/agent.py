"""The agent console: the page, its websocket (`/ws/agent`), canned responses."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Path, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette import status

from accounts.sessions import SignedIn
from accounts.users import Role
from app.deps import AgentDep, ServicesDep, get_signed_in
from app.errors import NotFound
from app.routes._fields import MAX_INT, field
from app.routes._origins import same_origin
from app.routes._responses import SIGNED_IN, ConversationId, page, refused
from app.routes._sockets import (
    describe_frame,
    echoed_field,
    forwarder,
    frame_text,
    parse_event,
    serve,
    storage_unreachable,
    unavailable_frame,
)
from app.routes.templates import templates
from conversations.errors import ChatError
from conversations.frames import error_frame
from delivery import channels
from delivery.events import Frame
from delivery.hub import Hub
from delivery.tasks import Loop
from guards.logs import conversation_scope
from handoff.canned import CannedNotFound, canned_dict
from handoff.desk import AgentDesk

router = APIRouter(responses=SIGNED_IN)
log = logging.getLogger(__name__)

AGENT_TYPES = (
    "open",
    "claim",
    "message",
    "note",
    "typing",
    "transfer",
    "hand_back",
    "close",
    "presence",
)


class CannedIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=4000)
    lang: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    team: str = Field(default="support", min_length=1, max_length=64)


CannedId = Annotated[int, Path(ge=1, lt=MAX_INT)]


@router.get("/agent", response_class=HTMLResponse, responses=page())
async def agent_console(
    request: Request, services: ServicesDep, signed: AgentDep, lang: str = "en"
) -> Response:
    """The live queue and conversations."""
    canned = await services.canned.for_team(signed.user.team)
    return templates.TemplateResponse(
        request,
        "agent.html",
        {
            "user": signed.user,
            "csrf_token": signed.csrf_token,
            "title": "Agent console",
            "lang": "ja" if lang == "ja" else "en",
            "canned": canned,
        },
    )


@router.get("/agent/canned", response_class=HTMLResponse, responses=page())
async def canned_page(request: Request, services: ServicesDep, signed: AgentDep) -> Response:
    """Manage the team's canned responses."""
    return templates.TemplateResponse(
        request,
        "canned.html",
        {
            "user": signed.user,
            "csrf_token": signed.csrf_token,
            "title": "Canned responses",
            "canned": await services.canned.for_team(signed.user.team),
        },
    )


@router.get("/api/canned")
async def list_canned(services: ServicesDep, signed: AgentDep) -> list[dict[str, Any]]:
    """The team's canned responses."""
    return [canned_dict(c) for c in await services.canned.for_team(signed.user.team)]


@router.post("/api/canned", status_code=status.HTTP_201_CREATED, responses=refused(400, 422))
async def create_canned(
    services: ServicesDep, signed: AgentDep, body: Annotated[CannedIn, Body()]
) -> dict[str, Any]:
    """Add a canned response (agents: to their own team)."""
    fields = body.model_dump()
    if not signed.has_role(Role.ADMIN):
        fields["team"] = signed.user.team
    return await services.canned.create(fields, signed.user.display_name)


@router.put("/api/canned/{canned_id}", responses=refused(400, 404, 422))
async def update_canned(
    canned_id: CannedId,
    services: ServicesDep,
    signed: AgentDep,
    body: Annotated[CannedIn, Body()],
) -> dict[str, Any]:
    """Edit a canned response."""
    try:
        return await services.canned.update(
            canned_id, body.model_dump(), signed.user.display_name, _team_of(signed)
        )
    except CannedNotFound as exc:
        raise NotFound(str(exc)) from None


@router.delete(
    "/api/canned/{canned_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=refused(404, 422),
)
async def delete_canned(canned_id: CannedId, services: ServicesDep, signed: AgentDep) -> Response:
    """Remove a canned response."""
    try:
        await services.canned.delete(canned_id, _team_of(signed))
    except CannedNotFound as exc:
        raise NotFound(str(exc)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _team_of(signed: SignedIn) -> str | None:
    """The team whose canned responses this person may change (None: any, for admins)."""
    return None if signed.has_role(Role.ADMIN) else signed.user.team


@router.get("/api/queue")
async def queue(services: ServicesDep, signed: AgentDep) -> dict[str, Any]:
    """The queue as the signed-in agent sees it."""
    return await services.agents.snapshot(signed.user.id)


@router.get("/api/conversations/{conversation_id}", responses=refused(404, 422))
async def conversation_context(
    conversation_id: ConversationId, services: ServicesDep, signed: AgentDep
) -> dict[str, Any]:
    """A conversation's transcript, notes, handoff reason, summary and suggested articles."""
    try:
        return await services.agents.context(conversation_id)
    except ChatError as exc:
        raise NotFound(exc.message) from None


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket, services: ServicesDep) -> None:
    """An agent's live connection: the queue and the conversations they open."""
    if not same_origin(websocket.headers.get("origin"), websocket):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="cross-origin")
        return
    signed = await get_signed_in(websocket)
    if signed is None or not signed.has_role(Role.AGENT):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="sign in as an agent")
        return
    if signed.user.must_change_password and not signed.via_token:
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION, reason="choose a new password first"
        )
        return
    await websocket.accept()
    session = AgentSession(websocket, services.agents, services.hub, signed)
    session.max_frame_bytes = services.settings.ws_max_frame_bytes
    with websocket.app.state.metrics.open_websockets.labels("agent").track_inprogress():
        await serve(session)


class AgentSession:
    """One console connection."""

    def __init__(self, websocket: WebSocket, agents: AgentDesk, hub: Hub, signed: SignedIn) -> None:
        self.websocket = websocket
        self.agents = agents
        self.hub = hub
        self.user = signed.user
        self.csrf = signed.csrf_token
        self._send_lock = asyncio.Lock()
        self._stack = AsyncExitStack()
        self._forwarders: list[Loop[Frame]] = []
        self._watching: dict[str, int] = {}  # conversation id -> last seq sent
        self._connected = False
        self.max_frame_bytes: int | None = None

    async def run(self) -> None:
        presence = await self.agents.connect(self.user)
        self._connected = True
        queue = await self._stack.enter_async_context(self.hub.subscribe(channels.AGENTS))
        self._forwarders.append(forwarder(queue, partial(self._deliver, pid=None)))
        await self.send(
            {
                "type": "welcome",
                "presence": presence.status,
                "max_open_chats": self.user.max_open_chats,
                "csrf_token": self.csrf,
                "user": {
                    "id": self.user.id,
                    "username": self.user.username,
                    "display_name": self.user.display_name,
                    "role": self.user.role,
                },
            }
        )
        await self.send(await self.agents.snapshot(self.user.id))
        while True:
            frame = await self.websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            raw = frame_text(frame, self.max_frame_bytes)
            if raw is None:  # too big: refused before anything was parsed
                await self.websocket.close(code=status.WS_1009_MESSAGE_TOO_BIG)
                return
            try:
                # A disconnect (or shutdown) waits for the event in hand: its database
                # work is never cut off halfway, which would lose it and can leave a
                # connection closing forever (SQLAlchemy + aiosqlite >= 0.22).
                with anyio.CancelScope(shield=True), conversation_scope(_conversation_id(raw)):
                    await self.handle(raw)
            except ChatError as exc:
                event = error_frame(exc.code, exc.message)
                event["conversation_id"] = _conversation_id(raw)
                await self.send(event)
            except (WebSocketDisconnect, asyncio.CancelledError):
                raise
            except Exception as exc:  # one bad event never takes the console down
                if storage_unreachable(exc):
                    log.warning("database unreachable, refused %s: %r", describe_frame(raw), exc)
                    event = unavailable_frame(None)
                else:
                    log.exception("agent event failed (%s)", describe_frame(raw))
                    event = error_frame("internal", "something went wrong on our side; try again")
                event["conversation_id"] = _conversation_id(raw)
                await self.send(event)

    async def close(self) -> None:
        while self._forwarders:  # (one may open a conversation, adding more, as it ends)
            stopping, self._forwarders = self._forwarders, []
            await asyncio.gather(*(forwarder.stop() for forwarder in stopping))
        await self._stack.aclose()
        if self._connected:
            await self.agents.disconnect(self.user.id)

    async def send(self, event: Frame) -> None:
        async with self._send_lock:
            pid = event.get("conversation_id")
            if event.get("type") == "message" and pid in self._watching:
                if event["seq"] <= self._watching[pid]:
                    return
                self._watching[pid] = event["seq"]
            await self.websocket.send_text(json.dumps(event, ensure_ascii=False))

    async def handle(self, raw: str) -> None:
        try:
            event = parse_event(raw)
        except ValueError:
            raise ChatError("invalid_json", "the frame is not valid JSON") from None
        if not isinstance(event, dict) or event.get("type") not in AGENT_TYPES:
            raise ChatError("unknown_type", f"expected one of {', '.join(AGENT_TYPES)}")
        kind = event["type"]
        if kind == "presence":
            await self.agents.set_status(self.user.id, field(event, "status", str))
            return
        pid = field(event, "conversation_id", str)
        uid = self.user.id
        if kind == "open":
            # absent or null: the whole transcript; else a seq (a bool or -1 is no seq)
            last_seq = None if event.get("last_seq") is None else field(event, "last_seq", int)
            await self.open(pid, last_seq)
        elif kind == "claim":
            await self.agents.claim(uid, pid)
            await self.send({"type": "claimed", "conversation_id": pid})
            await self.open(pid, self._watching.get(pid))
        elif kind == "message":
            text = field(event, "text", str)
            if not text.strip():
                raise ChatError("empty_text", "the message is empty")
            await self.agents.reply(uid, pid, field(event, "client_id", str)[:64], text.strip())
        elif kind == "note":
            text = field(event, "text", str)
            if not text.strip():
                raise ChatError("empty_text", "the note is empty")
            await self.agents.note(uid, pid, text.strip())
        elif kind == "typing":
            await self.agents.typing(uid, pid, field(event, "typing", bool))
        elif kind == "transfer":
            await self.agents.transfer(uid, pid, field(event, "to_user_id", int))
        elif kind == "hand_back":
            await self.agents.hand_back(uid, pid)
        elif kind == "close":
            tags = event.get("tags") or []
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ChatError("invalid_field", "'tags' must be a list of words")
            await self.agents.close(uid, pid, field(event, "outcome", str), tags)

    async def open(self, pid: str, last_seq: int | None) -> None:
        """Subscribe to a conversation (once) and send its context."""
        if pid not in self._watching:
            # Subscribe before reading, so nothing stored in between is missed.
            self._watching[pid] = 0
            for channel in (channels.conversation(pid), channels.notes(pid)):
                queue = await self._stack.enter_async_context(self.hub.subscribe(channel))
                self._forwarders.append(forwarder(queue, partial(self._deliver, pid=pid)))
        try:
            context = await self.agents.context(pid, last_seq)
        except ChatError:
            self._watching.pop(pid, None)
            raise
        async with self._send_lock:
            seqs = [m["seq"] for m in context["messages"]]
            self._watching[pid] = (
                max([self._watching[pid], *seqs])
                if seqs
                else max(self._watching[pid], last_seq or 0)
            )
            await self.websocket.send_text(json.dumps(context, ensure_ascii=False))

    async def _deliver(self, event: Frame, pid: str | None) -> bool:
        """Send one event: of a conversation (`pid`), or of the agents' channel."""
        if pid is not None:
            await self.send({**event, "conversation_id": pid})
        elif event.get("type") == "queue_changed":
            await self.send(await self.agents.snapshot(self.user.id))
        elif (
            event.get("type") == "claimed"
            and event.get("auto")
            and event.get("user_id") == self.user.id
        ):
            # assigned automatically: tell this agent and open it for them
            claimed = event["conversation_id"]
            await self.send({"type": "claimed", "conversation_id": claimed})
            await self.open(claimed, None)
        elif event.get("type") == "customer_ended" and event.get("user_id") == self.user.id:
            # the customer ended a chat this agent had
            await self.send({"type": "customer_ended", "conversation_id": event["conversation_id"]})
        return True


def _conversation_id(raw: str) -> str | None:
    return echoed_field(raw, "conversation_id")
