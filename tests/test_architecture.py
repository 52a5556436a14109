"""The layers, read from the source with `ast`: the engine and the store know nothing of Telegram or of the
command line; Telegram reaches the engine only through its records and phrases (and `Engine` as a type);
the store needs nothing from bot/ but its errors."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What the Telegram front end may import from bot.engine: at run time, and under `if TYPE_CHECKING:` only.
TELEGRAM_ENGINE_RUNTIME = {"bot.engine.records", "bot.engine.prompts", "bot.engine.conversation"}
TELEGRAM_ENGINE_TYPING = TELEGRAM_ENGINE_RUNTIME | {"bot.engine.engine", "bot.engine.library"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(source: str, module: str, *, is_package: bool = False) -> tuple[set[str], set[str]]:
    """(run-time imports, imports under `if TYPE_CHECKING:`) of a module's source, as dotted names.

    `from a.b import c` gives both "a.b" and "a.b.c" (c may be a module); relative imports are resolved;
    `importlib.import_module("x")` and `__import__("x")` with a literal name count as imports of x.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    runtime: set[str] = set()
    typing: set[str] = set()

    def visit(node: ast.AST, found: set[str]) -> None:
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.body:
                visit(child, typing)
            for child in node.orelse:
                visit(child, found)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
        for child in ast.iter_child_nodes(node):
            visit(child, found)

    visit(ast.parse(source), runtime)
    return runtime, typing


def sources(*folders: str) -> list[Path]:
    files = sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))
    assert files, folders
    return files


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    return imports(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def reaches(names: set[str], forbidden: set[str]) -> set[str]:
    return {name for name in names for bad in forbidden if name == bad or name.startswith(f"{bad}.")}


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", sources("bot/engine", "store"), ids=rel)
def test_the_engine_and_the_store_know_nothing_of_telegram_or_the_command_line(path):
    runtime, typing = imports_of(path)
    forbidden = {
        "telegram",
        "bot.telegram",
        "bot.cli",
        "bot.eval_cli",
        "bot.bench",
        "bot.bench_model",
        "bot.evaluation",
    }
    assert not reaches(runtime | typing, forbidden)


@pytest.mark.parametrize("path", sources("bot/telegram"), ids=rel)
def test_telegram_reaches_the_engine_only_through_its_public_modules(path):
    runtime, typing = imports_of(path)
    assert not reaches(runtime, {"llama_cpp", "chromadb", "store", "bot.sources", "trafilatura", "httpx"})
    assert not reaches(runtime | typing, {"llama_cpp", "chromadb", "store"})
    engine = {".".join(name.split(".")[:3]) for name in reaches(runtime, {"bot.engine"})}
    assert engine <= TELEGRAM_ENGINE_RUNTIME
    engine_types = {".".join(name.split(".")[:3]) for name in reaches(typing, {"bot.engine"})}
    assert engine_types <= TELEGRAM_ENGINE_TYPING


@pytest.mark.parametrize("path", sources("bot/speech"), ids=rel)
def test_speech_knows_nothing_of_telegram_the_command_line_or_the_answer_engine(path):
    runtime, typing = imports_of(path)
    forbidden = {
        "telegram",
        "bot.telegram",
        "bot.cli",
        "bot.eval_cli",
        "bot.bench",
        "bot.bench_model",
        "llama_cpp",
        "chromadb",
        "store",
    }
    assert not reaches(runtime | typing, forbidden)
    # The bundled Whisper is assembled by the code that assembles the readers; nothing else of the engine.
    engine = {".".join(name.split(".")[:3]) for name in reaches(runtime, {"bot.engine"})}
    assert engine <= {"bot.engine.bundled"}


@pytest.mark.parametrize("path", sources("bot/telegram"), ids=rel)
def test_telegram_hears_through_the_speech_module_only(path):
    runtime, typing = imports_of(path)
    assert not reaches(runtime | typing, {"faster_whisper", "ctranslate2", "av"})


@pytest.mark.parametrize("path", sources("store"), ids=rel)
def test_the_store_needs_only_the_errors_from_bot(path):
    runtime, typing = imports_of(path)
    assert not reaches(runtime | typing, {"bot"}) - reaches(runtime | typing, {"bot.errors"})


def test_the_scan_sees_the_imports_that_are_there():
    # Guards against a scan that passes because it finds nothing.
    app_runtime, app_typing = imports_of(ROOT / "bot/telegram/app.py")
    assert {"telegram", "telegram.ext", "bot.telegram.commands"} <= app_runtime
    assert "bot.engine.engine" in app_typing and "bot.engine.engine" not in app_runtime
    questions_runtime, _ = imports_of(ROOT / "bot/telegram/questions.py")
    assert "bot.engine.records" in questions_runtime
    engine_runtime, _ = imports_of(ROOT / "bot/engine/engine.py")
    assert {"bot.engine.retrieval", "bot.engine.llm", "bot.engine.reader"} <= engine_runtime
    library_runtime, _ = imports_of(ROOT / "bot/engine/library.py")
    assert {"store.chroma_store", "bot.sources"} <= library_runtime
    assert "chromadb" in imports_of(ROOT / "store/chroma_store.py")[0]
    assert "bot.errors" in imports_of(ROOT / "store/embeddings.py")[0]


def test_no_module_of_bot_or_store_imports_itself_back():
    """No import cycle, run-time imports inside functions included (the engine and its library had one)."""
    paths = sources("bot", "store")
    modules = {module_name(path): path for path in paths}
    graph = {
        name: {m for m in imports_of(path)[0] if m in modules and m != name} for name, path in modules.items()
    }
    cycles = []
    for start in graph:  # a path back to start through the graph is a cycle
        seen, stack = set(), [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert not cycles, cycles[:5]


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from bot import telegram", "bot.engine.x", {"bot", "bot.telegram"}),
        ("from ..telegram import app", "bot.engine.x", {"bot.telegram", "bot.telegram.app"}),
        ("from . import records", "bot.telegram.x", {"bot.telegram", "bot.telegram.records"}),
        ("def f():\n    import chromadb.api", "store.x", {"chromadb.api"}),
        ("import importlib\nimportlib.import_module('llama_cpp')", "bot.x", {"importlib", "llama_cpp"}),
    ],
)
def test_the_scan_resolves_the_forms_an_import_takes(source, module, expected):
    assert imports(source, module)[0] == expected


def test_type_checking_imports_are_told_apart():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.engine.engine import Engine\n"
    runtime, typing = imports(source, "bot.telegram.x")
    assert "bot.engine.engine" in typing and "bot.engine.engine" not in runtime


def test_importing_the_telegram_front_end_loads_neither_the_model_nor_the_store():
    heavy = "{'llama_cpp', 'chromadb', 'faster_whisper', 'ctranslate2', 'av'}"
    code = f"import sys, bot.telegram.app; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_telegram_package_does_not_hide_python_telegram_bot():
    code = "import bot.telegram.app, telegram; print(telegram.__file__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "site-packages" in out, out
