"""articlebot's command line: ingest, ask, eval, info, bench, run (Telegram) and start (whichever fits)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError
from pydantic_settings import SettingsError

from bot.articles_cli import add_parsers as add_article_parsers
from bot.engine.records import Answer
from bot.errors import ArticlebotError, ConfigError
from bot.paths import FOLLOW_UP_SET
from bot.settings import Settings

if TYPE_CHECKING:  # imported lazily at run time, for speed
    from pathlib import Path

    from bot.engine.engine import Engine
    from bot.evaluation import EvalReport, EvalResult

logger = logging.getLogger(__name__)


def render_answer(answer: Answer) -> str:
    """The answer with its [n] markers, then each cited passage quoted with its place in the article."""
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
    for citation in answer.citations:
        place = f"§{citation.paragraph + 1}, sentence {citation.sentence + 1}"
        lines.append(f"[{citation.n}] {place}: « {citation.quote} »")
    return "\n".join(lines)


def _engine(settings: Settings, article: str | None = None) -> Engine:
    """The engine of an article (default: ARTICLE_PATH's), with the article read."""
    from bot.articles_cli import open_library

    engine = open_library(settings).engine(article)
    engine.warm_up()
    return engine


def _ask_stream(engine: Engine, lines: TextIO, out: TextIO) -> None:
    for line in lines:
        question = line.rstrip("\n")
        try:
            payload = engine.answer(question).to_json()
        except ArticlebotError as error:
            payload = {"question": question, "error": str(error)}
        out.write(json.dumps(payload, ensure_ascii=False) + "\n")
        out.flush()


def _interactive(engine: Engine, out: TextIO) -> None:
    print("Ask about the article (empty line or Ctrl-D to quit).", file=out)
    while True:
        try:
            question = input("? ")
        except EOFError:
            break
        if not question.strip():
            break
        try:
            print(render_answer(engine.answer(question)) + "\n", file=out)
        except ArticlebotError as error:
            print(f"! {error}\n", file=out)


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    engine = _engine(settings, args.article)
    if args.question == ["-"]:
        if args.json:
            _ask_stream(engine, sys.stdin, sys.stdout)
        else:
            for line in sys.stdin:
                print(render_answer(engine.answer(line.strip())) + "\n")
        return 0
    if not args.question:
        _interactive(engine, sys.stdout)
        return 0
    answer = engine.answer(" ".join(args.question))
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else render_answer(answer))
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    """Each set against its article: the one named by --article, else the .txt beside a public set, else
    ARTICLE_PATH's. Articles are indexed (as eval-<set>) and read as any other."""
    from bot.eval_tables import format_table
    from bot.evaluation import save_reports

    if args.follow_ups:
        return _follow_ups(settings, args)
    reports, model_name = _replayed(args.replay) if args.replay else _run_sets(settings, args)
    if args.save:
        save_reports(reports, args.save)
    if args.json:
        strict = [report.at(settings.answer_confidence) for report in reports]
        print(json.dumps({report.name: report.metrics() for report in strict}, indent=2))
    else:
        print(format_table(reports, model_name, settings.answer_confidence))
    return 0


def _follow_ups(settings: Settings, args: argparse.Namespace) -> int:
    """The follow-up set (README, "Follow-up questions"): its report half unless --split says otherwise."""
    from bot.articles_cli import open_library
    from bot.follow_up_eval import PairResult, format_follow_ups, load_pairs, run_follow_ups

    def progress(result: PairResult) -> None:
        if args.verbose or not (
            result.right_after or (result.pair.kind == "plain" and not result.right_alone)
        ):
            mark = "ok " if result.right_after else "BAD"
            said = result.after.answer[:80].replace("\n", " ")
            print(f"{mark} {result.pair.id:14} {said}", file=sys.stderr)

    library = open_library(settings)
    pairs = load_pairs(args.follow_ups, args.split)
    report = run_follow_ups(library, pairs, settings.article_path, settings.answer_confidence, progress)
    print(format_follow_ups(report, library.model.name, args.split))
    return 0


def _replayed(path: Path) -> tuple[list[EvalReport], str]:
    """The answers of an earlier run (--save), their probabilities computed with today's weights."""
    from bot.engine.answerability import Answerability
    from bot.evaluation import load_reports

    return load_reports(path, Answerability.load()), "(replayed with today's answerability weights)"


def _run_sets(settings: Settings, args: argparse.Namespace) -> tuple[list[EvalReport], str]:
    from bot.articles_cli import open_library
    from bot.evaluation import default_sets, load_eval_set, run_eval, set_engine

    def progress(result: EvalResult) -> None:
        if args.verbose or not result.correct:
            mark = "ok " if result.correct else "BAD"
            said = result.answer.answer[:110].replace("\n", " ")
            print(f"{mark} {result.item.id:34} {result.answer.method:10} {said}", file=sys.stderr)

    library = open_library(settings)
    reports = []
    for path in args.set or default_sets(heldout=args.heldout):
        engine = set_engine(library, path, settings.article_path, "eval", args.article)
        items = load_eval_set(path)
        reports.append(
            run_eval(items, engine.answer, engine.article_text, progress, path.stem, engine.article_language)
        )
    return reports, library.model.name


def cmd_info(settings: Settings, args: argparse.Namespace) -> int:
    from bot.articles_cli import open_library
    from bot.engine.bundled import BUNDLED_MODELS

    if settings.llm_base_url:
        model = _served_model(settings)
    elif settings.model_path:
        model = str(settings.model_path)
    elif settings.model_repo:
        model = f"{settings.model_repo}/{settings.model_file}"
    else:
        model = str(settings.model_cache_dir / BUNDLED_MODELS[settings.default_model].filename)
    library = open_library(settings, load_model=False)
    records = library.records()
    info = {
        "chroma": "server" if settings.chroma_host else "embedded",
        "chroma_location": (
            f"http://{settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_host
            else str(settings.chroma_path)
        ),
        "llm": "server" if settings.llm_base_url else "local",
        "state": "redis" if settings.redis_url else "sqlite",
        "model_path": model,
        "embedder": settings.embedder,
        "default_article": library.default_name,
        "articles": len(records),
        "chunks": sum(record.chunks for record in records),
        "retrieval_mode": settings.retrieval_mode,
        "telegram_token_set": settings.telegram_bot_token is not None,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print("\n".join(f"{key}: {value}" for key, value in info.items()))
    return 0


def _served_model(settings: Settings) -> str:
    """The model server's model, as it names it (its file name), or its URL when it does not answer."""
    from bot.engine.server_model import ServerModel

    try:
        return f"{settings.llm_base_url} ({ServerModel(settings).load().name})"
    except ArticlebotError:
        return f"{settings.llm_base_url} (not answering)"


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from bot.bench import format_bench, run_bench

    result = run_bench(settings, repeats=args.repeats)
    print(json.dumps(result) if args.json else format_bench(result))
    return 0


def cmd_eval_voice(settings: Settings, args: argparse.Namespace) -> int:
    from bot.paths import VOICE_FIXTURES
    from bot.speech.evaluate import as_json, by_language, format_reports, transcribe_set
    from bot.speech.transcriber import Transcriber

    if args.model is not None:
        settings = settings.model_copy(update={"voice_model_path": args.model})
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # a line per recording otherwise
    transcriber = Transcriber.from_settings(settings)
    transcriber.load()  # not timed
    heard = transcribe_set(transcriber, args.set or VOICE_FIXTURES)
    reports = by_language(heard)
    print(as_json(reports, heard) if args.json else format_reports(reports, heard, args.verbose))
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_bot_token is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: put it in the environment or in .env (see .env.example)"
        )
    from bot.articles_cli import open_library
    from bot.telegram.app import run, webhook_secret
    from bot.telegram.redis_state import check_reachable

    if getattr(args, "webhook", None):  # `start` has no --webhook
        settings = settings.model_copy(update={"webhook_url": args.webhook})
    # Before the model loads, so a missing secret or an unreachable Redis is told at once.
    if settings.webhook_url:
        webhook_secret(settings)
    if settings.redis_url:
        check_reachable(settings.redis_url)
    library = open_library(settings)
    library.engine().warm_up()
    run(settings, library)
    return 0


def cmd_start(settings: Settings, args: argparse.Namespace) -> int:
    """The README's main command: the Telegram bot when a token is set, else an interactive ask session."""
    if settings.telegram_bot_token is not None:
        return cmd_run(settings, args)
    print("TELEGRAM_BOT_TOKEN is not set: starting an interactive session instead.", file=sys.stderr)
    return cmd_ask(settings, argparse.Namespace(question=[], json=False, article=None))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="articlebot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_article_parsers(sub)
    ask = sub.add_parser("ask", help="answer a question (no question: interactive; '-': one per stdin line)")
    ask.add_argument("question", nargs="*")
    ask.add_argument("--json", action="store_true", help="one JSON object per answer")
    ask.add_argument("--article", metavar="NAME", help="the article to ask about (default: ARTICLE_PATH's)")
    ask.set_defaults(func=cmd_ask)
    evaluate = sub.add_parser("eval", help="run the eval set and print the metrics table")
    evaluate.add_argument(
        "--set", type=_path, action="append", help="an eval set (JSONL); repeat for several (default: all)"
    )
    evaluate.add_argument(
        "--article", metavar="NAME", help="ask every set about this article (default: each set's own)"
    )
    evaluate.add_argument("--heldout", action="store_true", help="also the held-out public sets")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("-v", "--verbose", action="store_true", help="show every answer on stderr")
    evaluate.add_argument("--save", type=_path, metavar="FILE", help="keep every scored answer (JSONL)")
    evaluate.add_argument(
        "--replay", type=_path, metavar="FILE", help="score a --save file again (e.g. at another strictness)"
    )
    evaluate.add_argument(
        "--follow-ups",
        type=_path,
        nargs="?",
        const=FOLLOW_UP_SET,
        metavar="FILE",
        help="the follow-up set instead (default evals/followups.jsonl)",
    )
    evaluate.add_argument(
        "--split", choices=("report", "tune", "all"), default="report", help="which half of the follow-up set"
    )
    evaluate.set_defaults(func=cmd_eval)
    voice = sub.add_parser("eval-voice", help="word error rate and speed of voice transcription")
    voice.add_argument("--set", type=_path, help="spoken questions, JSONL (default: tests/fixtures/voice)")
    voice.add_argument("--model", type=_path, metavar="DIR", help="another faster-whisper model folder")
    voice.add_argument("--json", action="store_true")
    voice.add_argument("-v", "--verbose", action="store_true", help="show every transcript")
    voice.set_defaults(func=cmd_eval_voice)
    info = sub.add_parser("info", help="the settings in force")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)
    bench = sub.add_parser("bench", help="measure speed on the eval questions")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--repeats", type=int, default=3)
    bench.set_defaults(func=cmd_bench)
    run = sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="serve a webhook at this public https URL instead of polling (WEBHOOK_URL; see README)",
    )
    run.set_defaults(func=cmd_run)
    sub.add_parser(
        "start", help="the Telegram bot if a token is set, else an interactive session"
    ).set_defaults(func=cmd_start)
    return parser


def _path(value: str) -> Path:
    from pathlib import Path

    return Path(value)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except (ValidationError, SettingsError, UnicodeDecodeError, OSError) as error:
        # A value that fails its check, one that cannot be parsed (a list that is not JSON), or a .env
        # that cannot be read or decoded: the message names the setting or the file.
        print(f"articlebot: error: invalid settings: {error}".splitlines()[0], file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    try:
        code: int = args.func(settings, args)
        return code
    except ArticlebotError as error:
        print(f"articlebot: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
