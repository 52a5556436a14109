"""The CLI through its real entry point, as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engine.prompts import load_phrases
from bot.paths import BUNDLED_ARTICLE

ARTICLEBOT = Path(sys.executable).parent / "articlebot"


def run_cli(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{key: value for key, value in os.environ.items() if key != "TELEGRAM_BOT_TOKEN"},
        "CHROMA_PATH": str(tmp_path / "chroma"),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.run(
        [str(ARTICLEBOT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cli_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


def test_ask_json_stream_keeps_the_contract(cli_tmp):
    questions = [
        "Combien de localités les forces russes ont-elles prises ce mois-ci ?",
        "",
        "x" * 600,
        "What is the capital of France?",
        "When did Moscow annex Crimea?",
    ]
    result = run_cli(cli_tmp, "ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["question"] for o in objects] == questions
    answered, empty, too_long, refused, english = objects
    assert set(answered) == {"question", "answer", "refused", "language", "citations", "timings"}
    assert answered["refused"] is False and answered["language"] == "fr" and "28" in answered["answer"]
    citation = answered["citations"][0]
    assert set(citation) == {"n", "paragraph", "sentence", "quote", "chunk_id"}
    assert citation["paragraph"] == 0 and citation["n"] == 1
    assert set(answered["timings"]) == {"retrieve_ms", "first_token_ms", "total_ms"}
    assert "empty" in empty["error"]
    assert "too long" in too_long["error"]
    assert refused["refused"] is True and refused["citations"] == []
    assert english["language"] == "en" and "2014" in english["answer"]


def test_ask_human_output_quotes_the_cited_passage(cli_tmp):
    result = run_cli(cli_tmp, "ask", "Combien de localités les forces russes ont-elles prises ce mois-ci ?")
    assert result.returncode == 0, result.stderr
    assert "28" in result.stdout.splitlines()[0]
    assert "[1] §1, sentence 1: « Les forces russes progressent dans toutes les directions" in result.stdout
    assert result.stderr == "", "no llama.cpp notices or warnings on the user's terminal"


def test_info_json_reports_the_settings_in_force(cli_tmp):
    result = run_cli(cli_tmp, "info", "--json")
    info = json.loads(result.stdout)
    assert info["model_path"].endswith("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert info["embedder"] == "e5"
    assert info["chroma"] == "embedded" and info["chroma_location"] == str(cli_tmp / "chroma")
    assert (info["llm"], info["state"]) == ("local", "sqlite")
    assert info["articles"] >= 1 and info["chunks"] >= 11


def test_missing_model_file_names_the_setting(tmp_path):
    result = run_cli(tmp_path, "ask", "Qui ?", MODEL_PATH=str(tmp_path / "nope.gguf"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "MODEL_PATH" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_model_file_names_the_setting(tmp_path):
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x00garbage" * 1000)
    result = run_cli(tmp_path, "ask", "Qui ?", MODEL_PATH=str(corrupt))
    assert result.returncode == 2
    assert "MODEL_PATH" in result.stderr and "Traceback" not in result.stderr


def test_a_corrupt_assembled_default_model_says_what_to_delete(tmp_path):
    assembled = tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assembled.parent.mkdir()
    assembled.write_bytes(b"GGUF" + b"\x00half-written" * 1000)
    result = run_cli(tmp_path, "ask", "Qui ?", MODEL_CACHE_DIR=str(assembled.parent))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"{assembled} is corrupt: delete it" in result.stderr and "Traceback" not in result.stderr


def test_run_without_token_is_a_one_line_error(tmp_path):
    result = run_cli(tmp_path, "run")
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_eval_scores_a_set_about_its_own_article(tmp_path):
    """A public-style set: the article is the .txt beside the questions; one row per set."""
    article = (
        "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy.\n\n"
        "Their leader Rollo swore fealty to King Charles III of West Francia in 911."
    )
    (tmp_path / "normans.txt").write_text(article, encoding="utf-8")
    questions = [
        {"id": "n-1", "question": "Who was the leader of the Normans?", "language": "en", "kind": "fact",
         "answerable": True, "gold_paragraphs": [1], "facts": [["Rollo"]]},
        {"id": "n-2", "question": "Quel est le plat préféré de Rollo ?", "language": "fr", "kind": "fact",
         "answerable": False, "gold_paragraphs": [1], "facts": []},
    ]  # fmt: skip
    eval_set = tmp_path / "normans.jsonl"
    eval_set.write_text("\n".join(json.dumps(q) for q in questions), encoding="utf-8")
    result = run_cli(tmp_path, "eval", "--set", str(eval_set), "--json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)["normans"]
    assert metrics["questions"] == 2 and metrics["right"] == 1.0 and metrics["refused"] == 1.0
    assert metrics["verbatim_quotes"] == 1.0 and metrics["asker_language"] == 1.0


def test_start_without_a_token_answers_a_question_typed_into_it(cli_tmp):
    """`make run` on a fresh clone: no token, so an interactive session on the bundled article."""
    question = "Où se tenait la réunion des ministres de la défense ?"
    result = run_cli(cli_tmp, "start", stdin=question + "\n\n")
    assert result.returncode == 0, result.stderr
    assert "TELEGRAM_BOT_TOKEN is not set: starting an interactive session" in result.stderr
    assert "Traceback" not in result.stderr
    greeting, answer, *rest = result.stdout.split("\n? ")
    assert greeting == "Ask about the article (empty line or Ctrl-D to quit, /new to start afresh)."
    # The engine's answer to the question, in French: cited ([n] and the quoted sentence) or a refusal.
    refusal = load_phrases()["fr"]["refusal"]
    quotes = [line.split("« ", 1)[1].rstrip(" »") for line in answer.splitlines() if line.startswith("[1] §")]
    article = " ".join(BUNDLED_ARTICLE.read_text(encoding="utf-8").split())
    cited = "[1]" in answer.split("\n")[0] and quotes and all(quote in article for quote in quotes)
    assert cited or answer.strip() == refusal, answer
    assert rest == [""], "the empty line ended the session"


def test_the_interactive_session_follows_the_conversation_until_new(scripted_engine, monkeypatch):
    """Like a private chat: the next question is asked after the last exchange, within the window."""
    import io

    from bot.cli import _interactive
    from bot.engine.conversation import Conversation

    where = "Au Kazakhstan, lors d'une réunion des ministres de la défense."
    engine, model = scripted_engine([where, "Le ministre a parlé vendredi."])
    typed = iter(["Où se tenait la réunion ?", "Et quand ?", "/new", "Et quand ?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt: next(typed))
    out = io.StringIO()
    _interactive(engine, out, Conversation(600))
    first, follow_up, afresh = ([m["content"] for m in call] for call in model.calls)
    assert len(first) == 2, "the article, the question"
    # The question turn: the nearest sentence, then the question on a line of its own.
    assert follow_up[1:3] == ["Où se tenait la réunion ?", where]
    assert "Et quand ?" in follow_up[3].splitlines()
    assert len(afresh) == 2 and "Et quand ?" in afresh[1].splitlines(), "after /new, the question alone"
    shown = out.getvalue()
    assert "Starting afresh" in shown and shown.count("Le ministre a parlé vendredi. [1]") == 2
