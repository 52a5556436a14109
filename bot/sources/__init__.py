"""Article sources: a path, an http(s) link, uploaded bytes or pasted text -> a clean Document.

A leaf package: it knows nothing of the engine, the store, the settings or Telegram. Every failure is a
SourceError whose one-line message names the source and the problem.
"""

from bot.errors import SourceError
from bot.sources.document import Document, SourceLimits
from bot.sources.load import load_bytes, load_source, load_text
from bot.sources.naming import slugify

__all__ = ["Document", "SourceError", "SourceLimits", "load_bytes", "load_source", "load_text", "slugify"]
