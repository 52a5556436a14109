"""One conversation's memory for follow-ups: the interactive session's (a private chat keeps the same)."""

from bot.engine.conversation import Conversation
from bot.engine.records import Answer

ARTICLE, OTHER = "sha-of-the-article", "sha-of-another"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _answered(question: str) -> Answer:
    return Answer(question, "Au Kazakhstan. [1]", False, "fr")


def test_a_question_within_the_window_follows_the_last_exchange_of_the_same_article():
    clock = Clock()
    conversation = Conversation(600, clock)
    assert conversation.follow_up("Et quand ?", ARTICLE) is None, "nothing to follow yet"
    conversation.keep(_answered("Où se tenait la réunion ?"), ARTICLE)
    clock.now += 599
    exchange = conversation.follow_up("Et quand ?", ARTICLE)
    assert exchange is not None and exchange.question == "Où se tenait la réunion ?"
    assert exchange.answer == "Au Kazakhstan. [1]"
    assert conversation.follow_up("Et quand ?", OTHER) is None, "another article starts afresh"
    assert conversation.follow_up("où se tenait la  réunion", ARTICLE) is None, "asked again, not followed up"
    clock.now += 2
    assert conversation.follow_up("Et quand ?", ARTICLE) is None, "past the window"


def test_new_and_a_window_of_zero_keep_nothing():
    conversation = Conversation(600)
    conversation.keep(_answered("Où se tenait la réunion ?"), ARTICLE)
    conversation.forget()
    assert conversation.follow_up("Et quand ?", ARTICLE) is None
    off = Conversation(0)
    off.keep(_answered("Où se tenait la réunion ?"), ARTICLE)
    assert off.follow_up("Et quand ?", ARTICLE) is None
