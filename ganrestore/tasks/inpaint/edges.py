"""The edge of a hole: growing a mask past an object's soft outline, and feathering the fill.

A user's mask is binary, but the object it marks is not: its outline is anti-aliased, blurred
or shadowed, so the pixels just outside a tight mask still carry some of the object's colour.
Filled as drawn, they stay behind as a faint ring (a *halo*) around the fill.

* :func:`grow_holes` widens every hole by a few pixels, so the fill covers that outline; given
  the image, only the holes whose outline shows a halo (:func:`halo_holes`), so that a mask
  that marks exactly the missing pixels keeps all its known context.
* :func:`feather_weights` gives the weight of the fill in the few known pixels just outside the
  (grown) hole, fading to 0, so that a fill a shade off its surroundings has no hard seam.

Both work on ``(B, 1, H, W)`` float masks, 1 = hole, on the CPU. :func:`hole_depth` and
:func:`distance_to_holes` measure from a hole's edge, inward and outward (the coarse-to-fine
fill of :mod:`~ganrestore.tasks.inpaint.scales` uses the depth too).
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


#: A hole's outline shows a halo when the colour steps from its first 2-pixel ring of known
#: pixels to the second more than this many times as much as from the second to the third.
HALO_RATIO = 1.4
#: The rings' width in pixels, and the blur (sigma, pixels) of their local means.
_RING = 2
_RING_BLUR = 3.0


def halo_holes(image: np.ndarray, holes: np.ndarray, ratio: float = HALO_RATIO) -> np.ndarray:
    """The holes whose outline looks like an object's soft edge rather than a clean cut.

    Around each hole (a connected component), three rings of known pixels 2 pixels wide are
    taken (distance 1-2, 3-4 and 5-6). Their local mean colours (a Gaussian of sigma 3 over each
    ring's pixels) are compared at the pixels of the first ring: an object's anti-aliased or
    blurred outline puts its colour into the first ring, so the step from the first ring to the
    second is much larger than from the second to the third, while a mask that marks exactly
    the missing pixels of a photo shows steps of about the same size (the photo going on). A
    hole counts as haloed when the median first step exceeds ``ratio`` times the median second
    step; a hole with too few known pixels around it to tell (under 10) counts too.

    Args:
        image: ``(H, W, C)`` float in [0, 1]; only the known pixels are read.
        holes: ``(H, W)`` bool, True = hole.
        ratio: the step ratio above which an outline is a halo (default 1.4: on object cut-outs
            pasted on photos the ratio was 1.3-6.3, on exact box and stroke masks 0.5-1.6).

    Returns:
        ``(H, W)`` bool: the pixels of the haloed holes.
    """
    if not holes.any():
        return holes
    # Only the neighbourhood of the holes matters: the rings reach 6 pixels out, the blur 12
    # more (OpenCV's Gaussian of sigma 3 spans 25 pixels).
    rows, cols = _around(holes, 3 * _RING + 14)
    holes = holes[rows, cols]
    count, labels = cv2.connectedComponents(holes.astype(np.uint8), connectivity=8)
    pixels = np.ascontiguousarray(image[rows, cols], dtype=np.float32)
    distance, nearest = cv2.distanceTransformWithLabels(
        (~holes).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP
    )
    # ``nearest`` numbers the holes in its own order: map it to ``labels``' numbers.
    owner = np.zeros(int(nearest.max()) + 1, np.int64)
    owner[nearest[holes]] = labels[holes]
    first = np.flatnonzero((distance > 0) & (distance <= _RING))  # where the steps are taken
    means, valid = [], np.ones(first.size, bool)
    for ring in range(3):  # each ring's local mean colour, kept at the first ring's pixels only
        inside = (distance > ring * _RING) & (distance <= (ring + 1) * _RING)
        weight = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), _RING_BLUR).ravel()[first]
        blurred = cv2.GaussianBlur(pixels * inside[..., None], (0, 0), _RING_BLUR)
        blurred = blurred.reshape(-1, pixels.shape[-1] if pixels.ndim == 3 else 1)[first]
        means.append(blurred / np.maximum(weight, 1e-6)[:, None])
        valid &= weight > 0.05
    step_out = np.linalg.norm(means[0] - means[1], axis=-1)[valid]
    step_on = np.linalg.norm(means[1] - means[2], axis=-1)[valid]
    hole_of = owner[nearest.ravel()[first[valid]]]
    haloed = np.ones(count, bool)
    haloed[0] = False
    for label in range(1, count):
        mine = hole_of == label
        if mine.sum() >= 10:
            step = np.median(step_out[mine]), np.median(step_on[mine]) + 2e-3
            haloed[label] = step[0] > ratio * step[1]
    judged = np.zeros(image.shape[:2], bool)
    judged[rows, cols] = haloed[labels]
    return judged


def _around(holes: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Rows and columns of the holes' bounding box grown by ``margin`` (within the image)."""
    rows, cols = np.flatnonzero(holes.any(axis=1)), np.flatnonzero(holes.any(axis=0))
    height, width = holes.shape
    return (
        slice(max(int(rows[0]) - margin, 0), min(int(rows[-1]) + margin + 1, height)),
        slice(max(int(cols[0]) - margin, 0), min(int(cols[-1]) + margin + 1, width)),
    )


def grow_holes(masks: Tensor, pixels: int, images: Tensor | None = None) -> Tensor:
    """Holes widened by ``pixels`` (a disc around every hole pixel).

    Args:
        masks: ``(B, 1, H, W)`` float, 1 (> 0.5) = hole.
        pixels: how far to grow, >= 0; 0 returns ``masks`` unchanged.
        images: ``(B, C, H, W)`` float in [0, 1]: grow only the holes whose outline shows a
            halo (:func:`halo_holes`); the others stay exactly as masked. None: grow every hole.

    Returns:
        ``(B, 1, H, W)`` float32 {0, 1}; a mask without holes stays without holes.
    """
    if pixels < 0:
        raise ValueError(f"grow must be >= 0 pixels, got {pixels}")
    if pixels == 0:
        return masks
    grown = []
    for index, mask in enumerate(masks):
        holes = mask[0].numpy() > 0.5
        chosen = holes
        if images is not None and holes.any():
            chosen = halo_holes(images[index].permute(1, 2, 0).cpu().numpy(), holes)
        if chosen.any():
            holes = holes | (distance_to_holes(chosen) <= pixels)
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
