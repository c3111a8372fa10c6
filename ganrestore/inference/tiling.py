"""Tiled inference: any image size through a network, with memory bounded by the tile size.

An image with more pixels than one tile is cut into the fewest overlapping tiles of at most
the tile's side, all of one size and spread evenly, so that no pixel is computed more often
than the overlap needs; each tile is run through the network and pasted back with weights that
ramp linearly from the tile's edge across the overlap, so neighbouring tiles fade into each
other and no seam shows. Tiles go to the device one batch at a time and come back to the CPU,
where the output is accumulated: the whole image never sits on the accelerator. An image with
no more pixels than a tile runs whole, in one pass, as a single tile, so tiled and untiled runs
share one code path.

Tiles are padded at the bottom and right to the network's size multiple (reflected, or
replicated where a reflection does not fit: :func:`ganrestore.models.padding.pad_to_multiple`)
and cropped back, so any size works even for networks that do not pad themselves.

Progress: inside ``with reporting_tiles(callback):`` every :func:`tiled_forward` call on this
thread reports ``callback(done, total)`` after each batch of tiles, whichever restorer calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganrestore.models.padding import pad_to_multiple

#: ``forward(tiles)``: ``(N, C_in, h, w)`` on the device -> ``(N, C_out, h, w)`` in [0, 1].
TileForward = Callable[[Tensor], Tensor]
#: ``passthrough(tile)``: ``(C_in, h, w)`` on the CPU -> True to copy its first C_out channels.
TilePassthrough = Callable[[Tensor], bool]
#: ``progress(done, total)``: tiles of the current :func:`tiled_forward` call finished so far.
TileProgress = Callable[[int, int], None]

_TILE_PROGRESS: ContextVar[TileProgress | None] = ContextVar("tile_progress", default=None)


@contextmanager
def reporting_tiles(progress: TileProgress) -> Iterator[None]:
    """Within the block, :func:`tiled_forward` reports its tiles to ``progress``."""
    token = _TILE_PROGRESS.set(progress)
    try:
        yield
    finally:
        _TILE_PROGRESS.reset(token)


def report_tiles(done: int, total: int) -> None:
    """Tell the :func:`reporting_tiles` callback of this thread (if any) how far a pass is."""
    report = _TILE_PROGRESS.get()
    if report is not None:
        report(done, total)


@dataclass(frozen=True)
class TileSettings:
    """How images are cut for the network.

    A forward pass holds at most ``tile`` x ``tile`` pixels, which bounds its memory (about
    0.6 GB per megapixel for the bundled models on a CPU, in float32). An image that fits is
    run whole, in one pass; a larger one is cut into the fewest tiles of at most ``tile`` per
    side, all of one size, spread evenly so that they overlap by ``overlap`` or a little more
    (:func:`balanced_tile`): no pixel is computed more often than that needs.

    Attributes:
        tile: largest tile side in pixels (rounded up to the network's size multiple); 0 never
            tiles (and never limits a pass).
        overlap: pixels shared by neighbouring tiles, blended linearly; less than ``tile / 2``.
        batch_size: same-size whole images (or tiles) per forward pass, as long as the pass
            stays within ``tile`` x ``tile`` pixels (:meth:`per_pass`).
    """

    tile: int = 1024
    overlap: int = 32
    batch_size: int = 4

    def __post_init__(self) -> None:
        if self.tile < 0 or self.overlap < 0 or self.batch_size < 1:
            raise ValueError(
                f"tile and overlap must be >= 0 and batch_size >= 1, got tile={self.tile}, "
                f"overlap={self.overlap}, batch_size={self.batch_size}"
            )
        if self.tile and 2 * self.overlap >= self.tile:
            raise ValueError(
                f"overlap ({self.overlap}) must be less than half the tile ({self.tile})"
            )

    def tile_for(self, multiple: int) -> int:
        """The tile side rounded up to ``multiple``; 0 (no tiling) stays 0."""
        return -(-self.tile // multiple) * multiple if self.tile else 0

    def fits_one_tile(self, height: int, width: int, multiple: int = 1) -> bool:
        """Whether an image of this size is run whole: it has no more pixels than one tile.

        A panorama of 2000 x 500 pixels runs whole with tiles of 1024; its size is padded to
        ``multiple`` first.
        """
        tile = self.tile_for(multiple)
        padded_h, padded_w = -(-height // multiple) * multiple, -(-width // multiple) * multiple
        return tile == 0 or padded_h * padded_w <= tile * tile

    def per_pass(self, height: int, width: int, multiple: int = 1) -> int:
        """How many images (or tiles) of ``height`` x ``width`` go through one forward pass.

        ``batch_size``, but no more than fit in ``tile`` x ``tile`` pixels; at least one.
        """
        tile = self.tile_for(multiple)
        if tile == 0:
            return self.batch_size
        return max(1, min(self.batch_size, tile * tile // max(1, height * width)))


def tile_starts(length: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
    """Start offsets of the tiles covering ``length`` pixels; the last tile ends at the border.

    Starts are multiples of ``multiple`` (a strided network computes the same thing for a
    pixel only when the tile grid is aligned to its stride), so consecutive tiles may overlap
    by more than ``overlap``.

    Args:
        length: image height or width, a multiple of ``multiple`` (pad the image first).
        tile: tile side, a multiple of ``multiple`` (0: one tile covering everything).
        overlap: least overlap between consecutive tiles.
        multiple: alignment of the starts.

    Returns:
        Sorted offsets; ``[0]`` when one tile covers the whole length.
    """
    if tile == 0 or length <= tile:
        return [0]
    step = max(multiple, (tile - overlap) // multiple * multiple)
    return [*range(0, length - tile, step), length - tile]


def balanced_tile(length: int, tile: int, overlap: int, multiple: int = 1) -> int:
    """The shortest tile side that covers ``length`` with as few tiles as ``tile`` does.

    Tiles of the full ``tile`` side leave the last one overlapping its neighbour by far more
    than ``overlap`` (1024 pixels in tiles of 512 take three tiles, 1536 pixels of network
    work); tiles of this side spread the same count evenly (three tiles of 352: 1056 pixels).

    Args:
        length: image height or width, a multiple of ``multiple`` (pad the image first).
        tile: largest tile side, a multiple of ``multiple`` (0: one tile covering everything).
        overlap: least overlap between consecutive tiles.
        multiple: alignment of the tile side and of the starts.

    Returns:
        A multiple of ``multiple`` in ``(overlap, tile]``; ``length`` when one tile covers it.
    """
    if tile == 0 or length <= tile:
        return length
    count = len(tile_starts(length, tile, overlap, multiple))
    side = -(-(length + (count - 1) * overlap) // count)
    side = -(-side // multiple) * multiple
    while side < tile and len(tile_starts(length, side, overlap, multiple)) > count:
        side += multiple
    return min(side, tile)


def tiled_pixels(height: int, width: int, settings: TileSettings, multiple: int = 1) -> int:
    """Pixels :func:`tiled_forward` runs through the network for one image of this size."""
    padded_h, padded_w = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    if settings.fits_one_tile(padded_h, padded_w):
        return padded_h * padded_w
    tile = settings.tile_for(multiple)
    tile_h = balanced_tile(padded_h, tile, settings.overlap, multiple)
    tile_w = balanced_tile(padded_w, tile, settings.overlap, multiple)
    rows = tile_starts(padded_h, tile_h, settings.overlap, multiple)
    cols = tile_starts(padded_w, tile_w, settings.overlap, multiple)
    return len(rows) * len(cols) * tile_h * tile_w


def axis_weights(extent: int, overlap: int, fade_start: bool, fade_end: bool) -> Tensor:
    """1-D blend weights of one tile: 1 inside, fading toward sides that face another tile.

    Across the ``overlap`` pixels next to a faded side, the first quarter (where the network
    saw the tile's artificial border) weighs almost nothing, the middle half ramps linearly up
    and the last quarter weighs 1; the neighbour's weights mirror these, so the tiles cross-fade
    in the middle of their overlap. Image borders keep full weight. Weights never reach zero,
    so dividing by their sum is always safe.

    Returns:
        ``(extent,)`` float32 in (0, 1].
    """
    weights = torch.ones(extent)
    overlap = min(overlap, extent // 2)
    if overlap > 0:
        position = (torch.arange(overlap, dtype=torch.float32) + 0.5) / overlap  # (0, 1)
        ramp = ((position - 0.25) * 2).clamp(1e-3, 1.0)
        if fade_start:
            weights[:overlap] = ramp
        if fade_end:
            weights[extent - overlap :] = ramp.flip(0)
    return weights


def size_multiple(module: nn.Module) -> int:
    """The size multiple a network wants: its ``size_multiple``, ``2**depth`` (U-Net) or 1."""
    multiple = getattr(module, "size_multiple", None)
    if isinstance(multiple, int) and multiple > 0:
        return multiple
    depth = getattr(module, "depth", None)
    if isinstance(depth, int) and 0 < depth < 16:
        return 2**depth
    return 1


@dataclass(frozen=True)
class _Tile:
    index: int  # image in the batch
    top: int
    left: int
    weight_key: tuple[bool, bool, bool, bool]  # fade top, bottom, left, right


def _plan(
    batch: int, height: int, width: int, tile: tuple[int, int], overlap: int, multiple: int
) -> list[_Tile]:
    rows = tile_starts(height, tile[0], overlap, multiple)
    cols = tile_starts(width, tile[1], overlap, multiple)
    return [
        _Tile(index, top, left, (i > 0, i < len(rows) - 1, j > 0, j < len(cols) - 1))
        for index in range(batch)
        for i, top in enumerate(rows)
        for j, left in enumerate(cols)
    ]


def tiled_forward(
    images: Tensor,
    forward: TileForward,
    *,
    out_channels: int,
    settings: TileSettings,
    device: torch.device,
    multiple: int = 1,
    passthrough: TilePassthrough | None = None,
    scale: int = 1,
) -> Tensor:
    """Run ``forward`` over ``images`` tile by tile and blend the tiles back together.

    The image is treated as reflect-padded at the bottom and right to a multiple of
    ``multiple``; tiles start at multiples of it, so every pixel is computed on the same grid
    as in an untiled run, and tiled and untiled outputs agree up to the tiles' border effects
    (which the blend weights discount).

    Args:
        images: ``(B, C_in, H, W)`` float on the CPU (e.g. RGB in [0, 1], plus a mask channel).
        forward: maps a device batch ``(N, C_in, h, w)`` to ``(N, out_channels, scale * h,
            scale * w)``; ``h`` and ``w`` are multiples of ``multiple``.
        out_channels: channels of the result.
        settings: tile side, overlap and tiles per forward pass.
        device: where ``forward`` runs; tiles are moved there one batch at a time.
        multiple: size multiple (stride) the network needs.
        passthrough: tiles for which it returns True skip the network and keep their first
            ``out_channels`` input channels (e.g. inpainting tiles without holes); only with
            ``scale`` 1.
        scale: output side / input side (a task that changes the size, e.g. upscaling):
            tiles are placed and blended at ``scale`` times their input position and overlap.

    Returns:
        ``(B, out_channels, scale * H, scale * W)`` float32 on the CPU.
    """
    if scale < 1 or (scale != 1 and passthrough is not None):
        raise ValueError(f"scale must be >= 1 (and 1 with passthrough), got {scale}")
    batch, _, height, width = images.shape
    padded_h, padded_w = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    tile = 0 if settings.fits_one_tile(padded_h, padded_w) else settings.tile_for(multiple)
    tile_h = balanced_tile(padded_h, tile, settings.overlap, multiple)
    tile_w = balanced_tile(padded_w, tile, settings.overlap, multiple)
    plan = _plan(batch, padded_h, padded_w, (tile_h, tile_w), settings.overlap, multiple)
    per_pass = settings.per_pass(tile_h, tile_w, multiple)
    blend = len(plan) > batch  # several tiles per image
    output = torch.zeros(batch, out_channels, height * scale, width * scale)
    weight_sum = torch.zeros(height * scale, width * scale) if blend else None
    weights: dict[tuple[bool, bool, bool, bool], Tensor] = {}

    def inside(spot: _Tile, factor: int = 1) -> tuple[slice, slice]:
        """The tile's rows and columns in the input (factor 1) or the output (``scale``)."""
        return (
            slice(spot.top * factor, min(spot.top + tile_h, height) * factor),
            slice(spot.left * factor, min(spot.left + tile_w, width) * factor),
        )

    def paste(spot: _Tile, result: Tensor) -> None:
        rows, cols = inside(spot, scale)
        result = result[:, : rows.stop - rows.start, : cols.stop - cols.start]
        if weight_sum is None:
            output[spot.index, :, rows, cols] = result
            return
        if spot.weight_key not in weights:
            fade_top, fade_bottom, fade_left, fade_right = spot.weight_key
            overlap = settings.overlap * scale
            along_h = axis_weights(tile_h * scale, overlap, fade_top, fade_bottom)
            along_w = axis_weights(tile_w * scale, overlap, fade_left, fade_right)
            weights[spot.weight_key] = along_h[:, None] * along_w[None, :]
        weight = weights[spot.weight_key][: rows.stop - rows.start, : cols.stop - cols.start]
        output[spot.index, :, rows, cols] += weight * result
        if spot.index == 0:
            weight_sum[rows, cols] += weight

    def crop(spot: _Tile) -> Tensor:
        rows, cols = inside(spot)
        return images[spot.index, :, rows, cols]

    report = _TILE_PROGRESS.get()
    pending: list[_Tile] = []
    for position, spot in enumerate(plan):
        if passthrough is not None and passthrough(crop(spot)):
            paste(spot, crop(spot)[:out_channels].float())
        else:
            pending.append(spot)
        if pending and (len(pending) == per_pass or position == len(plan) - 1):
            tiles = torch.cat([pad_to_multiple(crop(s)[None], multiple)[0] for s in pending])
            results = forward(tiles.to(device, non_blocking=True)).float().cpu()
            for done, result in zip(pending, results, strict=True):
                paste(done, result)
            pending = []
            if report is not None and position < len(plan) - 1:
                report(position + 1, len(plan))
    if report is not None:  # also when the last tiles passed through without the network
        report(len(plan), len(plan))
    if weight_sum is not None:
        output /= weight_sum
    return output
