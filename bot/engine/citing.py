"""Citations tied by code: each [n] of an answer is a sentence of the article, quoted verbatim."""

from __future__ import annotations

from bot.engine.records import Citation, Passage
from bot.engine.retrieval import Retriever
from bot.engine.verify import ArticleFacts, answer_facts

MAX_CITATIONS = 3


def citations(passages: list[Passage]) -> tuple[list[Citation], str]:
    """Numbered citations for the passages, and their markers: "[1][2]"."""
    cited = [Citation(n, p.paragraph, p.sentence, p.text, p.chunk_id) for n, p in enumerate(passages, 1)]
    return cited, "".join(f"[{c.n}]" for c in cited)


def supporting(
    retriever: Retriever, facts: ArticleFacts, reply: str, question: str, language: str, first: Passage | None
) -> list[Passage]:
    """The sentences that hold the answer: the one holding most of its words (else the nearest to question
    and answer), then, for each number or name of the answer it lacks, the nearest sentence holding it."""
    candidates = retriever.retrieve(question, len(retriever.chunks), answer=reply)
    cited = [first] if first else candidates[:1]
    for fact in answer_facts(reply, language):
        if any(facts.sentence_holds(p.text, fact) for p in cited):
            continue
        holder = next((p for p in candidates if facts.sentence_holds(p.text, fact)), None)
        if holder and len(cited) < MAX_CITATIONS:
            cited.append(holder)
    return cited
