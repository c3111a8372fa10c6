"""Tasks own what is task-specific: their folder, items, network input, size ratio and config.

The built-in tasks are checked through the same interface a plugin task uses, and an
upscaling task registered in-process shows that a task may change the image size.
"""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from torch import nn

from ganrestore.config import load_config
from ganrestore.data.pair_folder import PairFolder
from ganrestore.inference import NetworkRestorer, TileSettings
from ganrestore.registry import TASKS
from ganrestore.tasks import (
    Item,
    NoOptions,
    Task,
    build_task,
    make_item,
    routed_task,
    task_names,
    to_network_range,
)


def crop() -> np.ndarray:
    """(48, 48, 3) float32 crop of the astronaut in [0, 1]."""
    return skimage.data.astronaut()[100:148, 200:248].astype(np.float32) / 255.0


def test_the_built_in_tasks_are_installed_plugins_and_route_apply() -> None:
    assert {"denoise", "inpaint"} <= set(task_names())
    assert TASKS.source("denoise").distribution == "ganrestore"
    assert routed_task("unmasked") == "denoise" and routed_task("masked") == "inpaint"


@pytest.mark.parametrize("name", ["denoise", "inpaint"])
def test_items_have_the_keys_shapes_and_ranges_every_batch_shares(name: str) -> None:
    task = build_task(name)
    options = load_config(name).task_options
    item = task.training_item(crop(), None, np.random.default_rng(3), options)
    again = task.training_item(crop(), None, np.random.default_rng(3), options)

    assert set(item) == {"clean", "degraded", "mask", "sigma"}
    assert item["degraded"].shape == (3, 48, 48) and item["mask"].shape == (1, 48, 48)
    assert all(torch.equal(item[key], again[key]) for key in item)
    assert task.network_input({k: v[None] for k, v in item.items()}).shape[1] == task.in_channels


@pytest.mark.parametrize("name", task_names())
def test_every_installed_task_shows_its_input_at_the_output_size_and_names_its_holes(
    name: str,
) -> None:
    """What validation scores and the sample grids show: the input at the target's size."""
    task = build_task(name)
    item = task.validation_item(crop(), None, 0, np.random.default_rng(0), task.options())
    batch = {key: value[None] for key, value in item.items()}
    shown = task.shown_input(batch)
    assert shown.shape == batch["clean"].shape and 0 <= shown.min() <= shown.max() <= 1
    holes = task.holes(batch)
    assert (holes is None) == (not task.uses_mask)
    if holes is not None:
        assert holes.shape == (1, 1, *batch["clean"].shape[-2:])
        assert float(shown[holes.expand_as(shown) > 0.5].abs().max()) == 0.0  # shown unknown


def test_inpaint_validation_follows_its_config_table() -> None:
    task = build_task("inpaint")
    small = task.options({"mask_kind": "box", "hole_ratio": (0.05, 0.1)})
    large = task.options({"mask_kind": "box", "hole_ratio": (0.5, 0.6)})
    rng = np.random.default_rng

    share_small = task.validation_item(crop(), None, 0, rng(0), small)["mask"].mean()
    share_large = task.validation_item(crop(), None, 0, rng(0), large)["mask"].mean()

    assert share_small < 0.15 < 0.45 < share_large


def test_a_task_checks_its_own_options() -> None:
    with pytest.raises(ValueError, match="hole_ratio must be 0 <= low <= high < 1"):
        build_task("inpaint").options({"hole_ratio": (0.5, 0.2)})
    with pytest.raises(ValueError, match="unexpected keyword argument 'sigma'"):
        build_task("denoise").options({"sigma": 25})


class UpscaleTask(Task):
    """2x upscaling by box averaging: the input is half the size of the target."""

    name = "upscale2"
    in_channels = 3
    out_channels = 3
    condition_channels = 3
    scale = 2
    pair = PairFolder(names=("small",), word="downscaled image")
    options_type = NoOptions

    def training_item(self, clean, pair, rng, options) -> Item:
        small = clean.reshape(clean.shape[0] // 2, 2, clean.shape[1] // 2, 2, 3).mean((1, 3))
        return make_item(clean, small)

    def network_input(self, batch):
        return to_network_range(batch["degraded"])

    def shown_input(self, batch):
        return torch.repeat_interleave(torch.repeat_interleave(batch["degraded"], 2, 2), 2, 3)


def test_a_task_that_changes_the_size_shows_its_input_at_the_target_size() -> None:
    task = UpscaleTask()
    item = task.training_item(crop(), None, np.random.default_rng(0), NoOptions())
    batch = {key: value[None] for key, value in item.items()}
    assert batch["degraded"].shape[-2:] == (24, 24)
    assert task.shown_input(batch).shape == batch["clean"].shape == (1, 3, 48, 48)
    assert task.holes(batch) is None


def nearest_upscaler() -> nn.Module:
    """A 'network' that repeats every pixel 2x2 (PixelShuffle of 4 equal channels)."""
    conv = nn.Conv2d(3, 12, 1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        for channel in range(3):
            conv.weight[channel * 4 : channel * 4 + 4, channel] = 1.0
    return nn.Sequential(conv, nn.PixelShuffle(2))


@pytest.mark.parametrize("tile", [0, 32])
def test_a_task_may_change_the_size_and_tiles_are_placed_at_scale(tile: int) -> None:
    image = (skimage.data.astronaut()[:70, :90] / 255.0).astype(np.float32)
    restorer = NetworkRestorer(
        nearest_upscaler(),
        UpscaleTask(),
        "cpu",
        TileSettings(tile=tile, overlap=8),
        precision="fp32",  # exact placement: no rounding to bfloat16 on the way
    )

    restored = restorer.restore(image)

    expected = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    assert restored.shape == (140, 180, 3)
    np.testing.assert_allclose(restored, expected, atol=1e-5)


def test_an_upscaling_task_registered_in_process_is_configurable() -> None:
    with TASKS.isolated():
        TASKS.register("upscale2")(UpscaleTask)
        with pytest.raises(Exception, match="ships no ready config"):
            load_config("upscale2")


def test_clean_jpeg_crops_are_kept_as_they_are_artefacts_included() -> None:
    task = build_task("denoise")
    options = task.options({"clean_share": 1.0, "clean_jpeg_share": 1.0})

    item = task.training_item(crop(), None, np.random.default_rng(1), options)

    assert torch.equal(item["clean"], item["degraded"]) and float(item["sigma"]) == 0
    original = torch.from_numpy(crop()).permute(2, 0, 1)
    assert 0 < float((item["clean"] - original).abs().mean()) < 0.05  # re-saved as JPEG


def test_drawn_detail_is_content_in_the_target_and_under_the_noise() -> None:
    task = build_task("denoise")
    original = torch.from_numpy(crop()).permute(2, 0, 1)
    clean = task.options({"overlay_share": 1.0, "clean_share": 1.0})
    noisy = task.options({"overlay_share": 1.0, "sigma_range": (25.0, 25.0)})

    kept = task.training_item(crop(), None, np.random.default_rng(4), clean)
    noised = task.training_item(crop(), None, np.random.default_rng(4), noisy)

    assert torch.equal(kept["clean"], kept["degraded"])  # drawn, then left as it is
    assert not torch.equal(kept["clean"], original)
    assert torch.equal(noised["clean"], kept["clean"])  # the same strokes: the same draws
    assert 20 / 255 < float((noised["degraded"] - noised["clean"]).std()) < 30 / 255


def test_overlay_share_zero_draws_nothing_and_leaves_the_random_stream_alone() -> None:
    task = build_task("denoise")
    before = task.options({"sigma_range": (0.0, 55.0)})
    after = task.options({"sigma_range": (0.0, 55.0), "overlay_share": 0.0})

    first = task.training_item(crop(), None, np.random.default_rng(5), before)
    second = task.training_item(crop(), None, np.random.default_rng(5), after)

    assert all(torch.equal(first[key], second[key]) for key in first)
    with pytest.raises(ValueError, match="overlay_share"):
        task.options({"overlay_share": 1.5})
