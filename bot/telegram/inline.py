"""Inline mode: `@bot question` offers quotes from retrieval at once, plus a ready answer or a ✨ Generate
button that streams one into the message sent.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineQueryResultsButton, Update

from bot.errors import QuestionError, UnknownArticle
from bot.telegram.commands import Context, user_language
from bot.telegram.render import cache_key, escape, inline_results, say
from bot.telegram.sinks import InlineSink
from bot.telegram.stream import Lru

if TYPE_CHECKING:
    from bot.engine.records import Passage
    from bot.telegram.app import FrontEnd


class InlineMode:
    """The inline handlers and their caches; answers go through the front end, like those in chats."""

    def __init__(self, front: FrontEnd, debounce: float) -> None:
        self.front, self.debounce = front, debounce
        # Result ids and button data have room for a key only (64 bytes): the state maps it to the
        # question, so that any replica can answer the button.
        self._passages: Lru[str, list[Passage]] = Lru(256)
        self._latest: dict[int, int] = {}  # user -> newest inline query ticket (debounce)
        self._tickets = itertools.count(1)

    def take_ticket(self, user_id: int) -> int:
        """Taken before the handler's first await, so tickets follow the order the keystrokes came in."""
        ticket = self._latest[user_id] = next(self._tickets)
        return ticket

    async def outlasts_debounce(self, user_id: int, ticket: int) -> bool:
        """Wait out the debounce: False if a later keystroke of this user replaced the query meanwhile."""
        await asyncio.sleep(self.debounce)
        if self._latest.get(user_id) != ticket:
            return False
        del self._latest[user_id]
        return True

    async def on_inline_query(self, update: Update, context: Context) -> None:
        """@bot question: quotes from retrieval (fast), plus a ready answer or a button to generate one."""
        query = update.inline_query
        if query is None:
            return
        front, lang = self.front, user_language(update)
        ticket = self.take_ticket(query.from_user.id)
        # The asker's article: the one of their private chat with the bot, else the default.
        engine = await front.engine_for(query.from_user.id)
        try:
            text = engine.check_question(query.query, lang)
        except QuestionError as error:
            hint = say("inline_hint" if error.reason == "empty" else "inline_too_long", lang)
            button = InlineQueryResultsButton(hint, start_parameter="help")
            await query.answer([], cache_time=300, is_personal=True, button=button)  # in the asker's language
            return
        if not await self.outlasts_debounce(query.from_user.id, ticket):
            return
        key = cache_key(f"{engine.name}\n{text}")
        await front.state.keep_inline_question(key, engine.name, text)
        passages = self._passages.get(key)
        if passages is None:
            passages = self._passages[key] = await front.offload(engine.retrieve, text, 5)
        lang = await front.offload(engine.detect_language, text)
        cached = await front.model.cached(engine, text)
        results = inline_results(text, key, passages, cached, lang, context.bot.username)
        # Quoted from the asker's own article: Telegram must not show them to anyone typing the same query.
        await query.answer(results, cache_time=30, is_personal=True)

    async def answer_inline(
        self, context: Context, inline_message_id: str, article: str | None, question: str
    ) -> None:
        """Stream the answer to an inline question into the message sent through inline mode, once."""
        if await self.front.state.first("inline", inline_message_id):
            await self.respond_inline(context, inline_message_id, article, question)

    async def respond_inline(
        self, context: Context, inline_message_id: str, article: str | None, question: str
    ) -> None:
        front = self.front
        try:
            engine = await front.offload(front.library.engine, article)
        except UnknownArticle:
            engine = await front.offload(front.library.engine, None)
        lang = await front.offload(engine.detect_language, question)
        link = f"https://t.me/{context.bot.username}?start=article"
        header = f"❓ <b>{escape(question)}</b>"
        sink = InlineSink(
            context.bot, inline_message_id, header, interval=front.group_interval, clock=front.clock
        )
        button = InlineKeyboardButton(say("article_button", lang), url=link)
        await front.questions.respond(sink, engine, question, None, lang, button)

    async def on_generate_button(self, update: Update, context: Context) -> None:
        """The ✨ Generate answer button of an inline message."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        asked = await self.front.state.inline_question(query.data.removeprefix("gen:"))
        if asked is None or query.inline_message_id is None:
            await query.answer(say("inline_expired", user_language(update)), show_alert=True)
            return
        if not await self.front.state.first("inline", query.inline_message_id):
            await query.answer(say("in_progress", user_language(update)))
            return
        await query.answer()
        await self.respond_inline(context, query.inline_message_id, *asked)

    async def on_chosen_inline(self, update: Update, context: Context) -> None:
        """A 'generate' result was sent (needs /setinlinefeedback): start answering at once."""
        chosen = update.chosen_inline_result
        if chosen is None or chosen.inline_message_id is None or not chosen.result_id.startswith("gen:"):
            return
        asked = await self.front.state.inline_question(chosen.result_id.removeprefix("gen:"))
        article, question = asked or (None, chosen.query)
        await self.answer_inline(context, chosen.inline_message_id, article, question)
