"""Load on the real bot: 50 chats x 5 questions, private, group and inline, through the Bot API stand-in.

Each chat asks its next question once the previous one is answered (or refused as busy), as people do.
Reports answered, told busy, lost, duplicated, throughput, p50/p95 latency and the longest queue, as JSON.

    .venv/bin/python scripts/load_test.py [--chats 50] [--questions 5] [--replicas 2]

--replicas 0 (the default) is one process polling, the model in it. --replicas N starts a real `chroma
run`, model server (`python -m bot.model_server`) and redis-server on 127.0.0.1 and runs N webhook
replicas sharing them, the stand-in spreading updates over them as a load balancer would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from bot.engine.library import Library
from bot.engine.prompts import load_phrases
from bot.paths import EVAL_SET
from bot.settings import Settings
from bot.telegram.render import cache_key
from tests import servers
from tests.botapi_standin import BotApiStandIn, Call
from tests.telegram_fixtures import TOKEN, BotHarness, running_bot, webhook_replicas

TIMEOUT = 600.0
PHRASES = load_phrases("telegram.toml")
BUSY = {table["busy"] for table in PHRASES.values() if "busy" in table}
# "⏳ You are in line, $ahead question(s)…": the text before $ahead, in each language
QUEUED = [table["queued"].split("$ahead")[0] for table in PHRASES.values() if "queued" in table]


class Lost(TypedDict):
    """A question that got no final answer, and the calls its asker saw instead."""

    question: str
    calls: list[tuple[str, int, str]]  # method, status, the text's first 60 characters


class Entry(TypedDict):
    """One question asked: by which kind of chat, how long its answer took, how many finals it got."""

    kind: str
    seconds: float
    finals: int
    busy: bool
    lost: NotRequired[Lost]


def questions() -> list[str]:
    items = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [item["question"] for item in items]


def finals_of(standin: BotApiStandIn, where: dict[str, Any], since: int) -> list[Call]:
    """Final answers (the message carrying the answer keyboard) or busy replies, after call number since."""
    found = []
    for call in standin.calls[since:]:
        if not call.ok or call.method not in ("sendMessage", "editMessageText"):
            continue
        if any(call.params.get(key) != value for key, value in where.items()):
            continue
        markup = str(call.params.get("reply_markup") or "")
        if "art:" in markup or "start=article" in markup or call.params.get("text", "") in BUSY:
            found.append(call)
    return found


async def one_chat(
    bot: BotHarness, article: str, kind: str, number: int, asked: list[str], log: list[Entry]
) -> None:
    standin, chat_id = bot.standin, 10_000 + number
    for index, question in enumerate(asked):
        since, started = len(standin.calls), time.monotonic()
        if kind == "private":
            await bot.message(question, chat_id=chat_id)
            where: dict[str, Any] = {"chat_id": chat_id}
        elif kind == "group":
            await bot.message(
                f"@{bot.bot_user['username']} {question}", chat_id=-chat_id, user=bot.user(chat_id)
            )
            where = {"chat_id": -chat_id}
        else:
            inline_id = f"load-{number}-{index}"
            await bot.inline(question, user_id=chat_id)
            key = cache_key(article + "\n" + question)
            await bot.choose(f"gen:{key}", question, inline_id)
            where = {"inline_message_id": inline_id}

        def finals(_: list[Call], w: dict[str, Any] = where, s: int = since) -> list[Call]:
            return finals_of(standin, w, s)

        try:
            found = await standin.wait_for(finals, timeout=TIMEOUT, what=question)
            await asyncio.sleep(0.5)  # a duplicate would come within this
            found = finals_of(standin, where, since)
        except AssertionError:
            found = []
        busy = bool(found) and found[0].params.get("text", "") in BUSY
        entry: Entry = {
            "kind": kind,
            "seconds": time.monotonic() - started,
            "finals": len(found),
            "busy": busy,
        }
        if not found:  # what the asker saw instead, to tell a lost answer from a missed one
            seen = [c for c in standin.calls[since:] if all(c.params.get(k) == v for k, v in where.items())]
            entry["lost"] = {
                "question": question,
                "calls": [(c.method, c.status, c.params.get("text", "")[:60]) for c in seen],
            }
        log.append(entry)


@asynccontextmanager
async def bots(standin: BotApiStandIn, home: Path, replicas: int) -> AsyncIterator[tuple[BotHarness, str]]:
    """The bot under load, one process or `replicas` webhook replicas, and its default article's name."""
    tuning = {"questions_per_minute": 60}
    if not replicas:
        settings = Settings(_env_file=None, chroma_path=home / "chroma")  # type: ignore[call-arg]
        library = Library.from_settings(settings)
        library.engine().warm_up()
        async with running_bot(standin, library, tuning) as bot:
            yield bot, library.default_name
        return
    with ExitStack() as stack:
        chroma = stack.enter_context(servers.chroma_server(home))
        base, _ = stack.enter_context(servers.model_server(home))
        redis_url = stack.enter_context(servers.redis_server(home))
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            chroma_path=home / "unused",
            chroma_host="127.0.0.1",
            chroma_port=int(chroma["CHROMA_PORT"]),
            llm_base_url=base,
        )
        # One library each, as each replica process opens its own (the first indexes the article).
        libraries = [Library.from_settings(settings) for _ in range(replicas)]
        for library in libraries:
            library.engine().warm_up()
        async with webhook_replicas(standin, libraries, {"redis_url": redis_url, **tuning}) as harnesses:
            yield harnesses[0], libraries[0].default_name


async def main(chats: int, per_chat: int, replicas: int) -> dict[str, Any]:
    pool = questions()
    with tempfile.TemporaryDirectory() as home:
        standin = BotApiStandIn(TOKEN)
        await standin.start()
        log: list[Entry] = []
        queue = {"longest": 0}
        try:
            async with bots(standin, Path(home), replicas) as (bot, article):
                kinds = ["private"] * (chats * 3 // 5) + ["group"] * (chats // 5)
                kinds += ["inline"] * (chats - len(kinds))

                started = time.monotonic()
                await asyncio.gather(
                    *(
                        one_chat(
                            bot,
                            article,
                            kind,
                            n,
                            [pool[(n * per_chat + i) % len(pool)] for i in range(per_chat)],
                            log,
                        )
                        for n, kind in enumerate(kinds)
                    )
                )
                wall = time.monotonic() - started
            notices = [c.params.get("text", "") for c in standin.calls if c.ok]
            ahead = [
                int(found.group())
                for text in notices
                for prefix in QUEUED
                if text.startswith(prefix) and (found := re.match(r"\d+", text[len(prefix) :]))
            ]
            queue["longest"] = max(ahead, default=0) + 1  # those ahead, and the one asking
        finally:
            await standin.stop()
    answered = [entry for entry in log if entry["finals"] and not entry["busy"]]
    waits = sorted(entry["seconds"] for entry in answered)
    return {
        "questions": len(log),
        "answered": len(answered),
        "told_busy": sum(entry["busy"] for entry in log),
        "lost": sum(entry["finals"] == 0 for entry in log),
        "duplicated": sum(entry["finals"] > 1 for entry in log),
        "p50_s": round(statistics.median(waits), 1) if waits else None,
        "p95_s": round(waits[int(0.95 * (len(waits) - 1))], 1) if waits else None,
        "longest_queue": queue["longest"],
        "wall_s": round(wall, 1),
        "answers_per_min": round(len(answered) / wall * 60, 1),
        "setup": f"{replicas} webhook replicas, one model server" if replicas else "one process",
        "lost_detail": [{"kind": entry["kind"], **entry["lost"]} for entry in log if "lost" in entry][:10],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--replicas", type=int, default=0, help="0: one process (default)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.chats, args.questions, args.replicas)), indent=2))
