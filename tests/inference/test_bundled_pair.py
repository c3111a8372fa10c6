"""With neither --model nor --task, each image goes to the bundled model that fits it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.io import read_image
from ganrestore.inference import ApplyOptions, NetworkRestorer, run_folder
from ganrestore.inference.bundled import BundledPair

from .conftest import kept_pixels


@pytest.fixture(scope="module")
def pair(denoise_run: Path, inpaint_run: Path) -> BundledPair:
    return BundledPair(
        NetworkRestorer.from_checkpoint(denoise_run, device="cpu"),
        NetworkRestorer.from_checkpoint(inpaint_run, device="cpu"),
    )


def test_a_folder_mixing_noisy_and_holed_photos_uses_both_models(
    tmp_path: Path, pair: BundledPair, astronaut: np.ndarray, coffee: np.ndarray, box_mask
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    Image.fromarray(coffee).save(broken / "noisy.png")
    Image.fromarray(astronaut).save(broken / "holed.png")
    Image.fromarray(box_mask(astronaut.shape[:2])).save(broken / "holed_mask.png")
    rgba = np.dstack([astronaut, 255 - box_mask(astronaut.shape[:2])])
    Image.fromarray(rgba, "RGBA").save(broken / "transparent.png")

    summary = run_folder(pair, ApplyOptions(broken, tmp_path / "fixed"))
    assert sorted(p.name for p in summary.restored) == ["holed.png", "noisy.png", "transparent.png"]
    assert not summary.skipped and not summary.failed

    def expected(restorer: NetworkRestorer, image: np.ndarray, mask=None) -> np.ndarray:
        return np.asarray(restorer.restore(image, mask))

    noisy_out = np.asarray(Image.open(tmp_path / "fixed" / "noisy.png"))
    assert np.array_equal(noisy_out, expected(pair.unmasked, coffee))
    holed_out = np.asarray(Image.open(tmp_path / "fixed" / "holed.png"))
    mask = box_mask(astronaut.shape[:2])
    assert np.array_equal(holed_out, expected(pair.masked, astronaut, mask))
    known = kept_pixels(mask)
    assert np.array_equal(holed_out[known], astronaut[known])  # beyond the grown holes: exact
    filled = read_image(tmp_path / "fixed" / "transparent.png")
    assert filled.alpha is not None and (filled.alpha == 1).all()  # holes filled: opaque


def test_the_python_api_routes_by_mask_too(pair: BundledPair, astronaut, box_mask) -> None:
    mask = box_mask(astronaut.shape[:2])
    assert np.array_equal(pair.restore(astronaut), pair.unmasked.restore(astronaut))
    assert np.array_equal(pair.restore(astronaut, mask), pair.masked.restore(astronaut, mask))
