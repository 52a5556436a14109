"""The article commands of the command line: ingest, articles, remove."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.engine.library import Library


def open_library(settings: Settings, *, load_model: bool = True) -> Library:
    """The library, with the model loaded now (or only when an article is first read)."""
    from bot.engine.library import Library, reader

    # With LLM_BASE_URL a server generates; loading is then checking that it answers.
    model = reader(settings)
    if load_model:
        model.load()
    return Library.from_settings(settings, model)


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Fetch or read the source, index it under its name, and have the model read it once, so the first
    question is answered at full speed. A bad source changes nothing in the store."""
    from bot.progress import progress_bar
    from store.chunking import split_paragraphs

    library = open_library(settings, load_model=False)
    with progress_bar("Fetching" if "://" in args.source else "Reading", unit="bytes") as report:
        document = library.load(args.source, progress=report)
    with progress_bar("Embedding passages", unit="passages") as report:
        result = library.ingest(document, args.name, progress=report)
    record = result.record
    if not args.no_read:
        engine = library.engine(record.name)
        with progress_bar("The model reads the article", unit="tokens") as report:
            engine.read_article(report)
    print(f"{result.status}: {record.name}")
    print(f"  title: {record.title}")
    print(f"  language: {record.language}")
    print(f"  paragraphs: {len(split_paragraphs(document.text))}")
    print(f"  passages: {record.chunks}")
    print(f"  source: {record.source}")
    print(f'Ask with: articlebot ask --article {record.name} "your question"')
    return 0


def cmd_articles(settings: Settings, args: argparse.Namespace) -> int:
    library = open_library(settings, load_model=False)
    records = library.records()
    if args.json:
        listed = [{**r.to_json(), "default": r.name == library.default_name} for r in records]
        print(json.dumps(listed, ensure_ascii=False, indent=2))
        return 0
    for record in records:
        mark = "*" if record.name == library.default_name else " "
        when = datetime.fromtimestamp(record.ingested_at, UTC).strftime("%Y-%m-%d %H:%M")
        print(
            f"{mark} {record.name:48} {record.language:3} {record.chunks:5} passages  {when}  {record.title}"
        )
    print(f"{len(records)} articles; * is the default (ARTICLE_PATH)", file=sys.stderr)
    return 0


def cmd_remove(settings: Settings, args: argparse.Namespace) -> int:
    library = open_library(settings, load_model=False)
    record = library.record(args.name)
    library.remove(args.name)
    print(f"removed {record.name} ({record.title})")
    if args.name == library.default_name:
        print(
            "it is the default article (ARTICLE_PATH): it is indexed again at the next start", file=sys.stderr
        )
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ingest = sub.add_parser(
        "ingest", help="add an article from a file (.txt .md .html .pdf) or an http(s) URL"
    )
    ingest.add_argument("source", help="a path or an http(s):// URL")
    ingest.add_argument("--name", help="the article's name (default: a slug of its title)")
    ingest.add_argument("--no-read", action="store_true", help="skip the model's first read of the article")
    ingest.set_defaults(func=cmd_ingest)
    articles = sub.add_parser("articles", help="list the articles in the store")
    articles.add_argument("--json", action="store_true", help="one JSON list")
    articles.set_defaults(func=cmd_articles)
    remove = sub.add_parser("remove", help="remove an article from the store")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)
