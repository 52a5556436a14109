"""articlebot in Telegram (python-telegram-bot v22): turns updates into engine calls, renders the results."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar, cast

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineQueryResultsButton,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.errors import ArticlebotError, ConfigError, QuestionError
from bot.prompts import load_phrases
from bot.records import Answer, Exchange
from bot.telegram_logging import RetryingRateLimiter, quiet_logging
from bot.telegram_render import (
    PHRASES,
    ChatSink,
    InlineSink,
    Sink,
    answer_keyboard,
    article_button,
    cache_key,
    escape,
    inline_results,
    render_answer,
    render_article,
    render_partial,
    render_passage,
    render_sources,
    say,
    split_html,
)
from bot.telegram_stream import STARTED, Lru, ModelQueue

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.settings import Settings

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY, Update.CHOSEN_INLINE_RESULT]
COMMANDS = ("start", "help", "ask", "article", "sources")
MEMORY = 50  # answers remembered per chat, for follow-ups
Context = ContextTypes.DEFAULT_TYPE
V = TypeVar("V")


def bot_token(settings: Settings) -> str:
    """The token, or a one-line ConfigError naming TELEGRAM_BOT_TOKEN."""
    token = settings.telegram_bot_token.get_secret_value().strip() if settings.telegram_bot_token else ""
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in .env")
    return token


def user_language(update: Update) -> str:
    """The user's Telegram language where we have phrases for it, else English."""
    user = update.effective_user
    code = ((user.language_code if user else None) or "en").split("-")[0].lower()
    return code if code in load_phrases(PHRASES) else "en"


class FrontEnd:
    """The bot's handlers and state: the engine with its two executors, caches and per-chat memory."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.monotonic,
        private_interval: float = 1.0,
        group_interval: float = 3.0,
        inline_debounce: float = 0.4,
        drafts: bool | None = None,
    ) -> None:
        self.settings, self.engine, self.clock = settings, engine, clock
        self.private_interval, self.group_interval = private_interval, group_interval
        self.inline_debounce = inline_debounce
        self.drafts = hasattr(Bot, "send_message_draft") if drafts is None else drafts
        # One thread for the model, which must never run twice at once; retrieval never waits behind it.
        self.model = ModelQueue(engine)
        self.retrieval_pool = ThreadPoolExecutor(2, thread_name_prefix="articlebot-retrieval")
        self._inline_questions: Lru[str, str] = Lru(1024)  # cache key -> question
        self._inline_passages: Lru[str, list[Any]] = Lru(256)
        self._inline_started: Lru[str, bool] = Lru(1024)  # inline_message_id already being answered
        self._inline_latest: dict[int, int] = {}  # user -> newest inline query ticket (debounce)
        self._tickets = itertools.count(1)

    # --- the engine, off the event loop --------------------------------------------------------------

    async def offload(self, function: Callable[..., V], *args: Any) -> V:
        """Run fast, thread-safe engine work (retrieval, language detection) in the retrieval pool."""
        return await asyncio.get_running_loop().run_in_executor(self.retrieval_pool, function, *args)

    async def respond(
        self, sink: Sink, question: str, follow_up: Exchange | None, lang: str, button: InlineKeyboardButton
    ) -> tuple[Answer | None, list[int]]:
        """Answer into a sink: a queued notice, the streamed text, then exactly one final message."""
        try:
            answer = self.model.cached(question if follow_up is None else None)
            if answer is None:
                ahead, stream = self.model.submit(question, follow_up)
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
        lang = (
            await self.offload(self.engine.detect_language, text) if text.strip() else user_language(update)
        )
        limit = self.settings.max_question_chars
        if len(text.strip()) > limit:
            await message.reply_text(say("too_long", lang, length=len(text.strip()), limit=limit))
            return
        try:
            question = self.engine.check_question(text)
        except QuestionError as error:
            empty = not text.strip()
            await message.reply_text(
                say("empty", lang, example=say("example", lang)) if empty else escape(str(error))
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
        answer, ids = await self.respond(sink, question, follow_up, lang, article_button(lang))
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
        if chat.type != ChatType.PRIVATE:
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

    # --- commands --------------------------------------------------------------------------------------

    async def on_start(self, update: Update, context: Context) -> None:
        """/start: what the bot does, in the user's language, with an example question."""
        message = update.effective_message
        if message is None:
            return
        if context.args and context.args[0] == "article":
            await self.on_article(update, context)
            return
        lang = user_language(update)
        lead = self.engine.article_paragraphs[0] if self.engine.article_paragraphs else ""
        lead = lead if len(lead) <= 300 else lead[:300].rsplit(" ", 1)[0] + "…"
        text = say("start", lang, lead=escape(lead), example=say("example", lang), bot=context.bot.username)
        await message.reply_text(text)

    async def on_help(self, update: Update, context: Context) -> None:
        """/help: how to ask, here, in groups and inline."""
        if update.effective_message is not None:
            text = say(
                "help",
                user_language(update),
                bot=context.bot.username,
                limit=self.settings.max_question_chars,
            )
            await update.effective_message.reply_text(text)

    async def on_article(self, update: Update, context: Context) -> None:
        """/article: the whole article, split into as many messages as it takes."""
        if update.effective_message is not None:
            for index, chunk in enumerate(render_article(self.engine.article_paragraphs)):
                await update.effective_message.reply_text(chunk, do_quote=None if index == 0 else False)

    async def on_sources(self, update: Update, context: Context) -> None:
        """/sources: the passages behind the last answer in this chat."""
        if update.effective_message is None:
            return
        answer: Answer | None = (context.chat_data or {}).get("last_answer")
        if answer is None or not answer.citations:
            await update.effective_message.reply_text(say("no_sources", user_language(update)))
            return
        for chunk in split_html(render_sources(answer)):
            await update.effective_message.reply_text(chunk)

    async def on_unknown(self, update: Update, context: Context) -> None:
        """An unknown command gets help; in groups only when it names this bot."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or message.text is None:
            return
        command = message.text.split()[0].lower()
        if chat.type != ChatType.PRIVATE and not command.endswith(f"@{context.bot.username.lower()}"):
            return
        lang = user_language(update)
        help_text = say("help", lang, bot=context.bot.username, limit=self.settings.max_question_chars)
        await message.reply_text(f"{say('unknown_command', lang)}\n\n{help_text}")

    # --- buttons -----------------------------------------------------------------------------------------

    async def on_source_button(self, update: Update, context: Context) -> None:
        """A [n] button: the passage in full, with its § and sentence."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        lang = user_language(update)
        passage = self.engine.passage(query.data.removeprefix("src:"))
        if passage is None:
            await query.answer(say("passage_missing", lang), show_alert=True)
            return
        paragraphs = self.engine.article_paragraphs
        paragraph = paragraphs[passage.paragraph] if passage.paragraph < len(paragraphs) else None
        if query.message is None:  # an inline message: there is no chat to write to, so an alert
            where = say("anchor", lang, paragraph=passage.paragraph + 1, sentence=passage.sentence + 1)
            text = f"{where}: {passage.text}"
            await query.answer(text if len(text) <= 200 else text[:199] + "…", show_alert=True)
            return
        await query.answer()
        for chunk in split_html(render_passage(passage, paragraph, lang)):
            await context.bot.send_message(
                query.message.chat.id,
                chunk,
                reply_parameters=ReplyParameters(query.message.message_id),
            )

    async def on_article_button(self, update: Update, context: Context) -> None:
        """The 📄 Article button: the whole article in the chat."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        await query.answer()
        for chunk in render_article(self.engine.article_paragraphs):
            await context.bot.send_message(query.message.chat.id, chunk)

    # --- inline mode -------------------------------------------------------------------------------------

    async def on_inline_query(self, update: Update, context: Context) -> None:
        """@bot question: quotes from retrieval (fast), plus a ready answer or a button to generate one."""
        query = update.inline_query
        if query is None:
            return
        text, lang = query.query.strip(), user_language(update)
        if not text or len(text) > self.settings.max_question_chars:
            hint = say("inline_hint" if not text else "inline_too_long", lang)
            await query.answer(
                [], cache_time=300, button=InlineQueryResultsButton(hint, start_parameter="help")
            )
            return
        ticket = self._inline_latest[query.from_user.id] = next(self._tickets)
        await asyncio.sleep(self.inline_debounce)
        if self._inline_latest.get(query.from_user.id) != ticket:
            return  # a later keystroke replaced this query
        del self._inline_latest[query.from_user.id]
        key = cache_key(text)
        self._inline_questions[key] = text
        passages = self._inline_passages.get(key)
        if passages is None:
            passages = self._inline_passages[key] = await self.offload(self.engine.retrieve, text, 5)
        lang = await self.offload(self.engine.detect_language, text)
        results = inline_results(text, key, passages, self.model.cached(text), lang, context.bot.username)
        await query.answer(results, cache_time=30, is_personal=False)

    async def answer_inline(self, context: Context, inline_message_id: str, question: str) -> None:
        """Stream the answer to an inline question into the message sent through inline mode."""
        if inline_message_id in self._inline_started:
            return
        self._inline_started[inline_message_id] = True
        lang = await self.offload(self.engine.detect_language, question)
        link = f"https://t.me/{context.bot.username}?start=article"
        header = f"❓ <b>{escape(question)}</b>"
        sink = InlineSink(
            context.bot, inline_message_id, header, interval=self.group_interval, clock=self.clock
        )
        await self.respond(
            sink, question, None, lang, InlineKeyboardButton(say("article_button", lang), url=link)
        )

    async def on_generate_button(self, update: Update, context: Context) -> None:
        """The ✨ Generate answer button of an inline message."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        question = self._inline_questions.get(query.data.removeprefix("gen:"))
        if question is None or query.inline_message_id is None:
            await query.answer(say("inline_expired", user_language(update)), show_alert=True)
            return
        started = query.inline_message_id in self._inline_started
        await query.answer(say("in_progress", user_language(update)) if started else None)
        await self.answer_inline(context, query.inline_message_id, question)

    async def on_chosen_inline(self, update: Update, context: Context) -> None:
        """A 'generate' result was sent (needs /setinlinefeedback): start answering at once."""
        chosen = update.chosen_inline_result
        if chosen is None or chosen.inline_message_id is None or not chosen.result_id.startswith("gen:"):
            return
        question = self._inline_questions.get(chosen.result_id.removeprefix("gen:"), chosen.query)
        await self.answer_inline(context, chosen.inline_message_id, question)

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

    async def post_init(self, application: Application) -> None:
        """Register the commands, in each language we have phrases for."""
        for code in [None, *load_phrases(PHRASES)]:  # None: the default, in English
            commands = [BotCommand(name, say(f"cmd_{name}", code or "en")) for name in COMMANDS]
            await application.bot.set_my_commands(commands, language_code=code)

    async def post_shutdown(self, application: Application) -> None:
        self.model.shutdown()
        self.retrieval_pool.shutdown(wait=False, cancel_futures=True)

    def add_handlers(self, application: Application) -> None:
        new = filters.UpdateType.MESSAGE  # edited messages are not asked again
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        application.add_handler(CommandHandler("start", self.on_start))
        application.add_handler(CommandHandler("help", self.on_help))
        application.add_handler(CommandHandler("ask", self.on_ask))
        application.add_handler(CommandHandler("article", self.on_article))
        application.add_handler(CommandHandler("sources", self.on_sources))
        application.add_handler(MessageHandler(filters.COMMAND & new, self.on_unknown))
        application.add_handler(MessageHandler(filters.TEXT & new, self.on_text))
        application.add_handler(
            MessageHandler(filters.ChatType.PRIVATE & new & ~filters.StatusUpdate.ALL, self.on_non_text)
        )
        application.add_handler(CallbackQueryHandler(self.on_source_button, pattern=r"^src:"))
        application.add_handler(CallbackQueryHandler(self.on_article_button, pattern=r"^art:"))
        application.add_handler(CallbackQueryHandler(self.on_generate_button, pattern=r"^gen:"))
        application.add_handler(InlineQueryHandler(self.on_inline_query))
        application.add_handler(ChosenInlineResultHandler(self.on_chosen_inline))
        application.add_error_handler(self.on_error)


def build_application(settings: Settings, engine: Engine, **tuning: Any) -> Application:
    """The Application, built once: HTML by default, rate-limited with retries, updates handled concurrently.

    `tuning` goes to FrontEnd (clock, edit intervals, inline debounce, drafts); tests use it.
    """
    token = bot_token(settings)
    quiet_logging(token)
    front = FrontEnd(settings, engine, **tuning)
    application = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(RetryingRateLimiter(max_retries=3))
        .concurrent_updates(True)
        .post_init(front.post_init)
        .post_shutdown(front.post_shutdown)
        .build()
    )
    front.add_handlers(application)
    return application


def run(settings: Settings, engine: Engine) -> None:
    """`articlebot run`: long-poll Telegram until interrupted."""
    token = bot_token(settings)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level)
    quiet_logging(token)
    application = build_application(settings, engine)
    logger.info("articlebot is polling Telegram")
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
