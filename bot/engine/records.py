"""The small typed records the engine returns; the CLI, JSON output, the bot and the eval all render them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """One sentence of the article, with its anchors and its retrieval score."""

    chunk_id: str
    paragraph: int  # 0-based, paragraphs split on blank lines
    sentence: int  # 0-based within the paragraph
    text: str  # verbatim article text
    score: float = 0.0


@dataclass(frozen=True)
class Citation:
    """An [n] marker of an answer, tied to a verbatim quote of the article."""

    n: int
    paragraph: int
    sentence: int
    quote: str
    chunk_id: str


@dataclass(frozen=True)
class Exchange:
    """A previous question and answer in the same conversation, for follow-up questions."""

    question: str
    answer: str


@dataclass
class Timings:
    retrieve_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0


@dataclass
class Answer:
    """What the engine says to one question."""

    question: str
    answer: str
    refused: bool
    language: str
    citations: list[Citation] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    # How the answer was made: "model" (a verified model answer), "extractive" (the best sentence quoted,
    # when the model failed), or "refusal:<check>" (the check that refused: "model", "facts",
    # "adds-nothing", "off-article", "confidence"). For the eval and debugging; not part of the JSON
    # contract.
    method: str = "model"
    article: str = ""  # the name of the article that answered
    # The model's reply as the checks saw it (shown, refused by a check, or below the strictness), the
    # answerability model's probability that it is right, and the signals it was computed from: for the
    # eval's risk-coverage table and the answerability model's training. Not part of the JSON contract.
    candidate: str = ""
    confidence: float | None = None
    signals: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for internal in ("method", "article", "candidate", "confidence", "signals"):
            data.pop(internal)  # the JSON contract of `ask --json` predates them
        return data

    def to_record(self) -> dict[str, Any]:
        """All of it, method and article too: what a shared cache keeps."""
        return asdict(self)

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Answer:
        citations = [Citation(**citation) for citation in data["citations"]]
        return cls(**{**data, "citations": citations, "timings": Timings(**data["timings"])})
