"""The benchmark runs end to end on the real model and store; its figures are checked for shape, not speed."""

import math

from bot.bench import format_bench, run_bench
from bot.settings import Settings

NUMBERS = [
    "ttft_p50_s",
    "ttft_p95_s",
    "answer_p50_s",
    "answer_p95_s",
    "retrieval_p50_ms",
    "overhead_ratio",
    "tokens_per_s",
    "startup_s",
    "peak_rss_mb",
    "cold_read_s",
    "cold_prefill_per_1k_tokens_s",
    "concurrency_answers_per_min",
    "concurrency_p95_wait_s",
    "same_language_p50_s",
    "same_language_p95_s",
    "cross_lingual_p50_s",
    "cross_lingual_ratio",
    "cross_lingual_questions",
    "questions",
    "repeats",
    "voice_seconds",
    "voice_answer_p50_s",
    "typed_answer_p50_s",
    "voice_transcribe_p50_s",
]


def test_bench_reports_every_figure_and_renders_them(tmp_path):
    settings = Settings(_env_file=None, chroma_path=tmp_path / "chroma")

    result = run_bench(settings, repeats=1, concurrency=2, limit=3)

    for key in NUMBERS:
        value = result[key]
        assert isinstance(value, int | float), key
        assert math.isfinite(value) and value >= 0, (key, value)
    assert result["questions"] == 3
    assert result["repeats"] == 1
    assert result["model_calls"] >= 1  # the workload reaches the model, so overhead_ratio was measured
    assert isinstance(result["model"], str) and result["model"].endswith(".gguf")
    # The cold read evaluated the whole article (plus the prompt around it), and its figure is that time
    # over those tokens: a read that failed, or timed nothing, shows here.
    article, evaluated = result["article_tokens"], result["cold_read_tokens"]
    assert article <= evaluated <= 2 * article + 500, (article, evaluated)
    assert result["cold_read_s"] > 0
    per_1k = result["cold_read_s"] / evaluated * 1000
    assert math.isclose(result["cold_prefill_per_1k_tokens_s"], per_1k), (result, per_1k)

    assert 4 < result["voice_seconds"] < 7  # the five-second recording was heard whole
    extra = result["voice_answer_p50_s"] - result["typed_answer_p50_s"]
    assert math.isclose(result["voice_extra_p50_s"], extra)

    table = format_bench(result)
    assert table.startswith("| metric")
    labels = ("time to first text", "pipeline / raw llama.cpp", "what a voice question adds")
    for text in ("machine", "cores", result["model"], *labels):
        assert text in table
