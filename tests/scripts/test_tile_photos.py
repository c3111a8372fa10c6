"""scripts/tile_photos.py: training tiles at several scales, each photo in one split."""

from __future__ import annotations

import json
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tile_photos.py"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def tile(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``python scripts/tile_photos.py ARGS``, run as ``__main__`` in this process."""

    def run(*args: str) -> Done:
        monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
        capsys.readouterr()
        try:
            runpy.run_path(str(SCRIPT), run_name="__main__")
            code = 0
        except SystemExit as stop:  # argparse refuses with exit status 2
            code = 0 if stop.code is None else stop.code if isinstance(stop.code, int) else 1
        out, err = capsys.readouterr()
        return Done(code, out, err)

    return run


def test_each_scale_adds_the_downscaled_photo_s_tiles_to_the_photo_s_split(
    tmp_path: Path, tile
) -> None:
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


def test_a_scale_outside_0_to_1_is_refused_by_name(tmp_path: Path, tile) -> None:
    done = tile(str(tmp_path), str(tmp_path / "out"), "--scales", "1,2")

    assert done.returncode != 0
    assert "--scales" in done.stderr and "(0, 1]" in done.stderr
