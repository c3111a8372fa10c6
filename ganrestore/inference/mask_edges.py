"""The edge of a hole: growing a mask past an object's soft outline, and feathering the fill.

A user's mask is binary, but the object it marks is not: its outline is anti-aliased, blurred
or shadowed, so the pixels just outside a tight mask still carry some of the object's colour.
Filled as drawn, they stay behind as a faint ring (a *halo*) around the fill.

* :func:`grow_holes` widens every hole by a few pixels, so the fill covers that outline.
* :func:`feather_weights` gives the weight of the fill in the few known pixels just outside the
  (grown) hole, fading to 0, so that a fill a shade off its surroundings has no hard seam.

Both work on ``(B, 1, H, W)`` float masks, 1 = hole, on the CPU. :func:`hole_depth` and
:func:`distance_to_holes` measure from a hole's edge, inward and outward (the coarse-to-fine
fill of :mod:`~ganrestore.inference.inpaint_scales` uses the depth too).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor


def hole_depth(holes: np.ndarray) -> np.ndarray:
    """Distance of every hole pixel to the nearest known pixel (0 at known pixels).

    Args:
        holes: ``(H, W)`` bool, True = hole.

    Returns:
        ``(H, W)`` float32 >= 0, Euclidean pixels; the image border is not a known pixel, so
        an image without any known pixel gets depths larger than its diagonal.
    """
    return cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 5)


def distance_to_holes(holes: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest hole pixel (0 on holes).

    Args:
        holes: ``(H, W)`` bool, True = hole (at least one).

    Returns:
        ``(H, W)`` float32 pixels.
    """
    return hole_depth(~holes)


def grow_holes(masks: Tensor, pixels: int) -> Tensor:
    """Holes widened by ``pixels`` (a disc around every hole pixel).

    Args:
        masks: ``(B, 1, H, W)`` float, 1 (> 0.5) = hole.
        pixels: how far to grow, >= 0; 0 returns ``masks`` unchanged.

    Returns:
        ``(B, 1, H, W)`` float32 {0, 1}; a mask without holes stays without holes.
    """
    if pixels < 0:
        raise ValueError(f"grow must be >= 0 pixels, got {pixels}")
    if pixels == 0:
        return masks
    grown = []
    for mask in masks:
        holes = mask[0].numpy() > 0.5
        if holes.any():
            holes = distance_to_holes(holes) <= pixels
        grown.append(torch.from_numpy(holes.astype(np.float32))[None])
    return torch.stack(grown)


def feather_weights(masks: Tensor, pixels: int) -> Tensor:
    """Weight of the fill at every pixel: 1 in the holes, fading linearly to 0 outside.

    A known pixel at distance ``d`` (1 for the neighbours of a hole) from the nearest hole gets
    ``1 - d / (pixels + 1)`` while that is positive, so ``pixels`` known pixels take part of the
    fill; everything farther is the input's, bit for bit.

    Args:
        masks: ``(B, 1, H, W)`` float, 1 (> 0.5) = hole.
        pixels: the width of the fade, >= 0; 0 gives the mask itself (a hard edge).

    Returns:
        ``(B, 1, H, W)`` float32 in [0, 1].
    """
    if pixels < 0:
        raise ValueError(f"feather must be >= 0 pixels, got {pixels}")
    holes = masks > 0.5
    if pixels == 0:
        return holes.float()
    weights = []
    for mask in holes:
        if not bool(mask.any()):
            weights.append(torch.zeros_like(mask, dtype=torch.float32))
            continue
        distance = torch.from_numpy(distance_to_holes(mask[0].numpy()))
        weights.append((1 - distance / (pixels + 1)).clamp_(0, 1)[None])
    return torch.stack(weights)
