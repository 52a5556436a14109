"""A failing optional call, a Bot API fault or a failure inside the bot never stops it, and never loses an
answer: the real PTB Application over HTTP against the stand-in injecting faults, and the real
`articlebot run` process for start-up and SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.engine.library import Library
from bot.engine.llm import Token
from bot.engine.prompts import load_phrases
from bot.telegram.logging import quiet_logging
from bot.telegram.render import say
from tests.botapi_standin import parse_html
from tests.conftest import ScriptedModel
from tests.telegram_fixtures import TOKEN, BotHarness, running_bot

# Questions the bundled article answers; each chat its own, so no answer comes from the cache.
ASKED = [
    "Wer ist der russische Verteidigungsminister?",
    "¿Quién es el ministro de defensa ruso?",
    "Chi è il ministro della difesa russo?",
    "Кто министр обороны России?",
    "Where did the meeting take place?",
    "Wo fand das Treffen statt?",
]
FAST_START = {"start_backoff": (0.2,)}
RESTARTING = {
    table["restarting"] for table in load_phrases("telegram.toml").values() if "restarting" in table
}


async def test_optional_calls_failing_never_stop_an_answer(standin, library, engine):
    for method in ("setMyCommands", "sendChatAction", "sendMessageDraft"):
        standin.fail_next(method, 3, status=500)
    async with running_bot(standin, library, **FAST_START) as bot:
        await bot.message(ASKED[0], chat_id=5001)
        [final] = await bot.wait_finals(5001)
        await bot.wait_call("setMyCommands", timeout=10)  # retried in the background until it took
    assert "Belousov" in parse_html(final.params["text"])
    failed = [c.method for c in standin.calls if c.status == 500]
    assert {"setMyCommands", "sendChatAction"} <= set(failed)


async def test_bot_api_faults_are_survived_and_every_answer_arrives_once(standin, library, engine):
    async with running_bot(standin, library, drafts=False, **FAST_START) as bot:
        standin.fail_next("getUpdates", 2, status=502, description="Bad Gateway")
        standin.fail_next("getUpdates", 1, drop=True)
        standin.fail_next("sendMessage", 1, status=500)
        standin.fail_next("sendMessage", 1, delay=1.5)  # slow, but within PTB's timeouts
        standin.fail_next("editMessageText", 1, retry_after=1)
        standin.fail_next(
            "editMessageText", 1, status=400, description="Bad Request: message is not modified"
        )
        for index, question in enumerate(ASKED[:3]):
            await bot.message(question, chat_id=5100 + index)
        for index in range(3):
            await bot.wait_finals(5100 + index, timeout=120)
        # The user deleted the "thinking" message: the answer comes as a new message.
        standin.fail_next(
            "editMessageText", 5, status=400, description="Bad Request: message to edit not found"
        )
        await bot.message(ASKED[3], chat_id=5103)
        await bot.wait_finals(5103, timeout=120)
        # A chat that blocked the bot: its answer goes nowhere, and the next chat is answered.
        standin.blocked.add(5104)
        await bot.message(ASKED[4], chat_id=5104)
        await bot.message(ASKED[5], chat_id=5105)
        await bot.wait_finals(5105, timeout=120)
    for chat_id in (5100, 5101, 5102, 5103, 5105):
        assert len(bot.finals(chat_id)) == 1, chat_id
    assert not bot.finals(5104)


class FailingMidAnswer(ScriptedModel):
    """The model seam raising after a few words, as llama.cpp would on a broken context."""

    def stream(self, messages, *, max_tokens, openings=(), temperature=0.0, seed=0):
        yield Token("Les forces ", None)
        raise RuntimeError("llama_decode returned -3")


async def test_the_model_failing_mid_answer_gives_the_quote_and_the_bot_goes_on(standin, library):
    broken = Library(
        library.articles,
        library.embedder,
        FailingMidAnswer("unused"),
        library.guesser,
        default_name=library.default_name,
    )
    async with running_bot(standin, broken) as bot:
        for chat_id in (5201, 5202):
            await bot.message("Combien de localités les forces russes ont-elles prises ?", chat_id=chat_id)
            [final] = await bot.wait_finals(chat_id)
            text = parse_html(final.params["text"])
            assert "28 localités" in text and "Traceback" not in text, "the quoted sentence, cited"


def test_a_full_disk_keeps_the_chat_state_as_it_was(tmp_path):
    """RLIMIT_FSIZE makes writes past a size fail as on a full disk (EFBIG), in a child process."""
    script = f"""
import resource, signal
from pathlib import Path
from bot.errors import StateError
from bot.telegram.chats import ChatArticles
path = Path({str(tmp_path / "chats.sqlite3")!r})
chats = ChatArticles(path)
chats.use(1, "first")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size, path.stat().st_size))
try:
    for n in range(5000):
        chats.use(n, "x" * 500)
except StateError as error:
    print("refused:", error)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: could not save this chat's article"), done.stdout + done.stderr
    from bot.telegram.chats import ChatArticles

    reopened = ChatArticles(tmp_path / "chats.sqlite3")
    assert reopened.current(1) in ("first", "x" * 500)  # the last write that fitted, whole
    assert reopened._db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_admin_commands_are_checked_by_user_id(standin, library, engine):
    async with running_bot(standin, library, {"admin_user_ids": [5301]}) as bot:
        await bot.message("/stats", chat_id=5300, user=bot.user(5300))
        refused = await bot.wait_call("sendMessage", chat_id=5300, timeout=10)
        await bot.message("/stats", chat_id=-5302, user=bot.user(5301))
        stats = await bot.wait_call("sendMessage", chat_id=-5302, timeout=10)
    assert "Only the bot's admins" in refused.params["text"]
    assert stats.params["text"].startswith("📊") and "articles:" in stats.params["text"]


async def test_a_user_asking_too_fast_is_asked_to_wait(standin, library, engine):
    async with running_bot(standin, library, {"questions_per_minute": 2}) as bot:
        for _ in range(3):
            await bot.message(ASKED[0], chat_id=5400)
        slow = await bot.standin.wait_for(
            lambda calls: [
                c
                for c in calls
                if c.ok and c.params.get("chat_id") == 5400 and c.params.get("text", "").startswith("✋")
            ],
            what="the rate limit's reply",
        )
        await bot.wait_finals(5400, 2)
    # In the asker's language (German), with the limit: everything up to the seconds to wait.
    expected = say("slow_down", "de", limit=2, seconds="{wait}").split("{wait}")[0]
    assert slow[-1].params["text"].startswith(expected), slow[-1].params["text"]


async def test_the_token_is_in_no_log_line_at_debug_even_in_failed_requests(standin, library, engine, caplog):
    caplog.set_level(logging.DEBUG)
    async with running_bot(standin, library) as bot:
        quiet_logging(TOKEN)
        standin.fail_next("sendMessage", 6, status=500)
        await bot.message(ASKED[1], chat_id=5500)
        await bot.standin.wait_for(
            lambda calls: len([c for c in calls if c.method == "sendMessage" and c.status == 500]) >= 3,
            what="failed sends",
        )
        await bot.settle(1.0)
    assert any(record.exc_info for record in caplog.records), "a failed request was logged with a traceback"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        assert TOKEN not in text, record


def run_bot(standin, home: Path, **env: str) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "CHROMA_PATH": str(home / "chroma"),
        "CHAT_STATE_PATH": str(home / "chats.sqlite3"),
        "LOG_LEVEL": "INFO",
        **env,
    }
    command = [str(Path(sys.executable).parent / "articlebot"), "run"]
    return subprocess.Popen(command, env=environment, cwd=home, stderr=subprocess.PIPE, text=True)


async def polling(standin) -> None:
    """Wait until the bot has polled Telegram once: it is up."""
    await standin.wait_for(
        lambda calls: [c for c in calls if c.method == "getUpdates" and c.ok], timeout=180, what="polling"
    )


def sender(standin) -> BotHarness:
    """Sends updates as Telegram would, to the bot running in its own process (no Application here)."""
    return BotHarness(standin, application=None)


async def stop(bot: subprocess.Popen[str], patience: float) -> tuple[int, float]:
    """SIGTERM, then the exit code and the seconds the bot took to exit (at most `patience`)."""
    signalled = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(bot.wait, patience)
    return code, time.monotonic() - signalled


async def test_articlebot_run_survives_a_failing_start_and_stops_gracefully_on_sigterm(standin, tmp_path):
    standin.fail_next("getMe", 2, status=500)
    standin.fail_next("setMyCommands", 2, status=500)
    bot = run_bot(standin, tmp_path)
    try:
        await polling(standin)
        chats = list(range(5600, 5606))
        for chat_id, question in zip(chats, ASKED, strict=True):
            await sender(standin).message(question, chat_id=chat_id)
        await standin.wait_for(
            lambda calls: [
                c for c in calls if c.method == "sendChatAction" and c.params.get("chat_id") in chats
            ],
            timeout=120,
            what="the model starting on the burst",
        )
        code, _ = await stop(bot, patience=60)
    finally:
        if bot.poll() is None:
            bot.kill()
    stderr = bot.stderr.read() if bot.stderr else ""
    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    for chat_id in chats:
        said = [
            parse_html(c.params["text"])
            for c in standin.ok_calls()
            if c.params.get("chat_id") == chat_id and c.method in ("sendMessage", "editMessageText")
        ]
        answered = any("[1]" in text for text in said)
        told = any(text in RESTARTING for text in said)
        assert answered or told, (chat_id, said)
    assert any(parse_html(c.params.get("text", "")) in RESTARTING for c in standin.ok_calls()), (
        "some were still in line when the signal came"
    )


async def test_sigterm_stops_the_bot_within_seconds_while_telegram_is_unreachable(standin, tmp_path):
    """Telegram goes away: each getUpdates fails, and PTB waits longer before each retry (up to 30 s).
    SIGTERM, sent while it waits, still stops the bot at once; each failure is one line, not a traceback."""
    bot = run_bot(standin, tmp_path)
    loop = asyncio.get_running_loop()
    attempts, lines = 0, []
    waiting = asyncio.Event()  # the bot logged its 7th failure: it now waits 11 s before the next attempt

    def read_log() -> None:
        assert bot.stderr is not None
        for line in bot.stderr:
            lines.append(line)
            if attempts >= 7 and (" WARNING " in line or " ERROR " in line):
                loop.call_soon_threadsafe(waiting.set)

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    gone = None
    try:
        await polling(standin)
        await standin.wait_for(lambda calls: standin.ok_calls("setMyCommands"), timeout=30, what="the menu")
        await standin.stop()
        # In its place, a server that hangs up on every connection: each one a failed getUpdates.
        gone = await asyncio.start_server(hang_up, "127.0.0.1", standin.port, reuse_address=True)
        await asyncio.wait_for(waiting.wait(), timeout=90)
        code, took = await stop(bot, patience=60)
    finally:
        if bot.poll() is None:
            bot.kill()
        if gone is not None:
            gone.close()
    await asyncio.to_thread(reader.join, 10)
    log = "".join(lines)
    assert code == 0, log[-2000:]
    assert took < 5, f"stopped {took:.1f} s after SIGTERM"
    assert "Traceback" not in log, log[-3000:]
    assert "Cannot reach Telegram for updates" in log


async def test_a_stop_that_overruns_its_grace_ends_anyway_and_says_where_it_was(standin, tmp_path):
    """Every message of the answer takes Telegram 4.5 s: the answer being written cannot finish within a
    1.5 s grace. SIGTERM still ends the process then, with exit code 0 and each thread's stack logged."""
    bot = run_bot(standin, tmp_path, STOP_GRACE_SECONDS="1.5")
    try:
        await polling(standin)
        for method in ("sendMessage", "editMessageText", "sendChatAction", "deleteMessage"):
            standin.fail_next(method, 50, delay=4.5)
        group = -5700
        await sender(standin).message(f"/ask {ASKED[0]}", chat_id=group)
        await standin.wait_for(
            lambda calls: standin.ok_calls("sendMessage", chat_id=group),
            timeout=120,
            what="the answer under way",
        )
        code, took = await stop(bot, patience=30)
    finally:
        if bot.poll() is None:
            bot.kill()
    log = bot.stderr.read() if bot.stderr else ""
    assert code == 0, log[-2000:]
    assert took < 6, f"stopped {took:.1f} s after SIGTERM"
    assert "Still stopping 1.5 s after the signal" in log and "most recent call first" in log, log[-3000:]
