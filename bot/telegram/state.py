"""What the bot remembers between updates: each chat's articles, follow-ups, the last answer of a chat,
cached answers, inline questions, rate limits. One process keeps it here (chat articles in SQLite, so they
outlive a restart); replicas share it in Redis (bot/telegram/redis_state.py), behind the same interface.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot.engine.records import Answer, Exchange
from bot.telegram.chats import RECENT, ChatArticles
from bot.telegram.stream import Lru

MEMORY = 50  # exchanges remembered per chat, for follow-ups (in Redis they expire instead)


class ChatState(Protocol):
    """The front end's memory. Every call is async: in Redis it is a network round trip."""

    async def current(self, chat_id: int) -> str | None: ...
    async def recent(self, chat_id: int, limit: int = RECENT) -> list[str]: ...
    async def use(self, chat_id: int, name: str) -> None: ...
    async def forget(self, name: str) -> None: ...

    async def take(self, kind: str, user_id: int, per_window: int, window: float) -> int:
        """Count one event of `kind` for the user if at most `per_window` fall in `window` seconds:
        0 when counted, else the seconds to wait."""
        ...

    async def answer(self, key: str) -> Answer | None: ...
    async def keep_answer(self, key: str, answer: Answer) -> None: ...
    async def exchange(self, chat_id: int, message_id: int) -> Exchange | None: ...
    async def keep_exchange(self, chat_id: int, message_id: int, exchange: Exchange) -> None: ...
    async def last_answer(self, chat_id: int) -> Answer | None: ...
    async def keep_last_answer(self, chat_id: int, answer: Answer) -> None: ...
    async def inline_question(self, key: str) -> tuple[str, str] | None: ...
    async def keep_inline_question(self, key: str, article: str, question: str) -> None: ...

    async def first(self, kind: str, key: str) -> bool:
        """True the first time (kind, key) is seen, False ever after: an inline message answered once."""
        ...

    async def close(self) -> None: ...


class LocalState:
    """One process's memory: chat articles in SQLite (CHAT_STATE_PATH), the rest in bounded dicts."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self.chats = ChatArticles(path)
        self._clock = clock
        self._events: defaultdict[tuple[str, int], deque[float]] = defaultdict(deque)
        self._answers: Lru[str, Answer] = Lru(256)
        self._exchanges: defaultdict[int, Lru[int, Exchange]] = defaultdict(lambda: Lru(MEMORY))
        self._last: Lru[int, Answer] = Lru(10_000)
        self._inline: Lru[str, tuple[str, str]] = Lru(1024)
        self._seen: Lru[tuple[str, str], bool] = Lru(4096)

    async def current(self, chat_id: int) -> str | None:
        return self.chats.current(chat_id)

    async def recent(self, chat_id: int, limit: int = RECENT) -> list[str]:
        return self.chats.recent(chat_id, limit)

    async def use(self, chat_id: int, name: str) -> None:
        self.chats.use(chat_id, name)

    async def forget(self, name: str) -> None:
        self.chats.forget(name)

    async def take(self, kind: str, user_id: int, per_window: int, window: float) -> int:
        now, times = self._clock(), self._events[kind, user_id]
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= per_window:
            return max(1, round(times[0] + window - now)) if times else round(window)
        times.append(now)
        return 0

    async def answer(self, key: str) -> Answer | None:
        return self._answers.get(key)

    async def keep_answer(self, key: str, answer: Answer) -> None:
        self._answers[key] = answer

    async def exchange(self, chat_id: int, message_id: int) -> Exchange | None:
        return self._exchanges[chat_id].get(message_id)

    async def keep_exchange(self, chat_id: int, message_id: int, exchange: Exchange) -> None:
        self._exchanges[chat_id][message_id] = exchange

    async def last_answer(self, chat_id: int) -> Answer | None:
        return self._last.get(chat_id)

    async def keep_last_answer(self, chat_id: int, answer: Answer) -> None:
        self._last[chat_id] = answer

    async def inline_question(self, key: str) -> tuple[str, str] | None:
        return self._inline.get(key)

    async def keep_inline_question(self, key: str, article: str, question: str) -> None:
        self._inline[key] = (article, question)

    async def first(self, kind: str, key: str) -> bool:
        if (kind, key) in self._seen:
            return False
        self._seen[kind, key] = True
        return True

    async def close(self) -> None:
        self.chats.close()


def open_state(redis_url: str | None, chat_state_path: Path) -> ChatState:
    """Redis when REDIS_URL is set (replicas), else this process's own."""
    if redis_url:
        from bot.telegram.redis_state import RedisState

        return RedisState(redis_url)
    return LocalState(chat_state_path)
