"""The public eval builder (scripts/build_public_evals.py) on a tiny parallel set, and its output."""

import importlib.util
import json
import sys
from pathlib import Path

from bot.paths import PROJECT_ROOT, PUBLIC_SETS

_SPEC = importlib.util.spec_from_file_location(
    "build_public_evals", PROJECT_ROOT / "scripts" / "build_public_evals.py"
)
assert _SPEC and _SPEC.loader
build = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = build  # dataclasses look their module up there
_SPEC.loader.exec_module(build)

TRAIN_SETS = PROJECT_ROOT / "evals" / "train"

# One title, one paragraph, two questions, in each XQuAD language: the answer is "1066" in every language
# but German and Russian, whose spans differ from the English one.
PARALLEL = {
    "en": (
        "William landed in 1066 with his knights.",
        ["When did William land?", "Who landed?"],
        ["1066", "William"],
    ),
    "es": (
        "Guillermo desembarcó en 1066.",
        ["¿Cuándo desembarcó Guillermo?", "¿Quién?"],
        ["1066", "Guillermo"],
    ),
    "de": (
        "Wilhelm landete im Jahr 1066.",
        ["Wann landete Wilhelm?", "Wer landete?"],
        ["im Jahr 1066", "Wilhelm"],
    ),
    "zh": ("威廉于1066年登陆。", ["威廉何时登陆？", "谁登陆了？"], ["1066年", "威廉"]),
    "ru": (
        "Вильгельм высадился в 1066 году.",
        ["Когда высадился Вильгельм?", "Кто?"],
        ["1066 году", "Вильгельм"],
    ),
    "ar": ("نزل ويليام عام 1066.", ["متى نزل ويليام؟", "من نزل؟"], ["1066", "ويليام"]),
    "vi": ("William đổ bộ năm 1066.", ["William đổ bộ khi nào?", "Ai đổ bộ?"], ["1066", "William"]),
}


def _xquad() -> dict:
    out = {}
    for lang, (context, questions, answers) in PARALLEL.items():
        qs = [
            build.Question(f"q{i}", q, [a]) for i, (q, a) in enumerate(zip(questions, answers, strict=True))
        ]
        out[lang] = [build.Title("Normans", [build.Paragraph(context, qs)])]
    return out


def test_a_cross_lingual_question_accepts_the_span_of_the_askers_language():
    asker = build.cycle_asker(["en", "de", "ru"])
    s = build.xquad_set(_xquad(), 0, "en", 1, False, asker=asker, per_paragraph=6, most=30)
    assert [(r["language"], r["kind"]) for r in s.rows] == [("en", "fact"), ("de", "cross-lingual")]
    assert s.rows[1]["question"] == "Wer landete?"
    assert s.rows[1]["facts"] == [["William", "Wilhelm"]]
    assert s.name == "xquad-en-normans"


def test_rule_one_rotation_is_unchanged_and_other_article_questions_are_unanswerable():
    data = _xquad()
    assert [build.rule1_asker("es")(k) for k in range(6)] == ["es", "es", "en", "es", "es", "de"]
    s = build.xquad_set(
        data, 0, "zh", 1, False, asker=build.cycle_asker(["zh", "ru"]), train=True, other_article=(0, 1)
    )
    assert s.name == "train-xquad-zh-normans"
    assert s.rows[1]["facts"] == [["威廉", "Вильгельм"]]
    foreign = [r for r in s.rows if r["kind"] == "other-article"]
    assert [r["language"] for r in foreign] == ["zh", "ru"]
    assert all(not r["answerable"] and r["facts"] == [] and r["gold_paragraphs"] == [] for r in foreign)


def test_training_articles_share_no_paragraph_with_any_eval_or_held_out_article():
    def paragraphs(folder: Path) -> set[str]:
        return {p for txt in folder.glob("*.txt") for p in txt.read_text(encoding="utf-8").split("\n\n")}

    train = sorted(TRAIN_SETS.glob("*.jsonl"))
    assert len(train) >= 12
    assert not paragraphs(TRAIN_SETS) & paragraphs(PUBLIC_SETS)
    rows = [json.loads(line) for path in train for line in path.read_text(encoding="utf-8").splitlines()]
    assert {r["language"] for r in rows} >= {"en", "de", "ru", "zh", "ar"}
    assert sum(not r["answerable"] for r in rows) >= 100


def test_no_training_set_asks_its_own_questions_as_another_articles():
    """An `other-article` question is unanswerable only if it comes from another title (a title alone in its
    group borrows none)."""
    for path in sorted(TRAIN_SETS.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        own = {r["question"] for r in rows if r["answerable"]}
        borrowed = {r["question"] for r in rows if r["kind"] == "other-article"}
        assert not own & borrowed, path.name
