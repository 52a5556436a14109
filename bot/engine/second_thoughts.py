"""The model's second thoughts on a checked answer: a look at it again, then replies drawn again.

Each costs model time, so each is asked only when it could move the answer across the strictness
(bot.engine.answerability), and the draws stop as soon as what they could still say cannot: a draw's share
of the answer only grows as it is written, so the least and the most the draws can agree on are known at
every word (measured: README, "Strictness").
"""

from __future__ import annotations

import logging

from bot.engine.answerability import Answerability, Signals
from bot.engine.llm import MODEL_FAILURES, Message
from bot.engine.reader import DRAWS, Reader
from bot.engine.support import Additions

logger = logging.getLogger(__name__)


class SecondThoughts:
    def __init__(self, reader: Reader, answerability: Answerability) -> None:
        self._reader = reader
        self._answerability = answerability

    def weigh(
        self,
        signals: Signals,
        threshold: float,
        *,
        look_at: list[Message],
        drawn_from: list[Message],
        asked: str,
        reply: str,
        always: bool = False,
    ) -> Signals:
        """The signals with the look (the reply as the next turn of look_at) and the agreement of replies
        drawn from drawn_from, each added when it could change the answer, or always (the eval's scores then
        hold for every strictness: the draws are never cut short)."""
        return self._answerability.weigh(
            signals,
            threshold,
            lambda: self._look(look_at, reply),
            lambda known: self._agreement(known, threshold, drawn_from, Additions(asked, reply), always),
            always=always,
        )

    def _look(self, messages: list[Message], reply: str) -> float:
        try:
            return self._reader.check(messages, reply)
        except MODEL_FAILURES:
            logger.warning("the model failed to check its answer; counting it unsure", exc_info=True)
            return 0.5

    def _agreement(
        self, signals: Signals, threshold: float, messages: list[Message], additions: Additions, always: bool
    ) -> float | None:
        """The mean share of the answer's additions that the drawn replies say (None: the model failed).
        Cut short, it is the mean of what was drawn: on the threshold's side all DRAWS would be on."""
        drawing = _Drawing(self._answerability, signals, threshold, additions)
        try:
            for seed in range(1, DRAWS + 1):
                drawing.ended(self._reader.draw(messages, seed, until=None if always else drawing.grown))
                if not always and drawing.settled():
                    break
        except MODEL_FAILURES:
            logger.warning("the model failed to answer again; leaving its agreement out", exc_info=True)
            return None
        return drawing.mean()


class _Drawing:
    """The replies drawn so far: the shares of the answer's additions they said, and whether the rest could
    still move the answer across the threshold."""

    def __init__(
        self, answerability: Answerability, signals: Signals, threshold: float, additions: Additions
    ) -> None:
        self._answerability, self._signals, self._threshold = answerability, signals, threshold
        self._additions = additions
        self._shares: list[float] = []
        self._words, self._growing, self._cut = "", 0.0, False  # the draw being written

    def grown(self, words: str) -> bool:
        """The draw being written, at its words completed so far: True when it need not go on."""
        if words != self._words:
            self._words, self._growing = words, self._additions.share(words)
            self._cut = self.settled()
        return self._cut

    def ended(self, text: str) -> None:
        """A draw ended by itself (its whole text counts) or cut short (its completed words count)."""
        self._shares.append(self._growing if self._cut else self._additions.share(text))
        self._words, self._growing, self._cut = "", 0.0, False

    def settled(self) -> bool:
        """The draw being written says at least what it has said, and every draw still to come anything."""
        known = sum(self._shares)
        low = (known + self._growing) / DRAWS
        high = (known + DRAWS - len(self._shares)) / DRAWS
        return self._answerability.settled(self._signals, self._threshold, low, high)

    def mean(self) -> float:
        return sum(self._shares) / len(self._shares)
