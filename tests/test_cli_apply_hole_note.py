"""`ganrestore apply` without --model: the line on how holes grow is said only when holes exist.

Without --model and --task both bundled models run, each image going to the one its mask
calls for; a folder of photos without any mask goes wholly to the denoise model, so how the
inpaint model treats holes is no news there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app
from ganrestore.inference.bundled import installed_bundled_models

HOLE_NOTE = "are grown by 2 px"

pytestmark = pytest.mark.skipif(
    not {"denoise", "inpaint"} <= set(installed_bundled_models()),
    reason="routing between the bundled models needs both of them installed",
)


@pytest.fixture
def noisy_photos(tmp_path: Path) -> Path:
    """Two noisy crops of the astronaut, no mask, no alpha."""
    folder = tmp_path / "noisy"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index, name in enumerate(("a.png", "b.jpg")):
        crop = skimage.data.astronaut()[index * 40 : index * 40 + 48, :64].astype(np.float64)
        noisy = np.clip(crop + rng.normal(0, 20, crop.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / name)
    return folder


def apply(source: Path, out: Path) -> str:
    result = CliRunner().invoke(app, ["apply", "--in", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_folder_without_holes_hears_nothing_about_holes(
    noisy_photos: Path, tmp_path: Path
) -> None:
    output = apply(noisy_photos, tmp_path / "out")
    assert "denoise: 2 image(s)" in output  # every photo went to the denoise model
    assert HOLE_NOTE not in output and "--grow-mask" not in output


def test_one_image_with_a_sidecar_mask_brings_the_note_back(
    noisy_photos: Path, tmp_path: Path
) -> None:
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 20:40] = 255
    Image.fromarray(mask).save(noisy_photos / "a_mask.png")
    output = apply(noisy_photos, tmp_path / "out")
    assert HOLE_NOTE in output and "--grow-mask 0" in output
    assert "inpaint: 1 image(s)" in output


def test_transparent_pixels_are_holes_and_bring_the_note_back(
    noisy_photos: Path, tmp_path: Path
) -> None:
    rgba = np.dstack([np.asarray(Image.open(noisy_photos / "a.png")), np.full((48, 64), 255)])
    rgba[10:20, 20:40, 3] = 0
    Image.fromarray(rgba.astype(np.uint8)).save(noisy_photos / "a.png")
    output = apply(noisy_photos, tmp_path / "out")
    assert HOLE_NOTE in output
    assert "inpaint: 1 image(s)" in output
