"""Fixtures for the Telegram end-to-end tests: the Bot API stand-in, and the real Application polling it.

tests/conftest.py imports them (`from tests.telegram_fixtures import *`) and provides the real `engine`.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.settings import Settings
from bot.telegram.app import build_application
from bot.telegram.running import ALLOWED_UPDATES
from tests.botapi_standin import BotApiStandIn, Call

__all__ = ["long_article", "standin", "tgbot"]

TOKEN = "123456789:AAEarticlebot-test-token-never-log-me"
USER_ID = 424242
SECRET = "replicas-share-this-secret_0"


class StepClock:
    """A clock that moves `step` seconds each time it is read, so edit throttling is not timing-dependent."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class LibrarySpy:
    """The real library, whose engines are watched by one EngineSpy each, sharing the counters."""

    def __init__(self, library: Any) -> None:
        self._library = library
        self._spies: dict[str, EngineSpy] = {}
        self.streams: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.running = self.most_at_once = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._library, name)

    def engine(self, name: str | None = None) -> Any:
        real = self._library.engine(name)
        if real.name not in self._spies or self._spies[real.name]._engine is not real:
            self._spies[real.name] = EngineSpy(real, self)
        return self._spies[real.name]


class EngineSpy:
    """The real engine, watched: counts model calls and the most that ever ran at once. Not a fake."""

    def __init__(self, engine: Any, counters: LibrarySpy) -> None:
        self._engine = engine
        self._counters = counters

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def stream(self, question: str, follow_up: Any = None) -> Iterator[Any]:
        spy = self._counters
        with spy.lock:
            spy.running += 1
            spy.most_at_once = max(spy.most_at_once, spy.running)
            spy.streams.append((question, follow_up))
        try:
            yield from self._engine.stream(question, follow_up)
        finally:
            with spy.lock:
                spy.running -= 1

    def read_article(self, progress: Any = None) -> str:
        spy = self._counters
        with spy.lock:
            spy.running += 1
            spy.most_at_once = max(spy.most_at_once, spy.running)
        try:
            return self._engine.read_article(progress)
        finally:
            with spy.lock:
                spy.running -= 1


class BotHarness:
    """The running bot and the stand-in, with helpers that send updates the way Telegram would."""

    def __init__(self, standin: BotApiStandIn, application: Any) -> None:
        self.standin = standin
        self.application = application
        self._ids = itertools.count(1)

    @property
    def bot_user(self) -> dict[str, Any]:
        return self.standin.bot_user

    def user(self, user_id: int = USER_ID, language_code: str | None = "en") -> dict[str, Any]:
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        if language_code:
            user["language_code"] = language_code
        return user

    async def message(
        self,
        text: str | None,
        *,
        chat_id: int = USER_ID,
        user: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        to: int | str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Push a message from a user; a negative chat_id is a supergroup. Returns the message dict.
        With webhook replicas, `to` picks the replica it is delivered to (an index, or "all")."""
        chat = {"id": chat_id, "type": "private"} if chat_id > 0 else {"id": chat_id, "type": "supergroup"}
        if chat_id > 0:
            chat["first_name"] = "User"
        else:
            chat["title"] = "Readers"
        message: dict[str, Any] = {
            "message_id": self.standin.new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": user or self.user(chat_id if chat_id > 0 else USER_ID),
            **extra,
        }
        if text is not None:
            message["text"] = text
            found = entities if entities is not None else _entities(text, self.bot_user["username"])
            if found:
                message["entities"] = found
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        await self.standin.push({"message": message}, to=to)
        return message

    async def inline(self, query: str, *, user_id: int = USER_ID) -> str:
        query_id = f"iq{next(self._ids)}"
        await self.standin.push(
            {"inline_query": {"id": query_id, "from": self.user(user_id), "query": query, "offset": ""}}
        )
        return query_id

    async def press(
        self, data: str, *, message: dict[str, Any] | None = None, inline_message_id: str | None = None
    ) -> str:
        """Press an inline-keyboard button, on a chat message or on a message sent through inline mode."""
        query_id = f"cb{next(self._ids)}"
        callback: dict[str, Any] = {"id": query_id, "from": self.user(), "chat_instance": "ci", "data": data}
        if message is not None:
            callback["message"] = message
        if inline_message_id is not None:
            callback["inline_message_id"] = inline_message_id
        await self.standin.push({"callback_query": callback})
        return query_id

    async def choose(self, result_id: str, query: str, inline_message_id: str) -> None:
        chosen = {"result_id": result_id, "from": self.user(), "query": query}
        await self.standin.push({"chosen_inline_result": {**chosen, "inline_message_id": inline_message_id}})

    def finals(self, chat_id: int) -> list[Call]:
        """The final answers in a chat: the messages that carry the answer keyboard (📄 Article button)."""
        return [
            call
            for call in self.standin.ok_calls()
            if call.method in ("sendMessage", "editMessageText")
            and call.params.get("chat_id") == chat_id
            and "art:" in str(call.params.get("reply_markup"))
        ]

    async def wait_finals(self, chat_id: int, count: int = 1, timeout: float = 180.0) -> list[Call]:
        what = f"{count} answer(s) in chat {chat_id}"
        await self.standin.wait_for(lambda _: len(self.finals(chat_id)) >= count, timeout=timeout, what=what)
        return self.finals(chat_id)

    async def wait_call(self, method: str, timeout: float = 30.0, **where: Any) -> Call:
        calls = await self.standin.wait_for(
            lambda _: self.standin.ok_calls(method, **where), timeout=timeout, what=f"{method} {where}"
        )
        return calls[-1]

    async def settle(self, seconds: float = 0.5) -> None:
        """Give the bot time to (not) react; used only to check silence."""
        await asyncio.sleep(seconds)


def _entities(text: str, username: str) -> list[dict[str, Any]]:
    """The entities Telegram would attach: a leading /command, and @mentions of the bot."""
    entities = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    mention = f"@{username}"
    start = text.find(mention)
    if start >= 0:
        offset = len(text[:start].encode("utf-16-le")) // 2
        entities.append({"type": "mention", "offset": offset, "length": len(mention)})
    return entities


@pytest_asyncio.fixture(loop_scope="session")
async def standin() -> AsyncIterator[BotApiStandIn]:
    server = BotApiStandIn(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def long_article(library: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The name of an article longer than one message (the bundled one, twice over), in the library."""
    from bot.paths import BUNDLED_ARTICLE

    article = tmp_path_factory.mktemp("long-article") / "article.txt"
    text = BUNDLED_ARTICLE.read_text(encoding="utf-8").strip()
    article.write_text("\n\n".join([text] * 2), encoding="utf-8")
    return library.ingest(library.load(str(article)), "long-article").record.name


@asynccontextmanager
async def running_bot(
    standin: BotApiStandIn, library: Any, settings: dict[str, Any] | None = None, **tuning: Any
) -> AsyncIterator[BotHarness]:
    """The real Application, polling the stand-in, as `articlebot run` would run it. Each run has its own
    chat state file unless settings name one (to test a restart)."""
    chats = tempfile.TemporaryDirectory(prefix="articlebot-chats-")  # removed once the bot has stopped
    values = {"chat_state_path": Path(chats.name) / "chats.sqlite3"}
    config = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_api_base_url=standin.base_url,
        **{**values, **(settings or {})},
    )
    tuning = {"clock": StepClock(1.0), "inline_debounce": 0.05, **tuning}
    application = build_application(config, library, **tuning)
    await application.initialize()
    await application.post_init(application)
    await application.updater.start_polling(poll_interval=0, timeout=0.5, allowed_updates=ALLOWED_UPDATES)
    await application.start()
    try:
        yield BotHarness(standin, application)
    finally:
        standin.reset_faults()
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)
        chats.cleanup()


@asynccontextmanager
async def webhook_replicas(
    standin: BotApiStandIn, libraries: list[Any], settings: dict[str, Any], **tuning: Any
) -> AsyncIterator[list[BotHarness]]:
    """Real Applications serving PTB's webhook on 127.0.0.1, as `articlebot run --webhook` runs each
    replica, one per library; the stand-in spreads updates over them as a load balancer would."""
    from tests.servers import free_port

    tuning = {"clock": StepClock(1.0), "inline_debounce": 0.05, **tuning}
    applications = []
    try:
        for library in libraries:
            config = Settings(
                _env_file=None,  # type: ignore[call-arg]
                telegram_bot_token=TOKEN,
                telegram_api_base_url=standin.base_url,
                webhook_secret=SECRET,
                **settings,
            )
            application = build_application(config, library, **tuning)
            applications.append(application)
            port = free_port()
            await application.initialize()
            await application.post_init(application)
            await application.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path="telegram",
                webhook_url=f"http://127.0.0.1:{port}/telegram",
                secret_token=SECRET,
                allowed_updates=ALLOWED_UPDATES,
            )
            await application.start()
            standin.replicas.append(f"http://127.0.0.1:{port}/telegram")
        yield [BotHarness(standin, application) for application in applications]
    finally:
        standin.replicas.clear()
        standin.webhook = {}
        standin.reset_faults()
        for application in applications:
            if application.running:
                await application.updater.stop()
                await application.stop()
            await application.shutdown()
            await application.post_shutdown(application)


@pytest_asyncio.fixture(loop_scope="session")
async def tgbot(standin: BotApiStandIn, library: Any, engine: Any) -> AsyncIterator[BotHarness]:
    """The bot as `articlebot run` runs it, on the real library (its article read), against the stand-in."""
    async with running_bot(standin, library) as harness:
        yield harness
