"""The Telegram front end. Reaches the engine only through `bot.engine.records` and `bot.engine.prompts`
(and `Engine` as a type); an `Engine` is handed in by the command line. See tests/test_architecture.py.
"""
