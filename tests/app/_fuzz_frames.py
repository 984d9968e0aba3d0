"""The frames the websocket fuzz tests (`test_fuzz.py`) send: hypothesis strategies for
every wrong kind of frame to /ws/chat and /ws/agent (wrong types per field, unknown types,
missing fields, NUL and lone surrogates, binary, not JSON, deeply nested, too big)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from app.routes.agent import AGENT_TYPES
from app.routes.chat import CLIENT_TYPES

LIMIT = 4000  # KAKEHASHI_MAX_MESSAGE_CHARS's default
FRAME_BYTES = 65_536  # KAKEHASHI_WS_MAX_FRAME_BYTES's default


# ---------------------------------------------------------------------- frames
def frame(event: Any) -> str:
    """JSON text as a careless client writes it (floats past JSON's range as Infinity)."""
    return json.dumps(event)


def not_an_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return True


NOT_TEXT_CHARS = ["\x00", "\ud800", "\udbff", "\udfff"]  # NUL and lone surrogates
odd_text = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from([*NOT_TEXT_CHARS, "\ufeff", "\u202e", "日", "\\", '"', "\n"]),
    ),
    max_size=40,
)
dirty_text = st.builds(
    lambda a, bad, b: a + bad + b, odd_text, st.sampled_from(NOT_TEXT_CHARS), odd_text
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([-1, 2**31, 2**63, 10**40, -(2**63), 1e308, -0.0]),
    st.floats(),  # NaN and infinities too
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, odd_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)
    ),
    max_leaves=10,
)


def wrong(kind: type) -> st.SearchStrategy[Any]:
    """JSON values that are not of `kind` (nor, for numbers, a bool)."""
    if kind is int:
        return json_values.filter(lambda v: not isinstance(v, int) or isinstance(v, bool))
    return json_values.filter(lambda v: not isinstance(v, kind))


not_text = st.one_of(wrong(str), dirty_text)
out_of_range = st.integers().filter(lambda n: not 0 <= n < 2**31)  # seq, ids: 32-bit
huge_text = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["a", "é", "日", "\x00"]),
    st.integers(LIMIT + 1, 20_000),
)
deeply_nested = st.builds(
    lambda depth, kind: kind[0] * depth + kind[1] + kind[2] * depth,
    st.integers(500, 30_000),
    st.sampled_from([("[", "", "]"), ('{"a":', "1", "}"), ('{"type":', "1", "}")]),
)
not_json = st.one_of(
    st.text().filter(not_an_object),
    st.binary().filter(lambda b: not_an_object(b.decode("utf-8", "replace"))),
    json_values.filter(lambda v: not isinstance(v, dict)).map(frame),
    deeply_nested,
)


def unknown_type(types: tuple[str, ...]) -> st.SearchStrategy[str]:
    return (
        st.dictionaries(odd_text, json_values, max_size=3)
        .filter(lambda event: event.get("type") not in types)
        .map(frame)
    )


_MISSING = object()


def spoiled(
    kind: str,
    good: dict[str, Any],
    bad: dict[str, st.SearchStrategy[Any]],
    required: tuple[str, ...] = (),
) -> st.SearchStrategy[str]:
    """`kind` with `good` fields but one field of `bad` wrong, or one `required` missing."""

    def build(name: str, value: Any, extra: dict[str, Any]) -> str:
        event = {**extra, **good, "type": kind}
        if value is _MISSING:
            event.pop(name, None)
        else:
            event[name] = value
        return frame(event)

    extras = st.dictionaries(
        odd_text.filter(lambda k: k not in good and k not in bad and k != "type"),
        json_values,
        max_size=2,
    )
    choices = [st.tuples(st.just(n), s) for n, s in bad.items()]
    choices += [st.tuples(st.just(n), st.just(_MISSING)) for n in required]
    return st.tuples(st.one_of(choices), extras).map(lambda t: build(t[0][0], t[0][1], t[1]))


def chat_refused() -> st.SearchStrategy[str | bytes]:
    """Frames /ws/chat refuses with an error once a conversation is open, in any state."""
    return st.one_of(
        not_json,
        unknown_type(CLIENT_TYPES),
        spoiled(
            "message",
            {"client_id": "fuzz", "text": "hello"},
            {
                "client_id": st.one_of(not_text, st.sampled_from(["", " "]), st.text(min_size=65)),
                "text": st.one_of(not_text, st.sampled_from(["", " \n"]), huge_text),
            },
            required=("client_id", "text"),
        ),
        spoiled(
            "choose",
            {"client_id": "fuzz-choice", "article_id": "return-item"},
            {"client_id": not_text, "article_id": st.one_of(not_text, st.just(""))},
            required=("client_id", "article_id"),
        ),
        spoiled(
            "feedback",
            {"seq": 1, "helpful": True},
            {"seq": wrong(int), "helpful": wrong(bool)},
            required=("seq", "helpful"),
        ),
        spoiled("typing", {"typing": True}, {"typing": wrong(bool)}, required=("typing",)),
        spoiled(
            "contact",
            {"email": "a@example.com"},
            # an empty `message` is none at all
            {"email": not_text, "message": st.one_of(not_text, huge_text).filter(bool)},
            required=("email",),
        ),
        spoiled(
            "rate",
            {"score": 3},
            {"score": st.one_of(wrong(int), st.integers().filter(lambda s: not 1 <= s <= 5))},
            required=("score",),
        ),
        spoiled(
            "hello",
            {"token": None, "last_seq": 0},
            {
                "token": st.one_of(wrong(str).filter(lambda v: v is not None), dirty_text),
                # a missing, null, false or 0 last_seq is 0
                "last_seq": st.one_of(wrong(int).filter(bool), out_of_range),
            },
        ),
    )


CHAT_FIELDS = ["client_id", "text", "seq", "helpful", "typing", "email", "message", "score"]


def chat_any() -> st.SearchStrategy[str | bytes]:
    """Frames that may be valid, or not: any documented answer will do."""
    return st.one_of(
        chat_refused(),
        st.builds(
            lambda kind, fields: frame({**fields, "type": kind}),
            st.sampled_from([t for t in CLIENT_TYPES if t != "hello"]),
            st.dictionaries(st.sampled_from([*CHAT_FIELDS, "comment", "article_id"]), json_values),
        ),
    )


OUTCOMES = ("resolved", "not_resolved")


def agent_refused(cid: str) -> st.SearchStrategy[str | bytes]:
    """Frames /ws/agent refuses with an error, `cid` being a conversation the agent has (a
    field is checked before the conversation is looked up: a real one makes sure)."""
    return st.one_of(
        not_json,
        unknown_type(AGENT_TYPES),
        spoiled(
            "presence",
            {"status": "online"},
            {"status": st.one_of(not_text, odd_text.filter(lambda s: s not in ("online", "away")))},
            required=("status",),
        ),
        st.sampled_from(AGENT_TYPES[:-1]).flatmap(
            lambda kind: spoiled(
                kind, {"conversation_id": cid}, {"conversation_id": not_text}, ("conversation_id",)
            )
        ),
        spoiled(
            "open",
            {"conversation_id": cid},
            {
                "last_seq": st.one_of(
                    wrong(int).filter(lambda v: v is not None),
                    out_of_range,
                )
            },
        ),
        spoiled(
            "message",
            {"conversation_id": cid, "client_id": "fuzz", "text": "Hello"},
            {"client_id": not_text, "text": st.one_of(not_text, st.just(" "))},
            required=("client_id", "text"),
        ),
        spoiled(
            "note",
            {"conversation_id": cid, "text": "a note"},
            {"text": st.one_of(not_text, st.just(""))},
            required=("text",),
        ),
        spoiled(
            "typing",
            {"conversation_id": cid, "typing": True},
            {"typing": wrong(bool)},
            required=("typing",),
        ),
        spoiled(
            "transfer",
            {"conversation_id": cid, "to_user_id": 1},
            {"to_user_id": st.one_of(wrong(int), out_of_range)},
            required=("to_user_id",),
        ),
        spoiled(
            "close",
            {"conversation_id": cid, "outcome": "resolved", "tags": []},
            {
                "outcome": st.one_of(not_text, odd_text.filter(lambda s: s not in OUTCOMES)),
                "tags": st.one_of(
                    wrong(list).filter(bool), st.lists(wrong(str), min_size=1, max_size=3)
                ),
            },
            required=("outcome",),
        ),
    )


AGENT_FIELDS = ["client_id", "text", "typing", "to_user_id", "outcome", "tags", "last_seq"]


def agent_any(cid: str) -> st.SearchStrategy[str | bytes]:
    return st.one_of(
        agent_refused(cid),
        st.builds(
            lambda kind, pid, fields: frame({**fields, "type": kind, "conversation_id": pid}),
            st.sampled_from(AGENT_TYPES),
            st.sampled_from([cid, "nobody"]),
            st.dictionaries(st.sampled_from(AGENT_FIELDS), json_values),
        ),
    )


def junk(
    refused: st.SearchStrategy[str | bytes], anything: st.SearchStrategy[str | bytes]
) -> st.SearchStrategy[tuple[str | bytes, bool]]:
    """(frame, whether it must be refused)."""
    return st.one_of(refused.map(lambda f: (f, True)), anything.map(lambda f: (f, False)))
