"""What the bot remembers between updates behaves the same in one process (SQLite and memory) and in a
real redis-server shared by replicas."""

from __future__ import annotations

import pytest

from bot.engine.records import Answer, Citation, Exchange
from bot.telegram.redis_state import RedisState
from bot.telegram.state import LocalState


@pytest.fixture(params=["local", "redis"])
async def make_state(request, tmp_path):
    """A factory: each call is another process's view of the same state (another replica's, in Redis)."""
    opened = []

    def make():
        if request.param == "redis":
            state = RedisState(request.getfixturevalue("redis_server"))
        else:
            state = opened[0] if opened else LocalState(tmp_path / "chats.sqlite3")
        opened.append(state)
        return state

    yield make
    for state in {id(state): state for state in opened}.values():
        await state.close()


async def test_a_chats_articles_newest_first_and_forgotten_when_removed(make_state):
    first, second = make_state(), make_state()
    await first.use(61, "older")
    await first.use(61, "newer")
    assert await second.current(61) == "newer" and await second.recent(61) == ["newer", "older"]
    await second.forget("newer")
    assert await first.current(61) == "older" and await first.current(62) is None


async def test_limits_count_every_replicas_events(make_state):
    first, second = make_state(), make_state()
    assert await first.take("questions", 63, 2, 60) == 0
    assert await second.take("questions", 63, 2, 60) == 0
    wait = await first.take("questions", 63, 2, 60)
    assert 1 <= wait <= 60, "the third in a minute waits"
    assert await second.take("ingests", 63, 2, 60) == 0, "each kind has its own count"


async def test_answers_exchanges_and_inline_questions_round_trip(make_state):
    first, second = make_state(), make_state()
    answer = Answer("q?", "It is 28. [1]", False, "en", [Citation(1, 0, 2, "Quote.", "p0s2")], article="news")
    await first.keep_answer("sha\nq", answer)
    await first.keep_last_answer(64, answer)
    await first.keep_exchange(64, 900, Exchange("q?", "It is 28. [1]"))
    await first.keep_inline_question("k1", "news", "q?")
    assert await second.answer("sha\nq") == answer and await second.last_answer(64) == answer
    assert await second.exchange(64, 900) == Exchange("q?", "It is 28. [1]")
    assert await second.exchange(64, 901) is None and await second.answer("sha\nother") is None
    assert await second.inline_question("k1") == ("news", "q?")


async def test_first_is_true_once_across_replicas(make_state):
    first, second = make_state(), make_state()
    assert await first.first("inline", "msg-1") is True
    assert await second.first("inline", "msg-1") is False
    assert await second.first("inline", "msg-2") is True
