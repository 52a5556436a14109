"""How long adding an article takes, per step and per 1,000 words: extraction from a news page, embedding
the passages, and the model's first read. Run: .venv/bin/python scripts/measure_ingest.py [ARTICLE.txt ...]

Each article is wrapped in site chrome and extracted (as a fetched page would be), indexed into a fresh
store, and read by the default model with no saved state. The figures go to the README ("Any article").
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bot.engine.library import Library
from bot.engine.llm import LlamaModel
from bot.paths import PUBLIC_SETS
from bot.settings import Settings
from bot.sources import SourceLimits, load_bytes
from tests.site import news_page


def main(paths: list[Path]) -> None:
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(_env_file=None, chroma_path=Path(home) / "chroma")  # type: ignore[call-arg]
        model = LlamaModel(settings)
        model.load()
        library = Library.from_settings(settings, model)
        library.states = None  # every read from scratch: what a new article costs
        totals = {"words": 0.0, "extract": 0.0, "embed": 0.0, "read": 0.0}
        print(f"{'article':44} {'words':>6} {'tokens':>6} {'extract':>8} {'embed':>7} {'read':>7}")
        for path in paths:
            text = path.read_text(encoding="utf-8")
            page = news_page(path.stem, text)
            started = time.perf_counter()
            document = load_bytes(page, f"{path.stem}.html", str(path), SourceLimits())
            extracted = time.perf_counter()
            record = library.ingest(document, f"measure-{path.stem}"[:48].rstrip("-")).record
            embedded = time.perf_counter()
            engine = library.engine(record.name)
            engine.read_article()
            read = time.perf_counter()
            words = len(document.text.split())
            tokens = model.count_tokens(document.text)
            steps = (extracted - started, embedded - extracted, read - embedded)
            for key, seconds in zip(("extract", "embed", "read"), steps, strict=True):
                totals[key] += seconds
            totals["words"] += words
            print(f"{path.stem[:44]:44} {words:6} {tokens:6} " + " ".join(f"{s:7.2f}s" for s in steps))
        per = 1000 / totals["words"]
        print(
            f"per 1,000 words: extract {totals['extract'] * per:.2f} s, embed {totals['embed'] * per:.2f} s, "
            f"model's first read {totals['read'] * per:.1f} s; "
            f"total {(totals['extract'] + totals['embed'] + totals['read']) * per:.1f} s"
        )


if __name__ == "__main__":
    main([Path(arg) for arg in sys.argv[1:]] or sorted(PUBLIC_SETS.glob("*.txt")))
