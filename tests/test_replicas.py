"""Scale-out, end to end: two bot replicas in webhook mode, sharing a real `chroma run`, a real model server
(`python -m bot.model_server`) and a real redis-server, behind the Bot API stand-in acting as Telegram and as
the load balancer. Every update is answered exactly once, whichever replica gets it, even twice; a chat's
article, follow-ups, last answer, cached answers and limits are seen by both; a replica that dies mid-answer
leaves its update to the other.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
import redis

from bot.articles_cli import open_library
from bot.paths import PUBLIC_SETS
from tests.conftest import make_settings
from tests.servers import free_port
from tests.telegram_fixtures import SECRET, TOKEN, BotHarness, LibrarySpy, webhook_replicas
from tests.test_cli import run_cli
from tests.test_telegram import shown

QUESTION = "Combien de localités les forces russes ont-elles prises ce mois-ci ?"
SUPER_BOWL = PUBLIC_SETS / "xquad-en-super-bowl-50.txt"


def answer_text(call) -> str:
    return html.unescape(call.params["text"])


def sent_in(chat: int, marker: str, after: int = 0):
    """A wait_for predicate: the messages sent in the chat (after the first `after` calls) whose text holds
    the marker."""
    return lambda calls: [
        c
        for c in calls[after:]
        if c.ok and c.params.get("chat_id") == chat and marker in str(c.params.get("text"))
    ]


@pytest.fixture(scope="module")
def replica_libraries(chroma_server, model_server, tmp_path_factory):
    """One library per replica, as each replica process opens its own: the Chroma server's articles and
    the model server, nothing in-process but the embedder."""
    base, _ = model_server
    libraries = []
    for index in range(2):
        settings = make_settings(
            tmp_path_factory.mktemp(f"replica-{index}"),
            chroma_host="127.0.0.1",
            chroma_port=int(chroma_server["CHROMA_PORT"]),
            llm_base_url=base,
        )
        library = open_library(settings)
        library.engine().warm_up()
        libraries.append(library)
    libraries[0].ingest(libraries[0].load(str(SUPER_BOWL)), "super-bowl")
    return libraries


@pytest_asyncio.fixture(loop_scope="session")
async def replicas(standin, replica_libraries, redis_server):
    # Each test has its own stand-in, a new Telegram whose update ids start again at 1: a new Redis too.
    redis.Redis.from_url(redis_server).flushdb()
    spies = [LibrarySpy(library) for library in replica_libraries]
    # A lease long enough that a busy machine never takes a live replica for dead here.
    settings = {"redis_url": redis_server, "questions_per_minute": 3, "replica_lease_seconds": 10}
    async with webhook_replicas(standin, spies, settings) as harnesses:
        yield harnesses, spies


async def test_an_update_both_replicas_receive_is_answered_once(replicas):
    (bot, _), spies = replicas
    await bot.message(QUESTION, chat_id=5001, to="all")
    [final] = await bot.wait_finals(5001)
    await bot.settle(2)
    assert bot.finals(5001) == [final], "one answer, though both replicas got the update"
    delivered = {url for update_id, url, status in bot.standin.deliveries if status == 200}
    assert len(delivered) == 2 and "28" in answer_text(final)
    assert sum(len(spy.streams) for spy in spies) == 1, "the model was asked once"


async def test_updates_spread_over_both_replicas_are_each_answered_once(replicas):
    (bot, _), _ = replicas
    chats = [5101, 5102, 5103, 5104]
    for chat in chats:
        await bot.message("Qui est le ministre russe de la défense ?", chat_id=chat)
    for chat in chats:
        await bot.wait_finals(chat)
    await bot.settle(1)
    assert all(len(bot.finals(chat)) == 1 for chat in chats)
    asked = {update_id for update_id, _, _ in bot.standin.deliveries[-len(chats) :]}
    replicas_used = {url for update_id, url, _ in bot.standin.deliveries if update_id in asked}
    assert len(replicas_used) == 2, "the balancer gave each replica its share"


async def test_a_chats_article_follow_ups_and_sources_are_seen_by_both_replicas(replicas):
    (bot, _), spies = replicas
    chat = 5201
    await bot.message("/use super-bowl", chat_id=chat, to=0)
    await bot.standin.wait_for(sent_in(chat, ""), what="/use's reply")
    question = "How many interceptions did the Panthers defense have?"
    await bot.message(question, chat_id=chat, to=1)
    [first] = await bot.wait_finals(chat)
    assert "24" in answer_text(first), "replica 1 answers from the article chosen on replica 0"

    follow_up = "And how many points did it give up?"  # 308, in the interceptions' sentence
    await bot.message(follow_up, chat_id=chat, reply_to=shown(bot.standin, first), to=0)
    second = (await bot.wait_finals(chat, 2))[1]
    assert "308" in answer_text(second), "answered in the light of the first"
    asked, exchange = spies[0].streams[-1]
    assert asked == follow_up and exchange is not None and exchange.question == question

    before = len(bot.standin.calls)
    await bot.message("/sources", chat_id=chat, to=1)
    sources = await bot.standin.wait_for(sent_in(chat, "<blockquote>", before), what="/sources's reply")
    quotes = re.findall(r"<blockquote>(.*?)</blockquote>", second.params["text"], flags=re.S)
    assert quotes and quotes[0] in sources[-1].params["text"], "replica 1 shows replica 0's last sources"


async def test_cached_answers_and_rate_limits_are_shared(replicas):
    (bot, _), spies = replicas
    chat, question = 5301, "Quel est le nom du ministre russe de la défense ?"
    streams = sum(len(spy.streams) for spy in spies)
    for count, replica in enumerate([0, 1, 0], start=1):
        await bot.message(question, chat_id=chat, to=replica)
        await bot.wait_finals(chat, count)
    assert sum(len(spy.streams) for spy in spies) == streams + 1, "the other replica answered from the cache"
    await bot.message(question, chat_id=chat, to=1)
    limited = await bot.standin.wait_for(sent_in(chat, "✋"), what="the limit, counted across replicas")
    assert "3 questions en une minute" in answer_text(limited[-1])


async def test_only_the_owner_of_an_update_finishes_it(redis_server):
    """Replica a claims an update and goes silent (no heartbeat); replica b takes it over. From then on a
    is not its owner: its finishing changes nothing, and b's marks it done."""
    from types import SimpleNamespace

    import redis.asyncio as aioredis
    from telegram import Update

    from bot.telegram.replicas import JOURNAL, ClaimedUpdates

    client = aioredis.Redis.from_url(redis_server)
    await client.flushdb()
    stalled, living = (ClaimedUpdates(client, lease=1, replica=name) for name in ("a", "b"))
    update = Update.de_json(
        {"update_id": 77, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}, None
    )
    try:
        assert await stalled._claim_update(update) and await stalled.owns(77)
        application = SimpleNamespace(running=True, bot=None)
        [taken] = await living.orphans(application)  # a's heartbeat is absent: it counts as dead
        assert taken.update_id == 77 and await living.owns(77) and not await stalled.owns(77)
        await stalled._finish(77)
        assert await client.get("articlebot:update:77") == b"b" and await client.hexists(JOURNAL, 77)
        await living._finish(77)
        assert await client.get("articlebot:update:77") == b"done" and not await client.hexists(JOURNAL, 77)
    finally:
        await client.aclose()


async def test_a_replica_stops_even_when_its_stop_lands_in_a_redis_call(redis_server):
    """Stopping a replica ends its heartbeat task even when the stop's cancellation arrives in the middle of a
    Redis call. On Python 3.11, redis-py's asyncio.wait_for around each send can swallow it (CPython issue
    86296): the task went on renewing its heartbeat and shutdown() awaited it forever, which hung the
    replicas' teardown, and `articlebot run --webhook` after SIGTERM. A heartbeat every millisecond keeps
    the task in Redis calls nearly all the time, so these stops land in one; each must end within 5 s."""
    from types import SimpleNamespace

    from bot.telegram.redis_state import connect
    from bot.telegram.replicas import ClaimedUpdates

    client = connect(redis_server)  # the bot's own client settings: socket timeouts, hence wait_for
    await client.flushdb()
    application = SimpleNamespace(running=True, bot=None, update_queue=asyncio.Queue())
    try:
        for attempt in range(30):
            replica = ClaimedUpdates(client, lease=0.003, replica=f"stopping-{attempt}")
            replica.watch(application)
            await asyncio.sleep(0.001 * (attempt % 4))
            stopping = asyncio.create_task(replica.shutdown())
            # asyncio.wait, not wait_for: at its timeout wait_for would wait for the cancelled shutdown to
            # end, which is the very wait that hangs.
            done, _ = await asyncio.wait([stopping], timeout=5)
            if not done:  # leave no task running in the session's loop: cancel until a cancel takes
                for _ in range(1000):
                    if replica._watch is None or replica._watch.done():
                        break
                    replica._watch.cancel()
                    await asyncio.wait([replica._watch], timeout=0.01)
            assert done, f"stop {attempt}: the heartbeat task outlived its cancel, and shutdown waited on it"
            assert replica._watch is not None and replica._watch.done()
    finally:
        await client.aclose()


# --- real `articlebot run --webhook` processes -------------------------------------------------------------


def start_replica(folder: Path, environment: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    log = folder / "bot.log"
    env = {**os.environ, **environment, "WEBHOOK_PORT": str(port), "CHAT_STATE_PATH": str(folder / "c.db")}
    articlebot = Path(sys.executable).parent / "articlebot"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(articlebot), "run", "--webhook", url],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=env,
        )
    return process, url, log


async def listening(url: str, patience: float = 60) -> None:
    """Wait until the webhook server at url accepts connections."""
    parts = urlsplit(url)
    deadline = time.monotonic() + patience
    while True:
        try:
            _, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"{url} never listened"
            await asyncio.sleep(0.2)


async def test_a_replica_that_dies_mid_answer_leaves_its_update_to_the_other(
    standin, chroma_server, model_server, redis_server, replica_libraries, tmp_path
):
    environment = {
        **chroma_server,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "LLM_BASE_URL": model_server[0],
        "REDIS_URL": redis_server,
        "WEBHOOK_SECRET": SECRET,
        "REPLICA_LEASE_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    redis.Redis.from_url(redis_server).flushdb()
    started = [start_replica(tmp_path / f"replica-{index}", environment) for index in range(2)]
    try:
        for process, url, log in started:
            await standin.wait_for(
                lambda calls, url=url: standin.ok_calls("setWebhook", url=url), timeout=120, what=f"{url} up"
            )
            assert process.poll() is None, log.read_text()
            await listening(url)  # PTB sets the webhook before its server listens
        standin.replicas[:] = [url for _, url, _ in started]
        bot = BotHarness(standin, None)
        group = -5401
        # Replica 0's first message in the group hangs (then fails), so it is surely mid-answer when killed.
        standin.fail_next("sendMessage", delay=20, drop=True)
        await bot.message(f"/ask {QUESTION}", chat_id=group, to=0)
        deadline = time.monotonic() + 60
        while not any(url == started[0][1] and code == 200 for _, url, code in standin.deliveries):
            assert time.monotonic() < deadline, f"replica 0 never took the question: {standin.deliveries}"
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # it claims the update, then waits on its first message
        started[0][0].send_signal(signal.SIGKILL)
        [final] = await bot.wait_finals(group, timeout=120)
        assert "28" in answer_text(final), "the living replica answered the dead one's question"

        # The balancer still sends the next one to the dead replica: it is refused, and goes to the other.
        await bot.message(f"/ask {QUESTION}", chat_id=group, to=0)
        await bot.wait_finals(group, 2, timeout=60)
        await bot.settle(3)
        assert len(bot.finals(group)) == 2, "each question answered once"

        forged = {"update_id": 999999, "message": {"message_id": 1, "date": 0, "chat": {"id": group}}}
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                started[1][1], json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            )
        assert refused.status_code == 403, "an update without the secret is refused"
        living_log = started[1][2].read_text()
        assert "Traceback" not in living_log and TOKEN not in living_log, living_log[-3000:]
        assert "left unfinished by a replica that died" in living_log
    finally:
        standin.replicas.clear()
        standin.webhook = {}
        for process, _, _ in started:
            if process.poll() is None:
                process.terminate()
                process.wait(30)
    assert started[1][0].returncode == 0, "the living replica stops cleanly"


async def test_a_replica_that_stalls_past_its_lease_leaves_the_answer_to_the_other(
    standin, chroma_server, model_server, redis_server, replica_libraries, tmp_path
):
    """Replica 0 is frozen (SIGSTOP) mid-answer for longer than its lease: replica 1 takes the question
    over and answers it. Replica 0, resumed, finds the question another's: it answers nothing and takes
    back its placeholder, so the asker sees exactly one answer."""
    environment = {
        **chroma_server,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "LLM_BASE_URL": model_server[0],
        "REDIS_URL": redis_server,
        "WEBHOOK_SECRET": SECRET,
        "REPLICA_LEASE_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    redis.Redis.from_url(redis_server).flushdb()
    started = [start_replica(tmp_path / f"replica-{index}", environment) for index in range(2)]
    stalled = started[0][0]
    try:
        for process, url, log in started:
            await standin.wait_for(
                lambda calls, url=url: standin.ok_calls("setWebhook", url=url), timeout=120, what=f"{url} up"
            )
            assert process.poll() is None, log.read_text()
            await listening(url)
        standin.replicas[:] = [url for _, url, _ in started]
        bot = BotHarness(standin, None)
        group = -5501
        # Replica 0's "typing…" is acknowledged only after 8 s: it cannot finish before it is frozen.
        standin.fail_next("sendChatAction", delay=8)
        await bot.message(f"/ask {QUESTION}", chat_id=group, to=0)
        [placeholder] = await standin.wait_for(
            lambda calls: standin.ok_calls("sendMessage", chat_id=group), timeout=120, what="the placeholder"
        )
        stalled.send_signal(signal.SIGSTOP)
        try:
            [final] = await bot.wait_finals(group, timeout=120)
        finally:
            stalled.send_signal(signal.SIGCONT)
        placeholder_id = placeholder.result["message_id"]

        def deleted() -> list:
            return standin.ok_calls("deleteMessage", chat_id=group, message_id=placeholder_id)

        await standin.wait_for(
            lambda calls: deleted() or len(bot.finals(group)) > 1, timeout=60, what="replica 0 resuming"
        )
        assert bot.finals(group) == [final], "answered once, by the replica that took it over"
        assert deleted(), "replica 0 took back its placeholder"
        stalled_log = started[0][2].read_text()
        assert "took this question over" in stalled_log and "Traceback" not in stalled_log, stalled_log[
            -3000:
        ]
    finally:
        standin.replicas.clear()
        standin.webhook = {}
        for process, _, _ in started:
            if process.poll() is None:
                process.terminate()
                process.wait(30)


@pytest.mark.parametrize(
    ("setting", "environment"),
    [
        ("WEBHOOK_SECRET", {}),
        ("WEBHOOK_SECRET", {"WEBHOOK_SECRET": "has spaces"}),
        ("REDIS_URL", {"WEBHOOK_SECRET": SECRET, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}),
    ],
)
def test_a_replica_misconfigured_says_so_in_one_line(tmp_path, setting, environment):
    webhook = "https://bot.example.org/telegram"
    result = run_cli(tmp_path, "run", "--webhook", webhook, TELEGRAM_BOT_TOKEN=TOKEN, **environment)
    assert result.returncode == 2 and setting in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0 and TOKEN not in result.stderr


def test_info_reports_the_shared_state(tmp_path, redis_server):
    info = json.loads(run_cli(tmp_path, "info", "--json", REDIS_URL=redis_server).stdout)
    assert info["state"] == "redis"
    assert json.loads(run_cli(tmp_path, "info", "--json").stdout)["state"] == "sqlite"
