"""A question that may continue the previous exchange, made standalone by the model ("condense question").

The model is asked, as the next turn of the conversation the follow-up would have (the article, the previous
question and answer), to rewrite the question so that it is understood without the conversation, or to repeat
it when it already is. Asked this way, llama.cpp reuses the article's evaluated prefix, which stays in the
cache for the answer. The rewrite then goes through the engine's normal path and all its checks, which
compare the answer with a question that says what it asks. No word lists: the model reads the question in
whatever language it is written. A reply that is no question (the model answered instead) or is longer than
a question may be is dropped for the question as asked.
"""

from __future__ import annotations

from bot.engine.llm import Message
from bot.engine.prompts import render_file
from bot.engine.reader import Reader

QUESTION_MARKS = ("?", "？", "؟")


class Condenser:
    """Rewrites a question into a standalone one, in the light of the previous exchange."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    def standalone(self, conversation: list[Message], question: str, limit: int) -> str:
        """The question made standalone; the question itself when the model's line is no question, or
        longer than `limit` characters."""
        turn = render_file("follow_up_user.txt", question=question).strip()
        line = self._reader.first_line([*conversation, {"role": "user", "content": turn}])
        rewrite = line.strip().strip("\"'«»“”„").strip()
        if not rewrite.endswith(QUESTION_MARKS) or len(rewrite) > limit:
            return question
        return rewrite
