"""The scale-out store: a real `chroma run` on 127.0.0.1, used through CHROMA_HOST/CHROMA_PORT by the same
code path as the embedded store, from ingest to a cited answer."""

from __future__ import annotations

import json

from bot.paths import PUBLIC_SETS
from tests.servers import free_port
from tests.test_cli import run_cli


def test_ingest_and_answer_through_a_chroma_server(chroma_server, tmp_path):
    article = PUBLIC_SETS / "xquad-en-super-bowl-50.txt"
    ingested = run_cli(tmp_path, "ingest", str(article), "--name", "super-bowl", "--no-read", **chroma_server)
    assert ingested.returncode == 0, ingested.stderr
    assert ingested.stdout.startswith("created: super-bowl")
    assert not (tmp_path / "chroma").exists(), "nothing was written to the embedded store"

    info = json.loads(run_cli(tmp_path, "info", "--json", **chroma_server).stdout)
    assert info["chroma"] == "server" and info["chroma_location"].endswith(chroma_server["CHROMA_PORT"])
    assert info["articles"] == 2, "the default article and the one ingested, on the server"

    question = "How many interceptions did the Panthers defense have?"
    asked = run_cli(tmp_path, "ask", "--article", "super-bowl", "--json", question, **chroma_server)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert "24" in answer["answer"] and answer["citations"][0]["quote"] in article.read_text(encoding="utf-8")


def test_an_unreachable_chroma_server_is_one_line_naming_the_setting(tmp_path):
    result = run_cli(tmp_path, "articles", CHROMA_HOST="127.0.0.1", CHROMA_PORT=str(free_port()))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "CHROMA_HOST" in result.stderr, result.stderr
