"""The fixed replies in Telegram: /start, /help, /article, /sources, unknown commands, the [n] and
📄 Article buttons, and the command menu. They answer from the article or from phrases, never the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import BotCommand, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.ext import Application, ContextTypes

from bot.engine.prompts import load_phrases
from bot.engine.records import Answer
from bot.telegram.render import (
    PHRASES,
    anchor,
    escape,
    render_article,
    render_passage,
    render_sources,
    say,
    split_html,
)

if TYPE_CHECKING:
    from bot.engine.engine import Engine
    from bot.settings import Settings

COMMANDS = ("start", "help", "ask", "article", "sources")
Context = ContextTypes.DEFAULT_TYPE


def user_language(update: Update) -> str:
    """The user's Telegram language where we have phrases for it, else English."""
    user = update.effective_user
    code = ((user.language_code if user else None) or "en").split("-")[0].lower()
    return code if code in load_phrases(PHRASES) else "en"


async def set_command_menu(application: Application) -> None:
    """Register the commands, in each language we have phrases for."""
    for code in [None, *load_phrases(PHRASES)]:  # None: the default, in English
        commands = [BotCommand(name, say(f"cmd_{name}", code or "en")) for name in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=code)


class Commands:
    """The command and button handlers that need only the settings and the article."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine

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
        """The 📄 Article button: the whole article in the chat."""
        query = update.callback_query
        if query is None or query.message is None:
            return
        await query.answer()
        for chunk in render_article(self.engine.article_paragraphs):
            await context.bot.send_message(query.message.chat.id, chunk)
