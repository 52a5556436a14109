"""What the bot remembers between updates: each chat's articles, follow-ups, the last answer of a chat,
cached answers, inline questions, rate limits. One process keeps it here (chat articles in SQLite, so they
outlive a restart); replicas share it in Redis (bot/telegram/redis_state.py), behind the same interface.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot.engine.records import Answer, Exchange
from bot.telegram.chats import RECENT, ChatArticles
from bot.telegram.stream import Lru

# What one process remembers per user or chat is bounded whatever the number of users: the most recent
# CAPACITY of each kind are kept (in Redis they expire instead): the answer messages a follow-up can
# continue, the chats whose last answer /sources shows, the chats whose last exchange a question may
# follow up, and the users inside a rate-limit window (beyond it, the least recently active user is
# forgotten, as if their window were over).
CAPACITY = 10_000


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

    async def recent_exchange(self, chat_id: int, article: str) -> Exchange | None:
        """The chat's last exchange, if it was about this article (its sha256) and is not yet expired."""
        ...

    async def keep_recent_exchange(
        self, chat_id: int, article: str, exchange: Exchange, seconds: float
    ) -> None: ...
    async def forget_recent_exchange(self, chat_id: int) -> None: ...
    async def inline_question(self, key: str) -> tuple[str, str] | None: ...
    async def keep_inline_question(self, key: str, article: str, question: str) -> None: ...

    async def first(self, kind: str, key: str) -> bool:
        """True the first time (kind, key) is seen, False ever after: an inline message answered once."""
        ...

    async def close(self) -> None: ...


class LocalState:
    """One process's memory: chat articles in SQLite (CHAT_STATE_PATH), the rest in bounded LRUs."""

    def __init__(
        self, path: Path, clock: Callable[[], float] = time.monotonic, capacity: int = CAPACITY
    ) -> None:
        self.chats = ChatArticles(path)
        self._clock = clock
        # (kind, user) -> the times of their events in the window, least recently active user first
        self._events: Lru[tuple[str, int], deque[float]] = Lru(capacity)
        self._windows: dict[str, float] = {}  # kind -> its window, to forget users whose window is over
        self._answers: Lru[str, Answer] = Lru(256)
        self._exchanges: Lru[tuple[int, int], Exchange] = Lru(capacity)
        self._last: Lru[int, Answer] = Lru(capacity)
        self._recent: Lru[int, tuple[str, Exchange, float]] = Lru(capacity)  # (article, exchange, until)
        self._inline: Lru[str, tuple[str, str]] = Lru(1024)
        self._seen: Lru[tuple[str, str], bool] = Lru(4096)

    def sizes(self) -> dict[str, int]:
        """Entries held in memory, by kind."""
        return {
            "rate windows": len(self._events),
            "cached answers": len(self._answers),
            "exchanges": len(self._exchanges),
            "last answers": len(self._last),
            "recent exchanges": len(self._recent),
            "inline questions": len(self._inline),
            "inline messages seen": len(self._seen),
        }

    async def current(self, chat_id: int) -> str | None:
        return self.chats.current(chat_id)

    async def recent(self, chat_id: int, limit: int = RECENT) -> list[str]:
        return self.chats.recent(chat_id, limit)

    async def use(self, chat_id: int, name: str) -> None:
        self.chats.use(chat_id, name)

    async def forget(self, name: str) -> None:
        self.chats.forget(name)

    async def take(self, kind: str, user_id: int, per_window: int, window: float) -> int:
        now = self._clock()
        self._windows[kind] = window
        self._forget_expired(now)
        times = self._events.get((kind, user_id)) or deque()
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= per_window:
            return max(1, round(times[0] + window - now)) if times else round(window)
        times.append(now)
        self._events[kind, user_id] = times  # now the most recently active
        return 0

    def _forget_expired(self, now: float) -> None:
        """Drop the least recently active users whose last event has left its window: they count as new."""
        while self._events:
            (kind, _), times = next(iter(self._events.items()))
            if times and times[-1] > now - self._windows.get(kind, 0):
                return
            self._events.popitem(last=False)

    async def answer(self, key: str) -> Answer | None:
        return self._answers.get(key)

    async def keep_answer(self, key: str, answer: Answer) -> None:
        self._answers[key] = answer

    async def exchange(self, chat_id: int, message_id: int) -> Exchange | None:
        return self._exchanges.get((chat_id, message_id))

    async def keep_exchange(self, chat_id: int, message_id: int, exchange: Exchange) -> None:
        self._exchanges[chat_id, message_id] = exchange

    async def last_answer(self, chat_id: int) -> Answer | None:
        return self._last.get(chat_id)

    async def keep_last_answer(self, chat_id: int, answer: Answer) -> None:
        self._last[chat_id] = answer

    async def recent_exchange(self, chat_id: int, article: str) -> Exchange | None:
        kept = self._recent.get(chat_id)
        if kept is None or kept[0] != article or kept[2] <= self._clock():
            return None
        return kept[1]

    async def keep_recent_exchange(
        self, chat_id: int, article: str, exchange: Exchange, seconds: float
    ) -> None:
        self._recent[chat_id] = (article, exchange, self._clock() + seconds)

    async def forget_recent_exchange(self, chat_id: int) -> None:
        self._recent.pop(chat_id, None)

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
