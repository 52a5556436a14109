"""Voice questions: a voice message, video note or audio file is checked, downloaded into memory,
transcribed in the speech thread, shown as "🎤 «…»", then asked like a typed question."""

from __future__ import annotations

import asyncio
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import Audio, Message, Update, VideoNote, Voice
from telegram.constants import ChatType
from telegram.warnings import PTBDeprecationWarning

from bot.errors import AudioTooLong, AudioUndecodable, NothingSaid
from bot.telegram.commands import Context, user_language
from bot.telegram.questions import bot_mention, replies_to_bot
from bot.telegram.render import escape, say

if TYPE_CHECKING:
    from bot.speech.transcriber import Transcriber, Transcript
    from bot.telegram.app import FrontEnd

logger = logging.getLogger(__name__)


class VoiceQuestions:
    def __init__(self, front: FrontEnd, transcriber: Transcriber | None) -> None:
        self.front, self.transcriber = front, transcriber
        # Whisper runs here, one recording at a time: never on the event loop, never in the model's thread.
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="articlebot-speech")

    async def on_voice(self, update: Update, context: Context) -> None:
        """A recording in a private chat, or in a group when it replies to the bot or its caption names it."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or message.from_user is None or message.from_user.is_bot:
            return
        media = message.voice or message.video_note or message.audio
        if media is None:
            return
        if chat.type != ChatType.PRIVATE and not addressed_to_bot(message, context):
            return
        lang = user_language(update)
        if self.transcriber is None:
            await message.reply_text(say("voice_off", lang))
            return
        limit = self.front.settings.voice_max_seconds
        seconds = duration_of(media)
        if seconds > limit:  # Telegram tells the duration: nothing is downloaded
            await message.reply_text(say("voice_too_long", lang, seconds=seconds, limit=limit))
            return
        if await self.front.questions.slowed_down(update, lang):  # before any download or transcription
            return
        engine = await self.front.engine_for(chat.id)
        user = update.effective_user
        spoken = ((user.language_code if user else None) or lang).split("-")[0].lower()
        file = await media.get_file()
        audio = bytes(await file.download_as_bytearray())  # in memory only; dropped when this returns
        transcript = await self._transcribe(message, audio, (spoken, engine.article_language), lang)
        del audio
        if transcript is None:
            return
        heard = (transcript.duration, transcript.language, transcript.seconds)
        logger.info("Heard %.1f s of %s speech in %.2f s", *heard)
        await message.reply_text(say("voice_heard", lang, text=escape(transcript.text)))
        await self.front.questions.ask(update, context, transcript.text, counted=True)

    async def _transcribe(
        self, message: Message, audio: bytes, hints: tuple[str, str], lang: str
    ) -> Transcript | None:
        """The transcript, or None once the asker has been told why there is none."""
        assert self.transcriber is not None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pool, self.transcriber.transcribe, audio, hints)
        except AudioTooLong as error:  # Telegram's duration understated it
            reply = say("voice_too_long", lang, seconds=round(error.seconds), limit=error.limit)
        except AudioUndecodable as error:
            logger.info("A recording could not be decoded: %s", error)
            reply = say("voice_undecodable", lang)
        except NothingSaid:
            reply = say("voice_silent", lang)
        await message.reply_text(reply)
        return None

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def duration_of(media: Voice | VideoNote | Audio) -> int:
    """Telegram's measure of a recording, in whole seconds."""
    with warnings.catch_warnings():  # PTB 22 warns that `duration` becomes a timedelta in v23
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration = media.duration
    return round(duration.total_seconds() if isinstance(duration, timedelta) else duration)


def addressed_to_bot(message: Message, context: Context) -> bool:
    """In a group: a reply to the bot, or a caption that mentions it."""
    caption = message.caption
    return replies_to_bot(message, context) or bool(caption and bot_mention(context).search(caption))
