"""Follow-ups in a private chat, end to end: the real PTB Application over HTTP against the Bot API stand-in,
the real library and model. A question right after an answer, about the same article, is given the last
exchange and the model judges it; /new, another article or a group leave it a fresh question."""

from __future__ import annotations

import html

import pytest

from bot.engine.records import Exchange
from bot.paths import BUNDLED_ARTICLE
from tests.botapi_standin import parse_html
from tests.telegram_fixtures import LibrarySpy, running_bot

FIRST = "Qui est le ministre russe de la défense ?"
FOLLOW_UP = "Et où s'exprimait-il ?"  # the meeting was in Kazakhstan (§2); alone, it names nobody


async def replied(bot, chat_id: int, opening: str) -> None:
    """Wait for the bot's fixed reply in the chat that opens with these characters."""

    def found(calls):
        return [
            c
            for c in calls
            if c.ok
            and c.method == "sendMessage"
            and c.params.get("chat_id") == chat_id
            and c.params.get("text", "").startswith(opening)
        ]

    await bot.standin.wait_for(found, what=f"{opening} in chat {chat_id}")


@pytest.fixture(scope="module")
def short_article(library, tmp_path_factory) -> str:
    """Another article (the bundled one's first two paragraphs): quick for the model to read."""
    article = tmp_path_factory.mktemp("short-article") / "article.txt"
    article.write_text("\n\n".join(BUNDLED_ARTICLE.read_text(encoding="utf-8").split("\n\n")[:2]))
    return library.ingest(library.load(str(article)), "short-article").record.name


async def test_a_follow_up_is_answered_in_the_light_of_the_last_answer_until_new(standin, library, engine):
    spy = LibrarySpy(library)
    async with running_bot(standin, spy) as bot:
        await bot.message(FIRST, chat_id=1101)
        [first] = await bot.wait_finals(1101)
        await bot.message(FOLLOW_UP, chat_id=1101)
        second = (await bot.wait_finals(1101, 2))[-1]
        previous = spy.streams[-1][1]
        await bot.message("/new", chat_id=1101)
        await replied(bot, 1101, "🆕")
        await bot.message(FOLLOW_UP, chat_id=1101)
        await bot.wait_finals(1101, 3)

    assert spy.streams[0][1] is None, "the first question of a chat has nothing to follow"
    assert previous == Exchange(FIRST, previous.answer) and previous.answer in html.unescape(
        first.params["text"]
    )
    assert "Kazakhstan" in parse_html(second.params["text"]), "answered in the light of the first"
    assert spy.streams[-1][1] is None, "/new: the same words are a fresh question"


async def test_another_article_or_a_group_starts_afresh(standin, library, engine, short_article):
    spy = LibrarySpy(library)
    group = -1102
    async with running_bot(standin, spy) as bot:
        await bot.message(FIRST, chat_id=1102)
        await bot.wait_finals(1102)
        await bot.message(f"/use {short_article}", chat_id=1102)
        await replied(bot, 1102, "✅")
        await bot.message(FOLLOW_UP, chat_id=1102)
        await bot.wait_finals(1102, 2)
        changed = spy.streams[-1][1]

        username = bot.bot_user["username"]
        await bot.message(f"@{username} {FIRST}", chat_id=group)
        await bot.wait_finals(group)
        await bot.message(f"@{username} {FOLLOW_UP}", chat_id=group)
        await bot.wait_finals(group, 2)
    assert changed is None, "a follow-up after the article changed is not tied to the old one"
    assert spy.streams[-1][1] is None, "in a group only a reply carries the exchange"
