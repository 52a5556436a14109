"""Make the spoken questions of tests/fixtures/voice/ once: synthesise each, encode it as Telegram sends a
voice message (OGG/Opus, 48 kHz mono, 24 kbit/s), and list them with their text in questions.jsonl.

With --heldout, the spoken questions of evals/voice/ instead, by the rule in evals/voice/README.md: questions
nobody on the team wrote, about public articles, each row naming its article.

Needs ffmpeg and the synthesizers (Debian): `apt-get install ffmpeg espeak-ng libttspico-utils festival
festvox-ru` (libttspico-utils is in non-free). CI does not run this: the files are committed.

Voices: SVOX Pico (pico2wave: en, de, fr, es), eSpeak NG (en), Festival's festvox-ru (ru). Whisper base
does not understand eSpeak NG's French, German or Russian (measured: word error rate 57-140%), so those
languages use the other two.

    .venv/bin/python scripts/make_voice_fixtures.py [--heldout [2]]
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "voice"
HELDOUT = ROOT / "evals" / "voice"
HELDOUT_LANGUAGES = ("en", "de", "fr", "es", "ru")
PER_LANGUAGE = 4

# (file stem, language, synthesizer, text): questions about data/article.fr.txt
QUESTIONS = [
    ("en-localities", "en", "espeak", "How many localities did Russian forces take this month?"),
    ("en-meeting", "en", "pico", "Where was the meeting of the defence ministers held?"),
    (
        "en-area",  # about five seconds: `articlebot bench` times it against the same question typed
        "en",
        "pico",
        "How many square kilometres have the Russian forces seized since the beginning of the year?",
    ),
    ("en-minister", "en", "espeak", "Who is the Russian defence minister?"),
    (
        "de-localities",
        "de",
        "pico",
        "Wie viele Ortschaften haben die russischen Streitkräfte diesen Monat eingenommen?",
    ),
    ("de-meeting", "de", "pico", "Wo fand das Treffen der Verteidigungsminister statt?"),
    ("de-bridge", "de", "pico", "Welche Brücke hat die Ukraine mit Raketen angegriffen?"),
    ("fr-localities", "fr", "pico", "Combien de localités les forces russes ont-elles prises ce mois-ci ?"),
    ("fr-meeting", "fr", "pico", "Où se tenait la réunion des ministres de la défense ?"),
    ("fr-nato", "fr", "pico", "De quoi le ministre accuse-t-il l'OTAN ?"),
    ("es-localities", "es", "pico", "¿Cuántas localidades tomaron las fuerzas rusas este mes?"),
    ("es-meeting", "es", "pico", "¿Dónde se celebró la reunión de los ministros de defensa?"),
    ("es-crimea", "es", "pico", "¿Qué puente atacó Ucrania con misiles esta semana?"),
    ("ru-meeting", "ru", "festival", "Где проходила встреча министров обороны?"),
    ("ru-minister", "ru", "festival", "Кто министр обороны России?"),
    ("ru-nato", "ru", "festival", "В чём министр обвинил НАТО?"),
]
PICO = {"en": "en-GB", "de": "de-DE", "fr": "fr-FR", "es": "es-ES"}
VOICES = {
    "pico": "SVOX Pico (pico2wave, Apache-2.0)",
    "espeak": "eSpeak NG (GPL-3.0)",
    "festival": "Festival with festvox-ru (Russian male speaker)",
}


def synthesise(synthesizer: str, language: str, text: str, wav: Path) -> None:
    if synthesizer == "pico":
        command = ["pico2wave", "-l", PICO[language], "-w", str(wav), text]
        subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    elif synthesizer == "espeak":
        subprocess.run(["espeak-ng", "-v", language, "-s", "150", "-w", str(wav), text], check=True)
    else:
        voice = "(voice_msu_ru_nsh_clunits)"
        script = wav.with_suffix(".txt")
        script.write_text(re.sub(r"[«»“”„]", "", text), encoding="utf-8")  # its Russian rules stop at quotes
        command = ["text2wave", "-eval", voice, "-o", str(wav), str(script)]
        subprocess.run(command, check=True, stdin=subprocess.DEVNULL)


def encode(source: list[str], ogg: Path) -> None:
    """As Telegram's voice messages are: Opus in OGG, 48 kHz mono, a low voice bitrate."""
    codec = ["-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "24k", "-application", "voip"]
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *source, *codec, str(ogg)], check=True)


def heldout_questions(part: int = 1) -> list[tuple[str, str, str, str, str]]:
    """The rule of evals/voice/README.md: in the public eval sets, in their files' sorted order, the first
    four questions in each language, or the next four for part 2 (file stem, language, synthesizer, text,
    article)."""
    in_order: dict[str, list[tuple[str, str, str, str, str]]] = {
        language: [] for language in HELDOUT_LANGUAGES
    }
    for path in sorted((ROOT / "evals" / "public").glob("*.jsonl")):
        article = str(path.with_suffix(".txt").relative_to(ROOT))
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["language"] in in_order:
                synthesizer = "festival" if row["language"] == "ru" else "pico"
                in_order[row["language"]].append(
                    (row["id"], row["language"], synthesizer, row["question"], article)
                )
    part_of = slice(PER_LANGUAGE * (part - 1), PER_LANGUAGE * part)
    return [question for language in HELDOUT_LANGUAGES for question in in_order[language][part_of]]


def article_language(article: str) -> str:
    """A public article's language, from its name: <set>-<language>-<title>.txt (evals/public/README.md)."""
    return next(part for part in Path(article).stem.split("-") if len(part) == 2)


def make(
    questions: list[tuple[str, str, str, str, str]], out: Path, listing: str = "questions.jsonl"
) -> list[dict[str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for stem, language, synthesizer, text, article in questions:
            wav = Path(tmp) / f"{stem}.wav"
            synthesise(synthesizer, language, text, wav)
            encode(["-i", str(wav)], out / f"{stem}.ogg")
            row = {"file": f"{stem}.ogg", "language": language, "text": text, "voice": VOICES[synthesizer]}
            if article:
                row |= {"article": article, "article_language": article_language(article)}
            rows.append(row)
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    (out / listing).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows


def main() -> None:
    if "--heldout" in sys.argv[1:]:
        arguments = sys.argv[sys.argv.index("--heldout") + 1 :]
        part = int(arguments[0]) if arguments else 1
        listing = "questions.jsonl" if part == 1 else f"questions-{part}.jsonl"
        rows = make(heldout_questions(part), HELDOUT, listing)
        print(f"{len(rows)} questions in {HELDOUT / listing}")
        return
    rows = make([(*question, "") for question in QUESTIONS], OUT)
    # Nothing said: two seconds of silence.
    encode(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "2"], OUT / "silence.ogg")
    print(f"{len(rows)} questions and silence.ogg in {OUT}")


if __name__ == "__main__":
    main()
