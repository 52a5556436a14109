"""Questions in chats: a private message, a mention or reply in a group, /ask; and the streaming of any
answer (inline ones too) into its sink, through the model queue."""

from __future__ import annotations

import logging
import re
from contextlib import suppress
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, Message, Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError

from bot.engine.conversation import normalise
from bot.engine.records import Answer, Exchange
from bot.errors import ArticlebotError, QuestionError
from bot.telegram.commands import Context, user_language
from bot.telegram.reading import is_link_to_read, links_in
from bot.telegram.render import (
    answer_keyboard,
    article_button,
    escape,
    render_answer,
    render_partial,
    say,
    split_html,
)
from bot.telegram.replicas import still_ours
from bot.telegram.sinks import ChatSink, InlineSink, Sink
from bot.telegram.stream import SHUTTING_DOWN, STARTED

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.telegram.app import FrontEnd

logger = logging.getLogger(__name__)


class Questions:
    def __init__(self, front: FrontEnd) -> None:
        self.front = front

    async def respond(
        self,
        sink: Sink,
        engine: Engine,
        question: str,
        follow_up: Exchange | None,
        lang: str,
        button: InlineKeyboardButton,
    ) -> tuple[Answer | None, list[int]]:
        """Answer into a sink: a queued notice, the streamed text, then exactly one final message. A full
        queue gets a polite "busy" at once, and a restart tells those still in line to ask again. An answer
        made with a previous exchange (follow_up) depends on more than the question: never cached."""
        model = self.front.model
        try:
            answer = await model.cached(engine, question if follow_up is None else None)
            if answer is None and model.in_line >= self.front.settings.max_queue:
                await sink.finish([say("busy", lang)], None)
                return None, []
            if answer is None:
                ahead, stream = model.submit(engine, question, follow_up)
                notice = say("queued", lang, ahead=ahead) if ahead else say("thinking", lang)
                await sink.progress(notice, force=True, lasting=bool(ahead))
                async for item in stream:
                    if not await still_ours():
                        return await self._withdraw(sink)
                    if item is SHUTTING_DOWN:
                        await sink.finish([say("restarting", lang)], None)
                        return None, []
                    if item is STARTED:
                        await sink.started()
                    elif isinstance(item, str):
                        await sink.progress(render_partial(item))
                    elif isinstance(item, Answer):
                        answer = item
            if answer is None:
                raise ArticlebotError("the engine gave no answer")
            header = question if isinstance(sink, InlineSink) else None
            chunks = split_html(render_answer(answer, question=header))
            if not await still_ours():
                return await self._withdraw(sink)
            return answer, await sink.finish(chunks, answer_keyboard(answer, lang, article=button))
        except Forbidden as error:  # the user blocked the bot: nothing more can reach them
            logger.info("Could not answer in a chat that blocked the bot: %s", error)
            return None, []
        except Exception as error:
            # Deliberately anything: the placeholder or inline message must end in a reply whatever failed,
            # and only here can it; a bug is logged with its traceback, not hidden.
            logger.exception("Answering a question failed")
            text = escape(str(error)) if isinstance(error, QuestionError) else say("error", lang)
            with suppress(TelegramError):
                await sink.finish([text], None)
            return None, []

    @staticmethod
    async def _withdraw(sink: Sink) -> tuple[None, list[int]]:
        """This replica stalled past its lease and another took the question over: it answers, not us."""
        logger.info("Another replica took this question over while this one stalled; leaving it the answer")
        await sink.withdraw()
        return None, []

    # --- questions in chats ----------------------------------------------------------------------------

    async def slowed_down(self, update: Update, lang: str) -> bool:
        """Count a question against its asker's per-minute limit; past it, say so and return True."""
        user, message = update.effective_user, update.effective_message
        limit = self.front.settings.questions_per_minute
        wait = await self.front.state.take("questions", user.id, limit, 60) if user is not None else 0
        if wait and message is not None:
            await message.reply_text(say("slow_down", lang, limit=limit, seconds=wait))
        return bool(wait)

    async def ask(self, update: Update, context: Context, text: str, *, counted: bool = False) -> None:
        """Check a question, then answer it in the chat, remembering the exchange for follow-ups. counted:
        the question was already counted against its asker's limit (a voice one, before it was heard)."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        engine = await self.front.engine_for(chat.id)
        lang = (
            await self.front.offload(engine.detect_language, text) if text.strip() else user_language(update)
        )
        try:
            question = engine.check_question(text, lang)
        except QuestionError as error:
            await message.reply_text(
                say("empty", lang, example=say("example", lang))
                if error.reason == "empty"
                else say("too_long", lang, length=error.length, limit=error.limit)
            )
            return
        front = self.front
        if not counted and await self.slowed_down(update, lang):
            return
        reply = message.reply_to_message
        follow_up = await front.state.exchange(chat.id, reply.message_id) if reply else None
        private = chat.type == ChatType.PRIVATE
        # In a private chat people follow up without replying; the model judges whether they do.
        window = front.settings.follow_up_seconds if private else 0
        if window and follow_up is None:
            follow_up = await front.state.recent_exchange(chat.id, engine.article_sha)
            if follow_up and normalise(follow_up.question) == normalise(question):
                follow_up = None  # asked again, not followed up: the same answer, from the cache
        sink = ChatSink(
            context.bot,
            chat.id,
            reply_to=None if private else message.message_id,
            draft_id=message.message_id if private and self.front.drafts else None,
            interval=self.front.private_interval if private else self.front.group_interval,
            clock=self.front.clock,
        )
        button = article_button(lang, engine.name)
        answer, ids = await self.respond(sink, engine, question, follow_up, lang, button)
        if answer is not None:
            exchange = Exchange(question, answer.answer)
            for message_id in ids:
                await front.state.keep_exchange(chat.id, message_id, exchange)
            await front.state.keep_last_answer(chat.id, answer)
            if window:
                await front.state.keep_recent_exchange(chat.id, engine.article_sha, exchange, window)

    async def on_text(self, update: Update, context: Context) -> None:
        """A text message: a question in private chats; in groups only when mentioned or replied to."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or message.text is None:
            return
        if message.from_user is None or message.from_user.is_bot:
            return  # other bots (and anonymous senders) are not askers: two bots must not talk forever
        text = message.text
        if chat.type == ChatType.PRIVATE:
            links = links_in(message)
            if is_link_to_read(text, links):
                await self.front.reading.read_link(update, context, links[0])
                return
            long = len(text) >= self.front.settings.article_min_chars
            if long and await self.front.reading.read_text(update, context, text):
                return
            # Not an article: a question, unless it is too long for one.
            if len(text) > self.front.settings.max_question_chars:
                limits = {
                    "limit": self.front.settings.max_question_chars,
                    "min": self.front.settings.article_min_chars,
                }
                reply = say(
                    "not_article" if long else "between", user_language(update), length=len(text), **limits
                )
                await message.reply_text(reply)
                return
        else:
            mention = bot_mention(context)
            if not replies_to_bot(message, context) and not mention.search(text):
                return
            text = mention.sub(" ", text)
        await self.ask(update, context, text)

    async def on_ask(self, update: Update, context: Context) -> None:
        """/ask <question>: the way to ask in groups."""
        message = update.effective_message
        if message is not None and message.text is not None:
            await self.ask(update, context, re.sub(r"^/\S*\s*", "", message.text))

    async def on_non_text(self, update: Update, context: Context) -> None:
        """Stickers, photos... in a private chat: explain that questions are text (or voice)."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(say("non_text", user_language(update)))


def bot_mention(context: Context) -> re.Pattern[str]:
    """The bot's @username, as a word of a message or caption."""
    return re.compile(rf"(?<!\w)@{re.escape(context.bot.username)}(?!\w)", re.IGNORECASE)


def replies_to_bot(message: Message, context: Context) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id
