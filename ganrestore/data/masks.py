"""Random hole masks for inpainting: numpy, one image at a time, explicit generator.

Every generator returns ``(H, W)`` float32 with 1 = hole, and guarantees that the hole ratio
(holes / pixels) lies inside ``hole_ratio`` whenever the pixel grid allows it: a mask is drawn
a few times and, if still outside, grown or shrunk along its border until it fits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

HoleRatio = tuple[float, float]
_ATTEMPTS = 8
_MAX_STROKES = 40


def _check(height: int, width: int, hole_ratio: HoleRatio) -> tuple[float, float]:
    low, high = (float(value) for value in hole_ratio)
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"hole_ratio must satisfy 0 <= low <= high <= 1, got {hole_ratio}")
    if height < 1 or width < 1:
        raise ValueError(f"mask size must be positive, got {height}x{width}")
    return low, high


def _count_bounds(size: int, low: float, high: float, target: float) -> tuple[int, int]:
    """Allowed numbers of hole pixels; the closest single count if the grid allows none."""
    smallest, largest = math.ceil(low * size - 1e-9), math.floor(high * size + 1e-9)
    if smallest > largest:
        smallest = largest = min(max(round(target * size), 0), size)
    return smallest, largest


def _fit_ratio(mask: np.ndarray, bounds: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Grows or shrinks ``mask`` (uint8 {0,1}) one border ring at a time into ``bounds``.

    Only the pixels needed are taken from the last ring, chosen at random, so the count lands
    exactly on the nearest bound.
    """
    smallest, largest = bounds
    kernel = np.ones((3, 3), np.uint8)
    count = int(mask.sum())
    while count < smallest:
        if count == 0:
            mask[rng.integers(mask.shape[0]), rng.integers(mask.shape[1])] = 1
            count = 1
            continue
        ring = np.flatnonzero(cv2.dilate(mask, kernel) > mask)
        if ring.size > smallest - count:
            ring = rng.choice(ring, smallest - count, replace=False)
        mask.flat[ring] = 1
        count += ring.size
    while count > largest:
        eroded = cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        ring = np.flatnonzero(mask > eroded)
        if ring.size > count - largest:
            ring = rng.choice(ring, count - largest, replace=False)
        mask.flat[ring] = 0
        count -= ring.size
    return mask


def _draw_boxes(height: int, width: int, target: float, rng: np.random.Generator) -> np.ndarray:
    """One to three rectangles whose areas add up to about ``target`` of the image."""
    mask = np.zeros((height, width), np.uint8)
    count = int(rng.integers(1, 4))
    for _ in range(count):
        area = target * height * width / count
        aspect = math.exp(rng.uniform(math.log(1 / 3), math.log(3)))
        box_height = min(max(round(math.sqrt(area * aspect)), 1), height)
        box_width = min(max(round(area / box_height), 1), width)
        top = int(rng.integers(0, height - box_height + 1))
        left = int(rng.integers(0, width - box_width + 1))
        mask[top : top + box_height, left : left + box_width] = 1
    return mask


def box_mask(
    height: int, width: int, rng: np.random.Generator, hole_ratio: HoleRatio = (0.05, 0.4)
) -> np.ndarray:
    """One to three axis-aligned rectangular holes covering a ratio inside ``hole_ratio``.

    Returns:
        ``(height, width)`` float32 in {0, 1}, 1 = hole.
    """
    low, high = _check(height, width, hole_ratio)
    target = rng.uniform(low, high)
    bounds = _count_bounds(height * width, low, high, target)
    for _ in range(_ATTEMPTS):
        mask = _draw_boxes(height, width, target, rng)
        if bounds[0] <= mask.sum() <= bounds[1]:
            break
    return _fit_ratio(mask, bounds, rng).astype(np.float32)


def _draw_stroke(mask: np.ndarray, rng: np.random.Generator, thinning: float) -> None:
    """Draws one brush stroke in place: a zigzag polyline of thick segments and round joints.

    Sizes scale with the image (DeepFill v2 uses widths 12-40 px on 256 px images); the
    zigzag comes from alternating each vertex's turn (``angle`` and ``2π - angle``).
    """
    height, width = mask.shape
    scale = math.sqrt(height * width)
    line_width = max(1, round(rng.uniform(0.045, 0.16) * scale * thinning))
    heading = rng.uniform(0.0, 2.0 * math.pi)
    mean_angle, angle_range = 2.0 * math.pi / 5.0, 2.0 * math.pi / 15.0
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    cv2.circle(mask, (int(x), int(y)), line_width // 2, 1, thickness=-1)
    for vertex in range(int(rng.integers(4, 13))):
        angle = rng.uniform(mean_angle - angle_range, mean_angle + angle_range)
        angle = heading + (2.0 * math.pi - angle if vertex % 2 == 0 else angle)
        length = float(np.clip(rng.normal(scale / 8.0, scale / 16.0), 1.0, scale / 4.0))
        new_x = float(np.clip(x + length * math.cos(angle), 0, width - 1))
        new_y = float(np.clip(y + length * math.sin(angle), 0, height - 1))
        cv2.line(mask, (int(x), int(y)), (int(new_x), int(new_y)), 1, thickness=line_width)
        cv2.circle(mask, (int(new_x), int(new_y)), line_width // 2, 1, thickness=-1)
        x, y = new_x, new_y


def free_form_mask(
    height: int, width: int, rng: np.random.Generator, hole_ratio: HoleRatio = (0.05, 0.4)
) -> np.ndarray:
    """Free-form brush strokes (DeepFill v2 / LaMa style) covering a ratio inside ``hole_ratio``.

    Strokes are added until a randomly drawn target ratio is reached; a stroke that would
    overshoot the upper bound is discarded and the next ones are drawn thinner.

    Returns:
        ``(height, width)`` float32 in {0, 1}, 1 = hole.
    """
    low, high = _check(height, width, hole_ratio)
    target = rng.uniform(low, high)
    bounds = _count_bounds(height * width, low, high, target)
    goal = max(bounds[0], min(round(target * height * width), bounds[1]))
    mask = np.zeros((height, width), np.uint8)
    thinning = 1.0
    for _ in range(_MAX_STROKES):
        candidate = mask.copy()
        _draw_stroke(candidate, rng, thinning)
        count = int(candidate.sum())
        if count > bounds[1]:
            thinning *= 0.7
            continue
        mask = candidate
        if count >= goal:
            break
    return _fit_ratio(mask, bounds, rng).astype(np.float32)


def mixed_mask(
    height: int, width: int, rng: np.random.Generator, hole_ratio: HoleRatio = (0.05, 0.4)
) -> np.ndarray:
    """A box mask or a free-form mask, with equal probability.

    Returns:
        ``(height, width)`` float32 in {0, 1}, 1 = hole.
    """
    chosen = box_mask if rng.random() < 0.5 else free_form_mask
    return chosen(height, width, rng, hole_ratio)


MaskFunction = Callable[[int, int, np.random.Generator, HoleRatio], np.ndarray]
MASK_KINDS: dict[str, MaskFunction] = {
    "box": box_mask,
    "free": free_form_mask,
    "mixed": mixed_mask,
}


def make_mask(
    kind: str,
    height: int,
    width: int,
    rng: np.random.Generator,
    hole_ratio: HoleRatio = (0.05, 0.4),
) -> np.ndarray:
    """A mask of the named kind (``"box"``, ``"free"`` or ``"mixed"``).

    Raises:
        ValueError: unknown ``kind``; the message lists the known ones.
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"unknown mask kind {kind!r}; choose one of: {', '.join(MASK_KINDS)}")
    return MASK_KINDS[kind](height, width, rng, hole_ratio)
