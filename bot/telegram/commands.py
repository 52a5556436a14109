"""The fixed replies in Telegram: /start, /help, /new, /article, /articles, /use, /sources, unknown
commands, the [n], 📄 Article and article-switch buttons, and the command menu. They answer from the
chat's article or from phrases, never the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes

from bot.engine.prompts import load_phrases
from bot.errors import StateError, UnknownArticle
from bot.telegram.render import (
    PHRASES,
    anchor,
    escape,
    lead_of,
    render_article,
    render_passage,
    render_sources,
    say,
    split_html,
)

if TYPE_CHECKING:
    from bot.telegram.app import FrontEnd

COMMANDS = ("start", "help", "ask", "new", "article", "articles", "use", "read", "sources")
Context = ContextTypes.DEFAULT_TYPE
BotApp = Application[
    Any, Any, Any, Any, Any, Any
]  # the Application, its bot, context and data types left open


def user_language(update: Update) -> str:
    """The user's Telegram language where we have phrases for it, else English."""
    user = update.effective_user
    code = ((user.language_code if user else None) or "en").split("-")[0].lower()
    return code if code in load_phrases(PHRASES) else "en"


async def set_command_menu(application: BotApp) -> None:
    """Register the commands, in each language we have phrases for."""
    for code in [None, *load_phrases(PHRASES)]:  # None: the default, in English
        commands = [BotCommand(name, say(f"cmd_{name}", code or "en")) for name in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)


class Commands:
    """The command and button handlers; each reads the article of the chat it is in."""

    def __init__(self, front: FrontEnd) -> None:
        self.front = front

    def _help(self, update: Update, context: Context) -> str:
        settings = self.front.settings
        return say(
            "help",
            user_language(update),
            bot=context.bot.username,
            limit=settings.max_question_chars,
            min=settings.article_min_chars,
        )

    async def on_start(self, update: Update, context: Context) -> None:
        """/start: what the bot does, in the user's language, with the chat's article and an example."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        if context.args and context.args[0] == "article":
            await self.on_article(update, context)
            return
        lang = user_language(update)
        engine = await self.front.engine_for(chat.id)
        lead = escape(lead_of(engine.article_paragraphs))
        text = say("start", lang, lead=lead, example=say("example", lang), bot=context.bot.username)
        await message.reply_text(text)

    async def on_help(self, update: Update, context: Context) -> None:
        """/help: how to ask, here, in groups and inline, and how to bring an article."""
        if update.effective_message is not None:
            await update.effective_message.reply_text(self._help(update, context))

    async def on_article(self, update: Update, context: Context) -> None:
        """/article: the chat's article, its title and source, then its whole text."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        engine = await self.front.engine_for(chat.id)
        record = await self.front.offload(self.front.library.record, engine.name)
        header = say(
            "article_header",
            user_language(update),
            title=escape(record.title),
            tongue=record.language,
            paragraphs=len(engine.article_paragraphs),
            name=escape(record.name),
            source=escape(record.source) if "://" in record.source else "",
        )
        await message.reply_text(header.strip())
        for chunk in render_article(engine.article_paragraphs):
            await message.reply_text(chunk, do_quote=False)

    async def on_articles(self, update: Update, context: Context) -> None:
        """/articles: the chat's recent articles, a button each to switch."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        names = await self.front.state.recent(chat.id)
        default = self.front.library.default_name
        current = names[0] if names else default
        names = [*names, default] if default not in names else names
        records = await self.front.offload(self.front.library.records)
        titles = {record.name: record.title for record in records}
        rows = [
            [InlineKeyboardButton(_label(titles[name], name == current), callback_data=f"use:{name}")]
            for name in names
            if name in titles
        ]
        await message.reply_text(
            say("articles_header", user_language(update)), reply_markup=InlineKeyboardMarkup(rows)
        )

    async def on_use(self, update: Update, context: Context) -> None:
        """/use NAME: switch this chat to one of its articles (or to one added from the command line)."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        lang = user_language(update)
        if not context.args:
            await message.reply_text(say("use_usage", lang))
            return
        await message.reply_text(await self.switch(chat.id, context.args[0].strip().lower(), lang))

    async def switch(self, chat_id: int, name: str, lang: str) -> str:
        """Make name the chat's article; the reply to show. A text or file another chat sent is theirs:
        only the chat's own articles, the default and those with a public source can be chosen."""
        front = self.front
        try:
            record = await front.offload(front.library.record, name)
        except UnknownArticle:
            return say("use_unknown", lang, name=escape(name))
        own = name in await front.state.recent(chat_id, limit=1000) or name == front.library.default_name
        if not own and record.source.startswith("telegram:"):
            return say("use_unknown", lang, name=escape(name))
        try:
            await front.state.use(chat_id, name)
        except StateError as error:
            return escape(str(error))
        return say("use_done", lang, title=escape(record.title))

    async def on_use_button(self, update: Update, context: Context) -> None:
        query, chat = update.callback_query, update.effective_chat
        if query is None or query.data is None or chat is None:
            return
        reply = await self.switch(chat.id, query.data.removeprefix("use:"), user_language(update))
        await query.answer()
        await context.bot.send_message(chat.id, reply)

    async def on_stats(self, update: Update, context: Context) -> None:
        """/stats, for ADMIN_USER_IDS only (checked by user id, not by chat): the queue and the store."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None:
            return
        lang = user_language(update)
        if user.id not in self.front.settings.admin_user_ids:
            await message.reply_text(say("admins_only", lang))
            return
        front = self.front
        records = await front.offload(front.library.records)
        text = say(
            "stats",
            lang,
            in_line=front.model.in_line,
            articles=len(records),
            passages=sum(record.chunks for record in records),
            minutes=round((front.clock() - front.started) / 60),
        )
        await message.reply_text(text)

    async def on_new(self, update: Update, context: Context) -> None:
        """/new: the next question starts afresh, never taken as a follow-up of the last answer."""
        if update.effective_message is None or update.effective_chat is None:
            return
        await self.front.state.forget_recent_exchange(update.effective_chat.id)
        await update.effective_message.reply_text(say("new_done", user_language(update)))

    async def on_sources(self, update: Update, context: Context) -> None:
        """/sources: the passages behind the last answer in this chat."""
        if update.effective_message is None or update.effective_chat is None:
            return
        answer = await self.front.state.last_answer(update.effective_chat.id)
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
        await message.reply_text(f"{say('unknown_command', lang)}\n\n{self._help(update, context)}")

    async def on_source_button(self, update: Update, context: Context) -> None:
        """A [n] button (src:<article>:<chunk>): the passage in full, with its § and sentence."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        lang = user_language(update)
        name, _, chunk_id = query.data.removeprefix("src:").rpartition(":")
        try:
            engine = await self.front.offload(self.front.library.engine, name or None)
        except UnknownArticle:
            engine = None
        passage = engine.passage(chunk_id) if engine is not None else None
        if engine is None or passage is None:
            await query.answer(say("passage_missing", lang), show_alert=True)
            return
        paragraphs = engine.article_paragraphs
        paragraph = paragraphs[passage.paragraph] if passage.paragraph < len(paragraphs) else None
        if query.message is None:  # an inline message: there is no chat to write to, so an alert
            where = anchor(passage.paragraph, passage.sentence, lang)
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
        """The 📄 Article button (art:<article>): that article's whole text in the chat."""
        query = update.callback_query
        if query is None or query.message is None or query.data is None:
            return
        await query.answer()
        try:
            engine = await self.front.offload(self.front.library.engine, query.data.removeprefix("art:"))
        except UnknownArticle:
            engine = await self.front.engine_for(query.message.chat.id)
        for chunk in render_article(engine.article_paragraphs):
            await context.bot.send_message(query.message.chat.id, chunk)


def _label(title: str, current: bool) -> str:
    title = title if len(title) <= 48 else title[:47] + "…"
    return f"✅ {title}" if current else title
