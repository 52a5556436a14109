"""Each chat's article, kept across restarts in a small SQLite file (one process; replicas use Redis)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.errors import ConfigError, StateError

RECENT = 10  # articles listed by /articles


class ChatArticles:
    """chat id -> the articles it used, the newest being its current one. Calls take well under a
    millisecond, so the handlers make them on the event loop."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS chat_articles ("
                " chat_id INTEGER NOT NULL, name TEXT NOT NULL, used_at REAL NOT NULL,"
                " PRIMARY KEY (chat_id, name))"
            )
        except sqlite3.Error as error:
            raise ConfigError(
                f"cannot open the chat state file: fix CHAT_STATE_PATH={path} ({error})"
            ) from None

    def current(self, chat_id: int) -> str | None:
        recent = self.recent(chat_id, 1)
        return recent[0] if recent else None

    def recent(self, chat_id: int, limit: int = RECENT) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name FROM chat_articles WHERE chat_id = ? ORDER BY used_at DESC LIMIT ?",
                (chat_id, limit),
            ).fetchall()
        return [name for (name,) in rows]

    def use(self, chat_id: int, name: str) -> None:
        """Make name the chat's article. A failed write (a full disk) is a StateError, and SQLite's journal
        leaves the file as it was."""
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO chat_articles (chat_id, name, used_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (chat_id, name) DO UPDATE SET used_at = excluded.used_at",
                    (chat_id, name, self._clock()),
                )
        except sqlite3.Error as error:
            raise StateError(
                f"could not save this chat's article ({error}); the previous one stays"
            ) from None

    def forget(self, name: str) -> None:
        """An article that was removed from the store."""
        with self._lock:
            self._db.execute("DELETE FROM chat_articles WHERE name = ?", (name,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
