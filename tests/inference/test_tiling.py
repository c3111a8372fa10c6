"""Tiled inference: coverage, alignment, blend weights, and agreement with untiled runs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import Tensor

from ganrestore.inference.tiling import (
    TileSettings,
    axis_weights,
    balanced_tile,
    size_multiple,
    tile_starts,
    tiled_forward,
    tiled_pixels,
)

from .conftest import tiny_generator

CPU = torch.device("cpu")


def psnr(a: Tensor, b: Tensor) -> float:
    return 10 * math.log10(1.0 / float(((a - b) ** 2).mean()))


class RecordingNetwork:
    """A tiny U-Net as a tile function that also remembers the batches it was given."""

    def __init__(self) -> None:
        self.generator = tiny_generator("denoise")
        self.batches: list[tuple[int, ...]] = []

    def __call__(self, tiles: Tensor) -> Tensor:
        self.batches.append(tuple(tiles.shape))
        with torch.no_grad():
            return (self.generator(tiles * 2 - 1) + 1) / 2


@pytest.fixture
def image(astronaut: np.ndarray) -> Tensor:
    """(1, 3, 72, 100) float in [0, 1]: neither side a multiple of the tile or of 8."""
    return torch.from_numpy(astronaut).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "multiple"),
    [(96, 32, 8, 8), (104, 64, 24, 8), (256, 64, 16, 1), (40, 64, 8, 8)],
)
def test_tiles_cover_every_pixel_with_the_overlap_and_aligned_starts(
    length: int, tile: int, overlap: int, multiple: int
) -> None:
    starts = tile_starts(length, tile, overlap, multiple)
    covered = np.zeros(length, bool)
    for start in starts:
        covered[start : start + tile] = True
        assert start % multiple == 0
    assert covered.all()
    assert starts[-1] + tile >= length
    for before, after in itertools.pairwise(starts):
        assert before + tile - after >= overlap


def test_blend_weights_are_positive_fade_only_toward_neighbours_and_cross_fade() -> None:
    both = axis_weights(64, 16, True, True)
    assert (both > 0).all() and float(both.max()) == 1.0
    assert float(both[0]) < 0.01 and float(both[-1]) < 0.01 and float(both[32]) == 1.0
    border = axis_weights(64, 16, False, True)
    assert float(border[0]) == 1.0
    # Two neighbours overlapping by exactly the overlap sum to about 1 across it.
    total = axis_weights(64, 16, False, True)[-16:] + axis_weights(64, 16, True, False)[:16]
    assert torch.allclose(total, torch.ones(16), atol=2e-3)


def test_tiled_and_untiled_results_agree(image: Tensor) -> None:
    network = RecordingNetwork()
    untiled = tiled_forward(
        image, network, out_channels=3, settings=TileSettings(0, 0, 4), device=CPU, multiple=8
    )
    tiled = tiled_forward(
        image, network, out_channels=3, settings=TileSettings(48, 16, 3), device=CPU, multiple=8
    )
    assert untiled.std() > 0.05  # the network really changes the image
    assert psnr(tiled, untiled) >= 45.0


def test_tiles_reach_the_network_one_batch_at_a_time_padded_to_its_multiple(
    image: Tensor,
) -> None:
    network = RecordingNetwork()
    settings = TileSettings(tile=32, overlap=8, batch_size=3)
    out = tiled_forward(image, network, out_channels=3, settings=settings, device=CPU, multiple=8)
    assert out.shape == (1, 3, 72, 100) and out.dtype == torch.float32 and out.device == CPU
    assert all(shape[0] <= 3 and shape[2:] == (32, 32) for shape in network.batches)
    count = len(tile_starts(72, 32, 8, 8)) * len(tile_starts(104, 32, 8, 8))
    assert sum(shape[0] for shape in network.batches) == count


def test_a_batch_of_images_gives_what_each_image_gives_alone(image: Tensor) -> None:
    network = RecordingNetwork()
    pair = torch.cat([image, image.flip(-1)])
    settings = TileSettings(48, 16, 4)
    together = tiled_forward(
        pair, network, out_channels=3, settings=settings, device=CPU, multiple=8
    )
    alone = tiled_forward(
        pair[1:], network, out_channels=3, settings=settings, device=CPU, multiple=8
    )
    torch.testing.assert_close(together[1:], alone, atol=1e-5, rtol=0)


def test_passthrough_tiles_skip_the_network_and_keep_their_pixels(image: Tensor) -> None:
    network = RecordingNetwork()
    mask = torch.zeros(1, 1, 72, 100)
    mask[..., 50:60, 80:90] = 1  # a hole in the bottom-right tiles only
    settings = TileSettings(32, 8, 1)
    out = tiled_forward(
        torch.cat([image, mask], 1),
        lambda tiles: network(tiles[:, :3]),
        out_channels=3,
        settings=settings,
        device=CPU,
        multiple=8,
        passthrough=lambda tile: not bool(tile[3].any()),
    )
    total = len(tile_starts(72, 32, 8, 8)) * len(tile_starts(104, 32, 8, 8))
    assert 0 < len(network.batches) < total
    assert torch.equal(out[..., :16, :16], image[..., :16, :16])


def test_size_multiple_comes_from_the_network() -> None:
    assert size_multiple(tiny_generator("denoise")) == 8
    assert size_multiple(torch.nn.Identity()) == 1


@pytest.mark.parametrize(("tile", "overlap"), [(32, 16), (-1, 0)])
def test_bad_tile_settings_are_refused(tile: int, overlap: int) -> None:
    with pytest.raises(ValueError, match=r"overlap|tile"):
        TileSettings(tile=tile, overlap=overlap)


@pytest.mark.parametrize(
    ("length", "tile", "overlap", "multiple"),
    [(1024, 512, 64, 16), (3008, 1024, 32, 16), (4000, 1024, 32, 16), (104, 32, 8, 8)],
)
def test_balanced_tiles_are_as_few_as_full_tiles_and_no_longer(
    length: int, tile: int, overlap: int, multiple: int
) -> None:
    side = balanced_tile(length, tile, overlap, multiple)
    starts = tile_starts(length, side, overlap, multiple)
    assert side <= tile and side % multiple == 0
    assert len(starts) == len(tile_starts(length, tile, overlap, multiple))
    assert starts[-1] + side == length
    for before, after in itertools.pairwise(starts):
        assert before + side - after >= overlap
    # 1024 pixels in tiles of 512: three tiles of 384 instead of 512 (1152 pixels of work).
    if (length, tile) == (1024, 512):
        assert side * len(starts) == 1152


def test_an_image_with_no_more_pixels_than_a_tile_runs_whole_in_one_pass(image: Tensor) -> None:
    network = RecordingNetwork()
    wide = torch.cat([image, image, image], dim=-1)  # 72 x 300: wider than the tile
    settings = TileSettings(tile=160, overlap=16, batch_size=4)
    tiled_forward(wide, network, out_channels=3, settings=settings, device=CPU, multiple=8)
    assert network.batches == [(1, 3, 72, 304)]
    assert tiled_pixels(72, 300, settings, 8) == 72 * 304


def test_a_pass_holds_at_most_a_tile_of_pixels() -> None:
    settings = TileSettings(tile=512, overlap=32, batch_size=4)
    assert settings.per_pass(256, 256) == 4
    assert settings.per_pass(512, 384) == 1
    assert settings.per_pass(1024, 1024) == 1
    assert TileSettings(tile=0, overlap=0, batch_size=3).per_pass(4000, 3000) == 3


def test_tiled_pixels_count_the_work_of_tiled_forward(image: Tensor) -> None:
    network = RecordingNetwork()
    settings = TileSettings(tile=48, overlap=8, batch_size=2)
    tiled_forward(image, network, out_channels=3, settings=settings, device=CPU, multiple=8)
    work = sum(n * h * w for n, _, h, w in network.batches)
    assert work == tiled_pixels(72, 100, settings, 8)
    assert all(n * h * w <= 48 * 48 for n, _, h, w in network.batches)
