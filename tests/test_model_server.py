"""The scale-out model: a real llama_cpp.server (`python -m bot.model_server`) on 127.0.0.1, used through
LLM_BASE_URL by the command line, with every answer check as in-process."""

from __future__ import annotations

import json

from tests.servers import free_port
from tests.test_cli import run_cli

ANSWERABLE = "Combien de localités les forces russes ont-elles prises ce mois-ci ?"
UNANSWERABLE = "Quelle est la recette des crêpes ?"


def test_answers_and_refuses_through_the_model_server(model_server, tmp_path):
    base, log = model_server
    questions = f"{ANSWERABLE}\n{UNANSWERABLE}\n"
    asked = run_cli(tmp_path, "ask", "--json", "-", stdin=questions, LLM_BASE_URL=base)
    assert asked.returncode == 0, asked.stderr
    answered, refused = (json.loads(line) for line in asked.stdout.splitlines())
    assert answered["refused"] is False and "28" in answered["answer"], answered
    assert answered["citations"][0]["paragraph"] == 0 and "[1]" in answered["answer"]
    assert refused["refused"] is True and refused["citations"] == [], refused
    assert "refusal lean is off" not in asked.stderr, "the server gives the first token's logprobs"
    assert "POST /v1/chat/completions" in log.read_text(), "the answers came from the server"

    info = json.loads(run_cli(tmp_path, "info", "--json", LLM_BASE_URL=base).stdout)
    assert info["llm"] == "server"


def test_an_unreachable_model_server_is_one_line_naming_the_setting(tmp_path):
    unreachable = f"http://127.0.0.1:{free_port()}/v1"
    result = run_cli(tmp_path, "ask", "--json", ANSWERABLE, LLM_BASE_URL=unreachable)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "LLM_BASE_URL" in result.stderr, result.stderr
