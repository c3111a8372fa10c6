"""`ganrestore apply --max-pixels` holds mask files to the limit too, as a user sees it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app

from .inference.conftest import save_tiny_run


def test_a_mask_above_max_pixels_fails_its_image_by_name_and_the_folder_goes_on(
    tmp_path: Path,
) -> None:
    photos, masks, out = tmp_path / "photos", tmp_path / "masks", tmp_path / "out"
    photos.mkdir()
    masks.mkdir()
    astronaut = skimage.data.astronaut()
    for name in ("a", "b"):
        Image.fromarray(astronaut[:40, :50]).save(photos / f"{name}.png")  # 2000 pixels
    hole = np.zeros((40, 50), np.uint8)
    hole[10:20, 10:20] = 255
    Image.fromarray(hole).save(masks / "a.png")
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(masks / "b.png")  # 10000 pixels
    run = save_tiny_run(tmp_path / "run", "inpaint")

    result = CliRunner().invoke(
        app,
        ["apply", "--in", str(photos), "--out", str(out), "--masks", str(masks),
         "--model", str(run), "--max-pixels", "5000"],
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "restored 1, skipped 0, failed 1" in result.output
    failure = next(line for line in result.output.splitlines() if line.startswith("failed:"))
    assert f"{photos / 'b.png'}: its mask {masks / 'b.png'}: 100x100" in failure
    assert "--max-pixels" in failure and "DecompressionBomb" not in result.output
    assert [path.name for path in out.iterdir()] == ["a.png"]
