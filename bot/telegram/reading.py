"""A new article from Telegram: a link, a file or a long text in a private chat, or /read in any chat.

Fetching, indexing and the model's first read take tens of seconds on 2 cores, so one status message is
edited as they go, and the chat never looks dead. A bad source gets one line saying what is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.errors import ArticlebotError, NotAnArticle, SourceError
from bot.telegram.commands import Context, user_language
from bot.telegram.render import escape, lead_of, say

if TYPE_CHECKING:
    from bot.sources import Document
    from bot.telegram.app import FrontEnd

logger = logging.getLogger(__name__)

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_LINK_TEXT_WORDS = 8  # a link with a few words around it is a link to read; more is a question
Report = Callable[[int, int | None], None]


def links_in(message: Message) -> list[str]:
    """The http(s) links of a message or of its caption, in order."""
    found = []
    for entities in (message.parse_entities(), message.parse_caption_entities()):
        for entity, text in entities.items():
            if entity.type == MessageEntity.TEXT_LINK and entity.url:
                found.append(entity.url)
            elif entity.type == MessageEntity.URL:
                found.append(text)
    found += _URL.findall(message.text or message.caption or "")
    unique = dict.fromkeys(url if "://" in url else f"https://{url}" for url in found)
    return [url for url in unique if url.lower().startswith(("http://", "https://"))]


def is_link_to_read(text: str, links: list[str]) -> bool:
    """One link and a few words ("look at this: <link>"), not a question that happens to hold a link."""
    rest = _URL.sub(" ", text)
    return len(links) == 1 and "?" not in rest and len(rest.split()) < _LINK_TEXT_WORDS


def owner(chat_id: int) -> str:
    """Who owns a text or a file a chat sent: that chat. Its source starts with this, and its name ends
    with a tag of it, so no other chat's article can take the name (links stay shared)."""
    return f"telegram:chat:{chat_id}"


def human_size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{max(1, round(size / 1000))} KB"


class Status:
    """One status message, edited as the work goes on, at most once per interval. Worker threads only set
    `text`; the event loop does the edits."""

    def __init__(self, message: Message, interval: float) -> None:
        self.message, self.interval = message, interval
        self.text = self.shown = message.text or ""

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._show(self.text)

    async def finish(self, text: str) -> None:
        await self._show(text)

    async def _show(self, text: str) -> None:
        if text == self.shown:
            return
        self.shown = text
        with suppress(TelegramError):  # a progress edit may fail ("not modified", flood): the next one comes
            await self.message.edit_text(text)


class Reading:
    def __init__(self, front: FrontEnd, *, status_interval: float = 2.0) -> None:
        self.front = front
        self.status_interval = status_interval

    async def on_document(self, update: Update, context: Context) -> None:
        """A file in a private chat: read it as the chat's article."""
        message = update.effective_message
        if message is not None and message.document is not None:
            await self._read_document(update, context, message)

    async def on_read(self, update: Update, context: Context) -> None:
        """/read, replying to a link or a file, or followed by a link: set the chat's article."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or user is None:
            return
        lang = user_language(update)
        if chat.type != ChatType.PRIVATE and not await self._may_read(context, chat.id, user.id):
            await message.reply_text(say("read_admins_only", lang))
            return
        target = message.reply_to_message
        links = links_in(message) or (links_in(target) if target is not None else [])
        if target is not None and target.document is not None:
            await self._read_document(update, context, target)
        elif links:
            await self.read_link(update, context, links[0])
        elif target is not None and target.text and len(target.text) >= self.front.settings.article_min_chars:
            if not await self.read_text(update, context, target.text):
                await message.reply_text(say("read_not_article", lang))
        else:
            await message.reply_text(say("read_usage", lang))

    async def read_link(self, update: Update, context: Context, url: str) -> None:
        def load(report: Report) -> Document:
            return self.front.library.load(url, progress=report)

        await self._read(update, load, "read_fetching", owned=False)

    async def read_text(self, update: Update, context: Context, text: str) -> bool:
        """A pasted or forwarded article: False, with nothing done or said, if the text does not read as
        one (no sentences, the same few words over and over), so that the chat keeps its article."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return True
        try:  # a few milliseconds for a message's 4096 characters at most
            document = self.front.library.load_text(text, f"{owner(chat.id)}:text")
        except NotAnArticle:
            return False
        except SourceError as error:
            await message.reply_text(say("read_failed", user_language(update), reason=escape(str(error))))
            return True
        await self._read(update, lambda report: document, "read_file", owned=True)
        return True

    async def _read_document(self, update: Update, context: Context, message: Message) -> None:
        document, limit = message.document, self.front.settings.max_source_bytes
        chat = update.effective_chat
        if document is None or update.effective_message is None or chat is None:
            return
        if document.file_size and document.file_size > limit:
            lang = user_language(update)
            size, most = human_size(document.file_size), human_size(limit)
            await update.effective_message.reply_text(say("read_too_big", lang, size=size, limit=most))
            return
        name = document.file_name or "document"
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        source = f"{owner(chat.id)}:document:{name}"

        def load(report: Report) -> Document:
            return self.front.library.load_bytes(data, name, source)

        await self._read(update, load, "read_file", owned=True)

    async def _may_read(self, context: Context, chat_id: int, user_id: int) -> bool:
        settings = self.front.settings
        if settings.group_read == "anyone" or user_id in settings.admin_user_ids:
            return True
        try:
            member = await context.bot.get_chat_member(chat_id, user_id)
        except TelegramError:
            logger.warning("could not check whether user %s is an admin of chat %s", user_id, chat_id)
            return False
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    async def _read(
        self, update: Update, load: Callable[[Report], Document], first: str, *, owned: bool
    ) -> None:
        """Load, index and have the model read the article, editing one status message throughout; then
        make it the chat's article and say so, with its lead and a question to try. A link is anyone's;
        a text or a file is `owned` by the chat that sent it."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or user is None:
            return
        front, lang = self.front, user_language(update)
        limit = front.settings.ingests_per_hour
        if wait := await front.state.take("ingests", user.id, limit, 3600):
            minutes = max(1, round(wait / 60))
            await message.reply_text(say("read_limit", lang, limit=limit, minutes=minutes))
            return
        status = Status(await message.reply_text(say(first, lang)), self.status_interval)
        ticker = asyncio.create_task(status.tick())

        def set_status(key: str, **values: Any) -> None:
            status.text = say(key, lang, **values)

        try:
            document = await front.offload_ingest(
                load, lambda done, _: set_status("read_downloading", size=human_size(done))
            )
            ingest = partial(front.library.ingest, owner=owner(chat.id) if owned else None)
            report = await front.offload_ingest(
                ingest,
                document,
                None,
                lambda done, total: set_status("read_indexing", done=done, total=total),
            )
            engine = await front.offload(front.library.engine, report.record.name)
            if front.model.in_line:
                set_status("read_waiting", ahead=front.model.in_line)
            await front.model.run(
                engine.read_article, lambda done, total: set_status("read_model", percent=100 * done // total)
            )
            suggestion = await front.model.run(engine.suggest_question, lang)
            await front.state.use(chat.id, report.record.name)
        except ArticlebotError as error:
            ticker.cancel()
            await status.finish(say("read_failed", lang, reason=escape(str(error))))
            return
        except Exception:
            # Deliberately anything: the status message must not stay at "reading" whatever failed; a bug
            # is logged with its traceback, not hidden.
            ticker.cancel()
            logger.exception("Reading an article failed")
            await status.finish(say("error", lang))
            return
        ticker.cancel()
        await status.finish(
            say(
                "read_done",
                lang,
                title=escape(report.record.title),
                tongue=report.record.language,
                paragraphs=len(engine.article_paragraphs),
                name=escape(report.record.name),
                lead=escape(lead_of(engine.article_paragraphs)),
                example=escape(suggestion or say("example", lang)),
            )
        )
