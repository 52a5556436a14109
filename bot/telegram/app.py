"""articlebot in Telegram (python-telegram-bot v22): turns updates into engine calls, renders the results."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar, cast

from telegram import Bot, InlineKeyboardButton, LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.engine.records import Answer, Exchange
from bot.errors import ArticlebotError, ConfigError, QuestionError, UnknownArticle
from bot.telegram.chats import ChatArticles, IngestLimit
from bot.telegram.commands import Commands, Context, set_command_menu, user_language
from bot.telegram.inline import InlineMode
from bot.telegram.logging import RetryingRateLimiter, quiet_logging
from bot.telegram.reading import Reading, is_link_to_read, links_in
from bot.telegram.render import (
    ChatSink,
    InlineSink,
    Sink,
    answer_keyboard,
    article_button,
    escape,
    render_answer,
    render_partial,
    say,
    split_html,
)
from bot.telegram.stream import STARTED, Lru, ModelQueue

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.engine.library import Library
    from bot.settings import Settings

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY, Update.CHOSEN_INLINE_RESULT]
MEMORY = 50  # answers remembered per chat, for follow-ups
V = TypeVar("V")


def bot_token(settings: Settings) -> str:
    """The token, or a one-line ConfigError naming TELEGRAM_BOT_TOKEN."""
    token = settings.telegram_bot_token.get_secret_value().strip() if settings.telegram_bot_token else ""
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in .env")
    return token


class FrontEnd:
    """The library of articles with its executors, each chat's article, the handlers for questions in
    chats, and the routing table."""

    def __init__(
        self,
        settings: Settings,
        library: Library,
        *,
        clock: Callable[[], float] = time.monotonic,
        status_interval: float = 2.0,
        private_interval: float = 1.0,
        group_interval: float = 3.0,
        inline_debounce: float = 0.4,
        drafts: bool | None = None,
    ) -> None:
        self.settings, self.library, self.clock = settings, library, clock
        self.private_interval, self.group_interval = private_interval, group_interval
        self.drafts = hasattr(Bot, "send_message_draft") if drafts is None else drafts
        self.chats = ChatArticles(settings.chat_state_path)
        self.ingest_limit = IngestLimit(settings.ingests_per_hour)
        # One thread for the model, which must never run twice at once; retrieval never waits behind it,
        # nor behind a slow download or an article being embedded.
        self.model = ModelQueue()
        self.retrieval_pool = ThreadPoolExecutor(2, thread_name_prefix="articlebot-retrieval")
        self.ingest_pool = ThreadPoolExecutor(1, thread_name_prefix="articlebot-ingest")
        self.commands = Commands(self)
        self.reading = Reading(self, status_interval=status_interval)
        self.inline = InlineMode(self, debounce=inline_debounce)

    # --- the engine, off the event loop --------------------------------------------------------------

    async def offload(self, function: Callable[..., V], *args: Any) -> V:
        """Run fast, thread-safe engine work (retrieval, language detection) in the retrieval pool."""
        return await asyncio.get_running_loop().run_in_executor(self.retrieval_pool, function, *args)

    async def offload_ingest(self, function: Callable[..., V], *args: Any) -> V:
        """Fetching and embedding a new article: in their own thread, one at a time."""
        return await asyncio.get_running_loop().run_in_executor(self.ingest_pool, function, *args)

    async def engine_for(self, chat_id: int) -> Engine:
        """The engine of the chat's article: the one it chose last, else the default."""
        name = self.chats.current(chat_id)
        try:
            return await self.offload(self.library.engine, name)
        except UnknownArticle:  # removed from the store meanwhile
            if name:
                self.chats.forget(name)
            return await self.offload(self.library.engine, None)

    async def respond(
        self,
        sink: Sink,
        engine: Engine,
        question: str,
        follow_up: Exchange | None,
        lang: str,
        button: InlineKeyboardButton,
    ) -> tuple[Answer | None, list[int]]:
        """Answer into a sink: a queued notice, the streamed text, then exactly one final message."""
        try:
            answer = self.model.cached(engine, question if follow_up is None else None)
            if answer is None:
                ahead, stream = self.model.submit(engine, question, follow_up)
                notice = say("queued", lang, ahead=ahead) if ahead else say("thinking", lang)
                await sink.progress(notice, force=True, lasting=bool(ahead))
                async for item in stream:
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
            return answer, await sink.finish(chunks, answer_keyboard(answer, lang, article=button))
        except Exception as error:
            logger.exception("Answering a question failed")
            text = escape(str(error)) if isinstance(error, QuestionError) else say("error", lang)
            with suppress(TelegramError):
                await sink.finish([text], None)
            return None, []

    # --- questions in chats ----------------------------------------------------------------------------

    async def ask(self, update: Update, context: Context, text: str) -> None:
        """Check a question, then answer it in the chat, remembering the exchange for follow-ups."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        engine = await self.engine_for(chat.id)
        lang = await self.offload(engine.detect_language, text) if text.strip() else user_language(update)
        try:
            question = engine.check_question(text, lang)
        except QuestionError as error:
            await message.reply_text(
                say("empty", lang, example=say("example", lang))
                if error.reason == "empty"
                else say("too_long", lang, length=error.length, limit=error.limit)
            )
            return
        chat_data = cast(dict[str, Any], context.chat_data)
        memory: Lru[int, Exchange] = chat_data.setdefault("exchanges", Lru(MEMORY))
        reply = message.reply_to_message
        follow_up = memory.get(reply.message_id) if reply else None
        private = chat.type == ChatType.PRIVATE
        sink = ChatSink(
            context.bot,
            chat.id,
            reply_to=None if private else message.message_id,
            draft_id=message.message_id if private and self.drafts else None,
            interval=self.private_interval if private else self.group_interval,
            clock=self.clock,
        )
        button = article_button(lang, engine.name)
        answer, ids = await self.respond(sink, engine, question, follow_up, lang, button)
        if answer is not None:
            for message_id in ids:
                memory[message_id] = Exchange(question, answer.answer)
            chat_data["last_answer"] = answer

    async def on_text(self, update: Update, context: Context) -> None:
        """A text message: a question in private chats; in groups only when mentioned or replied to."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or message.text is None:
            return
        text = message.text
        if chat.type == ChatType.PRIVATE:
            links = links_in(message)
            if is_link_to_read(text, links):
                await self.reading.read_link(update, context, links[0])
                return
            if len(text) >= self.settings.article_min_chars:
                await self.reading.read_text(update, context, text)
                return
            if len(text) > self.settings.max_question_chars:
                limits = {"limit": self.settings.max_question_chars, "min": self.settings.article_min_chars}
                await message.reply_text(say("between", user_language(update), length=len(text), **limits))
                return
        else:
            mention = re.compile(rf"(?<!\w)@{re.escape(context.bot.username)}(?!\w)", re.IGNORECASE)
            reply = message.reply_to_message
            to_bot = (
                reply is not None and reply.from_user is not None and reply.from_user.id == context.bot.id
            )
            if not to_bot and not mention.search(text):
                return
            text = mention.sub(" ", text)
        await self.ask(update, context, text)

    async def on_ask(self, update: Update, context: Context) -> None:
        """/ask <question>: the way to ask in groups."""
        message = update.effective_message
        if message is not None and message.text is not None:
            await self.ask(update, context, re.sub(r"^/\S*\s*", "", message.text))

    async def on_non_text(self, update: Update, context: Context) -> None:
        """Stickers, photos, voice... in a private chat: explain that questions are text."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(say("non_text", user_language(update)))

    # --- gatekeeping, errors, lifecycle ------------------------------------------------------------------

    def allowed(self, update: Update) -> bool:
        allowed, admins = self.settings.allowed_chat_ids, self.settings.admin_user_ids
        user = update.effective_user
        if not allowed or (user is not None and user.id in admins):
            return True
        chat = update.effective_chat
        return (chat.id if chat else user.id if user else None) in allowed

    async def gate(self, update: Update, context: Context) -> None:
        """The allow-list: other chats are ignored (told so politely in private chats)."""
        if self.allowed(update):
            return
        chat, message = update.effective_chat, update.effective_message
        if chat is not None and chat.type == ChatType.PRIVATE and message is not None:
            await message.reply_text(say("not_allowed", user_language(update)))
        elif update.callback_query is not None:
            await update.callback_query.answer()
        raise ApplicationHandlerStop

    async def on_error(self, update: object, context: Context) -> None:
        """Log every error with its traceback, and tell the user where possible."""
        if isinstance(context.error, BadRequest) and "not modified" in str(context.error).lower():
            return
        update_id = update.update_id if isinstance(update, Update) else None
        logger.error("Error while handling update %s", update_id, exc_info=context.error)
        if not isinstance(update, Update):
            return
        lang = user_language(update)
        with suppress(TelegramError):
            if update.callback_query is not None:
                await update.callback_query.answer(say("error", lang), show_alert=True)
            elif update.effective_message is not None and update.effective_chat is not None:
                await update.effective_message.reply_text(say("error", lang))

    async def post_shutdown(self, application: Application) -> None:
        self.model.shutdown()
        self.retrieval_pool.shutdown(wait=False, cancel_futures=True)
        self.ingest_pool.shutdown(wait=False, cancel_futures=True)
        self.chats.close()

    def add_handlers(self, application: Application) -> None:
        new = filters.UpdateType.MESSAGE  # edited messages are not asked again
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        application.add_handler(CommandHandler("start", self.commands.on_start))
        application.add_handler(CommandHandler("help", self.commands.on_help))
        application.add_handler(CommandHandler("ask", self.on_ask))
        application.add_handler(CommandHandler("article", self.commands.on_article))
        application.add_handler(CommandHandler("articles", self.commands.on_articles))
        application.add_handler(CommandHandler("use", self.commands.on_use))
        application.add_handler(CommandHandler("read", self.reading.on_read))
        application.add_handler(CommandHandler("sources", self.commands.on_sources))
        application.add_handler(MessageHandler(filters.COMMAND & new, self.commands.on_unknown))
        application.add_handler(MessageHandler(filters.TEXT & new, self.on_text))
        private = filters.ChatType.PRIVATE & new
        application.add_handler(MessageHandler(private & filters.Document.ALL, self.reading.on_document))
        application.add_handler(
            MessageHandler(filters.ChatType.PRIVATE & new & ~filters.StatusUpdate.ALL, self.on_non_text)
        )
        application.add_handler(CallbackQueryHandler(self.commands.on_source_button, pattern=r"^src:"))
        application.add_handler(CallbackQueryHandler(self.commands.on_article_button, pattern=r"^art:"))
        application.add_handler(CallbackQueryHandler(self.commands.on_use_button, pattern=r"^use:"))
        application.add_handler(CallbackQueryHandler(self.inline.on_generate_button, pattern=r"^gen:"))
        application.add_handler(InlineQueryHandler(self.inline.on_inline_query))
        application.add_handler(ChosenInlineResultHandler(self.inline.on_chosen_inline))
        application.add_error_handler(self.on_error)


def build_application(settings: Settings, library: Library, **tuning: Any) -> Application:
    """The Application, built once: HTML by default, rate-limited with retries, updates handled concurrently.

    `tuning` goes to FrontEnd (clock, edit intervals, inline debounce, drafts); tests use it.
    """
    token = bot_token(settings)
    quiet_logging(token)
    front = FrontEnd(settings, library, **tuning)
    application = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_url(settings.telegram_api_base_url))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(RetryingRateLimiter(max_retries=3))
        .concurrent_updates(True)
        .post_init(set_command_menu)
        .post_shutdown(front.post_shutdown)
        .build()
    )
    front.add_handlers(application)
    return application


def file_url(base_url: str) -> str:
    """Where files are downloaded: https://api.telegram.org/file/bot for .../bot, likewise for a stand-in."""
    root, bot = base_url.rstrip("/").rpartition("/")[0::2]
    return f"{root}/file/{bot}" if bot.startswith("bot") else f"{base_url.rstrip('/')}/file/bot"


def run(settings: Settings, library: Library) -> None:
    """`articlebot run`: long-poll Telegram until interrupted."""
    token = bot_token(settings)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level)
    quiet_logging(token)
    application = build_application(settings, library)
    logger.info("articlebot is polling Telegram")
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
