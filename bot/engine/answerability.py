"""The probability that a checked answer is right, from signals of the same pass: a small logistic model.

Its weights are learned from public training data (evals/train/, never the reported eval sets) by
scripts/train_answerability.py, per reader model, and shipped as a small JSON file; anyone can retrain them
for another GGUF. The operator's strictness (ANSWER_CONFIDENCE) is the least probability shown.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bot.errors import PromptError
from bot.paths import PROMPTS_DIR

logger = logging.getLogger(__name__)

WEIGHTS_FILE = PROMPTS_DIR / "answerability.json"
# The default strictness (ANSWER_CONFIDENCE), from the eval's risk-coverage table: the first step of 0.05
# clear of every off-topic answer of the eval, asked alone or inside a private chat's follow-up window
# (0.331 and 0.335 at most with today's weights, and the latter shown once at 0.35 by the follow-up eval,
# whose draws came out otherwise) (README, "Eval").
DEFAULT_CONFIDENCE = 0.4


@dataclass(frozen=True)
class Signals:
    """What one answer's pass tells, each value language-blind."""

    refusal_lean: float  # P(the reply opens with NOT_IN_ARTICLE)
    first_token: float  # P(the reply's own first token)
    question_similarity: float  # retrieval score of the best sentence for the question
    answer_similarity: float  # e5 cosine of the answer to its nearest sentence
    sentence_share: float  # share of the answer's own words in one sentence
    article_share: float  # share of the answer's own words in the article
    own_words: int  # the answer's words that the question does not say
    unknown_names: int  # names the question asks about that the article never writes
    # Asked in another language than the article's: recorded, not weighed. In the training data every
    # cross-lingual question is XQuAD's (answerable), so a weight would learn the data, not the asker.
    cross_lingual: bool
    # P(yes) when the model is asked to check its own answer against the article (None: not asked, the
    # other signals decided; it then counts as its training mean).
    checked_yes: float | None = None
    # The geometric mean of the answer's token probabilities, from the pass that wrote it (None: a model
    # server that gives no logprobs). The least of them was measured too and told less (README).
    mean_token: float | None = None
    # The most of both the answer's own words and the question's that one sentence of the article holds
    # (bot.engine.support; None across languages, or when either has no word).
    joint_share: float | None = None
    # How much of what the answer adds the model says again in replies drawn at a temperature (None: not
    # drawn, the other signals decided; it then counts as its training mean).
    agreement: float | None = None

    def vector(self) -> list[float]:
        checked = self.checked_yes
        return [
            math.log10(self.refusal_lean + 1e-4),
            self.first_token,
            self.question_similarity,
            self.answer_similarity,
            self.sentence_share,
            self.article_share,
            math.log1p(self.own_words),
            float(min(self.unknown_names, 2)),
            math.nan if checked is None else math.log((checked + 1e-4) / (1 - checked + 1e-4)),
            math.log(self.mean_token + 1e-6) if self.mean_token is not None else math.nan,
            math.nan if self.joint_share is None else self.joint_share,
            math.nan if self.agreement is None else self.agreement,
        ]

    def to_record(self) -> dict[str, float | None]:
        return {k: None if v is None else float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_record(cls, record: dict[str, float | None]) -> Signals:
        """The signals of a to_record() (an eval's --save, the training examples)."""
        return cls(**record)  # type: ignore[arg-type]


FEATURES = [
    "log_refusal_lean",
    "first_token",
    "question_similarity",
    "answer_similarity",
    "sentence_share",
    "article_share",
    "log_own_words",
    "unknown_names",
    "logit_checked_yes",
    "log_mean_token",
    "joint_share",
    "agreement",
]
# Signals that compare the answer's words with the article's: missing across languages.
WORD_SIGNALS = tuple(FEATURES.index(name) for name in ("sentence_share", "article_share", "joint_share"))
LOOK = FEATURES.index("logit_checked_yes")
AGREEMENT = FEATURES.index("agreement")


@dataclass(frozen=True)
class Answerability:
    """A logistic model over standardized signals."""

    weights: list[float]
    bias: float
    means: list[float]
    scales: list[float]
    model: str = ""  # the reader it was trained with
    # How far (logits) the second look moved the training answers' score, from its 1st to its 99th
    # percentile; None (weights from before it was kept): the look is always asked.
    look_range: tuple[float, float] | None = None
    # The same for the replies drawn again; None: drawn whenever they weigh anything.
    draws_range: tuple[float, float] | None = None

    def standardized(self, signals: Signals) -> list[float]:
        """Each signal as standard deviations from the training mean. Across languages the answer's words
        are not compared, so those signals are missing: they count as the mean (0), not as "no word
        stands in the article"."""
        values = [(x - m) / s for x, m, s in zip(signals.vector(), self.means, self.scales, strict=True)]
        values = [0.0 if math.isnan(value) else value for value in values]  # a signal not given: the mean
        if signals.cross_lingual:
            for index in WORD_SIGNALS:
                values[index] = 0.0
        return values

    def probability(self, signals: Signals) -> float:
        return _sigmoid(self._score(signals))

    def look_can_change(self, signals: Signals, threshold: float) -> bool:
        """Whether the second look (and the replies drawn after it, if not drawn yet), within the range they
        took on the training answers, could move this answer's probability across the threshold. When they
        cannot, they are not asked: the decision is the same, and the answer comes a turn sooner."""
        if self.look_range is None:
            return True
        reaches = [self.look_range]
        if signals.agreement is None and self.weights[AGREEMENT]:
            if self.draws_range is None:
                return True
            reaches.append(self.draws_range)
        unknown = replace(signals, checked_yes=None, agreement=None)  # counted as their means, 0
        return self._within_reach(unknown, threshold, reaches)

    def draws_can_change(self, signals: Signals, threshold: float) -> bool:
        """Whether the replies drawn again could move this answer's probability across the threshold."""
        if not self.weights[AGREEMENT]:
            return False
        if self.draws_range is None:
            return True
        return self._within_reach(replace(signals, agreement=None), threshold, [self.draws_range])

    def _within_reach(self, signals: Signals, threshold: float, reaches: list[tuple[float, float]]) -> bool:
        without = self._score(signals)
        low, high = sum(low for low, _ in reaches), sum(high for _, high in reaches)
        return _sigmoid(without + low) < threshold <= _sigmoid(without + high)

    def weigh(
        self,
        signals: Signals,
        threshold: float,
        look: Callable[[], float | None],
        draws: Callable[[Signals], float | None],
        *,
        always: bool = False,
    ) -> Signals:
        """The signals with the second look (look()) and then the replies drawn again (draws(signals so
        far)) added, each asked only when it could move the answer across the threshold, or always."""
        if not (always or self.look_can_change(signals, threshold)):
            return signals
        signals = replace(signals, checked_yes=look())
        if always or self.draws_can_change(signals, threshold):
            signals = replace(signals, agreement=draws(signals))
        return signals

    def settled(self, signals: Signals, threshold: float, low: float, high: float) -> bool:
        """Whether every agreement from low to high leaves the answer on the same side of the threshold: the
        replies not drawn yet could not change it."""
        lowest, highest = (self.probability(replace(signals, agreement=a)) for a in (low, high))
        return (lowest >= threshold) == (highest >= threshold)

    def asked_when_needed(self, signals: Signals, threshold: float) -> Signals:
        """Of signals with the look and the draws asked: what the engine, asking them only when they could
        change the answer, would have known."""
        unasked = replace(signals, checked_yes=None, agreement=None)
        return self.weigh(unasked, threshold, lambda: signals.checked_yes, lambda _: signals.agreement)

    def without_asking(
        self, looked: Iterable[Signals], threshold: float
    ) -> tuple[list[bool], list[bool], int]:
        """Of answers whose second look and draws were asked: which would go without the look, and without
        the draws, at this strictness, and how many decisions that changes."""
        no_look, no_draws, changed = [], [], 0
        for signals in looked:
            known = self.asked_when_needed(signals, threshold)
            no_look.append(known.checked_yes is None)
            no_draws.append(known.agreement is None)
            changed += (self.probability(known) >= threshold) != (self.probability(signals) >= threshold)
        return no_look, no_draws, changed

    def _score(self, signals: Signals) -> float:
        return self.bias + sum(w * x for w, x in zip(self.weights, self.standardized(signals), strict=True))

    def save(self, path: Path) -> None:
        record = {"features": FEATURES, **asdict(self)}
        path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def untrained(cls) -> Answerability:
        """Every answer at 0.5, the look always asked: what collects the examples weights are fitted on."""
        return cls([0.0] * len(FEATURES), 0.0, [0.0] * len(FEATURES), [1.0] * len(FEATURES))

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> Answerability:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.pop("features") != FEATURES:
                raise PromptError(f"{path} was trained on other signals: retrain it")
            look, draws = (_span(raw.pop(name, None)) for name in ("look_range", "draws_range"))
            return cls(**raw, look_range=look, draws_range=draws)
        except (OSError, ValueError, TypeError, KeyError, IndexError) as error:
            raise PromptError(f"answerability weights {path} are unreadable ({error})") from None


def _span(raw: list[float] | None) -> tuple[float, float] | None:
    return None if raw is None else (raw[0], raw[1])


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(min(z, 30.0), -30.0)))
