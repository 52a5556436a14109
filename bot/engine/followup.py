"""Whether a new question continues the previous exchange: the model's yes or no, read from its first token.

The judgement is asked as the next turn of the conversation the follow-up would have (the article, the
previous question and answer), so llama.cpp reuses the article's evaluated prefix and the exchange's tokens:
one forward pass over the question, no generation, and the article stays in the cache for the answer. No word
lists: the model reads the question in whatever language it is written.
"""

from __future__ import annotations

from bot.engine.llm import Message, TextModel
from bot.engine.prompts import render_file
from bot.engine.reader import YES_NO

# The least share of "yes" (against "no") at which a question is taken as a follow-up (README, "Follow-up
# questions": chosen on the tuning half of evals/followups.jsonl).
FOLLOW_UP_THRESHOLD = 0.5


class FollowUpJudge:
    """Asks the model whether a question depends on the previous exchange."""

    def __init__(self, model: TextModel, threshold: float = FOLLOW_UP_THRESHOLD) -> None:
        self._model = model
        self.threshold = threshold

    def probability(self, conversation: list[Message], question: str) -> float:
        """The share of yes among the model's first-token yes and no, after the conversation (the article and
        the previous exchange) and the question."""
        turn = render_file("follow_up_user.txt", question=question).strip()
        asked = [*conversation, {"role": "user", "content": turn}]
        yes, capital_yes, no, capital_no = self._model.next_token_probabilities(asked, YES_NO)
        said = yes + capital_yes + no + capital_no
        return (yes + capital_yes) / said if said > 0 else 0.0

    def follows(self, probability: float) -> bool:
        return probability >= self.threshold
