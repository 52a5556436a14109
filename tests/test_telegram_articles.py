"""Any article in Telegram, end to end: a link, a file or a long text becomes the chat's article, with one
status message edited as it is read; each chat answers from its own article, across a restart; /articles,
/use and /read; bad sources and limits get their message. Real PTB over HTTP, real library and model."""

from __future__ import annotations

import pytest

from bot.paths import PUBLIC_SETS
from bot.sources import SourceLimits
from bot.telegram.chats import ChatArticles
from bot.telegram.reading import owner
from tests.botapi_standin import parse_html
from tests.site import news_page, serve_site
from tests.telegram_fixtures import running_bot

SUPER_BOWL = (PUBLIC_SETS / "xquad-en-super-bowl-50.txt").read_text(encoding="utf-8")
MUSEVENI = (PUBLIC_SETS / "piaf-fr-yoweri-museveni.txt").read_text(encoding="utf-8")
NORMANS = (PUBLIC_SETS / "squad2-en-normans.txt").read_text(encoding="utf-8")
PANTHERS = "Panthers defense ranked sixth in the league"
POINTS = "How many points did the Panthers defense give up?"
GROWTH = "Quelle croissance moyenne l'Ouganda a-t-il connue dans les années 1990 ?"


@pytest.fixture
def open_library(library, monkeypatch):
    """The library, allowed to fetch from 127.0.0.1 (FETCH_ALLOW_PRIVATE_NETWORKS=true)."""
    monkeypatch.setattr(library, "limits", SourceLimits(allow_private_networks=True, allowed_ports=None))
    return library


def texts(standin, chat_id: int) -> list[str]:
    return [
        call.params["text"]
        for call in standin.ok_calls()
        if call.method in ("sendMessage", "editMessageText") and call.params.get("chat_id") == chat_id
    ]


async def read_status(bot, chat_id: int, mark: str = "✅", timeout: float = 240.0, count: int = 1):
    """The status messages' final edits (at least `count`): ✅ and the article's card, or ⚠️ and the
    problem."""

    def finished(calls):
        found = [
            c
            for c in calls
            if c.ok
            and c.method == "editMessageText"
            and c.params.get("chat_id") == chat_id
            and c.params["text"].startswith(mark)
        ]
        return found if len(found) >= count else None

    return await bot.standin.wait_for(finished, timeout=timeout, what=f"{count} {mark} in chat {chat_id}")


async def test_each_chat_answers_from_its_own_article_across_a_restart(
    standin, open_library, engine, tmp_path
):
    state = {"chat_state_path": tmp_path / "chats.sqlite3"}
    with serve_site() as site:
        url = site.put("/sport/panthers", news_page(PANTHERS, SUPER_BOWL))
        async with running_bot(standin, open_library, state, status_interval=0.2) as bot:
            await bot.message(url, chat_id=3001, entities=[{"type": "url", "offset": 0, "length": len(url)}])
            document = standin.add_file(MUSEVENI.encode(), "museveni.txt")
            await bot.message(None, chat_id=3002, document=document)
            [link_done] = await read_status(bot, 3001)
            [file_done] = await read_status(bot, 3002)

            # One status message per read, edited from progress to the article's card.
            for chat_id, done in ((3001, link_done), (3002, file_done)):
                [status] = standin.ok_calls("sendMessage", chat_id=chat_id)
                assert status.params["text"].startswith("📥")
                assert done.params["message_id"] == status.result["message_id"]
            assert any(text.startswith(("🔎", "🧠")) for text in texts(standin, 3001)), "progress was shown"
            card = parse_html(link_done.params["text"])
            assert PANTHERS in card and "en ·" in card and "Panthers defense gave up just 308" in card
            assert "cookies" not in card and "newsletter" not in card
            assert "fr ·" in parse_html(file_done.params["text"])

            await bot.message(POINTS, chat_id=3001)
            await bot.message(GROWTH, chat_id=3002)
            [points] = await bot.wait_finals(3001, 1)
            [growth] = await bot.wait_finals(3002, 1)
            assert "308" in parse_html(points.params["text"]) and "6,5" in parse_html(growth.params["text"])
            assert "Museveni" not in points.params["text"] and "Panthers" not in growth.params["text"]

            # Inline mode answers about the asker's current article.
            query_id = await bot.inline(POINTS, user_id=3001)
            answered = await bot.wait_call("answerInlineQuery", timeout=10, inline_query_id=query_id)
            quotes = [r["input_message_content"]["message_text"] for r in answered.params["results"][1:]]
            assert quotes and all("§" in quote for quote in quotes)
            assert any("308" in quote for quote in quotes)
            assert answered.params["is_personal"] is True, "Telegram must not show them to anyone else"

        async with running_bot(standin, open_library, state) as bot:  # a restart
            for chat_id, title in ((3001, PANTHERS), (3002, "Dans le droit fil")):
                await bot.message("/article", chat_id=chat_id)
                header = await bot.standin.wait_for(
                    lambda calls, chat_id=chat_id: [
                        c
                        for c in calls
                        if c.ok and c.params.get("chat_id") == chat_id and "📄" in c.params.get("text", "")
                    ],
                    what="/article",
                )
                assert title in parse_html(header[-1].params["text"])

            await bot.message("/articles", chat_id=3001)
            listing = await bot.standin.wait_for(
                lambda calls: [c for c in calls if c.ok and "📚" in c.params.get("text", "")],
                what="/articles",
            )
            rows = listing[-1].params["reply_markup"]["inline_keyboard"]
            labels = [row[0]["text"] for row in rows]
            assert labels[0] == f"✅ {PANTHERS}" and len(labels) == 2, labels
            await bot.press(
                rows[1][0]["callback_data"],
                message={"message_id": 1, "chat": {"id": 3001, "type": "private"}, "date": 0},
            )
            switched = await bot.standin.wait_for(
                lambda calls: [
                    c for c in calls if c.ok and c.params.get("text", "").startswith("✅ Now answering")
                ],
                what="the switch",
            )
            assert "Les forces russes" in switched[-1].params["text"]
            await bot.message("/use no-such-article", chat_id=3001)
            await bot.standin.wait_for(
                lambda calls: [
                    c for c in calls if c.ok and "<code>no-such-article</code>" in c.params.get("text", "")
                ],
                what="the unknown article's reply",
            )
            # Another chat's upload is theirs: chat 3001 cannot switch to it by name.
            museveni = parse_html(file_done.params["text"]).split("· ")[-1].split("\n")[0].strip()
            await bot.message(f"/use {museveni}", chat_id=3001)
            refused = await bot.standin.wait_for(
                lambda calls: [
                    c
                    for c in calls
                    if c.ok and museveni in c.params.get("text", "") and "know" in c.params["text"]
                ],
                what="the refused switch",
            )
            assert refused


async def test_bad_sources_and_limits_get_their_message(standin, open_library, engine, tmp_path):
    settings = {"ingests_per_hour": 6, "max_source_bytes": 5000}
    with serve_site() as site:
        async with running_bot(standin, open_library, settings, status_interval=0.2) as bot:
            cases = [
                (f"{site.base}/gone", "404"),
                (f"{site.base}/nav-only", "no article text"),
                (f"{site.base}/image.png", "binary"),
            ]
            for chat_offset, (url, problem) in enumerate(cases):
                chat_id = 3100 + chat_offset
                await bot.message(
                    url, chat_id=chat_id, entities=[{"type": "url", "offset": 0, "length": len(url)}]
                )
                [failed] = await read_status(bot, chat_id, "⚠️", timeout=30)
                assert problem in failed.params["text"].lower(), failed.params["text"]
                assert "Traceback" not in failed.params["text"]

            empty = standin.add_file(b"", "empty.txt")
            await bot.message(None, chat_id=3110, document=empty)
            [failed] = await read_status(bot, 3110, "⚠️", timeout=30)
            assert "empty" in failed.params["text"]
            big = standin.add_file(b"word " * 2000, "big.txt")
            await bot.message(None, chat_id=3111, document=big)
            too_big = await bot.wait_call("sendMessage", chat_id=3111, timeout=10)
            assert (
                too_big.params["text"].startswith("✋")
                and "(10 KB); the limit is 5 KB" in too_big.params["text"]
            )

            await bot.message("What did the minister say? " * 25, chat_id=3112)
            between = await bot.wait_call("sendMessage", chat_id=3112, timeout=10)
            assert "too short for an article" in between.params["text"]

            # A pasted (or forwarded) article: long enough to be read, not asked.
            await bot.message(MUSEVENI, chat_id=3113)
            [pasted] = await read_status(bot, 3113)
            assert "fr ·" in parse_html(pasted.params["text"])

            # The per-user limit: the six reads above were users 3100-3111; user 3120 may add six, not seven.
            for _ in range(7):
                url = f"{site.base}/gone"
                await bot.message(
                    url, chat_id=3120, entities=[{"type": "url", "offset": 0, "length": len(url)}]
                )
            limited = await bot.standin.wait_for(
                lambda calls: [
                    c
                    for c in calls
                    if c.ok
                    and c.params.get("chat_id") == 3120
                    and "in the last hour" in c.params.get("text", "")
                ],
                what="the limit",
            )
            assert "6 articles" in limited[-1].params["text"]


async def test_group_article_is_set_with_read_by_its_admins(standin, open_library, engine):
    group = -3200
    with serve_site() as site:
        url = site.put("/sport/panthers", news_page(PANTHERS, SUPER_BOWL))
        async with running_bot(standin, open_library, {"group_read": "admins"}) as bot:
            link = await bot.message(
                url, chat_id=group, entities=[{"type": "url", "offset": 0, "length": len(url)}]
            )
            member = bot.user(3201)
            await bot.message("/read", chat_id=group, user=member, reply_to=link)
            refused = await bot.wait_call("sendMessage", chat_id=group, timeout=10)
            assert "admins" in refused.params["text"]
            # The link came first and is handled without waiting on anything: by the time /read is
            # answered it was handled too, and left alone.
            sent = standin.ok_calls("sendMessage", chat_id=group)
            assert sent == [refused], "a link alone in a group is not read"
            standin.admins.add((group, 3202))
            await bot.message("/read", chat_id=group, user=bot.user(3202), reply_to=link)
            [done] = await read_status(bot, group)
            assert PANTHERS in parse_html(done.params["text"])
            await bot.message("/article", chat_id=group, user=member)
            header = await bot.standin.wait_for(
                lambda calls: [
                    c
                    for c in calls
                    if c.ok and c.params.get("chat_id") == group and c.params.get("text", "").startswith("📄")
                ],
                what="/article in the group",
            )
            assert PANTHERS in parse_html(header[-1].params["text"])


def card_name(card) -> str:
    """The article's name on its card (✅ title, then "🌐 en · 5 paragraphs · <code>name</code>")."""
    return parse_html(card.params["text"]).split("· ")[-1].split("\n")[0].strip()


async def test_two_chats_pasting_under_the_same_first_line_keep_their_own_articles(
    standin, library, engine, tmp_path
):
    """Two users paste different texts whose first line is the same: each keeps its own article, and an
    article pasted before the upgrade (source telegram:text, named by its title alone) is left alone."""
    heading = "Weekly science digest"
    before = library.ingest(library.load_text(f"{heading}\n\n{NORMANS}", "telegram:text")).record
    state = tmp_path / "chats.sqlite3"
    ChatArticles(state).use(3303, before.name)  # a chat that pasted it before the upgrade
    async with running_bot(standin, library, {"chat_state_path": state}, status_interval=0.2) as bot:
        await bot.message(f"{heading}\n\n{SUPER_BOWL}", chat_id=3301)
        [first] = await read_status(bot, 3301)
        await bot.message(f"{heading}\n\n{MUSEVENI}", chat_id=3302)
        [second] = await read_status(bot, 3302)
        names = card_name(first), card_name(second)
        assert len(set([*names, before.name])) == 3, names

        await bot.message(POINTS, chat_id=3301)
        await bot.message(GROWTH, chat_id=3302)
        [points] = await bot.wait_finals(3301)
        [growth] = await bot.wait_finals(3302)
        assert "308" in parse_html(points.params["text"]), points.params["text"]
        assert "6,5" in parse_html(growth.params["text"]), growth.params["text"]

        # The same text again in the same chat: the same article, not a copy.
        await bot.message(f"{heading}\n\n{SUPER_BOWL}", chat_id=3301)
        again = await read_status(bot, 3301, count=2)
        assert card_name(again[-1]) == names[0]

        # The chat that pasted before the upgrade still has its article.
        await bot.message("/article", chat_id=3303)
        shown = await bot.standin.wait_for(
            lambda calls: [c for c in calls if c.ok and c.params.get("chat_id") == 3303][1:],
            what="/article in chat 3303",
        )
        assert "Rollo" in " ".join(parse_html(call.params["text"]) for call in shown)
    assert library.record(before.name).sha256 == before.sha256

    # A changed text from the same chat replaces its article; from another chat, it never does.
    changed = SUPER_BOWL.replace("308", "309")
    source = f"{owner(3301)}:text"
    report = library.ingest(library.load_text(f"{heading}\n\n{changed}", source), owner=owner(3301))
    assert (report.status, report.record.name) == ("reindexed", names[0])
    report = library.ingest(library.load_text(f"{heading}\n\n{changed}", source), owner=owner(3301))
    assert (report.status, report.record.name) == ("unchanged", names[0])
    intruder = library.load_text(f"{heading}\n\n{NORMANS}", f"{owner(3399)}:text")
    assert library.ingest(intruder, owner=owner(3399)).record.name not in (*names, before.name)
    assert "309" in library.engine(names[0]).article_text
    assert "Museveni" in library.engine(names[1]).article_text


async def test_a_long_message_that_is_not_an_article_keeps_the_chats_article(standin, library, engine):
    spam = "pourquoi " * 700
    french = {"id": 3401, "is_bot": False, "first_name": "Léa", "language_code": "fr"}
    async with running_bot(standin, library, status_interval=0.2) as bot:
        await bot.message(f"Weekly digest\n\n{SUPER_BOWL}", chat_id=3401, user=french)
        [card] = await read_status(bot, 3401)
        await bot.message(spam, chat_id=3401, user=french)
        reply = await bot.standin.wait_for(
            lambda calls: [
                c for c in calls if c.ok and c.params.get("chat_id") == 3401 and "✋" in c.params["text"]
            ],
            what="the reply to a long text that is not an article",
        )
        said = parse_html(reply[-1].params["text"])
        assert "ne ressemble pas à un article" in said and "6300" in said, said
        await bot.message("/article", chat_id=3401, user=french)
        header = await bot.standin.wait_for(
            lambda calls: [c for c in calls if c.ok and c.params.get("text", "").startswith("📄")],
            what="/article",
        )
        assert card_name(card) in parse_html(header[-1].params["text"]), "the chat keeps its article"
        # Nothing was read: the only status message is the one of the article pasted first.
        assert len([t for t in texts(standin, 3401) if t.startswith("📥")]) == 1

        # A sentence pasted over and over has sentences, but not the words of an article.
        await bot.message("What did the minister say? " * 60, chat_id=3402)
        repeated = await bot.wait_call("sendMessage", chat_id=3402, timeout=10)
        assert "does not read as an article" in repeated.params["text"]
        assert not standin.ok_calls("editMessageText", chat_id=3402)
