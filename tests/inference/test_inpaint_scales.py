"""Inpainting at any scale: only around the holes, coarse to fine, known pixels untouched."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch

import ganrestore
from ganrestore.data.masks import free_form_mask
from ganrestore.inference import NetworkRestorer, TileSettings
from ganrestore.inference.tiling import reporting_tiles
from ganrestore.tasks.inpaint.scales import (
    ScaleSettings,
    cell_window,
    hole_depth,
    plan_cells,
    run_where_needed,
)

from .conftest import kept_pixels, tiny_generator

#: Small enough that a 100-pixel image already has three levels.
SMALL_LEVELS = ScaleSettings(fit=4, coarse_fit=4, reach=2, ramp=2, cell=16, margin=16, min_side=8)


@pytest.fixture
def inpainter(inpaint_run: Path) -> NetworkRestorer:
    restorer = ganrestore.load_restorer(inpaint_run, device="cpu")
    assert isinstance(restorer, NetworkRestorer)
    return restorer


def _network_calls(restorer: NetworkRestorer) -> list[int]:
    calls: list[int] = []
    restorer.generator.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_inpainting_fills_coarse_to_fine_by_default(inpainter: NetworkRestorer) -> None:
    assert inpainter.settings.strategy == "scales"


@pytest.mark.parametrize(
    "settings",
    [
        ScaleSettings(),
        SMALL_LEVELS,
        dataclasses.replace(SMALL_LEVELS, feed_prior=False),
        dataclasses.replace(SMALL_LEVELS, finest=1),
    ],
)
def test_known_pixels_come_back_bit_for_bit(
    inpainter: NetworkRestorer, astronaut: np.ndarray, settings: ScaleSettings
) -> None:
    inpainter.settings.scales = settings
    holes = free_form_mask(*astronaut.shape[:2], np.random.default_rng(0), (0.3, 0.4)) > 0
    filled = inpainter.restore(astronaut, mask=holes)
    known = kept_pixels(holes)  # all but the holes grown by 2 pixels
    assert np.array_equal(filled[known], astronaut[known])
    assert np.abs(filled[holes].astype(int) - astronaut[holes]).mean() > 1  # it filled them
    tensor = torch.rand(1, 3, 40, 56)
    mask = torch.zeros(1, 1, 40, 56)
    mask[..., 10:30, 8:48] = 1
    restored = inpainter.restore(tensor, mask=mask)
    known = torch.from_numpy(kept_pixels(mask[0, 0].numpy())).expand_as(tensor)
    assert torch.equal(restored[known], tensor[known])


def test_an_image_without_holes_comes_back_unchanged_without_the_network(
    inpainter: NetworkRestorer, astronaut: np.ndarray
) -> None:
    calls = _network_calls(inpainter)
    restored = inpainter.restore(astronaut, mask=np.zeros(astronaut.shape[:2], bool))
    assert np.array_equal(restored, astronaut)
    assert calls == []
    inpainter.restore(astronaut, mask=np.eye(*astronaut.shape[:2], dtype=bool))
    assert calls  # the same restorer runs its network as soon as there is a hole


def test_the_cells_cover_every_hole_with_the_context_margin() -> None:
    holes = free_form_mask(150, 230, np.random.default_rng(1), (0.1, 0.2)) > 0
    cell, margin = 32, 24
    covered = np.zeros_like(holes)
    for top, left in plan_cells(holes, cell):
        assert holes[top : top + cell, left : left + cell].any()  # no cell without a hole
        rows = cell_window(top, cell, margin, holes.shape[0])
        cols = cell_window(left, cell, margin, holes.shape[1])
        assert rows[1] - rows[0] == cell + 2 * margin and cols[1] - cols[0] == cell + 2 * margin
        bottom, right = min(top + cell, holes.shape[0]), min(left + cell, holes.shape[1])
        assert rows[0] <= max(top - margin, 0) and rows[1] >= min(bottom + margin, 150)
        assert cols[0] <= max(left - margin, 0) and cols[1] >= min(right + margin, 230)
        covered[top:bottom, left:right] = True
    assert covered[holes].all()


def test_cells_with_a_margin_beyond_the_receptive_field_match_a_whole_image_run() -> None:
    generator = tiny_generator("inpaint", seed=1)

    def forward(tiles: torch.Tensor) -> torch.Tensor:
        return generator(torch.cat([tiles[:, :3] * 2 - 1, tiles[:, 3:]], dim=1))

    image = torch.from_numpy(skimage.data.astronaut()[:256, 128:384].transpose(2, 0, 1) / 255)
    holes = np.zeros((256, 256), bool)
    holes[40:52, 30:90] = True
    holes[180:230, 200:210] = True
    inputs = torch.cat([image.float() * torch.from_numpy(~holes), torch.from_numpy(holes)[None]])
    with torch.no_grad():
        whole = forward(inputs[None].float())[0]
        cells = run_where_needed(
            inputs.float(),
            holes,
            forward,
            settings=ScaleSettings(cell=16, margin=16),
            tiling=TileSettings(tile=0),
            device=torch.device("cpu"),
            multiple=8,
        )
    hole_pixels = torch.from_numpy(holes).expand(3, -1, -1)
    assert torch.allclose(cells[hole_pixels], whole[hole_pixels], atol=1e-5)
    run = np.zeros_like(holes)
    for top, left in plan_cells(holes, 16):
        run[top : top + 16, left : left + 16] = True
    outside = torch.from_numpy(~run).expand(3, -1, -1)
    assert torch.equal(cells[outside], inputs[:3].float()[outside])  # no network far from holes


def test_a_batch_is_filled_image_by_image(inpainter: NetworkRestorer) -> None:
    inpainter.settings.scales = SMALL_LEVELS
    images = torch.rand(2, 3, 48, 64)
    masks = torch.zeros(2, 1, 48, 64)
    masks[0, :, 8:40, 10:50] = 1
    masks[1, :, 30:34, :] = 1
    together = inpainter.restore(images, mask=masks)
    for index in range(2):
        alone = inpainter.restore(images[index], mask=masks[index])
        assert torch.allclose(together[index], alone, atol=1e-6)


def test_hole_depth_is_the_distance_to_the_nearest_known_pixel() -> None:
    holes = np.zeros((9, 9), bool)
    holes[2:7, 2:7] = True
    depth = hole_depth(holes)
    assert depth[4, 4] == pytest.approx(3, abs=0.1) and depth[2, 4] == pytest.approx(1, abs=0.1)
    assert (depth[~holes] == 0).all()


def _centre_colour(image: np.ndarray) -> np.ndarray:
    """Mean RGB of the 60x100 centre of the chelsea hole below."""
    return image[120:180, 175:275].reshape(-1, 3).astype(float).mean(0)


@pytest.mark.slow
def test_a_large_hole_in_a_photo_takes_the_colours_around_it_not_grey() -> None:
    photo = np.ascontiguousarray(skimage.data.chelsea())  # (300, 451, 3): an orange cat
    holes = np.zeros(photo.shape[:2], bool)
    holes[75:225, 125:325] = True  # 150x200: its centre is 75 pixels from any known pixel
    restorer = ganrestore.load_restorer("inpaint", device="cpu")
    centres = {}
    for strategy in ("scales", "tiles"):
        restorer.settings.strategy = strategy
        centres[strategy] = _centre_colour(restorer.restore(photo, mask=holes))
    truth = _centre_colour(photo)  # orange fur, about (147, 103, 67)
    assert np.abs(centres["scales"] - truth).max() < 12  # levels of 255
    assert np.abs(centres["tiles"] - truth).max() > 2 * np.abs(centres["scales"] - truth).max()
    assert centres["scales"][0] - centres["scales"][2] > 50  # warm; grey has R close to B


def test_the_tiles_strategy_runs_the_network_once_over_the_whole_image(
    inpainter: NetworkRestorer, astronaut: np.ndarray, box_mask
) -> None:
    inpainter.settings.strategy, inpainter.settings.grow = "tiles", 0
    astronaut = np.ascontiguousarray(astronaut[:64, :96])  # a multiple of the stride: no padding
    holes = box_mask(astronaut.shape[:2]) > 127
    calls = _network_calls(inpainter)
    filled = inpainter.restore(astronaut, mask=holes)
    assert len(calls) == 1
    image = torch.from_numpy(astronaut.transpose(2, 0, 1) / 255).float()[None]
    batch = {"degraded": image, "mask": torch.from_numpy(holes)[None, None].float()}
    task = inpainter.task_spec
    with torch.no_grad():
        expected = task.restore(inpainter.generator(task.network_input(batch)), batch)
    expected = np.rint(expected[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255)
    assert np.abs(filled.astype(int) - expected).max() <= 1


def test_an_unknown_strategy_is_refused_with_the_ones_that_exist(
    inpainter: NetworkRestorer, astronaut: np.ndarray, box_mask
) -> None:
    inpainter.settings.strategy = "pyramid"
    with pytest.raises(ValueError, match="scales, tiles"):
        inpainter.restore(astronaut, mask=box_mask(astronaut.shape[:2]))


def test_the_cells_around_the_holes_report_their_progress(
    inpainter: NetworkRestorer, astronaut: np.ndarray
) -> None:
    inpainter.settings.scales = SMALL_LEVELS
    holes = np.zeros(astronaut.shape[:2], bool)
    holes[36:39, 36:39] = holes[20:23, 84:87] = True  # shallow: one level, two cells
    reports: list[tuple[int, int]] = []
    with reporting_tiles(lambda done, total: reports.append((done, total))):
        inpainter.restore(astronaut, mask=holes)
    assert reports and reports[-1] == (2, 2)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
