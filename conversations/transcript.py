"""Storing and reading a conversation's messages, in `seq` order.

Both sides of a conversation write through `append`: the customer, the bot, agents and
system notices share one gap-free sequence per conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot import messages
from bot.policy import Turn
from conversations import mailing
from conversations.errors import ConversationMoved
from conversations.frames import message_frame, with_files
from delivery.events import MessageFrame
from handoff.states import ConversationState
from storage.models import Attachment, Conversation, Message

HISTORY_TURNS = 20
#: tries of a read-then-write whose conversation moved in between (`append(state=...)`)
MOVED_ATTEMPTS = 3
T = TypeVar("T")

# Every message runs the statements below, as SQL statements on the session's connection
# rather than through the ORM's unit of work, and built once, with their values bound at
# each call: building a statement and working out its cache key cost more than the trip to
# the database does (0.2 ms of 0.6 per statement), and the ORM's flush of one new message
# as much again. A write transaction on SQLite holds every other writer of the process
# until it commits.

#: the turns the bot sees (`history`): the columns it reads, not whole messages (a reply's
#: meta holds its scores, and loading twenty of them was most of a reply's database time)
_HISTORY = (
    select(Message.role, Message.text, Message.kind, Message.helpful, Message.meta["attachments"])
    .where(
        Message.conversation_id == bindparam("conversation_id"),
        # every earlier customer message, and every reply so far (replies to messages sent
        # before this one may have been stored after it)
        (Message.seq < bindparam("before_seq")) | (Message.role != "customer"),
    )
    .order_by(Message.seq.desc())
    .limit(HISTORY_TURNS)
)
_BY_CLIENT_ID = select(Message).where(
    Message.conversation_id == bindparam("conversation_id"),
    Message.client_id == bindparam("client_id"),
)
_INSERT_MESSAGE = insert(Message).returning(Message.id)


#: `take_seq(sets=...)`: one more bot reply in a row that could not answer
ONE_MORE_MISS = Conversation.consecutive_misses + 1

Guard = Literal["any", "state", "among", "open"]
#: each column a `take_seq` sets, and the expression it sets it to (None: a bound value)
Shape = tuple[tuple[str, ColumnElement[Any] | None], ...]


@dataclass(frozen=True)
class Taken:
    """What `take_seq` took and wrote: the seq, the conversation's state, and the values
    of the columns it set, as stored."""

    seq: int
    state: str
    values: dict[str, Any]


@cache
def _next_seq(guard: Guard, shape: Shape) -> Any:
    """UPDATE … RETURNING the conversation's next seq, its state and the columns of
    `shape`: in any state, only while in `p_state`, in one of `p_states`, or not closed.
    (Cached per guard and shape: the expressions in shapes are module constants.)"""
    statement = update(Conversation).where(Conversation.id == bindparam("p_conversation"))
    if guard == "state":
        statement = statement.where(Conversation.state == bindparam("p_state"))
    elif guard == "among":
        statement = statement.where(Conversation.state.in_(bindparam("p_states", expanding=True)))
    elif guard == "open":
        statement = statement.where(Conversation.state != ConversationState.CLOSED.value)
    columns = Conversation.__table__.c
    return statement.values(
        last_seq=Conversation.last_seq + 1,
        updated_at=bindparam("p_now"),
        **{key: bindparam(f"p_{key}") if set_to is None else set_to for key, set_to in shape},
    ).returning(Conversation.last_seq, Conversation.state, *(columns[key] for key, _ in shape))


def take_seq(
    connection: Connection,
    conversation_id: int,
    *,
    state: str | frozenset[str] | None = None,
    open_only: bool = False,
    sets: Mapping[str, Any] | None = None,
) -> Taken | None:
    """The conversation's next seq, taken in the connection's transaction, with `sets`
    written in the same statement (a value, or an expression of this module such as
    `ONE_MORE_MISS`); None when it is not in `state` (one state, or any of a set) or, with
    `open_only`, when it is closed."""
    sets = sets or {}
    shape: Shape = tuple(
        (key, value if isinstance(value, ColumnElement) else None) for key, value in sets.items()
    )
    params: dict[str, Any] = {
        f"p_{key}": value for key, value in sets.items() if not isinstance(value, ColumnElement)
    }
    params.update(p_conversation=conversation_id, p_now=datetime.now(UTC))
    guard: Guard = "open" if open_only else "any"
    if isinstance(state, str):
        guard, params["p_state"] = "state", state
    elif state is not None:
        guard, params["p_states"] = "among", sorted(state)
    row = connection.execute(_next_seq(guard, shape), params).first()
    if row is None:
        return None
    return Taken(row[0], row[1], dict(zip(sets, row[2:], strict=True)))


def insert_message(
    connection: Connection, conversation_id: int, seq: int, **fields: Any
) -> Message:
    """Insert message `seq` (taken with `take_seq`) in the connection's transaction; the
    stored message (in no session: nothing more is written through it)."""
    row = {
        # what a stored message has when its writer does not say (the columns' defaults)
        "kind": "text",
        "citations": [],
        "meta": {},
        "reply_pending": False,
        **fields,
        "conversation_id": conversation_id,
        "seq": seq,
        "created_at": datetime.now(UTC),
    }
    message_id = connection.execute(_INSERT_MESSAGE, row).scalar_one()
    return Message(id=message_id, **row)


def add_customer_text(
    connection: Connection,
    conversation_id: int,
    client_id: str,
    text: str,
    answered_in: frozenset[str],
) -> tuple[Message, str] | None:
    """Store a customer's text message (in a write transaction through `storage.engine.
    write`); the message and the conversation's state, or None when it is closed.

    Two statements: the one that takes the seq refuses a closed conversation and reads the
    state, which says whether the bot answers the message (`answered_in`: it is marked
    `reply_pending`); the insert meets the unique (conversation, client_id) of a resend
    (IntegrityError). A customer's own message never goes out by mail
    (`mailing.recipient`).
    """
    taken = take_seq(connection, conversation_id, open_only=True)
    if taken is None:
        return None
    message = insert_message(
        connection,
        conversation_id,
        taken.seq,
        role="customer",
        kind="text",
        text=text,
        client_id=client_id,
        reply_pending=taken.state in answered_in,
    )
    return message, taken.state


async def append(
    session: AsyncSession,
    conversation: Conversation,
    *,
    state: str | None = None,
    sets: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Message:
    """Insert a message with the conversation's next seq (atomic in the transaction).

    With `state` (what the caller read before its write transaction), only while the
    conversation is still in it, checked by the same statement that takes the seq. `sets`
    are the conversation's columns that statement writes too (`conversation` shows them,
    and its new `last_seq`, as stored).

    Raises:
        ConversationMoved: the conversation is in another state now.
    """

    def now(orm: Session) -> Message:
        if orm.new or orm.dirty or orm.deleted:
            orm.flush()  # the statements below do not flush the ORM's changes
        connection = orm.connection()
        taken = take_seq(connection, conversation.id, state=state, sets=sets)
        if taken is None:
            raise ConversationMoved(f"conversation {conversation.public_id} is no longer {state}")
        for key, value in {**taken.values, "last_seq": taken.seq}.items():
            set_committed_value(conversation, key, value)
        message = insert_message(connection, conversation.id, taken.seq, **fields)
        mail = mailing.outgoing(conversation, message)
        if mail is not None:  # in this transaction: the message and its mail, or neither
            orm.add(mail)
        return message

    return await session.run_sync(now)


async def until_unmoved(step: Callable[[], Awaitable[T]]) -> T:
    """Run `step` (reads, then a write that passes what it read as `append(state=...)`)
    again while its conversation moves between the two, at most `MOVED_ATTEMPTS` times."""
    for _ in range(MOVED_ATTEMPTS - 1):
        try:
            return await step()
        except ConversationMoved:
            continue
    return await step()


async def notice(
    session: AsyncSession, conversation: Conversation, key: str, **params: object
) -> Message:
    """Store a system notice (a `bot.messages` text in the conversation's language)."""
    return await append(
        session,
        conversation,
        role="system",
        kind="notice",
        lang=conversation.lang,
        text=messages.text(key, conversation.lang, **params),
    )


async def owe_reply(session: AsyncSession, conversation: Conversation) -> Message | None:
    """Mark the customer's last message pending when nobody answered it (no agent or bot
    message after it), for the bot taking a chat back; None when there is none. Not a
    mail (the agents answer mail), nor a message with files (the bot cannot read them)."""
    if conversation.channel != mailing.CHAT:
        return None
    last: Message | None = await session.scalar(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.role.in_(("customer", "agent", "bot")),
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    if last is None or last.role != "customer" or not last.text.strip():
        return None
    with_files = select(Attachment.id).where(Attachment.message_id == last.id).exists()
    if await session.scalar(select(with_files)):
        return None
    last.reply_pending = True
    return last


async def by_client_id(
    session: AsyncSession, conversation_id: int, client_id: str
) -> Message | None:
    """The message a client already sent with this id (a resend after a dropped link)."""
    message: Message | None = await session.scalar(
        _BY_CLIENT_ID, {"conversation_id": conversation_id, "client_id": client_id}
    )
    return message


async def offered(session: AsyncSession, conversation_id: int, article_id: str) -> str | None:
    """The title of `article_id` if the bot offered it as a choice in this conversation."""
    rows = await session.scalars(
        select(Message.citations).where(
            Message.conversation_id == conversation_id,
            Message.role == "bot",
            Message.kind == "suggestions",
        )
    )
    for citations in rows:
        for citation in citations or []:
            if citation.get("article_id") == article_id:
                return str(citation.get("title") or article_id)
    return None


async def frames_after(
    session: AsyncSession, conversation_id: int, last_seq: int
) -> list[MessageFrame]:
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > last_seq)
        .order_by(Message.seq)
    )
    return [message_frame(m) for m in rows]


async def history(session: AsyncSession, conversation_id: int, before_seq: int) -> list[Turn]:
    """The turns the bot sees when it answers the message `before_seq`."""
    connection = await session.connection()
    rows = (
        await connection.execute(
            _HISTORY, {"conversation_id": conversation_id, "before_seq": before_seq}
        )
    ).all()
    # a file shows as its name: the bot sees that something was sent, not an empty turn
    return [
        Turn(role, with_files(text, {"attachments": attachments}), kind, helpful)
        for role, text, kind, helpful, attachments in reversed(rows)
    ]
