"""Errors a user may see: each carries a one-line message that says what to fix."""


class ArticlebotError(Exception):
    """Base class: str(error) is safe to show to a user."""


class ConfigError(ArticlebotError):
    """A setting is missing or wrong; the message names the setting."""


class ModelLoadError(ConfigError):
    """The GGUF model could not be found or loaded."""


class StoreError(ArticlebotError):
    """The Chroma store could not be opened or read."""


class StateError(ArticlebotError):
    """Saved state (a chat's article, a model state) could not be written: the disk is full, or gone."""


class PromptError(ArticlebotError):
    """A prompt template is missing or was rendered without a variable it needs."""


class QuestionError(ArticlebotError):
    """The question itself is unusable: `reason` is "empty" or "too_long" (with `length` and `limit`), so
    each front end can say it in its own words."""

    def __init__(self, message: str, reason: str, *, length: int = 0, limit: int = 0) -> None:
        super().__init__(message)
        self.reason, self.length, self.limit = reason, length, limit


class SourceError(ArticlebotError):
    """An article source (path, URL, upload or pasted text) could not be turned into article text; the
    message names the source and the problem."""


class NotAnArticle(SourceError):
    """The source has text, but it does not read as an article: too short, without sentences, or the same
    few words over and over. In Telegram such a pasted text is taken as a (too long) question instead."""


class UnknownArticle(ArticlebotError):
    """No article by that name: `name` is what was asked for."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no article named {name!r}: `articlebot articles` lists them")
        self.name = name


class SpeechError(ArticlebotError):
    """A voice question could not be turned into text; each subclass is one reason a front end words."""


class AudioTooLong(SpeechError):
    """The recording is longer than VOICE_MAX_SECONDS."""

    def __init__(self, seconds: float, limit: int) -> None:
        super().__init__(f"the recording lasts {seconds:.0f} s; the limit is {limit} s (VOICE_MAX_SECONDS)")
        self.seconds, self.limit = seconds, limit


class AudioUndecodable(SpeechError):
    """The bytes are not audio that can be decoded (corrupt, truncated, or no audio stream)."""


class NothingSaid(SpeechError):
    """The recording decodes, but no speech was found in it."""
