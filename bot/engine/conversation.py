"""One asker's conversation with one article, for follow-ups: the last exchange, for a window of time.

The interactive session keeps one; the Telegram front end keeps the same facts per chat in its state store
(in Redis when replicas share it), with the same rules: a question asked within the window, about the same
article, is asked after the last exchange, unless it is that exchange's question again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.engine.records import Answer, Exchange


def normalise(question: str) -> str:
    """A question's comparable form: case-folded, one space between words, no end punctuation."""
    return " ".join(question.casefold().split()).strip(" ?!.…¿¡")


@dataclass
class _Kept:
    exchange: Exchange
    article: str  # the article's sha256
    until: float


class Conversation:
    def __init__(self, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_seconds = window_seconds  # 0: no follow-ups
        self._clock = clock
        self._kept: _Kept | None = None

    def follow_up(self, question: str, article: str) -> Exchange | None:
        """The exchange the question may continue: the last one, if recent and about the same article."""
        kept = self._kept
        if kept is None or kept.article != article or self._clock() > kept.until:
            return None
        if normalise(kept.exchange.question) == normalise(question):
            return None  # asked again, not followed up
        return kept.exchange

    def keep(self, answer: Answer, article: str) -> None:
        if self.window_seconds:
            exchange = Exchange(answer.question, answer.answer)
            self._kept = _Kept(exchange, article, self._clock() + self.window_seconds)

    def forget(self) -> None:
        """/new: start afresh."""
        self._kept = None
