"""A recording in, its transcript out: Whisper through faster-whisper (CTranslate2, int8 on the CPU).

The model loads on the first recording, so a bot that never hears one never pays for it. Audio is decoded
from memory by PyAV (Telegram's OGG/Opus, MP3, M4A, a video note's MP4) and nothing is written to disk.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import AudioTooLong, AudioUndecodable, ModelLoadError, NothingSaid

if TYPE_CHECKING:
    from bot.settings import Settings

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper hears
DURATION_SLACK = 1.0  # Telegram rounds durations to whole seconds
# The asker's own languages (their Telegram language, the article's) weigh this much more than others when
# Whisper is unsure which language it hears: a prior, not a restriction. Measured on synthetic German, base
# heard English at 0.51 and German at 0.33.
HINT_WEIGHT = 2.0


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str  # ISO 639-1, as Whisper names it
    duration: float  # seconds of audio
    seconds: float  # time spent transcribing, model load excluded


class Transcriber:
    """Whisper, loaded lazily and kept; one recording at a time (callers run it in one thread)."""

    def __init__(
        self,
        model_dir: Path | None,
        cache_dir: Path,
        *,
        max_seconds: int = 60,
        threads: int = 2,
        beam_size: int = 5,
    ) -> None:
        self.model_dir, self.cache_dir = model_dir, cache_dir
        self.max_seconds, self.threads, self.beam_size = max_seconds, threads, beam_size
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        return cls(
            settings.voice_model_path,
            settings.model_cache_dir,
            max_seconds=settings.voice_max_seconds,
            threads=settings.voice_threads,
        )

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """The Whisper model, loaded once (about a second for base)."""
        with self._lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                from bot.engine.bundled import BUNDLED_MODELS, assemble

                folder = self.model_dir or assemble(BUNDLED_MODELS["whisper-base"], self.cache_dir).parent
                if not (folder / "model.bin").is_file():
                    raise ModelLoadError(f"no Whisper model.bin in {folder}: fix VOICE_MODEL_PATH")
                logger.info("loading the speech model from %s", folder)
                try:
                    self._model = WhisperModel(
                        str(folder), device="cpu", compute_type="int8", cpu_threads=self.threads
                    )
                except (RuntimeError, ValueError, OSError) as error:
                    raise ModelLoadError(f"the Whisper model in {folder} does not load: {error}") from error
            return self._model

    def transcribe(self, audio: bytes, hints: Sequence[str] = ()) -> Transcript:
        """The words said in a recording; `hints` are languages the speaker likely uses."""
        started = time.perf_counter()
        samples = decode(audio)  # before the model loads: a bad file costs no load
        duration = len(samples) / SAMPLE_RATE
        if duration > self.max_seconds + DURATION_SLACK:
            raise AudioTooLong(duration, self.max_seconds)
        loading = time.perf_counter()
        model = self.load()
        started += time.perf_counter() - loading  # the first call's load is not transcription time
        language = self._language(model, samples, hints)
        segments, _ = model.transcribe(samples, language=language, beam_size=self.beam_size, vad_filter=True)
        text = " ".join(segment.text.strip() for segment in segments).strip()
        if not text:
            raise NothingSaid("no speech was heard in the recording")
        return Transcript(text, language, duration, time.perf_counter() - started)

    @staticmethod
    def _language(model: Any, samples: Any, hints: Sequence[str]) -> str:
        _, _, probabilities = model.detect_language(samples, vad_filter=True)
        weighted: dict[str, float] = {
            str(code): p * (HINT_WEIGHT if code in hints else 1.0) for code, p in probabilities
        }
        return max(weighted, key=lambda code: weighted[code])


def decode(audio: bytes) -> Any:
    """16 kHz mono float32 samples, from any container and codec PyAV reads."""
    import av
    from faster_whisper import decode_audio

    try:
        samples = decode_audio(io.BytesIO(audio), sampling_rate=SAMPLE_RATE)
    except (av.FFmpegError, IndexError, ValueError, EOFError) as error:
        # IndexError: a valid container without an audio stream (av's streams.audio[0])
        raise AudioUndecodable(f"the recording cannot be decoded: {error}") from error
    if len(samples) == 0:
        raise AudioUndecodable("the recording holds no audio")
    return samples
