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

from bot import eval_cli
from bot.articles_cli import add_parsers as add_article_parsers
from bot.engine.conversation import Conversation
from bot.engine.records import Answer
from bot.errors import ArticlebotError, ConfigError
from bot.settings import Settings

if TYPE_CHECKING:  # imported lazily at run time, for speed
    from bot.engine.engine import Engine

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


def _interactive(engine: Engine, out: TextIO, conversation: Conversation) -> None:
    """Questions typed one by one; like a private chat, one may follow up the last answer (/new: afresh)."""
    print("Ask about the article (empty line or Ctrl-D to quit, /new to start afresh).", file=out)
    while True:
        try:
            question = input("? ")
        except EOFError:
            break
        if not question.strip():
            break
        if question.strip() == "/new":
            conversation.forget()
            print("Starting afresh: the next question does not follow the last answer.\n", file=out)
            continue
        try:
            answer = engine.answer(question, conversation.follow_up(question, engine.article_sha))
        except ArticlebotError as error:
            print(f"! {error}\n", file=out)
            continue
        conversation.keep(answer, engine.article_sha)
        print(render_answer(answer) + "\n", file=out)


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
        _interactive(engine, sys.stdout, Conversation(settings.follow_up_seconds))
        return 0
    answer = engine.answer(" ".join(args.question))
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else render_answer(answer))
    return 0


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


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram_bot_token is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: put it in the environment or in .env (see .env.example)"
        )
    from bot.articles_cli import open_library
    from bot.telegram.redis_state import check_reachable
    from bot.telegram.running import run, webhook_secret

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
    info = sub.add_parser("info", help="the settings in force")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=cmd_info)
    eval_cli.add_parsers(sub)
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
