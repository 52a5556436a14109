"""What the model is asked, and what it says: the prompt laid out for one question, the reply read from it.

The article comes first (identical for every question, so its evaluated prefix is reused), then a previous
exchange if any, then the question's turn: the retrieved sentence nearest the question (marked as one that
may not hold the answer) and the question. The model answers in the asker's language; a second, short
turn of the same conversation asks it to check its answer (the article's prefix is reused again).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.engine.language import language_name
from bot.engine.llm import Message, TextModel
from bot.engine.prompts import render_file
from bot.engine.records import Exchange

REFUSAL_MARK = "NOT_IN_ARTICLE"
# Replies drawn to compare with the greedy one, and how freely (measured: README, "Strictness").
DRAWS, DRAW_TEMPERATURE = 2, 0.7
YES_NO = ("yes", "Yes", "no", "No")
_MARKER = re.compile(r"\s*\[\d+\]")
_UNFINISHED = re.compile(r"\S+$")  # the word being written: the next token may continue it
# The mark with its first word changed ("Non_in_article", "No_in_article"): no sentence joins words with "_".
_MANGLED_MARK = re.compile(r"^\W*[^\W_]{1,8}_in_(?:the_)?article", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    """The model's reply to a question, and how its first token was distributed."""

    reply: str  # the first line, without [n] markers
    refusal_lean: float  # probability that the reply opens with NOT_IN_ARTICLE's first token
    first_token: float  # probability of the reply's own first token: how sure the model was
    # The geometric mean of the line's token probabilities: how sure the model was as it wrote. None when
    # the model server gives no probabilities.
    mean_token: float | None = None


@dataclass(frozen=True)
class Line:
    """The first line of a reply, and the probabilities of the tokens that wrote it."""

    text: str
    probabilities: list[float | None]
    openings: tuple[float, ...]


def numbered(paragraphs: list[str], wanted: list[int] | None = None) -> str:
    """The article as the model sees it: "[1] first paragraph", blank line, "[2] …"."""
    indexes = range(len(paragraphs)) if wanted is None else wanted
    return "\n\n".join(f"[{i + 1}] {paragraphs[i]}" for i in indexes)


def marks_refusal(reply: str) -> bool:
    """NOT_IN_ARTICLE, or the model's paraphrase of it ("Not in article.", "not_in_the_article",
    "Non_in_article")."""
    letters = re.sub(r"[\W_]+", "", reply).lower()
    mark = REFUSAL_MARK in reply or letters.startswith(("notinarticle", "notinthearticle"))
    return mark or bool(_MANGLED_MARK.match(reply))


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text).strip()


class Reader:
    """Lays out the prompts of one article and reads the model's replies to them."""

    def __init__(self, model: TextModel, max_answer_tokens: int) -> None:
        self._model = model
        self._max_answer_tokens = max_answer_tokens

    @staticmethod
    def system(article: str) -> list[Message]:
        return [{"role": "system", "content": render_file("reader_system.txt", article=article).strip()}]

    def conversation(self, article: str, follow_up: Exchange | None) -> list[Message]:
        """The article, then the previous exchange if any: what comes before the question."""
        messages = self.system(article)
        if follow_up:
            messages.append({"role": "user", "content": follow_up.question})
            messages.append({"role": "assistant", "content": strip_markers(follow_up.answer)})
        return messages

    def messages(
        self,
        article: str,
        question: str,
        answer_language: str,
        follow_up: Exchange | None,
        near: Sequence[str] = (),
    ) -> list[Message]:
        """The conversation before the question, then the question. near: the retrieved sentences set just
        before it, so a small model reads the likeliest place first (measured: README, "How an answer is
        made")."""
        messages = self.conversation(article, follow_up)
        user = render_file("reader_user.txt", question=question, language=language_name(answer_language))
        if near:
            user = render_file("reader_near.txt", near="\n".join(near)) + user
        messages.append({"role": "user", "content": user.strip()})
        return messages

    def read(self, messages: list[Message]) -> Reading:
        """The reply's first line, with how sure the model was of it: its first token's distribution and
        each token's probability, all from the one pass that wrote it."""
        line = self.line(messages, openings=(REFUSAL_MARK,))
        refusal_lean = line.openings[0] if line.openings else 0.0
        if not line.text:
            return Reading("", refusal_lean, refusal_lean)
        probabilities = line.probabilities
        first = probabilities[0] if probabilities[0] is not None else 0.0
        if None in probabilities:  # a model server that gives some or none
            return Reading(line.text, refusal_lean, first)
        known = [p for p in probabilities if p is not None]
        mean = math.exp(sum(math.log(max(p, 1e-12)) for p in known) / len(known))
        return Reading(line.text, refusal_lean, first, mean)

    def check(self, messages: list[Message], reply: str) -> float:
        """A second look at its own answer, as the next turn of the same conversation (the article and the
        question are reused): the probability that the model says yes, the article states it and it
        answers exactly what was asked."""
        turn = render_file("check_user.txt").strip()
        follow = [*messages, {"role": "assistant", "content": reply}, {"role": "user", "content": turn}]
        yes, capital_yes, no, capital_no = self._model.next_token_probabilities(follow, YES_NO)
        said = yes + capital_yes + no + capital_no
        return (yes + capital_yes) / said if said > 0 else 0.5

    def suggestion(self, article: str, language: str) -> str | None:
        """A short question the article answers, in the language; None if the model wrote no such question."""
        messages = self.system(article)
        prompt = render_file("suggest_user.txt", language=language_name(language))
        messages.append({"role": "user", "content": prompt.strip()})
        question = self.first_line(messages).strip().strip('"«»“”').strip()
        return question if question.endswith(("?", "？", "؟")) and 8 <= len(question) <= 160 else None

    def first_line(self, messages: list[Message]) -> str:
        """The model's first line, without the markers it may copy from the numbered article."""
        return self.line(messages).text

    def draw(self, messages: list[Message], seed: int, until: Callable[[str], bool] | None = None) -> str:
        """Another reply the model could have given, drawn at DRAW_TEMPERATURE (the same seed draws the same):
        what it says again shows how sure it is of what it said. until(the words completed so far) stops it
        early."""
        return self.line(messages, temperature=DRAW_TEMPERATURE, seed=seed, until=until).text

    def line(
        self,
        messages: list[Message],
        openings: tuple[str, ...] = (),
        temperature: float = 0.0,
        seed: int = 0,
        until: Callable[[str], bool] | None = None,
    ) -> Line:
        """The model's first line (without [n] markers), the probabilities of the tokens up to its end,
        and how likely each opening was in place of the first token. until(the line's words completed so
        far, a word being complete once what follows it has begun) ends it where it returns True."""
        reply, probabilities = "", []
        first: tuple[float, ...] = ()
        stream = self._model.stream(
            messages,
            max_tokens=self._max_answer_tokens,
            openings=openings,
            temperature=temperature,
            seed=seed,
        )
        for token in stream:
            first = first or token.openings
            reply += token.text
            if reply.strip():
                probabilities.append(token.probability)
            if "\n" in reply.strip() or (until and until(strip_markers(_UNFINISHED.sub("", reply)))):
                break
        return Line(strip_markers(reply.strip().split("\n")[0]), probabilities, first)
