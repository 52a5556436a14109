"""The answer engine: retrieval, the reader model, the checks of its answers. Knows nothing of Telegram.

Deliberately empty: importing `bot.engine.records` must not load llama.cpp or Chroma (the Telegram front
end imports it), so `Engine` is imported from `bot.engine.engine`.
"""
