"""End to end: the real PTB Application, over HTTP, against the Bot API stand-in, with the real engine.

Assertions are on what users see: the Bot API calls the stand-in recorded.
"""

from __future__ import annotations

import html
import logging

import pytest

from bot.engine.records import Answer, Citation
from bot.errors import ConfigError
from bot.settings import Settings
from bot.telegram.app import build_application, quiet_logging
from bot.telegram.render import cache_key, render_answer, render_article, split_html
from bot.telegram.running import run
from bot.telegram.sinks import ChatSink
from tests.botapi_standin import parse_html, utf16_len
from tests.telegram_fixtures import TOKEN, LibrarySpy, StepClock, running_bot

# The one question answered by the model (streamed); the others are answered without it (quotes in
# languages the model does not write, summaries), so the suite stays fast on a small CPU.
QUESTION = "Combien de localités les forces russes ont-elles prises ce mois-ci ?"
FAST = [
    "Wer ist der russische Verteidigungsminister?",
    "¿Quién es el ministro de defensa ruso?",
    "Chi è il ministro della difesa russo?",
    "Кто министр обороны России?",
    "Хто міністр оборони Росії?",
    "What is the article about?",
    "De quoi parle l'article ?",
    "Was hat Belousov über die NATO gesagt?",
    "Что сказал Белоусов о НАТО?",
    "Wo fand das Treffen statt?",
]
STICKER = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512}
STICKER |= {"is_animated": False, "is_video": False}


def buttons(call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def callback_data(call) -> list[str]:
    return [button["callback_data"] for button in buttons(call) if "callback_data" in button]


def reply_to(call) -> int | None:
    return (call.params.get("reply_parameters") or {}).get("message_id")


def shown(standin, call) -> dict:
    """The message a sendMessage/editMessageText call left in the chat, as the stand-in stores it."""
    message_id = call.params.get("message_id") or call.result["message_id"]
    return standin.messages[(int(call.params["chat_id"]), int(message_id))]


def quoted(standin, call) -> int | None:
    """Which message the bot's message replies to."""
    return shown(standin, call).get("reply_to_message", {}).get("message_id")


def in_chat(bot, chat_id: int) -> list:
    return [call for call in bot.standin.ok_calls() if call.params.get("chat_id") == chat_id]


async def test_private_question_is_answered_with_quotes_and_source_buttons(tgbot):
    asked = await tgbot.message(QUESTION, chat_id=1001)
    [final] = await tgbot.wait_finals(1001)

    assert final.method == "sendMessage" and final.params["parse_mode"] == "HTML"
    assert "[1]" in final.params["text"] and "<blockquote>" in final.params["text"]
    assert "28" in parse_html(final.params["text"])
    sources = [data for data in callback_data(final) if data.startswith("src:")]
    assert sources and all(len(data.encode()) <= 64 for data in callback_data(final))
    assert tgbot.standin.ok_calls("sendChatAction", chat_id=1001, action="typing")
    drafts = [call.params["text"] for call in tgbot.standin.ok_calls("sendMessageDraft", chat_id=1001)]
    assert drafts[0].startswith("💭") and any(text.endswith("▍") for text in drafts), "streamed as a draft"
    replies = {reply_to(call) for call in in_chat(tgbot, 1001)}
    assert asked["message_id"] not in replies, "no quoting in a private chat"


async def test_streaming_by_edits_is_throttled_by_the_injected_clock(standin, library, engine):
    # A frozen clock: after the placeholder no interval ever passes, so the only edit is the final answer.
    async with running_bot(standin, library, clock=StepClock(0.0), drafts=False) as bot:
        await bot.message(FAST[0], chat_id=1002)
        [final] = await bot.wait_finals(1002)
    sent = standin.ok_calls("sendMessage", chat_id=1002)
    edits = standin.ok_calls("editMessageText", chat_id=1002)
    assert len(sent) == 1 and sent[0].params["text"].startswith("💭")
    assert edits == [final] and final.params["message_id"] == sent[0].result["message_id"]


async def test_group_answers_only_mentions_replies_and_ask(standin, library, engine):
    group = -1003
    async with running_bot(standin, library, clock=StepClock(0.0)) as bot:
        username = bot.bot_user["username"]
        ignored = await bot.message("Qui est le ministre russe de la défense ?", chat_id=group)
        await bot.message(None, chat_id=group, sticker=STICKER)
        await bot.message("/help@some_other_bot", chat_id=group)
        await bot.message("/frobnicate", chat_id=group)
        mentioned = await bot.message(f"@{username} {FAST[0]}", chat_id=group)
        [first] = await bot.wait_finals(group)
        assert quoted(standin, first) == mentioned["message_id"]

        answer_message = shown(standin, first)
        follow_up = await bot.message("Und wo war das Treffen?", chat_id=group, reply_to=answer_message)
        await bot.wait_finals(group, 2)
        asked = await bot.message(f"/ask {FAST[1]}", chat_id=group)
        finals = await bot.wait_finals(group, 3)

    addressed = [m["message_id"] for m in (mentioned, follow_up, asked)]
    assert [quoted(standin, call) for call in finals] == addressed, "each answer replies to its question"
    # Silent otherwise: the only messages in the group are the three answers (placeholders, then edited).
    sent = standin.ok_calls("sendMessage", chat_id=group)
    assert [reply_to(call) for call in sent] == addressed and ignored["message_id"] not in addressed


async def test_follow_up_reply_passes_the_exchange(standin, library, engine):
    spy = LibrarySpy(library)
    async with running_bot(standin, spy) as bot:
        await bot.message(FAST[0], chat_id=1004)
        [first] = await bot.wait_finals(1004)
        answer_message = shown(standin, first)
        await bot.message("Und wo war er am Freitag?", chat_id=1004, reply_to=answer_message)
        await bot.wait_finals(1004, 2)
    question, exchange = spy.streams[-1]
    assert question == "Und wo war er am Freitag?"
    assert exchange.question == FAST[0] and exchange.answer in html.unescape(first.params["text"])


async def test_inline_query_answers_with_quotes_then_streams_a_generated_answer(tgbot, library):
    query_id = await tgbot.inline(QUESTION)
    answered = await tgbot.wait_call("answerInlineQuery", timeout=5, inline_query_id=query_id)

    results = answered.params["results"]
    assert 2 <= len(results) <= 50 and answered.params["cache_time"] == 30
    assert answered.params["is_personal"] is True, "quotes from the asker's article are the asker's"
    assert all(len(result["id"].encode()) <= 64 for result in results)
    generate, quotes = results[0], results[1:]
    key = cache_key(f"{library.default_name}\n{QUESTION}")
    assert generate["id"] == f"gen:{key}"
    assert generate["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"gen:{key}"
    assert all(
        result["id"].startswith("q:") and "<blockquote>" in result["input_message_content"]["message_text"]
        for result in quotes
    )

    await tgbot.press(f"gen:{key}", inline_message_id="inline-1")
    final = await tgbot.standin.wait_for(
        lambda calls: [
            c
            for c in calls
            if c.ok
            and c.params.get("inline_message_id") == "inline-1"
            and "src:" in str(c.params.get("reply_markup"))
        ],
        timeout=180,
        what="the generated answer in the inline message",
    )
    assert (
        "[1]" in final[-1].params["text"] and html.escape(QUESTION, quote=False) in final[-1].params["text"]
    )

    again = await tgbot.inline(QUESTION)
    answered = await tgbot.wait_call("answerInlineQuery", timeout=5, inline_query_id=again)
    assert answered.params["results"][0]["id"] == f"ans:{key}", "a ready answer is offered directly"


async def test_chosen_inline_result_streams_the_answer(tgbot):
    await tgbot.choose(f"gen:{cache_key(FAST[2])}", FAST[2], "inline-2")
    edits = await tgbot.standin.wait_for(
        lambda calls: (
            found
            if (found := [c for c in calls if c.ok and c.params.get("inline_message_id") == "inline-2"])
            and "src:" in str(found[-1].params.get("reply_markup"))
            else None
        ),
        timeout=180,
        what="the answer in the chosen inline message",
    )
    # What the chat sees: the message, edited from a first notice into the answer, asked once.
    first, final = parse_html(edits[0].params["text"]), parse_html(edits[-1].params["text"])
    assert first.startswith(f"❓ {FAST[2]}") and not edits[0].params.get("reply_markup")
    assert final.startswith(f"❓ {FAST[2]}") and "Belousov" in final and "[1]" in final
    assert tgbot.standin.inline_messages["inline-2"]["text"] == edits[-1].params["text"]
    assert [c for c in edits if "src:" in str(c.params.get("reply_markup"))] == [edits[-1]], "answered once"


async def test_inline_hints_are_personal_too(tgbot):
    """The hint is in the asker's language: Telegram must not cache it for everyone."""
    user = tgbot.user(1020, language_code="fr")
    query_id = f"iq-hint-{user['id']}"
    await tgbot.standin.push({"inline_query": {"id": query_id, "from": user, "query": " ", "offset": ""}})
    answered = await tgbot.wait_call("answerInlineQuery", timeout=5, inline_query_id=query_id)
    assert answered.params["results"] == [] and answered.params["is_personal"] is True
    assert answered.params["button"]["start_parameter"] == "help"


async def test_inline_queries_are_debounced_per_user(standin, library, engine):
    async with running_bot(standin, library, inline_debounce=0.3) as bot:
        ids = [await bot.inline(text, user_id=77) for text in ("Qui", "Qui est", "Qui est Belousov ?")]
        # The earlier queries' debounce ends before the last one's, and the last one still retrieves before
        # answering: had they been answered, their answers would be in before its answer.
        await bot.wait_call("answerInlineQuery", timeout=5, inline_query_id=ids[-1])
    answered = {call.params["inline_query_id"] for call in standin.ok_calls("answerInlineQuery")}
    assert ids[-1] in answered and not answered & set(ids[:-1])


async def test_source_button_shows_the_passage_in_full(tgbot):
    await tgbot.message(FAST[1], chat_id=1005)  # a question the article answers, far above the strictness
    [final] = await tgbot.wait_finals(1005)
    answer_message = shown(tgbot.standin, final)
    data = next(d for d in callback_data(final) if d.startswith("src:"))
    await tgbot.press(data, message=answer_message)
    passages = await tgbot.standin.wait_for(
        lambda calls: [
            c
            for c in calls
            if c.ok and c.method == "sendMessage" and reply_to(c) == final.result["message_id"]
        ],
        what="the passage",
    )
    text = passages[-1].params["text"]
    assert "§" in text and "<blockquote>" in text and "<b>" in text

    await tgbot.press(data, inline_message_id="inline-3")
    alert = await tgbot.wait_call("answerCallbackQuery", show_alert=True)
    assert "§" in alert.params["text"]


@pytest.mark.parametrize("how", ["command", "button"])
async def test_article_is_split_into_messages_of_at_most_4096(standin, library, long_article, how):
    engine = library.engine(long_article)
    expected = len(render_article(engine.article_paragraphs))
    assert expected >= 2, "this article is longer than one message"
    async with running_bot(standin, library) as bot:
        if how == "command":
            await bot.message(f"/use {long_article}", chat_id=1006)
            await bot.wait_call("sendMessage", chat_id=1006)
            await bot.message("/article", chat_id=1006)
            expected += 2  # the switch's confirmation, the article's title card
        else:
            message = await bot.message("hello", chat_id=1006, entities=[])
            await bot.press(f"art:{long_article}", message=message)

        def article(calls):
            sent = [c for c in calls if c.ok and c.method == "sendMessage" and c.params["chat_id"] == 1006]
            return sent if len(sent) >= expected else None

        sent = await standin.wait_for(article, what="the whole article")
    assert all(len(call.params["text"]) <= 4096 for call in sent)
    text = " ".join(" ".join(parse_html(call.params["text"]).split()) for call in sent)
    for number, paragraph in enumerate(engine.article_paragraphs, start=1):
        assert f"§{number} {' '.join(paragraph.split())}" in text, "every paragraph whole, in order"


@pytest.mark.parametrize(
    "text",
    [
        "<b>bold</b> &amp; <i>" + "mot " * 3000 + "</i>",
        "\n\n".join(f"<b>§{n}</b> <blockquote>" + "phrase. " * 200 + "</blockquote>" for n in range(6)),
        "😀" * 5000,
        "a" * 9000,
    ],
)
def test_split_html_keeps_tags_balanced_and_under_the_limit(text):
    chunks = split_html(text)
    assert len(chunks) >= 2
    for chunk in chunks:
        parse_html(chunk)  # raises on unbalanced tags or broken entities
        assert utf16_len(chunk) <= 4096


def test_answers_escape_article_and_model_text():
    quote = 'Il a dit "x < y & z" <b>'
    answer = Answer("q", "Réponse <i>ici</i> & là [1]", False, "fr", [Citation(1, 2, 0, quote, "p2s0")])
    text = render_answer(answer, question="<script>alert(1)</script>")
    plain = parse_html(text)  # Telegram would accept it
    assert "<script>alert(1)</script>" in plain and "Réponse <i>ici</i> & là [1]" in plain and quote in plain
    assert "§3, phrase 1" in plain


async def test_hostile_text_is_escaped(tgbot):
    hostile = "<b>Belousov</b> & <script>alert(1)</script> : wer ist der Verteidigungsminister?"
    await tgbot.message(hostile, chat_id=1007)
    [final] = await tgbot.wait_finals(1007)
    parse_html(final.params["text"])
    assert "<script>" not in final.params["text"]

    query_id = await tgbot.inline(hostile)
    answered = await tgbot.wait_call("answerInlineQuery", timeout=5, inline_query_id=query_id)
    message_text = answered.params["results"][0]["input_message_content"]["message_text"]
    assert "&lt;b&gt;Belousov&lt;/b&gt; &amp; &lt;script&gt;" in message_text


async def test_bad_input_gets_short_polite_replies(tgbot):
    await tgbot.message("/ask", chat_id=1008)
    await tgbot.message("What did the minister say about the war? " * 15, chat_id=1009)
    await tgbot.message(None, chat_id=1010, sticker=STICKER)
    await tgbot.message("/frobnicate", chat_id=1011)
    empty = await tgbot.wait_call("sendMessage", chat_id=1008)
    too_long = await tgbot.wait_call("sendMessage", chat_id=1009)
    non_text = await tgbot.wait_call("sendMessage", chat_id=1010)
    unknown = await tgbot.wait_call("sendMessage", chat_id=1011)
    assert "<b>What is the article about?</b>" in empty.params["text"]
    assert too_long.params["text"].startswith("✋") and "500" in too_long.params["text"]
    assert "only read text" in non_text.params["text"]
    assert "know that command" in unknown.params["text"] and "/article" in unknown.params["text"]


async def test_start_help_sources_and_commands(tgbot):
    user = tgbot.user(1012, language_code="de-DE")
    await tgbot.message("/start", chat_id=1012, user=user)
    start = await tgbot.wait_call("sendMessage", chat_id=1012)
    assert "Nachrichtenartikel" in start.params["text"] and "Worum geht es" in start.params["text"]
    await tgbot.wait_call("setMyCommands", language_code="uk")  # registered in the background
    assert {"fr", "ru", "uk"} <= set(tgbot.standin.commands)
    commands = [command["command"] for command in tgbot.standin.commands[""]]
    assert commands == ["start", "help", "ask", "new", "article", "articles", "use", "read", "sources"]

    await tgbot.message("/sources", chat_id=1013)
    none_yet = await tgbot.wait_call("sendMessage", chat_id=1013)
    assert "no answer" in none_yet.params["text"]
    await tgbot.message(FAST[0], chat_id=1013)  # answered, with sources to show
    await tgbot.wait_finals(1013)
    await tgbot.message("/sources", chat_id=1013)
    sources = await tgbot.standin.wait_for(
        lambda calls: [
            c
            for c in calls
            if c.ok and c.params.get("chat_id") == 1013 and c.params.get("text", "").startswith("<b>[1]</b>")
        ],
        what="/sources",
    )
    assert "<blockquote>" in sources[-1].params["text"]


async def test_burst_of_20_private_chats_each_answered_exactly_once(standin, library, engine):
    spy = LibrarySpy(library)
    chats = list(range(2000, 2020))
    async with running_bot(standin, spy) as bot:
        for index, chat_id in enumerate(chats):
            await bot.message(FAST[index % len(FAST)] if index else QUESTION, chat_id=chat_id)
        for chat_id in chats:
            await bot.wait_finals(chat_id, timeout=120)
    assert all(len(bot.finals(chat_id)) == 1 for chat_id in chats)
    assert spy.most_at_once == 1, "the model is never called concurrently"
    notices = [c for c in standin.ok_calls("sendMessage") if c.params["text"].startswith("⏳")]
    assert len(notices) >= 15, "askers waiting in line are told so, in a message that lasts"
    for notice in notices:
        [final] = bot.finals(notice.params["chat_id"])
        assert final.method == "editMessageText" and final.params["message_id"] == notice.result["message_id"]


async def test_retry_after_and_dropped_connections_are_retried(standin, library, engine):
    async with running_bot(standin, library, drafts=False) as bot:
        standin.fail_next("sendMessage", 1, retry_after=1)
        standin.fail_next("editMessageText", 1, drop=True)
        await bot.message(FAST[4], chat_id=1014)
        await bot.wait_finals(1014)
    sends = [call.status for call in standin.calls if call.method == "sendMessage"]
    edits = [call.status for call in standin.calls if call.method == "editMessageText"]
    assert sends == [429, 200], "the 429 was waited out and the message sent once"
    assert edits[:2] == [599, 200], "the dropped edit was sent again"
    assert len(bot.finals(1014)) == 1


async def test_allow_list_ignores_other_chats(standin, library, engine):
    async with running_bot(standin, library, settings={"allowed_chat_ids": [1015]}) as bot:
        await bot.message(FAST[0], chat_id=1016)
        refused = await bot.wait_call("sendMessage", chat_id=1016)
        await bot.message("/help", chat_id=1015)
        await bot.wait_call("sendMessage", chat_id=1015)
    assert "private" in refused.params["text"]
    assert not bot.finals(1016)


async def test_token_never_reaches_the_logs(standin, library, engine, caplog):
    caplog.set_level(logging.DEBUG)
    async with running_bot(standin, library) as bot:
        await bot.message(FAST[6], chat_id=1017)
        await bot.wait_finals(1017)
        query_id = await bot.inline(FAST[6])
        await bot.wait_call("answerInlineQuery", timeout=5, inline_query_id=query_id)
    assert caplog.records, "DEBUG logging was captured"
    quiet_logging(TOKEN)  # the belt and braces filter, on caplog's handler too
    logging.getLogger("telegram.ext.Updater").error("GET %s failed", f"{standin.base_url}{TOKEN}/getUpdates")
    for record in caplog.records:
        assert TOKEN not in record.getMessage() and TOKEN not in (record.exc_text or "")
    assert "<token>" in caplog.records[-1].getMessage()


@pytest.mark.parametrize(
    ("interval", "expected"), [(1.0, [True] * 7), (3.0, [True, False, False] * 2 + [True])]
)
def test_edits_are_throttled_per_interval(interval, expected):
    sink = ChatSink(None, 1, reply_to=None, draft_id=None, interval=interval, clock=StepClock(1.0))
    assert [sink.due(force=False) for _ in expected] == expected
    assert sink.due(force=True)


def test_run_without_a_token_is_a_one_line_config_error():
    settings = Settings(_env_file=None, telegram_bot_token="")
    with pytest.raises(ConfigError, match=r"^TELEGRAM_BOT_TOKEN [^\n]+$"):
        run(settings, library=None)
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        build_application(settings, library=None)
