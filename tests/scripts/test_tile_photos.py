"""scripts/tile_photos.py: training tiles at several scales, each photo in one split."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import skimage.data
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tile_photos.py"


def tile(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_each_scale_adds_the_downscaled_photo_s_tiles_to_the_photo_s_split(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skimage.data.coffee()).save(photos / "coffee.png")  # 600 x 400
    out = tmp_path / "tiles"

    done = tile(str(photos), str(out), "--tile", "128", "--scales", "1,0.5", "--val-share", "0")

    assert done.returncode == 0, done.stderr
    names = sorted(path.name for path in (out / "clean").iterdir())
    full = [name for name in names if "_x050_" not in name]
    half = [name for name in names if "_x050_" in name]
    assert len(full) == 3 * 4 and full[0] == "coffee_0000_0000.png"  # 400 x 600 -> 3 x 4 tiles
    assert half == ["coffee_x050_0000_0000.png", "coffee_x050_0000_0128.png"]  # 200 x 300
    assert json.loads(done.stdout) == {"photos": 1, "train_tiles": 14, "val_tiles": 0}
    with Image.open(out / "clean" / half[0]) as opened:
        assert opened.size == (128, 128)

    in_val = tile(
        str(photos), str(tmp_path / "val"), "--tile", "128", "--scales", "1,0.5", "--val-share", "1"
    )
    assert json.loads(in_val.stdout)["val_tiles"] == 14  # no scale of a val photo is trained on


def test_a_scale_outside_0_to_1_is_refused_by_name(tmp_path: Path) -> None:
    done = tile(str(tmp_path), str(tmp_path / "out"), "--scales", "1,2")

    assert done.returncode != 0
    assert "--scales" in done.stderr and "(0, 1]" in done.stderr
