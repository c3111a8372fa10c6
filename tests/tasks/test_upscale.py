"""The upscale tasks: a crop becomes a small input and a target ``scale`` times larger."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganrestore.tasks import build_task
from ganrestore.tasks.upscale import UpscaleOptions, bicubic_downscale


def crop(side: int = 96) -> np.ndarray:
    """A ``(side, side, 3)`` float32 crop of the astronaut photo in [0, 1]."""
    return skimage.data.astronaut()[100 : 100 + side, 150 : 150 + side].astype(np.float32) / 255


@pytest.mark.parametrize("scale", [2, 4])
def test_a_training_item_pairs_a_small_input_with_its_crop(scale: int) -> None:
    task = build_task(f"upscale-x{scale}")
    item = task.training_item(crop(), None, np.random.default_rng(0), task.options())

    assert task.scale == scale and task.name == f"upscale-x{scale}"
    assert item["clean"].shape == (3, 96, 96)
    assert item["degraded"].shape == (3, 96 // scale, 96 // scale)


def test_the_small_input_is_the_antialiased_bicubic_downscale_in_8_bits() -> None:
    image = crop()
    small = bicubic_downscale(image, 4)
    pillow = Image.fromarray(np.rint(image * 255).astype(np.uint8)).resize(
        (24, 24), Image.Resampling.BICUBIC
    )

    assert small.shape == (24, 24, 3)
    assert np.allclose(small * 255, np.rint(small * 255))  # 8-bit levels
    assert np.abs(small * 255 - np.asarray(pillow, np.float32)).max() <= 1.0


def test_a_crop_whose_side_the_scale_does_not_divide_is_cut_to_a_multiple() -> None:
    task = build_task("upscale-x4")
    item = task.validation_item(crop(90), None, 0, np.random.default_rng(0), task.options())

    assert item["clean"].shape == (3, 88, 88)
    assert item["degraded"].shape == (3, 22, 22)


def test_jpeg_and_noise_shares_change_the_input_but_never_the_target() -> None:
    task = build_task("upscale-x2")
    plain = task.training_item(crop(), None, np.random.default_rng(3), task.options())
    options = task.options({"noise_share": 1.0, "jpeg_share": 1.0, "blur_share": 1.0})
    degraded = task.training_item(crop(), None, np.random.default_rng(3), options)

    assert np.array_equal(plain["clean"], degraded["clean"])
    assert float((plain["degraded"] - degraded["degraded"]).abs().mean()) > 0.005


def test_the_shown_input_and_the_condition_are_at_the_output_size() -> None:
    task = build_task("upscale-x4")
    item = task.validation_item(crop(), None, 0, np.random.default_rng(0), task.options())
    batch = {key: value[None] for key, value in item.items()}

    assert task.shown_input(batch).shape == (1, 3, 96, 96)
    assert task.condition(batch).shape == (1, task.condition_channels, 96, 96)


@pytest.mark.parametrize(
    ("values", "named"),
    [({"jpeg_share": 1.5}, "jpeg_share"), ({"blur_sigma": (0.0, 1.0)}, "blur_sigma")],
)
def test_options_that_cannot_work_are_refused_by_key(values: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        build_task("upscale-x2").options(values)
    assert UpscaleOptions().jpeg_share == 0.0
