"""Any article from the command line: `ingest` a page or a file, `articles`, `ask --article`,
`eval --article`, `remove`; a bad source is one line, exit status 2, and leaves the store as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.paths import PUBLIC_SETS
from tests.site import Site, news_page, serve_site
from tests.test_cli import run_cli

SUPER_BOWL = (PUBLIC_SETS / "xquad-en-super-bowl-50.txt").read_text(encoding="utf-8")
TITLE = "Panthers defense ranked sixth in the league"
OPEN = {"FETCH_ALLOW_PRIVATE_NETWORKS": "true", "FETCH_ALLOW_PORTS": "*"}


@pytest.fixture(scope="module")
def site() -> Site:
    with serve_site() as running:
        yield running


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("articles-cli")


def articles(home: Path) -> list[dict]:
    listed = run_cli(home, "articles", "--json")
    assert listed.returncode == 0, listed.stderr
    return json.loads(listed.stdout)


def test_a_news_page_is_ingested_asked_about_updated_and_removed(home, site):
    url = site.put("/sport/panthers", news_page(TITLE, SUPER_BOWL))
    ingested = run_cli(home, "ingest", url, **OPEN)
    assert ingested.returncode == 0, ingested.stderr
    name = "panthers-defense-ranked-sixth-in-the-league"
    assert ingested.stdout.startswith(f"created: {name}\n")
    assert f"title: {TITLE}" in ingested.stdout and "language: en" in ingested.stdout
    paragraphs = len([p for p in SUPER_BOWL.split("\n\n") if p.strip()])
    assert f"paragraphs: {paragraphs}\n" in ingested.stdout and "passages: " in ingested.stdout

    listed = {entry["name"]: entry for entry in articles(home)}
    entry = listed[name]
    assert {"name", "title", "language", "chunks", "sha256", "source"} <= set(entry)
    assert entry["source"] == url and entry["language"] == "en" and entry["chunks"] > paragraphs
    assert any(e["default"] for e in listed.values()), "the bundled article is still there, the default"

    asked = run_cli(
        home, "ask", "--article", name, "--json", "How many points did the Panthers defense give up?"
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "308" in answer["answer"] and answer["citations"]
    assert all(citation["quote"] in SUPER_BOWL for citation in answer["citations"])
    assert not any(word in asked.stdout for word in ("cookies", "newsletter", "Gazette")), "no site chrome"

    again = run_cli(home, "ingest", url, "--no-read", **OPEN)
    assert again.stdout.startswith(f"unchanged: {name}\n"), again.stdout + again.stderr

    site.put("/sport/panthers", news_page(TITLE, SUPER_BOWL + "\n\nThe Panthers flew home on Monday."))
    updated = run_cli(home, "ingest", url, "--name", name, "--no-read", **OPEN)
    assert updated.stdout.startswith(f"reindexed: {name}\n"), updated.stdout + updated.stderr
    [after] = [e for e in articles(home) if e["name"] == name]
    assert after["sha256"] != entry["sha256"] and after["chunks"] == entry["chunks"] + 1

    eval_set = home / "panthers.jsonl"
    question = {"id": "p-1", "question": "How many interceptions did the Panthers have?", "language": "en",
                "kind": "fact", "answerable": True, "gold_paragraphs": [0], "facts": [["24"]]}  # fmt: skip
    eval_set.write_text(json.dumps(question) + "\n", encoding="utf-8")
    evaluated = run_cli(home, "eval", "--article", name, "--set", str(eval_set), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["panthers"]["right"] == 1.0

    removed = run_cli(home, "remove", name)
    assert removed.returncode == 0 and removed.stdout.startswith(f"removed {name}")
    assert name not in {e["name"] for e in articles(home)}
    missing = run_cli(home, "ask", "--article", name, "Who won?")
    assert missing.returncode == 2 and "no article named" in missing.stderr


def test_bad_sources_get_one_line_each_and_leave_the_store_as_it_was(home, site, tmp_path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00" * 50)
    big = site.put("/big", news_page("Big", ("A long sentence about nothing much. " * 40 + "\n\n") * 20))
    before = articles(home)
    cases = [
        ([f"{site.base}/gone"], OPEN, "404"),
        (["http://127.0.0.1:9/closed"], OPEN, "127.0.0.1"),
        ([str(tmp_path / "empty.txt")], {}, "empty"),
        ([str(tmp_path / "photo.txt")], {}, "binary"),
        ([str(tmp_path / "nowhere.txt")], {}, "nowhere.txt"),
        ([f"{site.base}/image.png"], OPEN, "image.png"),
        ([f"{site.base}/nav-only"], OPEN, "no article text"),
        ([big], {**OPEN, "MAX_SOURCE_BYTES": "5000"}, "5"),
        ([f"{site.base}/sport/panthers"], {}, "FETCH_ALLOW_PRIVATE_NETWORKS"),
    ]
    for args, env, named in cases:
        result = run_cli(home, "ingest", *args, "--no-read", **env)
        problem = result.stderr.strip()
        assert result.returncode == 2, (args, result.stdout, problem)
        assert problem.count("\n") == 0 and "Traceback" not in problem, problem
        assert problem.startswith("articlebot: error: ") and named.lower() in problem.lower(), problem
    assert articles(home) == before
