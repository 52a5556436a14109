"""The speed benchmark behind `articlebot bench`: the engine timed on the eval set's questions.

Time to first text and to the verified answer, retrieval, the pipeline's overhead over raw llama.cpp on the
very prompts the engine sent, generation speed, startup, peak memory, throughput when askers share one
engine, and what a voice question adds (bot/voice_bench.py). A benchmark, not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import logging
import os
import platform
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.bench_model import ModelCall, RecordingModel, clock
from bot.engine.engine import Engine
from bot.engine.library import default_engine
from bot.engine.llm import LlamaModel
from bot.engine.records import Answer
from bot.evaluation import load_eval_set
from bot.paths import EVAL_SET, PROJECT_ROOT
from bot.settings import Settings
from bot.voice_bench import voice_figures

logger = logging.getLogger(__name__)


# A fresh interpreter up to default_engine ready; it prints the wall clock then, the parent subtracts.
_STARTUP_SCRIPT = """
import json, sys, time
from bot.engine.library import default_engine
from bot.settings import Settings
default_engine(Settings(**json.loads(sys.stdin.read())))
print(time.time())
"""


@dataclass
class Sample:
    """One question asked once, in the sequential run."""

    started: float
    ttft_s: float
    answer_s: float
    retrieval_ms: float
    call: ModelCall | None = None
    raw_s: float = 0.0
    prompt_tokens: int = 0
    prefilled_tokens: int = 0
    cross_lingual: bool = False  # asked in another language than the article's


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown CPU"


def _workload(limit: int | None) -> list[str]:
    """The eval set's questions in file order; with a limit, evenly spaced so both kinds stay in."""
    questions = [item.question for item in load_eval_set(EVAL_SET)]
    if limit is None or limit >= len(questions):
        return questions
    return questions[:: len(questions) // limit][:limit]


def _ask(engine: Engine, question: str) -> tuple[float, float, float, Answer]:
    """(start, seconds to the first item engine.stream yields, seconds to the final Answer, the Answer)."""
    started, first, final = clock(), 0.0, None
    for item in engine.stream(question):
        first = first or clock() - started
        if isinstance(item, Answer):
            final = item
    assert final is not None, "engine.stream ended without an Answer"
    return started, first, clock() - started, final


def _prompt_tokens_decoded(llama: Any) -> int:
    """llama.cpp's running count of prompt tokens it has actually evaluated (prefix-cache hits excluded)."""
    import llama_cpp

    return int(llama_cpp.llama_perf_context(llama.ctx).n_p_eval)


def _raw(model: RecordingModel, call: ModelCall, seed: int) -> tuple[float, int]:
    """Raw llama.cpp on the engine's prompt, decoding the same tokens: (seconds, prompt tokens)."""
    llama = model.llama
    # `generated` counts the end-of-text token when the engine's call met one, so both calls decode it.
    options: dict[str, Any] = {"max_tokens": max(call.generated, 1), "temperature": 0.0, "seed": seed}
    tokens = model.prompt_tokens(call.messages)
    started = clock()
    reply = llama.create_completion(prompt=tokens, **options)
    return clock() - started, int(reply["usage"]["prompt_tokens"])


def _sequential(engine: Engine, model: RecordingModel, question: str, settings: Settings) -> Sample:
    llama = model.llama
    cache_before = llama.input_ids[: llama.n_tokens].copy()
    decoded_before, calls_before = _prompt_tokens_decoded(llama), len(model.calls)
    started, ttft_s, answer_s, answer = _ask(engine, question)
    # The engine's own clock: the language guessed and the sentences retrieved (timed again here, the
    # retriever would find the question's similarities remembered).
    sample = Sample(started, ttft_s, answer_s, answer.timings.retrieve_ms)
    sample.cross_lingual = engine.detect_language(question) != engine.article_language
    if len(model.calls) == calls_before:
        return sample
    # The reply's own call: the engine's first generation for the question (replies drawn again follow it).
    sample.call = model.calls[calls_before]
    sample.prefilled_tokens = _prompt_tokens_decoded(llama) - decoded_before
    # llama-cpp-python reuses the longest token prefix the KV cache shares with a new prompt. The engine's
    # call found the cache as the previous question left it; now it holds this very prompt, which would give
    # the raw call a free prefill. Cutting the cache back to what the old and new contents share restores
    # exactly the prefix the engine could reuse, so both calls prefill the same tokens (llama.cpp's count of
    # evaluated prompt tokens agrees for the two); afterwards the raw call leaves the same prompt and answer
    # tokens in the cache as the engine's call did, so the next question starts from the state it would see
    # in service. Resetting both instead would time a cold prefill the bot never does between questions.
    cache_now = llama.input_ids[: llama.n_tokens]
    shared = min(len(cache_before), len(cache_now))
    differ = np.flatnonzero(cache_before[:shared] != cache_now[:shared])
    llama.n_tokens = int(differ[0]) if differ.size else shared
    sample.raw_s, sample.prompt_tokens = _raw(model, sample.call, settings.seed)
    return sample


def _concurrent(engine: Engine, questions: list[str], concurrency: int) -> tuple[float, float]:
    """`concurrency` askers at once, each asking again as soon as answered: (answers per minute, p95 wait)."""
    asks = [questions[i % len(questions)] for i in range(max(len(questions), concurrency))]

    def timed(question: str) -> float:
        started = clock()
        engine.answer(question)
        return clock() - started

    started = clock()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="bench-asker") as askers:
        waits = list(askers.map(timed, asks))
    return len(asks) / (clock() - started) * 60, _percentile(waits, 95)


def _cold_read_seconds(engine: Engine, model: RecordingModel) -> tuple[float, int]:
    """The model's first read of the article, with nothing in its context and no saved state: (seconds,
    prompt tokens evaluated). Raises when the article was not evaluated (the engine logs a failed
    read and goes on, which would time nothing). (0, 0) for an article too long to be read whole."""
    if not engine.reads_whole_article:
        return 0.0, 0
    model.llama.reset()  # an empty context: whatever it holds afterwards was evaluated by this read
    states = engine._states
    engine._states = None
    started = clock()
    try:
        read = engine.read_article()
    finally:
        engine._states = states
    seconds = clock() - started
    evaluated = int(model.llama.n_tokens)
    if read != "evaluated" or evaluated <= 0:
        raise RuntimeError(f"the cold read evaluated nothing (the engine says {read!r}): see the log")
    return seconds, evaluated


def _startup_seconds(settings: Settings) -> float:
    """Process start to default_engine ready, in a fresh `python -c`: imports, store, e5, model load."""
    config = settings.model_dump_json(exclude={"telegram_bot_token"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    launched = time.time()
    done = subprocess.run(
        [sys.executable, "-c", _STARTUP_SCRIPT], input=config, capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"the startup probe failed: {done.stderr.strip()[-500:]}")
    return float(done.stdout.split()[-1]) - launched


def run_bench(
    settings: Settings, *, repeats: int = 3, concurrency: int = 10, limit: int | None = None
) -> dict[str, float | int | str]:
    """Time the engine on the eval questions, `repeats` times over, then under `concurrency` askers."""
    if min(repeats, concurrency, 1 if limit is None else limit) < 1:
        raise ValueError("repeats, concurrency and limit must be at least 1")
    load_start = os.getloadavg()[0]
    questions = _workload(limit)
    model = RecordingModel(LlamaModel(settings))
    engine = default_engine(settings, model=model)
    article_tokens = model.count_tokens(engine.article_text)
    cold_s, cold_tokens = _cold_read_seconds(engine, model)
    # Warm-up (first-call allocations in llama.cpp, e5 and lingua) with the last question, so the first run
    # starts from the KV cache every later run starts from.
    engine.answer(questions[-1])

    samples: list[Sample] = []
    for repeat in range(repeats):
        logger.info("bench: run %d of %d, %d questions", repeat + 1, repeats, len(questions))
        samples += [_sequential(engine, model, question, settings) for question in questions]
    logger.info("bench: %d askers at once", concurrency)
    per_minute, p95_wait = _concurrent(engine, questions, concurrency)
    logger.info("bench: a voice question against the same typed")
    voice = voice_figures(engine, settings, repeats)
    logger.info("bench: startup in a fresh process")
    startup = [_startup_seconds(settings) for _ in range(repeats)]

    paired = [(s, s.call) for s in samples if s.call is not None]
    # Per call, tokens after the first over the time spent decoding them; the median, like the other figures.
    decoding = [(c.generated - 1) / (c.model_s - c.prefill_s) for _, c in paired if c.model_s > c.prefill_s]
    ttft, answer = [s.ttft_s for s in samples], [s.answer_s for s in samples]
    same_language = [s.answer_s for s in samples if not s.cross_lingual]
    same = _percentile(same_language, 50)
    across = _percentile([s.answer_s for s in samples if s.cross_lingual], 50)
    ms = 1000
    return {
        "questions": len(questions),
        "repeats": repeats,
        "model": model.name,
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "ttft_p50_s": _percentile(ttft, 50),
        "ttft_p95_s": _percentile(ttft, 95),
        "answer_p50_s": _percentile(answer, 50),
        "answer_p95_s": _percentile(answer, 95),
        "same_language_p50_s": same,
        "same_language_p95_s": _percentile(same_language, 95),
        "cross_lingual_p50_s": across,
        "cross_lingual_ratio": across / same if same else 0.0,
        "cross_lingual_questions": sum(s.cross_lingual for s in samples) // repeats,
        "retrieval_p50_ms": _percentile([s.retrieval_ms for s in samples], 50),
        "model_calls": len(paired),
        "overhead_ratio": _percentile([s.answer_s / s.raw_s for s, _ in paired if s.raw_s > 0], 50),
        "raw_llama_p50_s": _percentile([s.raw_s for s, _ in paired], 50),
        "model_ttft_p50_s": _percentile([s.ttft_s for s, _ in paired], 50),
        "model_answer_p50_s": _percentile([s.answer_s for s, _ in paired], 50),
        "before_model_p50_ms": _percentile([(c.started - s.started) * ms for s, c in paired], 50),
        "prefill_p50_ms": _percentile([c.prefill_s * ms for _, c in paired], 50),
        "generate_p50_ms": _percentile([(c.model_s - c.prefill_s) * ms for _, c in paired], 50),
        "checks_p50_ms": _percentile(
            [(s.started + s.answer_s - c.started - c.model_s) * ms for s, c in paired], 50
        ),
        "prompt_tokens_p50": _percentile([s.prompt_tokens for s, _ in paired], 50),
        "prefilled_tokens_p50": _percentile([s.prefilled_tokens for s, _ in paired], 50),
        "generated_tokens_p50": _percentile([c.generated for _, c in paired], 50),
        "tokens_per_s": _percentile(decoding, 50),
        "startup_s": _percentile(startup, 50),
        "article_tokens": article_tokens,
        "cold_read_s": cold_s,
        "cold_read_tokens": cold_tokens,
        "cold_prefill_per_1k_tokens_s": cold_s / cold_tokens * 1000 if cold_tokens else 0.0,
        "startup_measured": "fresh subprocess",
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "concurrency": concurrency,
        "concurrency_answers_per_min": per_minute,
        "concurrency_p95_wait_s": p95_wait,
        **voice,
        "load_avg_start": load_start,
        "load_avg_end": os.getloadavg()[0],
    }


_ROWS = [
    ("ttft_p50_s", "time to first text, p50", "{:.2f} s"),
    ("ttft_p95_s", "time to first text, p95", "{:.2f} s"),
    ("answer_p50_s", "time to verified answer, p50", "{:.2f} s"),
    ("answer_p95_s", "time to verified answer, p95", "{:.2f} s"),
    ("same_language_p50_s", "  asked in the article's language, p50", "{:.2f} s"),
    ("same_language_p95_s", "  asked in the article's language, p95", "{:.2f} s"),
    ("cross_lingual_p50_s", "  asked in another language, p50", "{:.2f} s"),
    ("cross_lingual_ratio", "  another language / the article's, p50", "{:.2f}"),
    ("cross_lingual_questions", "  questions in another language", "{}"),
    ("retrieval_p50_ms", "language and retrieval, p50", "{:.0f} ms"),
    ("model_calls", "answers that ran the model", "{}"),
    ("overhead_ratio", "pipeline / raw llama.cpp, median", "{:.2f}"),
    ("raw_llama_p50_s", "raw llama.cpp, same prompt and tokens, p50", "{:.2f} s"),
    ("model_ttft_p50_s", "first text when the model ran, p50", "{:.2f} s"),
    ("model_answer_p50_s", "verified answer when the model ran, p50", "{:.2f} s"),
    ("before_model_p50_ms", "  before the model (language, retrieval, checks), p50", "{:.0f} ms"),
    ("prefill_p50_ms", "  prefill + first token, p50", "{:.0f} ms"),
    ("generate_p50_ms", "  decoding the rest, p50", "{:.0f} ms"),
    ("checks_p50_ms", "  refusal probability, checks and citations, p50", "{:.0f} ms"),
    ("prompt_tokens_p50", "prompt tokens, p50", "{:.0f}"),
    ("prefilled_tokens_p50", "prompt tokens evaluated (not prefix-cached), p50", "{:.0f}"),
    ("generated_tokens_p50", "tokens generated, p50", "{:.0f}"),
    ("tokens_per_s", "generation speed", "{:.1f} tokens/s"),
    ("startup_s", "restart to engine ready (saved article state)", "{:.2f} s"),
    ("article_tokens", "article tokens", "{}"),
    ("cold_read_s", "cold read of the article (prompt prefix, no saved state)", "{:.2f} s"),
    ("cold_read_tokens", "  prompt tokens it evaluated", "{}"),
    ("cold_prefill_per_1k_tokens_s", "cold read of the article, per 1,000 tokens", "{:.1f} s"),
    ("peak_rss_mb", "peak memory (RSS)", "{:.0f} MB"),
    ("concurrency_answers_per_min", "answers per minute, concurrent askers", "{:.1f}"),
    ("concurrency_p95_wait_s", "wait + answer p95, concurrent askers", "{:.2f} s"),
    ("voice_seconds", "voice question (same question typed below)", "{:.1f} s of speech"),
    ("voice_answer_p50_s", "  heard and answered, p50", "{:.2f} s"),
    ("typed_answer_p50_s", "  typed and answered, p50", "{:.2f} s"),
    ("voice_extra_p50_s", "  what a voice question adds, p50", "{:.2f} s"),
    ("voice_transcribe_p50_s", "  transcription alone, p50", "{:.2f} s"),
]


def format_bench(result: dict[str, Any]) -> str:
    """The result as a Markdown table, headed by the machine and the model it was measured on."""
    cpu, cores = result.get("cpu") or _cpu_model(), result.get("cores") or os.cpu_count()
    rows = [
        ("machine", f"{cpu}, {cores} cores"),
        ("model", str(result.get("model", "?"))),
        ("workload", f"{result.get('questions', '?')} eval questions x {result.get('repeats', '?')} runs"),
    ]
    rows += [(label, fmt.format(result[key])) for key, label, fmt in _ROWS if key in result]
    if "concurrency" in result:
        rows.append(("concurrent askers", str(result["concurrency"])))
    if "startup_measured" in result:
        rows.append(("startup measured in", str(result["startup_measured"])))
    if "load_avg_start" in result:
        load = f"{result['load_avg_start']:.2f} -> {result.get('load_avg_end', 0.0):.2f}"
        rows.append(("machine load (1 min avg), start -> end", load))
    width = max(len(label) for label, _ in rows)
    lines = [f"| {'metric'.ljust(width)} | value |", f"| {'-' * width} | ----- |"]
    return "\n".join(lines + [f"| {label.ljust(width)} | {value} |" for label, value in rows])
