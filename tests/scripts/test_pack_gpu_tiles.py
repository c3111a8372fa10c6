"""bench/pack_gpu_tiles.py: a share of the training tiles, the same pixels, within a size."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "pack_gpu_tiles.py"


def tiles(root: Path) -> Path:
    """tile_photos.py's layout: 6 training and 2 validation tiles of 64² cut from astronaut."""
    photo = skimage.data.astronaut()
    for index in range(8):
        folder = root / "clean" if index < 6 else root / "val" / "clean"
        folder.mkdir(parents=True, exist_ok=True)
        crop = photo[64 * index : 64 * index + 64, 100:164]
        Image.fromarray(crop).save(folder / f"astronaut_{index:04d}.png")
    return root


def test_packed_tiles_are_lossless_webp_within_the_budget(tmp_path: Path) -> None:
    source = tiles(tmp_path / "tiles")
    pack = runpy.run_path(str(SCRIPT))["pack"]
    files = sorted((source / "clean").glob("*.png"))
    one_tile = 9_000  # bytes: a 64² WebP of this photo is a few kB, so not all six fit

    written, used = pack(files, tmp_path / "out", budget=2 * one_tile)

    assert 1 <= written < len(files)
    assert used <= 2 * one_tile
    for packed in (tmp_path / "out").glob("*.webp"):
        original = np.asarray(Image.open(source / "clean" / f"{packed.stem}.png"))
        assert np.array_equal(np.asarray(Image.open(packed)), original)


def test_the_command_packs_both_splits_and_refuses_a_folder_in_use(tmp_path: Path) -> None:
    source = tiles(tmp_path / "tiles")
    out = tmp_path / "gpu-tiles"
    command = [sys.executable, str(SCRIPT), "--tiles", str(source), "--out", str(out)]

    done = subprocess.run([*command, "--val", "1"], capture_output=True, text=True, check=True)

    report = json.loads(done.stdout)
    assert (report["train_tiles"], report["of_train_tiles"], report["val_tiles"]) == (6, 6, 1)
    assert len(list((out / "clean").glob("*.webp"))) == 6
    assert len(list((out / "val" / "clean").glob("*.webp"))) == 1
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 2
    assert "is not empty" in again.stderr
