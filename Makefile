# Two commands matter: `make run` (set up, then start the bot or an interactive session) and `make test`.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: setup run test lint eval bench

setup: .venv/.synced

# uv itself comes from PyPI when missing; llama-cpp-python is built once and then cached by uv.
.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-extras
	@touch $@

run: setup
	.venv/bin/articlebot start

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/pytest -q

# The main set, then the held-out sets (written before the checks they measure were tuned).
eval: setup
	.venv/bin/articlebot eval
	.venv/bin/articlebot eval --set evals/heldout.jsonl
	.venv/bin/articlebot eval --set evals/heldout2.jsonl
	.venv/bin/articlebot eval --set evals/heldout3.jsonl

bench: setup
	.venv/bin/articlebot bench
