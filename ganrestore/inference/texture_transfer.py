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
4. The chosen patches' detail, times ``gain``, is blended with raised-cosine windows (no
   block edges) and added to the fill's base; it fades in over the first ``fade`` pixels of the
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

from ganrestore.inference.mask_edges import distance_to_holes, hole_depth


@dataclass(frozen=True)
class TextureSettings:
    """How the photo's detail is copied into a fill.

    Attributes:
        sigma: the Gaussian (pixels) that separates the smooth base from the detail.
        patch: side of the copied patches (even), in pixels.
        gain: how much of the copied detail is added (1.0: as strong as in the source).
        candidates: the most source patches compared (a grid over the known pixels near the
            holes, thinned evenly when there are more).
        search: how far from the holes sources are taken, in pixels.
        distance_cost: the penalty for a source's distance (per ``search`` pixels), in units of
            the mean squared base difference.
        choices: each hole patch takes one of this many best sources, at random (a fixed seed),
            so that one source is not copied over and over.
        fade: hole depth (pixels) over which the copied detail fades in from the hole's edge.
    """

    sigma: float = 4.0
    patch: int = 32
    gain: float = 1.0
    candidates: int = 4096
    search: int = 256
    distance_cost: float = 3.0
    choices: int = 8
    fade: float = 4.0

    def __post_init__(self) -> None:
        if self.patch < 4 or self.patch % 2:
            raise ValueError(f"patch must be an even number >= 4, got {self.patch}")
        if not (self.sigma > 0 and self.gain >= 0 and self.candidates >= 1 and self.search > 0):
            raise ValueError("sigma and search must be > 0, gain >= 0 and candidates >= 1")


def gaussian_blur(image: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)``, borders reflected, radius ``3 sigma``."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).to(image)
    channels = image.shape[1]
    padded = F.pad(image, (radius, radius, radius, radius), mode="reflect")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), groups=channels)


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


def _descriptors(base: Tensor, tops: np.ndarray, lefts: np.ndarray, patch: int) -> Tensor:
    """The base of each patch at 4×4: ``(N, C * 16)``."""
    pooled = F.avg_pool2d(base[None], patch // 4, stride=patch // 4)[0]  # (C, H/q, W/q)
    quarter = patch // 4
    rows = torch.as_tensor(tops // quarter)[:, None] + torch.arange(4)[None, :]
    cols = torch.as_tensor(lefts // quarter)[:, None] + torch.arange(4)[None, :]
    blocks = pooled[:, rows[:, :, None], cols[:, None, :]]  # (C, N, 4, 4)
    return blocks.permute(1, 0, 2, 3).reshape(len(tops), -1)


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
        holes, or without known patches to copy from, ``filled`` itself.
    """
    settings = settings or TextureSettings()
    hole_mask = holes.cpu().numpy().astype(bool)
    if not hole_mask.any() or hole_mask.all():
        return filled
    image = filled.float().cpu()
    channels, height, width = image.shape
    patch, step, quarter = settings.patch, settings.patch // 2, settings.patch // 4
    if height < patch or width < patch:
        return filled
    base = gaussian_blur(image[None], settings.sigma)[0]
    detail = image - base
    distance = distance_to_holes(hole_mask).astype(np.float32)

    # The smallest distance to a hole over the patch starting at each pixel.
    nearest = cv2.erode(
        distance, np.ones((patch, patch), np.uint8), anchor=(0, 0), borderType=cv2.BORDER_REPLICATE
    )

    # Sources: patches on a grid aligned to the 4x4 descriptor cells, clear of every hole.
    tops, lefts = _grid(height, patch, quarter), _grid(width, patch, quarter)
    tops, lefts = tops - tops % quarter, lefts - lefts % quarter
    corner_t, corner_l = (a.ravel() for a in np.meshgrid(tops, lefts, indexing="ij"))
    clearance = nearest[corner_t, corner_l]
    sources = np.flatnonzero((clearance >= 2 * settings.sigma) & (clearance <= settings.search))
    if sources.size == 0:
        return filled
    if sources.size > settings.candidates:
        sources = sources[np.linspace(0, sources.size - 1, settings.candidates).round().astype(int)]
    source_t, source_l = corner_t[sources], corner_l[sources]

    # Targets: patches every patch/2 pixels (the windows overlap by half) that touch a hole.
    grid_t, grid_l = (
        a.ravel()
        for a in np.meshgrid(_grid(height, patch, step), _grid(width, patch, step), indexing="ij")
    )
    touching = nearest[grid_t, grid_l] == 0
    target_t, target_l = grid_t[touching], grid_l[touching]

    wanted = _descriptors(base, target_t - target_t % quarter, target_l - target_l % quarter, patch)
    offered = _descriptors(base, source_t, source_l, patch)
    cost = torch.cdist(wanted, offered) ** 2 / wanted.shape[1]
    scale = float(cost.mean()) + 1e-12
    spread = torch.cdist(
        torch.from_numpy(np.stack([target_t, target_l], 1)).float(),
        torch.from_numpy(np.stack([source_t, source_l], 1)).float(),
    )
    cost = cost + settings.distance_cost * scale * (spread / settings.search) ** 2
    # One of the few best, drawn with a fixed seed: the single best source of a smooth fill is
    # the same for every patch of it, and copied over and over it shows as a repeating tile.
    choices = min(settings.choices, cost.shape[1])
    ranked = cost.topk(choices, dim=1, largest=False).indices
    draw = torch.randint(choices, (len(ranked), 1), generator=torch.Generator().manual_seed(0))
    best = ranked.gather(1, draw)[:, 0].numpy()

    # Overlap-add the chosen patches' detail under raised-cosine windows.
    offsets = np.arange(patch)
    src_rows = (source_t[best][:, None] + offsets)[:, :, None]  # (N, P, 1)
    src_cols = (source_l[best][:, None] + offsets)[:, None, :]  # (N, 1, P)
    dst_rows = torch.from_numpy(
        np.broadcast_to(
            target_t[:, None, None] + offsets[:, None], (len(best), patch, patch)
        ).copy()
    )
    dst_cols = torch.from_numpy(
        np.broadcast_to(
            target_l[:, None, None] + offsets[None, :], (len(best), patch, patch)
        ).copy()
    )
    window = _window(patch)
    blocks = detail[:, torch.from_numpy(src_rows), torch.from_numpy(src_cols)] * window
    copied = torch.zeros_like(image)
    weight = torch.zeros(height, width)
    for channel in range(channels):
        copied[channel].index_put_((dst_rows, dst_cols), blocks[channel], accumulate=True)
    weight.index_put_((dst_rows, dst_cols), window.expand(len(best), -1, -1), accumulate=True)
    copied = copied / weight.clamp_min(1e-6)

    depth = torch.from_numpy(hole_depth(hole_mask))
    fade = (depth / max(settings.fade, 1e-6)).clamp(0, 1) if settings.fade > 0 else (depth > 0)
    fade = fade.float() * (weight > 1e-3).float()
    textured = base + settings.gain * copied
    result = image + fade * (textured - image)
    result = torch.where(torch.from_numpy(hole_mask), result, image)
    return result.clamp(0, 1).to(filled.dtype)
