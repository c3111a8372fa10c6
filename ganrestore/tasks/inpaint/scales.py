"""Inpainting at any scale: run the network only around the holes, coarse to fine.

An inpainting network fills a hole from what its receptive field sees. The bundled one was
trained on 128×128 crops, so a hole pixel far from every known pixel gets no context and comes
out as the network's flat mid-grey; and a photo of a megapixel with a few holes needs the
network only near the holes. This module does both jobs:

* **Crop around the holes.** The image is cut into ``cell``×``cell`` cells; only cells that
  hold a hole pixel are run, each inside a window grown by ``margin`` pixels of context on
  every side (aligned to the network's stride, so neighbouring cells agree and no seam shows).
  Where the cells would cost more than the whole image, the whole image (or its tiles) is run
  instead. Known pixels are never changed.
* **Coarse to fine.** The *depth* of a hole pixel is its distance to the nearest known pixel
  (a distance transform). A hole deeper than ``fit`` is first filled in a copy of the image at
  half the size (holes grow to every 2×2 block they touch), halved again until it is no deeper
  than ``coarse_fit``, so that it fits the network's receptive field. The coarser fill,
  upsampled, is the *prior* of the finer level: hole pixels up to ``reach`` deep keep the
  network's output of this level, pixels deeper than ``reach + ramp`` keep the prior, and the
  weight ramps linearly in between, so the detail of the finer fill near the hole border fades
  into the coarse fill's context-aware colours deep inside, with no seam. With ``feed_prior``
  (the default) the network sees the prior as known content beyond ``reach + ramp``, so the
  band it fills joins the coarse content on both sides.

Memory: a few full-size copies of the image, plus the network on windows (as many per pass
as ``batch_size`` tiles hold) or on the tiles of
:func:`~ganrestore.inference.tiling.tiled_forward`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganrestore.inference.tiling import (
    TileForward,
    TileSettings,
    report_tiles,
    tiled_forward,
    tiled_pixels,
)
from ganrestore.models.padding import pad_to_multiple
from ganrestore.tasks.inpaint.edges import hole_depth

#: The inpainting strategies (:attr:`~ganrestore.tasks.inpaint.settings.HoleSettings.strategy`).
STRATEGIES = ("scales", "tiles")


def checked_strategy(name: str) -> str:
    """``name`` if it is one of :data:`STRATEGIES`, else a ValueError that lists them."""
    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {name!r}")
    return name


@dataclass(frozen=True)
class ScaleSettings:
    """How holes are filled across scales (defaults chosen on the development photos).

    Attributes:
        fit: the deepest hole (pixels from a hole pixel to the nearest known pixel) filled
            at the image's own resolution; a deeper one gets coarser levels first.
        coarse_fit: the deepest hole a coarser level fills on its own; levels are halved
            until the hole is no deeper than this.
        reach: hole depth up to which a level with a coarser one keeps the network's output.
        ramp: depths over which the network's output fades into the coarser level's fill.
        cell: side of the cells the image is cut into (rounded up to the network's stride).
        margin: known context around each cell, in pixels (rounded up to the stride).
        feed_prior: hand the coarse fill to the network as known content beyond
            ``reach + ramp``, instead of only blending with it afterwards.
        min_side: a level is not halved below this many pixels on its shorter side.
        finest: the finest level the network runs at (0: full resolution, 1: half, ...);
            finer levels take the upsampled fill of that level.
    """

    fit: int = 64
    coarse_fit: int = 32
    reach: int = 24
    ramp: int = 16
    cell: int = 128
    margin: int = 32
    feed_prior: bool = True
    min_side: int = 32
    finest: int = 0

    def __post_init__(self) -> None:
        if self.reach < 1 or self.ramp < 0 or self.cell < 1 or self.margin < 0:
            raise ValueError(
                f"reach and cell must be >= 1, ramp and margin >= 0; got reach={self.reach}, "
                f"ramp={self.ramp}, cell={self.cell}, margin={self.margin}"
            )


def prior_weight(depth: Tensor, settings: ScaleSettings) -> Tensor:
    """How much of the coarser level's fill a hole pixel of this depth takes, in [0, 1].

    0 up to ``reach``, 1 beyond ``reach + ramp``, linear in between.
    """
    if settings.ramp == 0:
        return (depth > settings.reach).float()
    return ((depth - settings.reach) / settings.ramp).clamp(0, 1)


def plan_cells(need: np.ndarray, cell: int) -> list[tuple[int, int]]:
    """Top-left corners of the ``cell``×``cell`` cells that hold at least one needed pixel.

    Args:
        need: ``(H, W)`` bool, True where the network's output is needed.
        cell: cell side in pixels.

    Returns:
        ``(top, left)`` pairs in row-major order; empty when ``need`` is all False.
    """
    height, width = need.shape
    rows, cols = -(-height // cell), -(-width // cell)
    grid = np.zeros((rows * cell, cols * cell), bool)
    grid[:height, :width] = need
    hit = grid.reshape(rows, cell, cols, cell).any(axis=(1, 3))
    return [(int(i) * cell, int(j) * cell) for i, j in zip(*np.nonzero(hit), strict=True)]


def cell_window(start: int, cell: int, margin: int, length: int) -> tuple[int, int]:
    """The window ``(start, stop)`` along one axis that holds a cell and its margin.

    The window has the same extent for every cell (``cell + 2 * margin``, or ``length`` when
    that is shorter) and is shifted inward at the image border, so the cell keeps at least
    ``margin`` pixels of context on each side that is not the image border.
    """
    extent = min(cell + 2 * margin, length)
    begin = min(max(start - margin, 0), length - extent)
    return begin, begin + extent


def run_where_needed(
    inputs: Tensor,
    need: np.ndarray,
    forward: TileForward,
    *,
    settings: ScaleSettings,
    tiling: TileSettings,
    device: torch.device,
    multiple: int,
) -> Tensor:
    """The network's output at every needed pixel, computed on cells with context around them.

    Args:
        inputs: ``(4, H, W)`` float on the CPU: RGB in [0, 1] and the mask (1 = hole) that the
            network is given.
        need: ``(H, W)`` bool, pixels whose output is wanted.
        forward: the network, ``(N, 4, h, w)`` on ``device`` -> ``(N, 3, h, w)`` in [0, 1].
        settings: cell side and margin.
        tiling: batch size, and the tiles used when cells would cost more than the image.
        device: where ``forward`` runs.
        multiple: the network's stride; windows start at multiples of it.

    Returns:
        ``(3, H, W)`` float32 on the CPU: the network's output at the needed pixels (and at
        other pixels of the cells or tiles run); the input RGB elsewhere.
    """
    _, height, width = inputs.shape
    output = inputs[:3].clone()
    cell = -(-settings.cell // multiple) * multiple
    margin = -(-settings.margin // multiple) * multiple
    cells = plan_cells(need, cell)
    if not cells:
        return output
    padded_h, padded_w = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    window_h, window_w = min(cell + 2 * margin, padded_h), min(cell + 2 * margin, padded_w)
    area, cells_cost = padded_h * padded_w, len(cells) * window_h * window_w
    tile = tiling.tile_for(multiple)
    budget = tile * tile if tile else area  # pixels per forward pass
    if area <= min(budget, cells_cost):  # the whole level in one pass
        whole = _window(inputs, (0, padded_h), (0, padded_w), multiple)[None]
        return forward(whole.to(device)).float().cpu()[0, :, :height, :width]
    if tile and cells_cost > tiled_pixels(padded_h, padded_w, tiling, multiple):
        return tiled_forward(
            inputs[None],
            forward,
            out_channels=3,
            settings=tiling,
            device=device,
            multiple=multiple,
            passthrough=lambda tile: not bool((tile[3] > 0.5).any()),  # no hole: no network
        )[0]
    per_pass = max(tiling.batch_size, budget // (window_h * window_w))
    for first in range(0, len(cells), per_pass):
        batch = cells[first : first + per_pass]
        spans = [
            (
                cell_window(top, cell, margin, padded_h),
                cell_window(left, cell, margin, padded_w),
            )
            for top, left in batch
        ]
        windows = torch.stack([_window(inputs, rows, cols, multiple) for rows, cols in spans])
        results = forward(windows.to(device)).float().cpu()
        for (top, left), ((r0, _), (c0, _)), result in zip(batch, spans, results, strict=True):
            bottom, right = min(top + cell, height), min(left + cell, width)
            output[:, top:bottom, left:right] = result[
                :, top - r0 : bottom - r0, left - c0 : right - c0
            ]
        report_tiles(min(first + per_pass, len(cells)), len(cells))
    return output


def _window(inputs: Tensor, rows: tuple[int, int], cols: tuple[int, int], multiple: int) -> Tensor:
    """``inputs[:, rows, cols]``, padded where it reaches past the image.

    Windows start at multiples of ``multiple`` and end at one, at most at the image size
    rounded up to it, so padding the crop to the multiple fills the window exactly.
    """
    height, width = inputs.shape[-2:]
    crop = inputs[:, rows[0] : min(rows[1], height), cols[0] : min(cols[1], width)]
    return pad_to_multiple(crop, multiple)[0]


def fill_holes(
    images: Tensor,
    masks: Tensor,
    forward: TileForward,
    *,
    settings: ScaleSettings | None = None,
    tiling: TileSettings | None = None,
    device: torch.device | None = None,
    multiple: int = 1,
    weights: Tensor | None = None,
) -> Tensor:
    """Fill the holes of each image coarse to fine, running the network only near the holes.

    Args:
        images: ``(B, 3, H, W)`` float on the CPU in [0, 1]; hole pixels are ignored.
        masks: ``(B, 1, H, W)`` float on the CPU, 1 (> 0.5) = hole.
        forward: the network, ``(N, 4, h, w)`` (RGB in [0, 1] + mask) on ``device`` ->
            ``(N, 3, h, w)`` in [0, 1]; ``h`` and ``w`` are multiples of ``multiple``.
        settings: depths, cells and margins (:class:`ScaleSettings` defaults).
        tiling: windows per forward pass, and the tiles of levels run whole.
        device: where ``forward`` runs (default: the CPU).
        multiple: the network's size multiple (stride).
        weights: ``(B, 1, H, W)`` float in [0, 1], the share of the fill in each pixel
            (:func:`~ganrestore.tasks.inpaint.edges.feather_weights`); default: the mask
            itself, so that no known pixel takes any of it.

    Returns:
        ``(B, 3, H, W)`` float32 on the CPU; pixels of weight 0 are the input's,
        bit for bit. An image without holes comes back unchanged without running the network.
    """
    settings = settings or ScaleSettings()
    tiling = tiling or TileSettings()
    device = device or torch.device("cpu")
    filled = []
    for index, (image, mask) in enumerate(zip(images.float(), masks, strict=True)):
        holes = mask[0] > 0.5
        if not bool(holes.any()):
            filled.append(image.clone())
            continue
        share = holes.float() if weights is None else weights[index, 0]
        ring = ((share > 0) & ~holes).numpy()
        result = _fill_level(image, holes, forward, settings, tiling, device, multiple, 0, ring)
        filled.append(torch.lerp(image, result, share, out=result))
    return torch.stack(filled)


def _fill_level(
    image: Tensor,
    holes: Tensor,
    forward: TileForward,
    settings: ScaleSettings,
    tiling: TileSettings,
    device: torch.device,
    multiple: int,
    level: int,
    ring: np.ndarray | None = None,
) -> Tensor:
    """``(3, H, W)`` [0, 1] with ``(H, W)`` bool holes -> ``(3, H, W)`` filled (recursive).

    ``ring``: ``(H, W)`` bool, known pixels whose network output is wanted too (feathering).
    """
    holes_np = holes.numpy()
    wanted = holes_np if ring is None else holes_np | ring
    depth_np = hole_depth(holes_np)
    has_known = not bool(holes_np.all())
    can_halve = min(holes_np.shape) >= 2 * settings.min_side
    fit = settings.fit if level == 0 else settings.coarse_fit
    deep = has_known and float(depth_np.max()) > fit
    run = functools.partial(
        run_where_needed,
        forward=forward,
        settings=settings,
        tiling=tiling,
        device=device,
        multiple=multiple,
    )
    if not (can_halve and (deep or level < settings.finest)):
        return run(torch.cat([image, holes[None].float()]), wanted)
    small_image, small_holes = _halve(image, holes)
    small = _fill_level(
        small_image, small_holes, forward, settings, tiling, device, multiple, level + 1
    )
    prior = _double(torch.where(small_holes, small, small_image), holes.shape)
    del small, small_image
    if level < settings.finest:
        return prior
    need = holes_np & (depth_np < settings.reach + settings.ramp)
    network_holes = torch.from_numpy(need) if settings.feed_prior else holes
    inputs = torch.empty(4, *holes.shape)
    torch.where(holes & ~network_holes, prior, image, out=inputs[:3])  # deep: the prior
    inputs[3] = network_holes
    near = run(inputs, need if ring is None else need | ring)
    del inputs
    return near.lerp_(prior, prior_weight(torch.from_numpy(depth_np), settings))


def _halve(image: Tensor, holes: Tensor) -> tuple[Tensor, Tensor]:
    """Half-size copy: 2×2 means of the image, and a hole wherever a block touches one.

    ``(3, H, W)``, ``(H, W)`` bool -> ``(3, ceil(H/2), ceil(W/2))``, same-size bool. A block
    cut by an odd border averages the pixels it has.
    """
    known = image.masked_fill(holes, 0)[None]
    pooled_image = F.avg_pool2d(known, 2, ceil_mode=True)[0]
    del known
    pooled_holes = F.max_pool2d(holes[None, None].float(), 2, ceil_mode=True)[0, 0] > 0
    return pooled_image, pooled_holes


def _double(image: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear ×2 upsampling of ``(3, h, w)``, cropped to ``size`` (the halved level's)."""
    height, width = image.shape[-2:]
    upsampled = F.interpolate(
        image[None], size=(2 * height, 2 * width), mode="bilinear", align_corners=False
    )
    return upsampled[0, :, : size[0], : size[1]]
