import json

import pytest

from bot.engine.records import Answer, Citation
from bot.eval_tables import format_table
from bot.evaluation import EvalItem, load_eval_set, names_fact, run_eval, score, units
from bot.paths import EVAL_SET, PUBLIC_SETS

ARTICLE = "Les forces russes ont pris 28 localités."


def _item(answerable=True, language="fr"):
    facts = (("28",),) if answerable else ()
    return EvalItem("x", "Combien ?", language, "fact", answerable, (0,) if answerable else (), facts)


def _answer(text, refused=False, language="fr", quote=ARTICLE, method="model"):
    citations = [] if refused else [Citation(1, 0, 0, quote, "p0s0")]
    return Answer("Combien ?", text, refused, language, citations, method=method)


def test_the_bundled_set_is_large_and_varied():
    items = load_eval_set(EVAL_SET)
    assert len(items) >= 50
    assert {"fact", "paraphrase", "typo", "crosslingual", "summary", "unanswerable", "adversarial"} <= {
        item.kind for item in items
    }
    assert len({item.id for item in items}) == len(items)


def test_public_sets_cover_languages_cross_lingual_and_unanswerable_questions():
    sets = [p for p in PUBLIC_SETS.glob("*.jsonl") if not p.name.startswith("heldout-")]
    assert len(sets) >= 6
    items = [item for path in sets for item in load_eval_set(path)]
    article_languages = {path.stem.split("-")[1] for path in sets}
    assert {"en", "fr"} <= article_languages and len(article_languages) >= 4
    assert sum(item.kind == "cross-lingual" for item in items) >= 20
    assert sum(not item.answerable for item in items) >= 20
    for path in sets:
        paragraphs = path.with_suffix(".txt").read_text(encoding="utf-8").split("\n\n")
        for item in load_eval_set(path):
            assert all(0 <= p < len(paragraphs) for p in item.gold_paragraphs), item.id


def test_right_means_the_fact_in_a_short_answer_not_a_long_quote(guesser):
    long_quote = (
        "D'après l'article [1] : « " + "Les forces russes progressent partout " * 8 + "28 localités »"
    )
    assert score(_item(), _answer("28 localités. [1]"), ARTICLE, guesser).correct
    assert not score(_item(), _answer(long_quote, method="extractive"), ARTICLE, guesser).correct
    assert not score(_item(), _answer("29 localités. [1]"), ARTICLE, guesser).correct
    assert not score(_item(), _answer("L'article ne le dit pas.", refused=True), ARTICLE, guesser).correct
    assert score(
        _item(answerable=False), _answer("L'article ne le dit pas.", refused=True), ARTICLE, guesser
    ).correct


def test_citations_language_and_verbatim_quotes_are_scored(guesser):
    good = score(_item(), _answer("Les Russes ont pris 28 localités. [1]"), ARTICLE, guesser)
    assert good.right_sentence and good.verbatim and good.in_language
    invented = score(_item(), _answer("28 [1]", quote="pas dans l'article"), ARTICLE, guesser)
    assert not invented.right_sentence and not invented.verbatim
    english = _answer("Les forces russes ont pris 28 localités ce mois-ci. [1]", language="en")
    assert not score(_item(language="en"), english, ARTICLE, guesser).in_language


@pytest.mark.parametrize(
    ("text", "gold", "named"),
    [
        ("Denmark, Iceland, Norway", "Denmark, Iceland and Norway", True),
        ("Il a gagné 6,5 % dans les sondages", "6,5 % dans", True),
        ("超级碗50在李维斯体育场举行", "李维斯体育场", True),
        ("in 1066", "1067", False),
    ],
)
def test_a_fact_is_named_as_a_phrase_or_by_all_its_words(text, gold, named):
    assert names_fact(text, [gold]) is named


def test_answer_length_counts_words_and_half_cjk_characters():
    assert units("Rollo swore fealty [1]") == 4
    assert units("超级碗") == 1.5


def test_eval_runs_the_real_engine(engine, tmp_path):
    lines = EVAL_SET.read_text(encoding="utf-8").splitlines()
    wanted = {"fr-localites-1", "fr-off-capitale"}
    picked = [json.loads(line) for line in lines if json.loads(line)["id"] in wanted]
    small_set = tmp_path / "small.jsonl"
    small_set.write_text("\n".join(json.dumps(item) for item in picked), encoding="utf-8")
    report = run_eval(load_eval_set(small_set), engine.answer, engine.article_text, name="small")
    metrics = report.metrics()
    assert metrics["questions"] == 2
    assert metrics["right"] == 1.0 and metrics["refused"] == 1.0 and metrics["verbatim_quotes"] == 1.0
    table = format_table([report], engine.model_name)
    assert "answerable right" in table and "| small | 100% (1/1)" in table


def test_each_strictness_refuses_the_answers_below_it_and_the_table_says_so(guesser):
    from dataclasses import replace

    from bot.eval_tables import risk_coverage_table
    from bot.evaluation import EvalReport

    right = replace(_answer("28 localités."), confidence=0.9)
    wrong_quote = "Les forces russes ont pris 35 localités."
    wrong = replace(_answer("35 localités.", quote=wrong_quote), confidence=0.3)
    unanswerable = replace(_answer("Paris."), confidence=0.2)
    results = [
        score(_item(), right, ARTICLE, guesser),
        score(_item(), wrong, ARTICLE, guesser),
        score(_item(answerable=False), unanswerable, ARTICLE, guesser),
    ]
    report = EvalReport("s", results)
    assert report.precision_coverage() == (1 / 3, 1.0)
    strict = report.at(0.5)
    assert strict.precision_coverage() == (1.0, 1 / 3)
    assert [r.answer.method for r in strict.results] == ["model", "refusal:confidence", "refusal:confidence"]
    assert strict.metrics()["refused"] == 1.0 and strict.metrics()["false_refusals"] == 0.5
    table = risk_coverage_table([report])
    assert "| s | 33% / 100% |" in table and "100% / 33%" in table


def test_saved_answers_replay_to_the_same_tables(guesser, tmp_path):
    from dataclasses import replace

    from bot.evaluation import EvalReport, load_reports, save_reports

    right = replace(_answer("28 localités."), confidence=0.9)
    report = EvalReport("s", [score(_item(), right, ARTICLE, guesser)], article_language="fr")
    saved = tmp_path / "answers.jsonl"
    save_reports([report], saved)
    [again] = load_reports(saved)
    assert again.article_language == "fr" and again.results == report.results
    assert format_table([again], "m", 0.5) == format_table([report], "m", 0.5)


def test_the_follow_up_set_splits_in_halves_and_its_figures_count_each_kind():
    from dataclasses import replace

    from bot.engine.records import Timings
    from bot.follow_up_eval import FollowUpReport, PairResult, format_follow_ups, load_pairs

    report_half, tune_half = load_pairs(split="report"), load_pairs(split="tune")
    assert len(report_half) == len(tune_half) == 36
    assert {pair.id for pair in report_half}.isdisjoint(pair.id for pair in tune_half)
    assert all(pair.article.is_file() and pair.item.facts for pair in report_half + tune_half)

    def answered(ms):
        return Answer("?", "28", False, "fr", timings=Timings(total_ms=ms))

    follow_up = next(pair for pair in report_half if pair.kind == "follow-up")
    plain = next(pair for pair in report_half if pair.kind == "plain")
    report = FollowUpReport(
        [
            PairResult(follow_up, answered(0), answered(900), answered(1200), False, True),
            PairResult(follow_up, answered(0), answered(900), answered(1000), False, False),
            PairResult(plain, answered(0), answered(800), answered(900), True, False),
            PairResult(plain, answered(0), answered(800), answered(800), True, True),
        ],
        off_topic=[answered(700), replace(answered(600), refused=True)],
    )
    assert report.figures() == [
        ("follow-ups right, asked after the first question", 1, 2),
        ("follow-ups answered wrong (shown, not right)", 1, 2),
        ("follow-ups right, asked alone (before this work)", 0, 2),
        ("plain changed (right alone, not after the first)", 1, 2),
        ("off-topic questions refused, asked after an exchange", 1, 2),
    ]
    assert report.added_ms() == [300, 100, 100, 0]
    table = format_follow_ups(report, "model.gguf", "report")
    assert "| plain changed (right alone, not after the first) | 50% | 1/2 |" in table
    assert "| time the exchange adds per question, p50 / p95 | 100 ms / 300 ms | 4 |" in table


def test_the_table_counts_the_looks_the_bot_would_leave_out_and_the_decisions_they_would_change(guesser):
    from dataclasses import replace

    from bot.engine.answerability import FEATURES, Answerability, Signals
    from bot.eval_tables import look_skipping
    from bot.evaluation import EvalReport

    weights = [0.0] * len(FEATURES)
    weights[FEATURES.index("log_refusal_lean")] = -1.0  # log10 of the lean: a lean of 0.001 scores +3
    weights[FEATURES.index("logit_checked_yes")] = 1.0
    reach_one = Answerability(weights, 0.0, [0.0] * len(FEATURES), [1.0] * len(FEATURES), "", (-1.0, 1.0))

    def result(lean, checked_yes):
        signals = Signals(lean, 0.5, 0.9, 0.9, 1.0, 1.0, 2, 0, False, checked_yes).to_record()
        return score(_item(), replace(_answer("28 localités."), signals=signals), ARTICLE, guesser)

    report = EvalReport(
        "s",
        [
            result(0.001, 0.9),  # +3 without the look: shown unasked, as with it
            result(0.001, 0.001),  # +3 without it, but a look far beyond its training reach (-6.9): changed
            result(0.3, 0.9),  # +0.5: within reach of 0.5, asked
        ],
    )
    line = look_skipping([report], 0.5, reach_one)
    assert "67% (2/3)" in line and "changed 1 of those" in line


def test_a_number_in_digits_names_the_gold_written_in_words_and_only_that_number():
    from bot.evaluation import spells_fact

    assert spells_fact("3 نوعا عثر عليه.", ["Three", "ثلاثة"], ("ar", "en"))
    assert spells_fact("Il y en a 25.", ["vingt-cinq"], ("fr", "en"))
    assert spells_fact("有3个。", ["三"], ("zh", "en"))
    assert not spells_fact("25 species.", ["five"], ("en",))  # the whole gold, not a word of it
    assert not spells_fact("2.5 species.", ["two"], ("en",))
    assert not spells_fact("No number here.", ["three"], ("en",))


def test_the_refusals_by_check_count_the_right_replies_each_check_lost(guesser):
    from dataclasses import replace

    from bot.evaluation import EvalReport

    def refused(check, candidate, answerable=True):
        answer = replace(_answer("", refused=True, method=f"refusal:{check}"), candidate=candidate)
        return score(_item(answerable=answerable), answer, ARTICLE, guesser)

    report = EvalReport(
        "s",
        [
            refused("facts", "28 localités."),  # a right reply lost
            refused("facts", "35 localités."),  # a wrong one caught
            refused("facts", "Paris.", answerable=False),
            refused("model", ""),
        ],
    )
    assert report.refusals_by_check() == {"facts": (1, 2, 1), "model": (0, 1, 0)}
