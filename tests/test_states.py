"""Saved article states stay within their budget, the least recently used going first."""

import os

from bot.engine.states import StateFiles


def test_the_least_recently_used_states_go_beyond_the_budget(tmp_path):
    states = StateFiles(tmp_path, budget_bytes=2500)
    for age, key in enumerate(["old", "middle", "new"]):
        path = states.path(key)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 + age, 1000 + age))
    states.used(states.path("old"))  # asked about again: now the most recent
    assert sorted(p.stem for p in tmp_path.glob("*.state")) == ["new", "old"]
    assert states.total_bytes() == 2000


def test_the_state_just_used_is_kept_even_alone_over_budget(tmp_path):
    states = StateFiles(tmp_path, budget_bytes=10)
    big = states.path("big")
    big.write_bytes(b"x" * 100)
    states.used(big)
    assert big.exists()
