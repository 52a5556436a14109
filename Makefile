# Two commands matter: `make run` (set up, then start the bot or an interactive session) and `make test`.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: setup run test lint eval bench

setup: .venv/.synced

# uv itself comes from PyPI when missing; llama-cpp-python is built once and then cached by uv. Bytecode is
# compiled at install (about 5 s): where PYTHONDONTWRITEBYTECODE is set, or .venv is read-only, every start
# would otherwise compile the dependencies again (0.7 s of each start here).
.venv/.synced: pyproject.toml uv.lock Makefile
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-extras --compile-bytecode
	@touch $@

run: setup
	.venv/bin/articlebot start

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest -q

# Every eval set: the bundled article's own, then the public ones (evals/public/), held-out ones included.
eval: setup
	.venv/bin/articlebot eval --heldout

bench: setup
	.venv/bin/articlebot bench
