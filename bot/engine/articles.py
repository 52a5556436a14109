"""Reading the article file, with a clear message when it cannot be read."""

from pathlib import Path

from bot.errors import ConfigError


def read_article(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"cannot read the article: fix ARTICLE_PATH={path} ({error.__class__.__name__})"
        ) from None
    if not text.strip():
        raise ConfigError(f"the article is empty: fix ARTICLE_PATH={path}")
    return text
