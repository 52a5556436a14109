import pytest

from bot.engine.support import ArticleWords
from bot.engine.verify import ArticleFacts, answer_facts, answer_names, names_in, numbers_in

ARTICLE = (
    "Le ministre de la défense Andreï Belousov a déclaré que les forces russes avaient pris 1 500 "
    "kilomètres carrés et contraint les troupes à reculer de huit à neuf kilomètres. L'OTAN a réagi."
)


def test_numbers_are_read_as_digit_strings():
    assert numbers_in("1 500 km, 1,500 km, 8,5 % et 2014") == {"1500", "8.5", "2014"}


def test_names_are_capitalised_words_that_do_not_open_a_sentence():
    assert names_in("Les troupes de Zelensky. Ensuite l'OTAN et «Kiev»") == ["Zelensky", "OTAN"]
    assert names_in("Qu'a dit Emmanuel Macron ?") == ["Emmanuel Macron"]
    assert names_in("Sky+HD使用的专有系统是什么？") == ["HD"]


@pytest.mark.parametrize(
    ("answer", "unsupported"),
    [
        ("Belousov parle de 1500 km².", []),
        ("Белоусов сказал, что 8 километров.", []),  # Cyrillic name; 8 is "huit" in the article
        ("Andrei Belousov, the minister.", []),  # a transliteration without the diaeresis
        ("Le ministre Sergueï Choïgou a pris 1 600 km².", [("number", "1600"), ("name", "Sergueï Choïgou")]),
        ("Les troupes ont reculé de 12 km.", [("number", "12")]),
    ],
)
def test_unsupported_facts_are_named(answer, unsupported):
    facts = ArticleFacts(ARTICLE, "fr")
    found = facts.unsupported(answer, "xx")
    assert [(u.kind, u.value) for u in found] == unsupported


def test_a_name_the_question_brings_is_still_not_in_the_article():
    facts = ArticleFacts(ARTICLE, "fr")
    assert [u.value for u in facts.unsupported("Selon lui, Macron a tort.", "fr")] == ["Macron"]


def test_an_answer_that_is_only_a_name_is_checked_as_one():
    assert answer_names("Paris.") == ["Paris"]
    assert answer_names("Andreï Belousov") == ["Andreï Belousov"]
    assert answer_names("Les troupes ont reculé.") == []
    assert answer_names("Macron said the attack was planned.", "What did Macron say?") == ["Macron"]
    assert names_in("Où ?") == [], "a question's first word is no name"


def test_where_every_noun_is_capitalised_only_numbers_are_checked():
    facts = ArticleFacts(ARTICLE, "fr")
    assert facts.unsupported("Die Truppen zogen sich 8 Kilometer zurück.", "de") == []
    assert answer_facts("Die Truppen zogen sich 8 Kilometer zurück.", "de") == ["8"]


def test_names_a_question_asks_about_are_checked_against_the_article():
    facts = ArticleFacts(ARTICLE, "fr")
    assert facts.unknown_names("Qu'a dit Emmanuel Macron de l'OTAN ?") == ["Emmanuel Macron"]
    assert facts.unknown_names("Qu'a dit Belousov ?") == []
    assert facts.unknown_names("¿Dónde habló Belousov?") == []


@pytest.mark.parametrize(
    ("language", "article", "question", "unknown"),
    [
        # a lone "I" is a pronoun, not a name
        (
            "en",
            "The steam engine was improved by James Watt.",
            "What should I know about the steam engine?",
            [],
        ),
        (
            "en",
            "The steam engine was improved by James Watt.",
            "What did Newcomen build before Watt?",
            ["Newcomen"],
        ),
        # German capitalises every noun: no capital tells a name there
        (
            "de",
            "Ludwig XIV. widerrief 1685 das Edikt.",
            "Welcher französische König gab diese Erklärung ab?",
            [],
        ),
        # every Unicode capital counts: Polish, Turkish and Russian names are checked
        ("pl", "Spotkanie odbyło się w Gdańsku.", "Co powiedział Łukasz Żuk w Gdańsku?", ["Łukasz Żuk"]),
        ("tr", "Toplantı Ankara'da yapıldı.", "Peki İzmir'de ne oldu?", ["İzmir'de"]),
        ("ru", "Встреча прошла в Казахстане.", "Что сказал Шойгу в Казахстане?", ["Шойгу"]),
    ],
)
def test_names_the_article_never_mentions_are_found_in_any_script(language, article, question, unknown):
    assert ArticleFacts(article, language).unknown_names(question) == unknown


def test_a_latin_name_glued_to_cjk_text_is_read_as_a_name_on_both_sides():
    article = "同一天，NTL的服务更名为 Virgin Media 。Sky+HD内容是使用 MPEG-4 广播的。"
    facts = ArticleFacts(article, "zh")
    # In the article: "NTL的服务" holds NTL, "Sky+HD内容" holds HD (they were read as one word each).
    assert facts.unsupported("NTL был переименован в Virgin Media.", "ru", "Как был переименован NTL?") == []
    assert facts.unsupported("Sky+HD使用 MPEG-4。", "zh", "Sky+HD使用什么？") == []
    # In the answer: a name right after CJK characters is still a name, and checked.
    assert [f.value for f in facts.unsupported("NTL的服务由Macron负责。", "zh", "谁负责？")] == ["Macron"]


@pytest.mark.parametrize(
    ("sentences", "question", "right", "swapped"),
    [
        (
            ["The Greens hold the inner regions of Melbourne.", "The Labor Party governs the outer suburbs."],
            "What party rules in Melbourne's inner regions?",
            "The Greens.",
            "The Labor Party.",
        ),
        (
            ["Les Verts tiennent le centre de Melbourne.", "Le Parti travailliste gouverne la banlieue."],
            "Quel parti domine le centre de Melbourne ?",
            "Les Verts.",
            "Le Parti travailliste.",
        ),
    ],
)
def test_an_answer_beside_the_questions_words_stands_where_a_swapped_one_does_not(
    sentences, question, right, swapped
):
    words = ArticleWords(sentences)
    beside, elsewhere = words.support(right, question), words.support(swapped, question)
    assert beside.joint_share is not None and elsewhere.joint_share is not None
    assert beside.joint_share > elsewhere.joint_share
    assert words.support("Melbourne.", question).joint_share is None  # no word of its own
