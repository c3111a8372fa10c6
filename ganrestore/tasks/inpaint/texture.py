"""Texture for a smooth fill: the photo's own fine detail, copied where the fill's colours match.

An inpainting network trained on a CPU fills a large hole with the right colours and edges but
smoothly: it predicts the mean of every texture that could be there. The photo itself holds the
texture that belongs there (the grass around the removed object, the rest of the wall). This
module splits images into a smooth *base* (a Gaussian blur of sigma ``settings.sigma``) and the
*detail* left over, and gives the fill the detail of the known patches whose base looks most
like the fill's base:

1. The hole is covered by ``patch``×``patch`` patches every ``patch // 2`` pixels.
2. Candidate source patches are the known patches (every pixel known and at least ``2 sigma``
   from a hole, so their detail holds no fill) around the holes, on a grid, at most
   ``candidates`` of them.
3. Each hole patch takes one of the ``choices`` candidates whose base, at 4×4 resolution, is
   nearest to its own (colour and coarse structure), with a penalty for distance, so that
   texture comes from nearby first; drawing among a few (with a fixed seed) keeps one source
   from repeating as a tile pattern.
4. The chosen patches' detail (its brightness only, the same in every channel, unless
   ``luma_only`` is off), times ``gain``, is blended with raised-cosine windows (no block
   edges) and added to the fill's base; it fades in over the first ``fade`` pixels of the
   hole, where the network's own fill already continues the known pixels.

The network decides *what* goes where (colour, light, edges); the copied detail only adds the
grain of the photo. Deterministic, on the CPU in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganrestore.data.colour import LUMA_WEIGHTS
from ganrestore.tasks.inpaint.edges import distance_to_holes, hole_depth


@dataclass(frozen=True)
class TextureSettings:
    """How the photo's detail is copied into a fill.

    Attributes:
        sigma: the Gaussian (pixels) that separates the smooth base from the detail.
        patch: side of the copied patches, in pixels (a multiple of 4: their base is compared
            at 4×4).
        gain: how much of the copied detail is added (1.0: as strong as in the source).
        candidates: the most source patches compared (a grid over the known pixels near the
            holes, thinned evenly when there are more).
        search: how far from the holes sources are taken, in pixels.
        distance_cost: the penalty for a source's distance (per ``search`` pixels), in units of
            the mean squared base difference.
        choices: each hole patch takes one of this many best sources, at random (a fixed seed),
            so that one source is not copied over and over.
        fade: hole depth (pixels) over which the copied detail fades in from the hole's edge.
        luma_only: copy the detail's brightness only (the same in every channel), so that a
            source's colours never tint the fill.
    """

    sigma: float = 4.0
    patch: int = 32
    gain: float = 1.0
    candidates: int = 4096
    search: int = 256
    distance_cost: float = 3.0
    choices: int = 8
    fade: float = 4.0
    luma_only: bool = True

    def __post_init__(self) -> None:
        if self.patch < 8 or self.patch % 4:
            raise ValueError(f"patch must be a multiple of 4, at least 8, got {self.patch}")
        if not (self.sigma > 0 and self.gain >= 0 and self.search > 0):
            raise ValueError("sigma and search must be > 0 and gain >= 0")
        if self.candidates < 1 or self.choices < 1:
            raise ValueError("candidates and choices must be at least 1")


def gaussian_blur(image: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)``, borders reflected, radius ``3 sigma``.

    One channel at a time, so that a 12 MP photo needs one channel's temporaries, not three.
    """
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).to(image)
    across, down = kernel.view(1, 1, 1, -1), kernel.view(1, 1, -1, 1)
    blurred = torch.empty_like(image)
    for channel in range(image.shape[1]):
        plane = image[:, channel : channel + 1]
        padded = F.pad(plane, (radius, radius, radius, radius), mode="reflect")
        blurred[:, channel : channel + 1] = F.conv2d(F.conv2d(padded, across), down)
    return blurred


def _luma(image: Tensor) -> Tensor:
    """``(1, H, W)`` BT.601 luma of ``(3, H, W)`` (a 1-channel image as it is)."""
    if image.shape[0] != 3:
        return image[:1]
    weights = torch.tensor(LUMA_WEIGHTS, dtype=image.dtype)
    return torch.einsum("c,chw->hw", weights, image)[None]


def _window(patch: int) -> Tensor:
    """Raised-cosine window whose copies every ``patch // 2`` pixels sum to 1."""
    ramp = torch.sin(torch.pi * (torch.arange(patch, dtype=torch.float32) + 0.5) / patch) ** 2
    return ramp[:, None] * ramp[None, :]


def _grid(length: int, patch: int, step: int) -> np.ndarray:
    """Patch starts along one axis covering ``[0, length)`` every ``step``, the last flush."""
    starts = np.arange(0, max(length - patch, 0) + 1, step)
    if starts[-1] != max(length - patch, 0):
        starts = np.append(starts, max(length - patch, 0))
    return starts


def _descriptors(pooled: Tensor, tops: np.ndarray, lefts: np.ndarray, quarter: int) -> Tensor:
    """The base of each patch at 4×4, ``(N, C * 16)``, from the base pooled by ``quarter``
    (``(C, H / quarter, W / quarter)``) and the patches' corners (multiples of ``quarter``)."""
    rows = torch.as_tensor(tops // quarter)[:, None] + torch.arange(4)[None, :]
    cols = torch.as_tensor(lefts // quarter)[:, None] + torch.arange(4)[None, :]
    blocks = pooled[:, rows[:, :, None], cols[:, None, :]]  # (C, N, 4, 4)
    return blocks.permute(1, 0, 2, 3).reshape(len(tops), -1)


#: Hole patches matched and pasted at a time (bounds the memory of a huge hole).
_CHUNK = 2048


def transfer_texture(
    filled: Tensor, holes: Tensor, settings: TextureSettings | None = None
) -> Tensor:
    """``filled`` with the photo's own detail copied into its holes.

    Args:
        filled: ``(C, H, W)`` float in [0, 1]: the known pixels and the network's fill.
        holes: ``(H, W)`` bool, True = filled pixel.
        settings: see :class:`TextureSettings`.

    Returns:
        ``(C, H, W)`` float32; pixels outside ``holes`` are ``filled``'s, bit for bit. Without
        holes, without known patches to copy from, or smaller than a patch: ``filled`` itself.
    """
    settings = settings or TextureSettings()
    hole_mask = holes.cpu().numpy().astype(bool)
    height, width = hole_mask.shape
    if not hole_mask.any() or hole_mask.all() or min(height, width) < settings.patch:
        return filled
    image = filled.float().cpu()
    base = gaussian_blur(image[None], settings.sigma)[0]
    # The smallest distance to a hole over the patch that starts at each pixel.
    patch = settings.patch
    nearest = cv2.erode(
        distance_to_holes(hole_mask),
        np.ones((patch, patch), np.uint8),
        anchor=(0, 0),
        borderType=cv2.BORDER_REPLICATE,
    )
    sources = _sources(nearest, settings)
    if len(sources) == 0:
        return filled
    targets = _targets(nearest, settings)
    del nearest
    picks = _choose(base, targets, sources, settings)
    # In place from here: a 12 MP photo holds a few of these 144 MB maps at once. The change
    # is fade * (base + gain * copied - image) = fade * (gain * copied - detail) in the holes.
    detail = base.neg_().add_(image)
    # Only the brightness of the detail is copied, the same in every channel: a source's
    # colour detail (a badge's blue on an orange sleeve) would tint the fill.
    luma = _luma(detail) if settings.luma_only else detail
    copied, weight = _overlap_add(luma, targets, sources[picks], patch)
    change = detail.neg_().add_(copied.mul_(settings.gain))  # copied: 1 or C channels
    del detail, base, copied
    fade = torch.from_numpy(hole_depth(hole_mask))
    fade = fade.div_(settings.fade).clamp_(0, 1) if settings.fade > 0 else (fade > 0).float()
    fade.mul_(weight > 1e-3)
    del weight
    inside = torch.from_numpy(hole_mask)
    result = change.mul_(fade).add_(image).clamp_(0, 1)
    # Outside the holes the input, bit for bit (a boolean index would cost gigabytes here).
    return torch.where(inside, result, image).to(filled.dtype)


def _sources(nearest: np.ndarray, settings: TextureSettings) -> np.ndarray:
    """``(N, 2)`` top-left corners of the patches to copy from, on the 4×4 descriptor grid.

    A source holds no pixel within ``2 sigma`` of a hole (its detail holds no fill) and at
    least one within ``search``; at most ``candidates``, thinned evenly.
    """
    quarter = settings.patch // 4
    height, width = nearest.shape
    tops = _grid(height, settings.patch, quarter)
    lefts = _grid(width, settings.patch, quarter)
    corners = np.stack(np.meshgrid(tops - tops % quarter, lefts - lefts % quarter, indexing="ij"))
    corners = corners.reshape(2, -1).T
    clearance = nearest[corners[:, 0], corners[:, 1]]
    chosen = corners[(clearance >= 2 * settings.sigma) & (clearance <= settings.search)]
    if len(chosen) > settings.candidates:
        keep = np.linspace(0, len(chosen) - 1, settings.candidates).round().astype(int)
        chosen = chosen[keep]
    return chosen


def _targets(nearest: np.ndarray, settings: TextureSettings) -> np.ndarray:
    """``(M, 2)`` top-left corners of the patches, every ``patch / 2``, that touch a hole."""
    patch, step = settings.patch, settings.patch // 2
    height, width = nearest.shape
    tops, lefts = _grid(height, patch, step), _grid(width, patch, step)
    corners = np.stack(np.meshgrid(tops, lefts, indexing="ij")).reshape(2, -1).T
    return corners[nearest[corners[:, 0], corners[:, 1]] == 0]


def _choose(
    base: Tensor, targets: np.ndarray, sources: np.ndarray, settings: TextureSettings
) -> np.ndarray:
    """For each target, the index of its source: one of the ``choices`` nearest in base colour
    (4×4 means) plus the distance penalty, drawn with a fixed seed.

    The single best source of a smooth fill is the same for every patch of it, and copied
    over and over it shows as a repeating tile; drawing among a few does not.
    """
    quarter = settings.patch // 4
    pooled = F.avg_pool2d(base[None], quarter, stride=quarter)[0]  # pooled once for both
    offered = _descriptors(pooled, sources[:, 0], sources[:, 1], quarter)
    aligned = targets - targets % quarter
    wanted = _descriptors(pooled, aligned[:, 0], aligned[:, 1], quarter)
    # The colour distances' scale, from an even sample (the same whatever the chunking).
    sample_w = wanted[:: max(1, len(wanted) // 1024)]
    sample_o = offered[:: max(1, len(offered) // 1024)]
    scale = float((torch.cdist(sample_w, sample_o) ** 2).mean()) + 1e-12
    offered_at = torch.from_numpy(sources).float()
    choices = min(settings.choices, len(sources))
    generator = torch.Generator().manual_seed(0)
    picks = []
    for first in range(0, len(targets), _CHUNK):
        chunk = slice(first, first + _CHUNK)
        cost = torch.cdist(wanted[chunk], offered) ** 2
        spread = torch.cdist(torch.from_numpy(targets[chunk]).float(), offered_at)
        cost += settings.distance_cost * scale * (spread / settings.search) ** 2
        ranked = cost.topk(choices, dim=1, largest=False).indices
        draw = torch.randint(choices, (len(ranked), 1), generator=generator)
        picks.append(ranked.gather(1, draw)[:, 0].numpy())
    return np.concatenate(picks)


def _overlap_add(
    detail: Tensor, targets: np.ndarray, sources: np.ndarray, patch: int
) -> tuple[Tensor, Tensor]:
    """The sources' detail pasted at the targets under raised-cosine windows, normalised.

    The patches are added in groups that do not overlap (the four parities of the half-patch
    grid, then each patch off the grid alone), so every pixel is summed in the same order on
    any number of threads: the result is the same bit for bit every time.

    Returns:
        ``(copied, weight)``: ``(C, H, W)`` and ``(H, W)``, the sum of windows at each pixel.
    """
    window = _window(patch)
    offsets = torch.arange(patch)
    copied = torch.zeros_like(detail)
    weight = torch.zeros(detail.shape[1:])
    step = patch // 2
    on_grid = (targets % step == 0).all(axis=1)
    parity = (targets // step % 2) @ np.array([1, 2])
    groups = [np.flatnonzero(on_grid & (parity == p)) for p in range(4)]
    groups += [np.array([i]) for i in np.flatnonzero(~on_grid)]
    for group in groups:
        for first in range(0, len(group), _CHUNK):
            chosen = group[first : first + _CHUNK]
            target = torch.from_numpy(targets[chosen])
            source = torch.from_numpy(sources[chosen])
            rows = (target[:, 0, None] + offsets)[:, :, None].expand(-1, patch, patch)
            cols = (target[:, 1, None] + offsets)[:, None, :].expand(-1, patch, patch)
            src_rows = (source[:, 0, None] + offsets)[:, :, None]
            src_cols = (source[:, 1, None] + offsets)[:, None, :]
            blocks = detail[:, src_rows, src_cols] * window
            for channel in range(detail.shape[0]):
                copied[channel].index_put_((rows, cols), blocks[channel], accumulate=True)
            weight.index_put_((rows, cols), window.expand(len(chosen), -1, -1), accumulate=True)
    return copied / weight.clamp_min(1e-6), weight
