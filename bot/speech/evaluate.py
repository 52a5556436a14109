"""`articlebot eval-voice`: word error rate and speed of the transcriber over spoken questions.

A set is a JSONL file of {"file", "language", "text"} rows, the audio files beside it (the default is the
committed fixtures, tests/fixtures/voice/). Each recording is transcribed with the hints the bot would give:
the speaker's own language, as their Telegram client reports it, and the article's (a row's
"article_language"; the bundled article's French by default, for the fixtures).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.speech.transcriber import Transcriber
from bot.speech.wer import edit_distance, words

ARTICLE_LANGUAGE = "fr"  # the bundled article's, which the fixture questions are about


@dataclass(frozen=True)
class Heard:
    file: str
    language: str
    detected: str
    text: str
    heard: str
    errors: int
    words: int
    duration: float
    seconds: float


@dataclass(frozen=True)
class LanguageReport:
    language: str
    recordings: int
    wer: float  # word errors over words said, pooled across the language's recordings
    language_right: int  # recordings whose language Whisper named right
    seconds_per_second: float  # transcription time over speech time


def spoken_questions(path: Path) -> dict[str, dict[str, str]]:
    """The set's rows by file name: each recording's language and the words said in it."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["file"]: row for row in rows}


def transcribe_set(transcriber: Transcriber, path: Path, files: Collection[str] | None = None) -> list[Heard]:
    """Every recording of the set (or only `files`), heard and scored."""
    heard = []
    for row in spoken_questions(path).values():
        if files is not None and row["file"] not in files:
            continue
        audio = (path.parent / row["file"]).read_bytes()
        hints = (row["language"], row.get("article_language", ARTICLE_LANGUAGE))
        result = transcriber.transcribe(audio, hints=hints)
        said = words(row["text"])
        errors = edit_distance(said, words(result.text))
        heard.append(
            Heard(
                row["file"],
                row["language"],
                result.language,
                row["text"],
                result.text,
                errors,
                len(said),
                result.duration,
                result.seconds,
            )
        )
    return heard


def by_language(heard: list[Heard]) -> list[LanguageReport]:
    groups: dict[str, list[Heard]] = defaultdict(list)
    for item in heard:
        groups[item.language].append(item)
    return [
        LanguageReport(
            language,
            len(items),
            sum(i.errors for i in items) / max(sum(i.words for i in items), 1),
            sum(i.detected == language for i in items),
            sum(i.seconds for i in items) / max(sum(i.duration for i in items), 1e-9),
        )
        for language, items in sorted(groups.items())
    ]


def format_reports(reports: list[LanguageReport], heard: list[Heard], verbose: bool) -> str:
    lines = []
    if verbose:
        for item in heard:
            lines.append(f"{item.file} [{item.detected}] {item.errors}/{item.words}: {item.heard}")
        lines.append("")
    lines.append("language  recordings  WER     language right  s per s of speech")
    for r in reports:
        right = f"{r.language_right}/{r.recordings}"
        lines.append(
            f"{r.language:<8}  {r.recordings:>10}  {r.wer:>5.1%}  {right:>14}  {r.seconds_per_second:>17.2f}"
        )
    total_seconds = sum(i.seconds for i in heard) / max(sum(i.duration for i in heard), 1e-9)
    lines.append(f"all: {sum(i.duration for i in heard):.1f} s of speech, {total_seconds:.2f} s per second")
    return "\n".join(lines)


def as_json(reports: list[LanguageReport], heard: list[Heard]) -> str:
    return json.dumps(
        {"languages": [asdict(r) for r in reports], "recordings": [asdict(h) for h in heard]},
        ensure_ascii=False,
    )
