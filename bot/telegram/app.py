"""articlebot in Telegram (python-telegram-bot v22): turns updates into engine calls, renders the results."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

from telegram import Bot, LinkPreviewOptions, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
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

from bot.errors import ConfigError, UnknownArticle
from bot.speech.transcriber import Transcriber
from bot.telegram.commands import BotApp, Commands, Context, set_command_menu, user_language
from bot.telegram.inline import InlineMode
from bot.telegram.logging import RetryingRateLimiter, quiet_logging
from bot.telegram.questions import Questions
from bot.telegram.reading import Reading
from bot.telegram.redis_state import RedisState
from bot.telegram.render import say
from bot.telegram.replicas import ClaimedUpdates
from bot.telegram.resilience import START_BACKOFF, retry_in_background
from bot.telegram.state import ChatState, open_state
from bot.telegram.stopping import POLLING_TASK, cut_short, stop_overdue
from bot.telegram.stream import ModelQueue
from bot.telegram.voice import VoiceQuestions

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.engine.library import Library
    from bot.settings import Settings

logger = logging.getLogger(__name__)

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
        handle_signals: bool = False,
        start_backoff: tuple[float, ...] = START_BACKOFF,
        state: ChatState | None = None,
        transcriber: Transcriber | None = None,
    ) -> None:
        self.settings, self.library, self.clock = settings, library, clock
        self.handle_signals, self.start_backoff = handle_signals, start_backoff
        self.started = clock()
        self.menu: asyncio.Task[None] | None = None
        self.private_interval, self.group_interval = private_interval, group_interval
        self.drafts = hasattr(Bot, "send_message_draft") if drafts is None else drafts
        # Each chat's article, follow-ups, cached answers and limits: this process's, or Redis's (replicas)
        self.state = state or open_state(settings.redis_url, settings.chat_state_path)
        # One thread for the model, which must never run twice at once; retrieval never waits behind it,
        # nor behind a slow download or an article being embedded.
        self.model = ModelQueue(self.state)
        self.retrieval_pool = ThreadPoolExecutor(2, thread_name_prefix="articlebot-retrieval")
        self.ingest_pool = ThreadPoolExecutor(1, thread_name_prefix="articlebot-ingest")
        self.commands = Commands(self)
        self.questions = Questions(self)
        self.reading = Reading(self, status_interval=status_interval)
        self.inline = InlineMode(self, debounce=inline_debounce)
        # Voice questions: Whisper loads on the first recording (a shared one may be given, as tests do)
        if settings.voice:
            transcriber = transcriber or Transcriber.from_settings(settings)
        self.voice = VoiceQuestions(self, transcriber if settings.voice else None)

    # --- the engine, off the event loop --------------------------------------------------------------

    async def offload(self, function: Callable[..., V], *args: Any) -> V:
        """Run fast, thread-safe engine work (retrieval, language detection) in the retrieval pool."""
        return await asyncio.get_running_loop().run_in_executor(self.retrieval_pool, function, *args)

    async def offload_ingest(self, function: Callable[..., V], *args: Any) -> V:
        """Fetching and embedding a new article: in their own thread, one at a time."""
        return await asyncio.get_running_loop().run_in_executor(self.ingest_pool, function, *args)

    async def engine_for(self, chat_id: int) -> Engine:
        """The engine of the chat's article: the one it chose last, else the default."""
        name = await self.state.current(chat_id)
        try:
            return await self.offload(self.library.engine, name)
        except UnknownArticle:  # removed from the store meanwhile
            if name:
                await self.state.forget(name)
            return await self.offload(self.library.engine, None)

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
        if update is None and isinstance(context.error, NetworkError):  # getUpdates, retried by PTB
            logger.warning("Cannot reach Telegram for updates (%s); retrying with backoff", context.error)
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

    async def post_init(self, application: BotApp) -> None:
        """Start-up calls the bot can answer without are retried in the background; SIGTERM and SIGINT
        let the answer being written finish and tell those in line to ask again."""
        self.menu = retry_in_background(
            lambda: set_command_menu(application), "Registering the command menu", self.start_backoff
        )
        if isinstance(application.update_processor, ClaimedUpdates):
            application.update_processor.watch(application)
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.begin_shutdown)

    def begin_shutdown(self) -> None:
        """On a stop signal: release the queue, then stop as PTB does (it waits for running handlers)."""
        logger.info(
            "Stopping: finishing the answer being written; %d in line are told to ask again",
            self.model.in_line,
        )
        self.model.close()
        overdue = threading.Timer(self.settings.stop_grace_seconds, stop_overdue, [self.settings])
        overdue.daemon = True
        overdue.start()
        for task in asyncio.all_tasks():
            if task.get_name() == POLLING_TASK:
                asyncio.get_running_loop().create_task(cut_short(task), name="articlebot: stop polling")
        raise SystemExit

    async def post_shutdown(self, application: BotApp) -> None:
        if self.menu is not None:
            self.menu.cancel()
        self.model.shutdown()
        self.retrieval_pool.shutdown(wait=False, cancel_futures=True)
        self.ingest_pool.shutdown(wait=False, cancel_futures=True)
        self.voice.shutdown()
        await self.state.close()

    def add_handlers(self, application: BotApp) -> None:
        new = filters.UpdateType.MESSAGE  # edited messages are not asked again
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        application.add_handler(CommandHandler("start", self.commands.on_start))
        application.add_handler(CommandHandler("help", self.commands.on_help))
        application.add_handler(CommandHandler("ask", self.questions.on_ask))
        application.add_handler(CommandHandler("new", self.commands.on_new))
        application.add_handler(CommandHandler("article", self.commands.on_article))
        application.add_handler(CommandHandler("articles", self.commands.on_articles))
        application.add_handler(CommandHandler("use", self.commands.on_use))
        application.add_handler(CommandHandler("read", self.reading.on_read))
        application.add_handler(CommandHandler("sources", self.commands.on_sources))
        application.add_handler(CommandHandler("stats", self.commands.on_stats))
        application.add_handler(MessageHandler(filters.COMMAND & new, self.commands.on_unknown))
        application.add_handler(MessageHandler(filters.TEXT & new, self.questions.on_text))
        private = filters.ChatType.PRIVATE & new
        application.add_handler(MessageHandler(private & filters.Document.ALL, self.reading.on_document))
        recordings = filters.VOICE | filters.VIDEO_NOTE | filters.AUDIO
        application.add_handler(MessageHandler(recordings & new, self.voice.on_voice))
        application.add_handler(
            MessageHandler(
                filters.ChatType.PRIVATE & new & ~filters.StatusUpdate.ALL, self.questions.on_non_text
            )
        )
        application.add_handler(CallbackQueryHandler(self.commands.on_source_button, pattern=r"^src:"))
        application.add_handler(CallbackQueryHandler(self.commands.on_article_button, pattern=r"^art:"))
        application.add_handler(CallbackQueryHandler(self.commands.on_use_button, pattern=r"^use:"))
        application.add_handler(CallbackQueryHandler(self.inline.on_generate_button, pattern=r"^gen:"))
        application.add_handler(InlineQueryHandler(self.inline.on_inline_query))
        application.add_handler(ChosenInlineResultHandler(self.inline.on_chosen_inline))
        application.add_error_handler(self.on_error)


def build_application(settings: Settings, library: Library, **tuning: Any) -> BotApp:
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
        .concurrent_updates(update_processor(front.state, settings))
        .post_init(front.post_init)
        .post_shutdown(front.post_shutdown)
        .build()
    )
    front.add_handlers(application)
    return application


def update_processor(state: ChatState, settings: Settings) -> ClaimedUpdates | bool:
    """Replicas sharing Redis claim each update there, so one answers it; one process needs no claims."""
    if isinstance(state, RedisState):
        return ClaimedUpdates(state.redis, lease=settings.replica_lease_seconds)
    return True


def file_url(base_url: str) -> str:
    """Where files are downloaded: https://api.telegram.org/file/bot for .../bot, likewise for a stand-in."""
    root, bot = base_url.rstrip("/").rpartition("/")[0::2]
    return f"{root}/file/{bot}" if bot.startswith("bot") else f"{base_url.rstrip('/')}/file/bot"
