"""The bad-input corpus (tests/bad_inputs.py) through `ask --json` and through Telegram: each message
gets a clear, safe reply or deliberate silence; no traceback, no unescaped HTML, no injected answer."""

from __future__ import annotations

import json

from tests.bad_inputs import MESSAGES
from tests.botapi_standin import parse_html
from tests.test_cli import run_cli

INJECTED = ("joke", "pirate", "Paris", "poème", "France", "анекдот", "1998", "2018")


def test_the_corpus_through_ask_json(tmp_path):
    lines = [message.replace("\n", " ") for message in MESSAGES]
    result = run_cli(tmp_path, "ask", "--json", "-", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(objects) == len(lines), "one object per line, in order"
    for sent, reply in zip(lines, objects, strict=True):
        assert reply["question"] == sent
        assert ("error" in reply) != ("answer" in reply), reply
        if "answer" in reply:
            assert reply["refused"] or reply["citations"], reply
            assert not any(word in reply["answer"] for word in INJECTED), reply
    assert "empty" in objects[0]["error"] and "empty" in objects[1]["error"]
    assert "20399" in objects[2]["error"], "too long, in the asker's language, with the figures"


async def test_the_corpus_through_telegram(tgbot):
    # Telegram delivers no empty text and nothing over 4,096 characters.
    messages = [message for message in MESSAGES if message.strip() and len(message) <= 4096]
    chats = list(range(6000, 6000 + len(messages)))
    for chat_id, message in zip(chats, messages, strict=True):
        await tgbot.message(message, chat_id=chat_id)
    for chat_id, message in zip(chats, messages, strict=True):
        replies = await tgbot.standin.wait_for(
            lambda calls, chat_id=chat_id: [
                c
                for c in calls
                if c.ok
                and c.params.get("chat_id") == chat_id
                and "text" in c.params
                and not c.params["text"].startswith(("💭", "⏳", "«"))
                and c.method in ("sendMessage", "editMessageText")
            ],
            timeout=240,
            what=f"a reply to {message[:30]!r}",
        )
        final = replies[-1].params["text"]
        plain = parse_html(final)  # valid Telegram HTML: every tag balanced, every entity escaped
        assert "Traceback" not in plain and "<script>" not in final
        assert not any(word in plain for word in INJECTED), (message[:40], plain)


async def test_updates_not_for_the_bot_get_silence_and_odd_ones_a_reply(tgbot):
    bot, username = tgbot, tgbot.bot_user["username"]
    other_bot = {"id": 999, "is_bot": True, "first_name": "Other", "username": "other_bot"}
    await bot.message("/ask@other_bot Qui est le ministre ?", chat_id=-6101)
    await bot.message(f"/frobnicate@{username}", chat_id=-6102)
    await bot.message("Qui est le ministre ?", chat_id=6103, user=other_bot)
    await bot.message(f"@{username} Qui est le ministre ?", chat_id=-6104, user=other_bot)
    edited = {"message_id": 1, "date": 0, "edit_date": 1, "text": "Qui est le ministre ?"}
    await bot.standin.push(
        {"edited_message": {**edited, "chat": {"id": 6105, "type": "private"}, "from": bot.user(6105)}}
    )
    channel = {"id": -6106, "type": "channel", "title": "News"}
    await bot.standin.push({"channel_post": {"message_id": 2, "date": 0, "chat": channel, "text": "Qui ?"}})
    photo = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
    await bot.message(None, chat_id=6107, photo=photo, caption="Qui est le ministre ? " * 46)
    stranger = {"message_id": 3, "date": 0, "chat": {"id": 6108, "type": "private"}, "text": "hello"}
    stranger["from"] = bot.user(6108)
    await bot.message("Qui est le ministre de la défense ?", chat_id=6108, reply_to=stranger)

    unknown = await bot.wait_call("sendMessage", chat_id=-6102, timeout=10)
    assert "know that command" in unknown.params["text"]
    caption = await bot.wait_call("sendMessage", chat_id=6107, timeout=10)
    assert "only read text" in caption.params["text"]
    [answer] = await bot.wait_finals(6108)
    assert "Belousov" in parse_html(answer.params["text"]), (
        "a reply to a message the bot never sent is a question"
    )
    await bot.settle(1.0)
    for silent in (-6101, 6103, -6104, 6105, -6106):
        assert not [c for c in bot.standin.calls if c.params.get("chat_id") == silent], silent
