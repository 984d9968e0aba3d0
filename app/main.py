"""The web application: `create_app(settings)` builds it; uvicorn serves it."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import anyio
from fastapi import FastAPI
from langchain_core.embeddings import Embeddings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accounts.users import create_first_admin
from app import errors
from app.bootstrap import INDEX_IN_CHILD_FROM, build_bot, build_retriever, index_in_child
from app.guard import ChatGuard
from app.headers import SecurityHeaders
from app.metrics import Metrics
from app.routes import admin, agent, attachments, chat, editor, ops, pages, reports
from app.routes import auth as auth_routes
from app.services import Services
from app.settings import Settings, get_settings, resolved_database_url
from app.wiring import (
    build_attachments,
    build_conversations,
    build_delivery,
    build_mail,
    count_events,
)
from delivery.tasks import shut_down, stop_leftovers
from guards.logs import install as redact_logs
from handoff.canned import CannedResponses
from handoff.hours import BusinessHours
from knowledge.articles import ArticleService, load_published
from knowledge.reindex import Reindexer
from knowledge.sync import IndexSync
from retrieval.store import has_saved_index
from storage.engine import SQLiteSessions, create_engine, dispose, migrate, session_factory

log = logging.getLogger("kakehashi")
STATIC = Path(__file__).resolve().parent / "static"
GC_THRESHOLDS = (50_000, 20, 10)  # the collector's, once started (`freeze_after_start`)


# the packages whose background tasks a shutdown stops if their owner forgot one
OUR_PACKAGES = frozenset(
    {
        "accounts",
        "app",
        "attachments",
        "bot",
        "conversations",
        "delivery",
        "guards",
        "handoff",
        "knowledge",
        "mail",
        "reports",
        "retrieval",
        "storage",
    }
)


def create_app(
    settings: Settings | None = None,
    *,
    embeddings: Embeddings | None = None,
    freeze_after_start: bool = False,
) -> FastAPI:
    """The application. Models, index and database are set up in the lifespan, not here.

    Args:
        settings: Configuration (read from the environment when not given).
        embeddings: An embedding model to use instead of loading the configured one
            (tests pass a fake one).
        freeze_after_start: Once started, leave what the start loaded out of the garbage
            collector's full passes, and collect less often (`served_app`: one app per
            process).
    """
    settings = settings or get_settings()
    redact_logs()  # nothing raw from a customer in any log line, from here on

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(resolved_database_url(settings))
        await migrate(engine)
        sessions = session_factory(engine)
        delivery = await build_delivery(settings)
        imported_ids: list[str] = []
        stored = ArticleService(sessions)  # announced to the other servers below
        if not await stored.count():  # first start: the KB folder
            imported = await stored.import_dir(settings.kb_dir)
            for problem in imported.problems:
                log.warning("knowledge base: skipped %s", problem)
            log.info(
                "knowledge base: imported %d articles from %s",
                len(imported.created),
                settings.kb_dir,
            )
            imported_ids = imported.created
        published = await stored.published()
        if (
            embeddings is None
            and not has_saved_index(settings.data_dir)
            and len(published) >= INDEX_IN_CHILD_FROM
        ):
            # nothing saved yet: a child embeds and saves it all, and takes the peak memory
            # of embedding with it when it exits (before this process loads any model)
            embedded = await anyio.to_thread.run_sync(index_in_child, settings, published)
            if embedded is not None:
                log.info("knowledge base: %d articles embedded by a child process", embedded)
        retriever = await anyio.to_thread.run_sync(
            lambda: build_retriever(
                settings, embeddings=embeddings, threads=settings.embedding_threads
            )
        )
        reindexer = Reindexer(retriever, load=partial(load_published, sessions))

        async def resync() -> None:
            await anyio.to_thread.run_sync(retriever.sync, await articles.published())

        index_sync = IndexSync(delivery.bus, delivery.hub, reindexer, resync)
        articles = ArticleService(sessions, on_change=index_sync.changed)
        for article_id in imported_ids:  # the other servers index them from the database
            await index_sync.announce(article_id)
        report = await anyio.to_thread.run_sync(retriever.sync, published)
        log.info(
            "knowledge base: %d published articles (%d embedded)", len(retriever), report.embedded
        )
        await index_sync.start()
        bot = build_bot(retriever, settings)
        hours = BusinessHours.parse(settings.business_hours, settings.timezone, settings.holidays)
        attachments = build_attachments(settings, sessions)
        conversations, agents = await build_conversations(
            settings, sessions, delivery, hours, bot, retriever, attachments
        )
        await ensure_first_admin(sessions)
        # what a crash (or a server that died) left unanswered is answered now, and swept
        # for while this server runs
        await conversations.replies.recover()
        conversations.replies.start_sweeping()
        mail = build_mail(settings, sessions, delivery, conversations)
        if mail is not None:  # KAKEHASHI_MAIL_FROM set: inboxes, outbox (docs/email.md)
            await mail.start()
        metrics = Metrics()
        if isinstance(sessions, SQLiteSessions):
            metrics.watch_writers(sessions.writers)
        count_events(delivery.bus, metrics)
        app.state.metrics = metrics
        app.state.guard = ChatGuard.build(settings, delivery.redis, metrics)
        app.state.services = Services(
            settings,
            retriever,
            bot,
            engine,
            sessions,
            delivery.hub,
            delivery.bus,
            delivery.locks,
            delivery.work,
            conversations,
            agents,
            CannedResponses(sessions),
            articles,
            reindexer,
            attachments,
        )
        if freeze_after_start:
            settle_collector()
        try:
            yield
        finally:
            # each step for a limited time: a server that cannot stop is worse than one
            # that leaves a step behind (delivery.tasks.shut_down)
            await shut_down(
                [
                    ("the mail poller and outbox", mail.close if mail else _nothing),
                    ("the reply sweep", conversations.replies.close),
                    ("the bot replies under way", conversations.drain),
                    ("the queue refresh and grace timers", agents.drain),
                    ("the index sync", index_sync.close),
                    ("the reindexing", reindexer.drain),
                    ("the connection guard", app.state.guard.close),
                    ("the login throttle", partial(_close_throttle, app)),
                    ("tasks left running", partial(stop_leftovers, OUR_PACKAGES, 1.0)),
                    ("the delivery (hub, presence, locks)", delivery.close),
                    ("the database connections", partial(dispose, engine, sessions)),
                ],
                within=settings.shutdown_step_seconds,
            )

    app = FastAPI(
        title="Kakehashi",
        version="0.1.0",
        lifespan=lifespan,
        summary="Customer-support chatbot with human handoff",
    )
    app.mount("/static", pages.PublicStaticFiles(directory=STATIC), name="static")
    errors.install(app)
    app.add_middleware(SecurityHeaders)
    app.include_router(pages.router)
    app.include_router(ops.router)
    app.include_router(chat.router)
    app.include_router(attachments.router)
    app.include_router(auth_routes.router)
    app.include_router(agent.router)
    app.include_router(admin.router)
    app.include_router(editor.router)
    app.include_router(reports.router)
    return app


def served_app() -> FastAPI:
    """The app as `kakehashi serve` runs it: the only one in its process."""
    return create_app(freeze_after_start=True)


def settle_collector(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> None:
    """Leave what the start loaded out of the garbage collector's passes, and give it a
    young generation of `thresholds[0]` objects.

    What the start loaded (models, index, dictionaries: ~800k objects) is frozen: each
    full pass walked them all and stalled every reply for ~0.4 s under load. (Refcounting
    still frees them.) A collection after the freeze tells the collector how large the old
    generation now is: it makes a full pass only once a quarter as many objects as that
    generation held at its last full pass have reached it since, and without it that count
    would be the one from before the freeze, with the ~800k.

    A young generation of 50,000 objects, not 700: a reply's objects die before a
    collection comes, so few reach the older generations, and the full passes that walked
    every open chat's ~200 objects (150 ms at 1,000 chats, every ~25 s at 90 messages/s,
    freeing nothing) come once in minutes. The price: a young pass comes about once a
    minute at 20 messages/s and the middle generation's after 20 of them, so garbage in
    cycles that outlived a young pass waits ~20 minutes. Every closed chat was such a
    cycle (and grew a soak by ~6 MiB a minute) until `delivery.tasks.stop` and
    `Loop.stop` let go of their halves: a closed chat is freed at once now.
    """
    gc.collect()
    gc.freeze()
    gc.collect()  # the old generation is now empty: what the collector counts from
    gc.set_threshold(*thresholds)


async def ensure_first_admin(sessions: async_sessionmaker[AsyncSession]) -> None:
    """On the very first start, create an admin with a one-time password and print it."""
    async with sessions.begin() as session:
        password = await create_first_admin(session)
    if password is None:
        return
    banner = (
        "\n" + "=" * 72 + "\n"
        "  First start: an administrator account was created.\n"
        f"  Sign in at /login as  admin  with the one-time password:  {password}\n"
        "  It works once: at that sign-in you choose your own password.\n" + "=" * 72 + "\n"
    )
    print(banner, flush=True)  # noqa: T201 - the operator must see it on the console


async def _nothing() -> None:
    """A shutdown step with nothing to do (e-mail off)."""


async def _close_throttle(app: FastAPI) -> None:
    throttle = getattr(app.state, "login_throttle", None)  # made on the first sign-in
    if throttle is not None:
        await throttle.aclose()
