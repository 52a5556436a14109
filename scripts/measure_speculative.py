"""Does speculative decoding speed up the reader's answers? The 1.5B answers real questions about real
articles, greedily, plain and with a draft: prompt lookup (llama-cpp-python's LlamaPromptLookupDecoding)
or the bundled 0.5B (same tokenizer). Figures for the README ("Scaling out").

Run: MODEL_CACHE_DIR=/tmp/proto/models .venv/bin/python scripts/measure_speculative.py

Each way runs in its own process, one after the other: peak RSS is then the way's own, and two models
never share the two cores. Per article, one warm-up question reads the article prefix (not timed); each
timed answer then pays only its question and its answer, as in the bot.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from llama_cpp.llama_speculative import LlamaDraftModel, LlamaPromptLookupDecoding

from bot.engine.bundled import BUNDLED_MODELS, assemble
from bot.engine.language import language_name
from bot.engine.llama_native import cpu_has_amx, extra_buffer_types
from bot.engine.llm import LlamaModel, Message
from bot.engine.prompts import render_file
from bot.paths import BUNDLED_ARTICLE, EVAL_SET, PUBLIC_SETS
from bot.settings import Settings
from store.chunking import split_paragraphs

WAYS = ("plain", "lookup-10", "lookup-2", "draft-0.5b-k4")
PUBLIC = ("squad2-en-normans", "piaf-fr-yoweri-museveni")


class Recorded(LlamaDraftModel):
    """Wraps a draft to keep what it proposed where, for the acceptance rate."""

    def __init__(self, inner: LlamaDraftModel) -> None:
        self.inner = inner
        self.calls: list[tuple[int, list[int]]] = []  # (position, proposed tokens)

    def __call__(self, input_ids: npt.NDArray[np.intc], /, **kwargs: Any) -> npt.NDArray[np.intc]:
        proposal = self.inner(input_ids, **kwargs)
        self.calls.append((len(input_ids), [int(t) for t in proposal]))
        return proposal


class SmallModelDraft(LlamaDraftModel):
    """A second, smaller Llama proposing its k greedy next tokens (what llama-server's --model-draft does)."""

    def __init__(self, path: Path, k: int, settings: Settings) -> None:
        import llama_cpp.llama_cpp as low_level
        from llama_cpp import Llama

        with extra_buffer_types(enabled=not cpu_has_amx(), module=low_level):  # else the decode crashes
            self.llama = Llama(
                model_path=str(path), n_ctx=settings.n_ctx, n_threads=settings.n_threads, verbose=False
            )
        self.k = k

    def __call__(self, input_ids: npt.NDArray[np.intc], /, **kwargs: Any) -> npt.NDArray[np.intc]:
        llama, ids = self.llama, input_ids.tolist()
        # Keep the longest prefix already in the draft's cache (the article: ~1,000 tokens), re-evaluating
        # at least the last token so the logits are fresh.
        keep = min(llama.longest_token_prefix(llama._input_ids.tolist(), ids), len(ids) - 1)
        llama.n_tokens = keep
        llama.eval(ids[keep:])
        proposal: list[int] = []
        while True:
            # LlamaContext.get_logits is unannotated in llama_cpp
            raw = llama._ctx.get_logits()  # type: ignore[no-untyped-call]
            logits = np.ctypeslib.as_array(raw, shape=(llama.n_vocab(),))
            proposal.append(int(logits.argmax()))
            if len(proposal) == self.k or proposal[-1] == llama.token_eos():
                return np.array(proposal, dtype=np.intc)
            llama.eval(proposal[-1:])


class DraftedModel(LlamaModel):
    """The project's model (its chat template, AMX workaround and streaming), built with extra Llama args."""

    def __init__(self, settings: Settings, extra: dict[str, Any]) -> None:
        super().__init__(settings)
        self._extra = extra

    def _open(self, llama_class: Any, common: dict[str, Any]) -> Any:
        return super()._open(llama_class, {**common, **self._extra})


def articles(per_public: int) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """(name, text, questions): the first question is the untimed warm-up."""

    def answerable(path: Path) -> list[dict[str, Any]]:
        return [row for line in path.open() if (row := json.loads(line))["answerable"]]

    # Every 5th answerable question of the bundled set: a mix of French, English and others.
    yield "article.fr", BUNDLED_ARTICLE.read_text(), answerable(EVAL_SET)[::5][:13]
    for name in PUBLIC:
        text = (PUBLIC_SETS / f"{name}.txt").read_text()
        yield name, text, answerable(PUBLIC_SETS / f"{name}.jsonl")[: per_public + 1]


def messages_for(article: str, row: dict[str, Any]) -> list[Message]:
    """What the engine sends when it reads the article whole (Engine._messages)."""
    numbered = "\n\n".join(f"[{i + 1}] {t}" for i, (_, t) in enumerate(split_paragraphs(article)))
    system = render_file("reader_system.txt", article=numbered).strip()
    user = render_file("reader_user.txt", question=row["question"], language=language_name(row["language"]))
    return [{"role": "system", "content": system}, {"role": "user", "content": user.strip()}]


def run_way(way: str, per_public: int) -> list[dict[str, Any]]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    draft: Recorded | None = None
    if way.startswith("lookup-"):
        draft = Recorded(LlamaPromptLookupDecoding(num_pred_tokens=int(way.split("-")[1])))
    elif way.startswith("draft-0.5b-k"):
        path = assemble(BUNDLED_MODELS["qwen2.5-0.5b"], settings.model_cache_dir)
        draft = Recorded(SmallModelDraft(path, int(way.rsplit("k", 1)[1]), settings))
    # A draft needs every position's logits (llama-cpp-python sizes its score array by logits_all).
    model = DraftedModel(settings, {"draft_model": draft, "logits_all": True} if draft else {})
    llama = model.load()
    stamps: list[tuple[int, float]] = []
    generate = llama.generate

    def recording(*args: Any, **kwargs: Any) -> Iterator[int]:  # the tokens and when each came
        for token in generate(*args, **kwargs):
            stamps.append((token, time.perf_counter()))
            yield token

    llama.generate = recording
    results = []
    for name, text, rows in articles(per_public):
        for n, row in enumerate(rows):
            messages = messages_for(text, row)
            prompt = len(model.prompt_tokens(messages))
            stamps.clear()
            calls = len(draft.calls) if draft else 0
            started = time.perf_counter()
            reply = ""
            for piece in model.stream(messages, max_tokens=settings.max_answer_tokens):
                reply += piece.text
                if "\n" in reply.strip():  # the engine keeps the first line only
                    break
            seconds = time.perf_counter() - started
            tokens = [t for t, _ in stamps]
            proposed = accepted = 0
            for position, proposal in draft.calls[calls:] if draft else []:
                done = tokens[position - prompt :]
                proposed += len(proposal)
                accepted += _agreeing(proposal, done)
            results.append(
                {
                    "article": name,
                    "id": row["id"],
                    "warm_up": n == 0,
                    "seconds": seconds,
                    "first_token": stamps[0][1] - started,
                    "decode": stamps[-1][1] - stamps[0][1],
                    "tokens": tokens,
                    "reply": reply.strip(),
                    "proposed": proposed,
                    "accepted": accepted,
                }
            )
            print(
                f"{way} {row['id']}: {seconds:.2f}s {len(tokens)} tok {reply.strip()[:60]!r}", file=sys.stderr
            )
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [{**r, "way": way, "rss_mb": rss_mb} for r in results]


def _agreeing(proposal: list[int], done: list[int]) -> int:
    """How many of the proposed tokens the model went on to write (the verify step keeps these)."""
    return next(
        (i for i, (a, b) in enumerate(zip(proposal, done, strict=False)) if a != b),
        min(len(proposal), len(done)),
    )


def summarize(rows: list[dict[str, Any]], ways: list[str]) -> None:
    reference = {r["id"]: r["tokens"] for r in rows if r["way"] == ways[0]}
    best: dict[tuple[str, str], dict[str, Any]] = {}  # each answer's fastest round
    differ: dict[str, set[str]] = {way: set() for way in ways}
    for r in rows:
        if r["tokens"] != reference[r["id"]] and not r["warm_up"]:
            differ[r["way"]].add(r["id"])
            print(f"{r['way']} {r['id']} differs: {r['reply']!r}", file=sys.stderr)
        if (r["way"], r["id"]) not in best or r["seconds"] < best[r["way"], r["id"]]["seconds"]:
            best[r["way"], r["id"]] = r
    print(
        f"\n| way | answers | p50 s | mean s | decode tok/s | accepted | differ vs {ways[0]} | peak RSS MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for way in ways:
        timed = [r for r in best.values() if r["way"] == way and not r["warm_up"]]
        seconds = [r["seconds"] for r in timed]
        rate = sum(len(r["tokens"]) - 1 for r in timed) / sum(r["decode"] for r in timed)
        proposed = sum(r["proposed"] for r in timed)
        acceptance = f"{sum(r['accepted'] for r in timed) / proposed:.0%}" if proposed else "-"
        rss = max(r["rss_mb"] for r in rows if r["way"] == way)
        print(
            f"| {way} | {len(timed)} | {statistics.median(seconds):.2f} | {statistics.mean(seconds):.2f} "
            f"| {rate:.1f} | {acceptance} | {len(differ[way])} | {rss:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ways", nargs="+", choices=WAYS, default=list(WAYS), help="the first is the reference"
    )
    parser.add_argument("--per-public", type=int, default=8, help="timed questions per public article")
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs of every way; each answer's fastest counts"
    )
    parser.add_argument("--out", type=Path, help="also write every answer's figures here (JSON)")
    parser.add_argument("--way", choices=WAYS, help=argparse.SUPPRESS)  # the child process: one way
    args = parser.parse_args()
    if args.way:
        json.dump(run_way(args.way, args.per_public), sys.stdout)
        return
    rows: list[dict[str, Any]] = []
    # One process per way, one at a time (peak RSS is the way's own). The ways take turns, round after
    # round, so a busy spell of the machine (other processes share the two cores) hits all alike.
    for _ in range(args.rounds):
        for way in args.ways:
            command = [sys.executable, __file__, "--way", way, "--per-public", str(args.per_public)]
            rows += json.loads(subprocess.run(command, check=True, stdout=subprocess.PIPE).stdout)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    summarize(rows, args.ways)


if __name__ == "__main__":
    main()
