"""The settings object and .env.example agree: every setting is documented, nothing stale is."""

import re

from bot.paths import PROJECT_ROOT
from bot.settings import Settings


def test_env_example_lists_every_setting_and_only_those():
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}
