"""Deterministic degradations for evaluation: the same file and seed give the same input anywhere.

Every (image, condition) pair gets its own ``numpy.random.default_rng`` seeded from
``sha256(seed, file name, condition)``: no global state, no dependence on the order, the
number or the other files of the folder, on the platform or on Python's hash randomisation.
Degraded images are quantized to 8 bits, as a saved noisy photo would be.

* Denoising: ``clean × 255 + σ × N(0, 1)``, rounded and clipped to 0–255.
* Inpainting: a hole mask from :func:`ganrestore.data.masks.make_mask` (or a file from
  ``--masks DIR``, matched by stem); holes are set to mid-gray (the value our networks see
  there) so that no clean pixel leaks into the input.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganrestore.data.masks import MASK_KINDS, HoleRatio, make_mask
from ganrestore.errors import GanrestoreError

#: Gray value written into holes (8-bit), the 0 of the networks' [-1, 1] range.
HOLE_FILL = 128
DEFAULT_HOLE_RATIO: HoleRatio = (0.05, 0.4)


class DegradationError(GanrestoreError):
    """A degradation that cannot be applied (bad σ, unknown mask kind, missing mask file)."""


@dataclass(frozen=True)
class Condition:
    """One degradation setting of an evaluation.

    Attributes:
        name: short label used in tables, files and folders: ``sigma25``, ``box``, ``masks``.
        sigma: noise level on the 0–255 scale (denoising), else None.
        mask_kind: ``"box"``/``"free"``/``"mixed"`` for generated masks, else None.
        masks_dir: folder of mask files (inpainting with ``--masks``), else None.
    """

    name: str
    sigma: float | None = None
    mask_kind: str | None = None
    masks_dir: Path | None = None

    @property
    def uses_mask(self) -> bool:
        return self.sigma is None


def noise_condition(sigma: float) -> Condition:
    """Gaussian noise of ``sigma`` (0–255 scale)."""
    if not (np.isfinite(sigma) and sigma >= 0):
        raise DegradationError(f"--sigma: noise levels must be numbers >= 0, got {sigma}")
    return Condition(name=f"sigma{float(sigma):g}", sigma=float(sigma))


def mask_condition(kind: str) -> Condition:
    """Generated masks of ``kind`` (``box``, ``free`` or ``mixed``)."""
    if kind not in MASK_KINDS:
        raise DegradationError(f"--mask-kind {kind}: choose one of {', '.join(MASK_KINDS)}")
    return Condition(name=kind, mask_kind=kind)


def file_seed(seed: int, name: str, condition: str) -> int:
    """A 64-bit seed from ``(seed, name, condition)`` through SHA-256 (platform independent)."""
    text = f"ganrestore-eval\0{int(seed)}\0{name}\0{condition}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little")


def file_rng(seed: int, name: str, condition: str) -> np.random.Generator:
    """The generator of one (image, condition): ``default_rng(file_seed(...))``."""
    return np.random.default_rng(file_seed(seed, name, condition))


def add_noise(clean: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Noisy 8-bit copy of ``clean``.

    Args:
        clean: ``(H, W, C)`` float in [0, 1].
        sigma: standard deviation on the 0–255 scale.
        rng: the only source of randomness.

    Returns:
        ``(H, W, C)`` uint8: ``rint(clip(clean × 255 + σ × N(0, 1), 0, 255))``.
    """
    noise = rng.standard_normal(clean.shape, dtype=np.float64) * float(sigma)
    return np.rint(np.clip(clean.astype(np.float64) * 255.0 + noise, 0, 255)).astype(np.uint8)


def punch_holes(clean: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """8-bit copy of ``clean`` ``(H, W, C)`` [0, 1] with the ``holes`` ``(H, W)`` set to gray."""
    image = np.rint(np.clip(clean.astype(np.float64), 0, 1) * 255.0).astype(np.uint8)
    image[np.asarray(holes, dtype=bool)] = HOLE_FILL
    return image


def generated_mask(
    kind: str,
    size: tuple[int, int],
    rng: np.random.Generator,
    hole_ratio: HoleRatio = DEFAULT_HOLE_RATIO,
) -> np.ndarray:
    """``(H, W)`` bool holes of ``kind`` drawn with ``rng`` (``ganrestore.data.masks``)."""
    return make_mask(kind, size[0], size[1], rng, hole_ratio) > 0.5


@dataclass(frozen=True)
class Degraded:
    """One degraded input.

    Attributes:
        pixels: ``(H, W, C)`` uint8, what the models restore.
        holes: ``(H, W)`` bool (True = hole) for inpainting, else None.
    """

    pixels: np.ndarray
    holes: np.ndarray | None


def degrade(
    clean: np.ndarray,
    name: str,
    condition: Condition,
    seed: int,
    hole_ratio: HoleRatio = DEFAULT_HOLE_RATIO,
    holes: np.ndarray | None = None,
) -> Degraded:
    """The degraded input of image ``name`` under ``condition``.

    Args:
        clean: ``(H, W, C)`` float in [0, 1].
        name: the image's path relative to the data folder (POSIX), part of the seed.
        condition: what to do.
        seed: the evaluation's seed.
        hole_ratio: share of hole pixels for generated masks.
        holes: ``(H, W)`` bool mask read from ``--masks DIR`` (conditions with ``masks_dir``).
    """
    rng = file_rng(seed, name, condition.name)
    if condition.sigma is not None:
        return Degraded(add_noise(clean, condition.sigma, rng), None)
    if condition.mask_kind is not None:
        holes = generated_mask(condition.mask_kind, clean.shape[:2], rng, hole_ratio)
    if holes is None:
        raise DegradationError(f"no mask for {name} under condition {condition.name}")
    return Degraded(punch_holes(clean, holes), holes)
