"""What the bot remembers between updates behaves the same in one process (SQLite and memory) and in a
real redis-server shared by replicas."""

from __future__ import annotations

import tracemalloc

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


async def test_a_chats_recent_exchange_is_for_its_article_and_its_window(make_state):
    first, second = make_state(), make_state()
    exchange = Exchange("Who?", "Belousov. [1]")
    await first.keep_recent_exchange(66, "sha-a", exchange, 600)
    assert await second.recent_exchange(66, "sha-a") == exchange
    assert await second.recent_exchange(66, "sha-b") is None, "another article starts afresh"
    assert await second.recent_exchange(67, "sha-a") is None
    await second.forget_recent_exchange(66)  # /new
    assert await first.recent_exchange(66, "sha-a") is None


async def test_a_recent_exchange_expires_with_its_window(tmp_path):
    now = [0.0]
    state = LocalState(tmp_path / "chats.sqlite3", clock=lambda: now[0])
    await state.keep_recent_exchange(68, "sha", Exchange("Who?", "Belousov."), 600)
    now[0] += 599
    assert await state.recent_exchange(68, "sha") == Exchange("Who?", "Belousov.")
    now[0] += 2
    assert await state.recent_exchange(68, "sha") is None
    await state.close()


async def test_first_is_true_once_across_replicas(make_state):
    first, second = make_state(), make_state()
    assert await first.first("inline", "msg-1") is True
    assert await second.first("inline", "msg-1") is False
    assert await second.first("inline", "msg-2") is True


async def test_a_processs_memory_stays_bounded_over_10000_users(tmp_path):
    """A soak: 10,000 distinct users, each asking in their own chat, following up, using inline mode. What
    the process remembers per user stops growing at its capacity; rate windows that are over are dropped."""
    now = [0.0]
    state = LocalState(tmp_path / "chats.sqlite3", clock=lambda: now[0], capacity=1000)
    answer = Answer("q?", "It is 28. [1]", False, "en", [Citation(1, 0, 2, "Quote.", "p0s2")], article="news")
    sizes = []
    tracemalloc.start()
    try:
        for user in range(1, 10_001):
            now[0] += 0.05  # 20 new users a second: a minute's window holds 1,200 of them
            assert await state.take("questions", user, 10, 60) == 0
            await state.keep_answer(f"sha\nquestion {user}", answer)
            await state.keep_exchange(user, 2 * user, Exchange("q?", "It is 28. [1]"))
            assert await state.exchange(user, 2 * user + 1) is None  # a reply to some other message
            await state.keep_last_answer(user, answer)
            await state.keep_recent_exchange(user, "sha", Exchange("q?", "It is 28. [1]"), 600)
            await state.keep_inline_question(f"inline-{user}", "news", "q?")
            assert await state.first("inline", f"message-{user}")
            if user in (5_000, 10_000):
                sizes.append((state.sizes(), tracemalloc.get_traced_memory()[0]))
    finally:
        tracemalloc.stop()
        await state.close()
    (half, memory_at_half), (full, memory_at_full) = sizes
    assert half == full, "no kind of entry grew over the last 5,000 users"
    assert all(count <= 4096 for count in full.values()), full
    assert (
        full["rate windows"] <= 1000
        and full["exchanges"] == full["last answers"] == full["recent exchanges"] == 1000
    )
    assert memory_at_full - memory_at_half < 500_000, (memory_at_half, memory_at_full)
    # The most recent users are remembered: a follow-up to the last answer still finds its exchange.
    await state.keep_exchange(1, 1, Exchange("q?", "a"))
    assert await state.exchange(1, 1) == Exchange("q?", "a")


async def test_rate_windows_that_are_over_are_forgotten(tmp_path):
    now = [0.0]
    state = LocalState(tmp_path / "chats.sqlite3", clock=lambda: now[0])
    for user in range(100):
        assert await state.take("questions", user, 1, 60) == 0
    assert await state.take("questions", 0, 1, 60) == 60, "user 0 still waits inside the window"
    now[0] += 61
    assert await state.take("questions", 1_000, 1, 60) == 0
    assert state.sizes()["rate windows"] == 1, "the 100 windows that were over are gone"
    await state.close()


async def test_an_unreachable_shared_cache_costs_the_cache_only(caplog):
    """Redis gone: caching an answer fails with a one-line warning, not an exception in the answer's way."""
    from types import SimpleNamespace

    from bot.telegram.stream import ModelQueue
    from tests.servers import free_port

    state = RedisState(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    queue = ModelQueue(state)
    answer = Answer("q?", "It is 28. [1]", False, "en", [Citation(1, 0, 2, "Quote.", "p0s2")], article="news")
    try:
        await queue._keep(SimpleNamespace(article_sha="sha"), "q?", answer)
    finally:
        queue.shutdown()
        await state.close()
    [warning] = [record for record in caplog.records if record.levelname == "WARNING"]
    assert warning.getMessage().startswith("The answer could not be cached") and warning.exc_info is None
