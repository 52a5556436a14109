import json

from bot.engine.records import Answer, Citation
from bot.evaluation import EvalItem, format_table, load_eval_set, run_eval, score
from bot.paths import EVAL_SET

ARTICLE = "Les forces russes ont pris 28 localités."


def _item(answerable=True):
    facts = (("28",),) if answerable else ()
    return EvalItem("x", "Combien ?", "fr", "fact", answerable, (0,) if answerable else (), facts)


def test_eval_set_is_large_and_varied():
    items = load_eval_set(EVAL_SET)
    assert len(items) >= 50
    kinds = {item.kind for item in items}
    assert {"fact", "paraphrase", "typo", "crosslingual", "summary", "unanswerable", "adversarial"} <= kinds
    assert len({item.language for item in items}) >= 5
    assert len({item.id for item in items}) == len(items)


def test_score_checks_facts_paragraph_and_verbatim_quotes():
    good = Answer("Combien ?", "28 localités [1]", False, "fr", [Citation(1, 0, 0, ARTICLE, "p0s0")])
    wrong = Answer(
        "Combien ?", "29 localités [1]", False, "fr", [Citation(1, 1, 0, "pas dans l'article", "p1s0")]
    )
    refused = Answer("Combien ?", "L'article ne le dit pas.", True, "fr")
    assert score(_item(), good, ARTICLE).correct
    result = score(_item(), wrong, ARTICLE)
    assert not result.correct and not result.right_paragraph and not result.verbatim
    assert not score(_item(), refused, ARTICLE).correct
    assert score(_item(answerable=False), refused, ARTICLE).correct


def test_eval_runs_the_real_engine(engine, tmp_path):
    lines = EVAL_SET.read_text(encoding="utf-8").splitlines()
    picked = [
        json.loads(line) for line in lines if json.loads(line)["id"] in {"fr-localites-1", "fr-off-capitale"}
    ]
    small_set = tmp_path / "small.jsonl"
    small_set.write_text("\n".join(json.dumps(item) for item in picked), encoding="utf-8")
    report = run_eval(load_eval_set(small_set), engine.answer, engine.article_text)
    metrics = report.metrics()
    assert metrics["questions"] == 2
    assert metrics["accuracy"] == 1.0 and metrics["refusal_rate"] == 1.0 and metrics["verbatim_quotes"] == 1.0
    assert "answer accuracy" in format_table(report, engine.model_name)
