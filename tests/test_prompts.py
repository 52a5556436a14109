import pytest

from bot.engine.prompts import phrase, render, render_file
from bot.errors import PromptError


def test_render_fills_placeholders():
    assert render("Passage: $passage", passage="x") == "Passage: x"


def test_render_fails_loudly_on_a_missing_variable():
    with pytest.raises(PromptError, match="passage"):
        render("Passage: $passage")


def test_prompt_files_render_with_their_variables():
    text = render_file("reader_user.txt", question="QUESTION", language="English")
    assert "QUESTION" in text and "English" in text
    with pytest.raises(PromptError, match="language"):
        render_file("reader_user.txt", question="QUESTION")
    assert "ARTICLE" in render_file("reader_system.txt", article="ARTICLE")
    assert "SENTENCE" in render_file("reader_near.txt", near="SENTENCE")


def test_phrases_fall_back_to_english_for_unknown_languages():
    assert phrase("refusal", "fr") == "L'article ne le dit pas."
    assert phrase("refusal", "sw") == phrase("refusal", "en")


def test_every_language_has_the_engines_phrases():
    from bot.engine.prompts import load_phrases

    for language, phrases in load_phrases().items():
        assert {"refusal", "extractive", "empty", "too_long"} <= set(phrases), language


def test_telegram_translations_use_only_the_english_phrases_variables():
    import re

    from bot.engine.prompts import load_phrases

    table = load_phrases("telegram.toml")
    english = table["en"]
    for lang, phrases in table.items():
        for key, text in phrases.items():
            assert key in english, (lang, key)
            extra = set(re.findall(r"\$(\w+)", text)) - set(re.findall(r"\$(\w+)", english[key]))
            assert not extra, (lang, key, extra)
