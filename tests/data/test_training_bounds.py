"""``data.max_pixels``: a training photo above the limit is skipped by name, never decoded, in
ganrestore's words (never Pillow's DecompressionBombWarning), also when replaced mid-run."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganrestore.data.datasets import BadImageWarning, TrainDataset, ValDataset
from ganrestore.data.io import pillow_pixel_limit
from ganrestore.data.layout import DataError, discover
from ganrestore.tasks import build_task

DENOISE, INPAINT = build_task("denoise"), build_task("inpaint")
LIMIT = 2500  # pixels: the sample images are 40x48 = 1920
CAMERA = skimage.data.camera()  # 512x512 gray


@pytest.fixture
def photos(make_data_dir) -> Path:
    """``clean/`` with six 40x48 photos and one of 64x80 (5120 pixels, above LIMIT)."""
    root = make_data_dir(6)
    Image.fromarray(CAMERA[:64, :80]).save(root / "clean" / "big.png")
    return root


def no_pillow_warning() -> warnings.catch_warnings:
    """Every warning recorded; Pillow's limit would warn about any of these photos."""
    return warnings.catch_warnings(record=True)


def test_a_photo_above_the_limit_is_skipped_by_name_and_never_decoded(photos: Path) -> None:
    with no_pillow_warning() as seen, pillow_pixel_limit(1000):
        warnings.simplefilter("always")
        layout = discover(photos, DENOISE, max_pixels=LIMIT, val_fraction=0.2)

    assert not seen  # neither Pillow's DecompressionBombWarning nor any other
    big = photos / "clean" / "big.png"
    assert big not in {sample.clean for sample in layout.train + layout.val}
    assert len(layout.train) + len(layout.val) == 6
    reasons = dict(layout.skipped)
    assert "80x64 is 5120 pixels, above the limit of 2500 pixels" in reasons[big]
    assert "never decoded" in reasons[big] and "--max-pixels" in reasons[big]
    assert any(
        "above data.max_pixels (0.0025 megapixels) skipped: big.png" in n for n in layout.notes
    )

    everything = discover(photos, DENOISE, max_pixels=0, val_fraction=0.2)  # 0: no limit
    assert len(everything.train) + len(everything.val) == 7 and not everything.skipped


def test_oversized_photos_do_not_count_as_damaged_files(make_data_dir) -> None:
    root = make_data_dir(2)
    for index in range(3):  # three of five files: far above max_bad_fraction, but not damaged
        Image.fromarray(CAMERA[: 64 + index, :80]).save(root / "clean" / f"big{index}.png")
    layout = discover(root, DENOISE, max_bad_fraction=0.1, max_pixels=LIMIT)
    assert len(layout.skipped) == 3 and len(layout.train) + len(layout.val) == 2

    with pytest.raises(DataError, match=r"above data\.max_pixels .* raise it with --max-pixels"):
        discover(root, DENOISE, max_pixels=100)  # nothing left at all: says which limit


def test_a_mask_above_the_limit_skips_its_sample(make_data_dir) -> None:
    root = make_data_dir(6, pairs="masks")
    Image.fromarray(np.zeros((64, 80), np.uint8)).save(root / "masks" / "img00.png")
    Image.fromarray(np.zeros((64, 80, 3), np.uint8)).save(root / "clean" / "img00.png")
    layout = discover(root, INPAINT, max_pixels=LIMIT)
    assert {path.name for path, _ in layout.skipped} == {"img00.png"}
    assert len(layout.skipped) == 2  # the photo and its mask, each named


def test_a_photo_replaced_by_a_larger_one_mid_run_is_replaced_by_the_next(photos: Path) -> None:
    layout = discover(photos, DENOISE, max_pixels=LIMIT, val_fraction=0.2)
    first = layout.train[0].clean
    Image.fromarray(CAMERA[:200, :200]).save(first, format="PNG")  # after the scan
    dataset = TrainDataset(layout.train, DENOISE, 32, max_pixels=LIMIT, sigma_range=(5, 5))
    with warnings.catch_warnings(record=True) as seen, pillow_pixel_limit(1000):
        warnings.simplefilter("always")
        item = dataset[(0, 7)]
    assert item["clean"].shape == (3, 32, 32)
    assert [w.category for w in seen] == [BadImageWarning]
    message = str(seen[0].message)
    assert f"image {first} is not decoded: 200x200 is 40000 pixels" in message
    assert "Using the next image instead" in message

    validation = ValDataset(layout.train[:1], DENOISE, 32, max_pixels=0, sigma_range=(5, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validation[0]["clean"].shape == (3, 32, 32)  # 0: no limit, decoded
