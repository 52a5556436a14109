"""Near-miss questions are refused for what their passage lacks; their answerable twins are not."""

import pytest

from bot.engine.grounding import holds_detail, stands_in
from bot.engine.text import stems, words


# Near-misses: close to a passage, but asking for what it does not give. Each is paired with a question of
# the same shape that the article does answer, so a check that refuses everything fails here too.
@pytest.mark.parametrize(
    ("near_miss", "answerable", "fact"),
    [
        ("Where was Belousov born?", "Where was the defence ministers' meeting held?", "Kazakhstan"),
        (
            "Dans quelle ville du Kazakhstan la réunion a-t-elle eu lieu ?",
            "Dans quel pays se tenait la réunion des ministres ?",
            "Kazakhstan",
        ),
        (
            "Which other countries sent ministers to the meeting in Kazakhstan?",
            "In which country did the defence ministers meet?",
            "Kazakhstan",
        ),
        (
            "What kind of missiles did Ukraine fire at the bridge?",
            "Quel type d'opération la Russie dit-elle mener ?",
            "opération militaire spéciale",
        ),
        (
            "Comment s'appelle le président russe ?",
            "Comment s'appelle le ministre russe de la défense ?",
            "Belousov",
        ),
        (
            "What is the name of the Russian president?",
            "What is the name of the Russian defence minister?",
            "Belousov",
        ),
        (
            "Combien de ministres ont participé à la réunion au Kazakhstan ?",
            "Combien de kilomètres les troupes ukrainiennes ont-elles dû reculer ?",
            "neuf",
        ),
        ("Qui a gagné la guerre ?", "Qui a juré d'expulser les soldats russes ?", "Zelenskiy"),
        (
            "Quel jour exact a eu lieu l'attaque contre le pont ?",
            "Quel jour le ministre a-t-il fait ces déclarations ?",
            "vendredi",
        ),
        ("How much does Russia spend on defence?", "How much land has Russia taken this year?", "880"),
        (
            "Qui a dit que l'OTAN renforçait sa présence en Asie ?",
            "Who said Russian forces were advancing in all tactical directions?",
            "Belousov",  # the quote's speaker, named in the paragraph before it
        ),
        ("What did Macron say about the missile attack?", "Which alliance did Belousov accuse?", "OTAN"),
        # No English word shares a stem with the French text; "meeting" and "place" have translations in it.
        ("Give me a recipe for pancakes.", "Where did the meeting take place?", "Kazakhstan"),
        (
            "Quels autres pays ont envoyé des ministres à la réunion au Kazakhstan ?",
            "Which country annexed Crimea in 2014?",
            "Moscou",
        ),
        (
            "What did Zelensky say this week about the attack on the bridge?",
            "What did Zelensky vow to do?",
            "expulser",
        ),
    ],
)
def test_near_misses_are_refused_and_their_answerable_twins_are_not(engine, near_miss, answerable, fact):
    refused = engine.answer(near_miss)
    assert refused.refused, refused.answer
    answered = engine.answer(answerable)
    assert not answered.refused
    assert fact in answered.answer


def test_a_refusal_names_the_name_the_article_never_gives(engine):
    answer = engine.answer("Que pense Emmanuel Macron de l'OTAN ?")
    assert answer.refused
    assert answer.answer == "L'article ne le dit pas : il ne mentionne pas Emmanuel Macron."
    # A first name spelled otherwise does not hide the name the article gives.
    assert not engine.answer("What did Vladimir Zelensky vow to do?").refused


def test_passage_evidence_for_the_detail_asked():
    kazakhstan = "Lors d'une réunion des ministres au Kazakhstan, le ministre Andreï Belousov a déclaré"
    assert not holds_detail("birth", None, kazakhstan, "Where was Belousov born?")
    assert holds_detail("birth", None, "Andreï Belousov, né à Moscou en 1959", "Where was Belousov born?")
    assert not holds_detail("city", None, kazakhstan, "Dans quelle ville du Kazakhstan ?")
    assert holds_detail("city", None, "une réunion à Astana", "Dans quelle ville du Kazakhstan ?")
    assert holds_detail("name", "ministre", kazakhstan, "Comment s'appelle le ministre ?")
    president = "le président ukrainien Volodymyr Zelenskiy a juré"
    assert not holds_detail("name", "president", president, "Comment s'appelle le président russe ?")
    assert not holds_detail("count", "ministres", kazakhstan, "Combien de ministres ?")
    assert holds_detail("count", "localités", "ont pris 28 localités", "Combien de localités ?")
    kind = "What kind of missiles?"
    assert not holds_detail("type", "missiles", "une attaque de missiles sur le pont", kind)
    assert holds_detail("type", "missiles", "une attaque de missiles de croisière", kind)


def test_names_stand_in_the_article_through_their_aliases():
    article = stems(words("M. Belousov a accusé l'alliance militaire de l'OTAN. Kiev et l'Occident"))
    assert stands_in("NATO", article) and stands_in("Kyiv", article) and stands_in("Western", article)
    assert not stands_in("Macron", article)
