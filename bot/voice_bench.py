"""The voice figure of `articlebot bench`: a spoken question of about five seconds, heard and answered,
against the same question typed. Telegram's download of the recording is left out (it is local here)."""

from __future__ import annotations

import logging
import time

import numpy as np

from bot.engine.engine import Engine
from bot.paths import VOICE_FIXTURES
from bot.settings import Settings
from bot.speech.evaluate import spoken_questions
from bot.speech.transcriber import Transcriber

logger = logging.getLogger(__name__)

RECORDING = "en-area.ogg"  # 5.6 s: "How many square kilometres have the Russian forces seized since..."


def voice_figures(engine: Engine, settings: Settings, repeats: int) -> dict[str, float]:
    """p50 seconds to the answer, voice and typed, and what hearing adds; the model load is not timed."""
    row = spoken_questions(VOICE_FIXTURES)[RECORDING]
    audio = (VOICE_FIXTURES.parent / RECORDING).read_bytes()
    transcriber = Transcriber.from_settings(settings)
    transcriber.load()
    voice, typed, heard = [], [], []
    for repeat in range(repeats):
        # Alternate which goes first, so neither always finds the other's prompt in the model's cache.
        for spoken in (True, False) if repeat % 2 == 0 else (False, True):
            started = time.perf_counter()
            if spoken:
                transcript = transcriber.transcribe(audio, hints=("en", engine.article_language))
                engine.answer(transcript.text)
                voice.append(time.perf_counter() - started)
                heard.append(transcript.seconds)
            else:
                engine.answer(row["text"])
                typed.append(time.perf_counter() - started)
    logger.info("bench: voice %s, typed %s", voice, typed)
    p50 = float(np.percentile(voice, 50)), float(np.percentile(typed, 50))
    return {
        "voice_seconds": transcript.duration,
        "voice_answer_p50_s": p50[0],
        "typed_answer_p50_s": p50[1],
        "voice_extra_p50_s": p50[0] - p50[1],
        "voice_transcribe_p50_s": float(np.percentile(heard, 50)),
    }
