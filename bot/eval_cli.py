"""The evaluation and measurement commands of the command line: eval, eval-voice and bench."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING

from bot.paths import FOLLOW_UP_SET
from bot.settings import Settings

if TYPE_CHECKING:  # imported lazily at run time, for speed
    from pathlib import Path

    from bot.evaluation import EvalReport, EvalResult


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
    for answer in report.off_topic:
        if not answer.refused:
            print(f"BAD off-topic   {answer.question} -> {answer.answer[:80]}", file=sys.stderr)
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


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from bot.bench import format_bench, run_bench

    result = run_bench(settings, repeats=args.repeats)
    print(json.dumps(result) if args.json else format_bench(result))
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """eval, eval-voice and bench."""
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
    bench = sub.add_parser("bench", help="measure speed on the eval questions")
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--repeats", type=int, default=3)
    bench.set_defaults(func=cmd_bench)


def _path(value: str) -> Path:
    from pathlib import Path

    return Path(value)
