"""Which language a text is written in: lingua over the languages the reader model writes.

The list is Qwen2.5's documented languages and their close neighbours: the askers the model can answer in
their own language. All of lingua's 75 languages put short questions on rare ones (Tagalog, Maori).
"""

from __future__ import annotations

import re
import threading
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from bot.engine.text import CJK

READER_LANGUAGES = [
    "ARABIC",
    "BENGALI",
    "BULGARIAN",
    "CATALAN",
    "CHINESE",
    "CROATIAN",
    "CZECH",
    "DANISH",
    "DUTCH",
    "ENGLISH",
    "ESTONIAN",
    "FINNISH",
    "FRENCH",
    "GERMAN",
    "GREEK",
    "HEBREW",
    "HINDI",
    "HUNGARIAN",
    "INDONESIAN",
    "ITALIAN",
    "JAPANESE",
    "KOREAN",
    "LATVIAN",
    "LITHUANIAN",
    "MALAY",
    "NYNORSK",
    "BOKMAL",
    "PERSIAN",
    "POLISH",
    "PORTUGUESE",
    "ROMANIAN",
    "RUSSIAN",
    "SERBIAN",
    "SLOVAK",
    "SLOVENE",
    "SPANISH",
    "SWEDISH",
    "TAGALOG",
    "THAI",
    "TURKISH",
    "UKRAINIAN",
    "URDU",
    "VIETNAMESE",
]
# Short questions are often close calls: the article's language and English win a near-tie.
NEAR_TIE = 0.5
# A run of capitalised words after the first word: names sway the detector ("Who is Belousov?").
_NAME = re.compile(r"(?<=\s)[A-ZÀ-ÖØ-ÞА-ЯЁЄІЇҐ][\w'-]+")


@cache
def _detector() -> LanguageDetector:
    languages = [getattr(Language, name) for name in READER_LANGUAGES if hasattr(Language, name)]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def language_name(code: str) -> str:
    """English name of a language code, for the prompt: "ru" -> "Russian"."""
    for language in Language.all():
        if language.iso_code_639_1.name.lower() == code:
            return language.name.title()
    return code


class LanguageGuesser:
    """A well-kept offline detector (lingua); ISO 639-1 codes out."""

    def warm_up(self) -> threading.Thread:
        """Load lingua's models for short texts in the background: about 10 s here, which the first
        asker would otherwise wait for."""
        samples = ("Where did they meet?", "Где они встретились?", "أين التقوا؟", "Πού συναντήθηκαν;")
        thread = threading.Thread(
            target=lambda: [self.detect(sample) for sample in samples], name="lingua-warm-up", daemon=True
        )
        thread.start()
        return thread

    def detect(self, text: str, default: str = "en", preferred: tuple[str, ...] = ("en",)) -> str:
        without_names = _NAME.sub(" ", text)
        if len(CJK.findall(text)) >= 2:  # names in Latin letters stick to CJK words: "Sky Digital是什么"
            without_names = re.sub(r"[A-Za-z][A-Za-z+'-]*", " ", text)
        if re.search(r"[^\W\d_]{2}", without_names):
            text = without_names
        confidences = _detector().compute_language_confidence_values(text)
        if not confidences or confidences[0].value == 0:
            return default
        best = confidences[0]
        for candidate in confidences[1:]:
            if candidate.value < NEAR_TIE * best.value:
                break
            if _code(candidate.language) in preferred and _code(best.language) not in preferred:
                best = candidate
                break
        return _code(best.language)

    def is_language(self, text: str, code: str) -> bool:
        """Is the text plausibly in this language? Names and numbers alone fit any language."""
        letters = _NAME.sub(" ", " " + text)
        words = len(re.findall(r"[^\W\d_]{3,}", CJK.sub(" ", letters))) + len(CJK.findall(letters)) / 2
        if words < 2:
            return True  # "28", "Andreï Belousov", "1066": nothing to judge by
        confidences = {
            _code(c.language): c.value for c in _detector().compute_language_confidence_values(text)
        }
        best = max(confidences.values(), default=0.0)
        return confidences.get(code, 0.0) >= NEAR_TIE * best


def _code(language: Language) -> str:
    return language.iso_code_639_1.name.lower()
