"""Prompt templates and fixed phrases, kept as files under prompts/ and rendered by one function."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from string import Template

from bot.errors import PromptError
from bot.paths import PROMPTS_DIR


def render(template: str, **variables: object) -> str:
    """Fill $name placeholders; a missing variable raises PromptError instead of rendering as ''."""
    try:
        return Template(template).substitute({k: str(v) for k, v in variables.items()})
    except KeyError as missing:
        raise PromptError(f"prompt variable {missing} was not given") from None
    except ValueError as bad:
        raise PromptError(f"bad placeholder in prompt template: {bad}") from None


@cache
def load_template(name: str, directory: Path = PROMPTS_DIR) -> str:
    path = directory / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise PromptError(f"prompt template {path} is missing") from None


def render_file(name: str, directory: Path = PROMPTS_DIR, **variables: object) -> str:
    return render(load_template(name, directory), **variables)


@cache
def load_phrases(name: str = "phrases.toml", directory: Path = PROMPTS_DIR) -> dict[str, dict[str, str]]:
    """Fixed phrases per language: {language: {key: template}}."""
    path = directory / name
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PromptError(f"phrase file {path} is unreadable: {error}") from None


def phrase(key: str, language: str, *, file: str = "phrases.toml", **variables: object) -> str:
    """A fixed phrase in the asker's language, falling back to English where it has no translation."""
    table = load_phrases(file)
    for lang in (language, "en"):
        if key in table.get(lang, {}):
            return render(table[lang][key], **variables)
    raise PromptError(f"phrase {key!r} is missing from prompts/{file}")
