"""Compare two prompt layouts on the eval questions that reach the model: the retrieved passage after a
fixed cached prefix (the engine's layout) against the whole numbered article kept in the system prompt.

A measurement behind the README, not a test: .venv/bin/python scripts/compare_prompt_layouts.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.engine.engine import Engine
from bot.engine.llm import Message
from bot.engine.prompts import phrase
from bot.engine.question import analyse
from bot.engine.text import fold
from bot.evaluation import EvalItem, load_eval_set
from bot.paths import EVAL_SET
from bot.settings import Settings

WHOLE_ARTICLE_SYSTEM = (
    "You answer questions about this French news article. Use only the article. Reply with one short "
    "sentence in the language asked for, and cite the paragraph as [n]. Copy names and numbers exactly."
)


def retrieved_layout(engine: Engine, item: EvalItem) -> list[Message]:
    asked = analyse(item.question, item.language)
    cited = engine._cited(engine.retrieve(item.question, 4), asked)
    return engine._messages(asked, cited)


def whole_article_layout(engine: Engine, item: EvalItem) -> list[Message]:
    article = "\n".join(f"[{n}] {text}" for n, text in enumerate(engine.article_paragraphs))
    language = phrase("language_name", item.language)
    return [
        {"role": "system", "content": f"{WHOLE_ARTICLE_SYSTEM}\n\nArticle:\n{article}"},
        {"role": "user", "content": f"Question: {item.question}\nAnswer in {language}."},
    ]


def measure(llama: Any, engine: Engine, items: list[EvalItem], layout: Any) -> tuple[int, float]:
    """(raw answers holding every fact, median seconds to the first token)."""
    right, first_tokens = 0, []
    for item in items:
        started, first, text = time.perf_counter(), 0.0, ""
        stream = llama.create_chat_completion(
            messages=layout(engine, item), stream=True, max_tokens=48, temperature=0, seed=42
        )
        for chunk in stream:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                first = first or time.perf_counter() - started
                text += piece
        first_tokens.append(first or time.perf_counter() - started)
        right += all(any(fold(alt) in fold(text) for alt in group) for group in item.facts)
    return right, statistics.median(first_tokens)


def main() -> None:
    engine = Engine.from_settings(Settings(_env_file=None, chroma_path=Path(tempfile.mkdtemp())))
    llama = engine._model.load()  # type: ignore[attr-defined]
    items = [
        item
        for item in load_eval_set(EVAL_SET)
        if item.answerable and item.language in ("fr", "en") and item.kind != "summary"
        and analyse(item.question, item.language).answer_kind
    ]  # fmt: skip
    layouts = [("retrieved passage", retrieved_layout), ("whole article", whole_article_layout)]
    for name, layout in layouts * 2:
        right, first_token = measure(llama, engine, items, layout)
        print(f"{name:18} right {right}/{len(items)}  first token p50 {first_token:.2f} s")


if __name__ == "__main__":
    main()
