"""The answer engine: retrieval, the model, the grounding and refusal checks. Knows nothing of Telegram.

Deliberately empty: importing `bot.engine.records` must not load llama.cpp or Chroma (the Telegram front
end imports it), so `Engine` is imported from `bot.engine.engine`.
"""
