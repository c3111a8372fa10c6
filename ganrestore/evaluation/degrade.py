"""Deterministic degradations for evaluation: the same file and seed give the same input anywhere.

Every (image, condition) pair gets its own ``numpy.random.default_rng`` seeded from
``sha256(seed, file name, condition)``: no global state, no dependence on the order, the
number or the other files of the folder, on the platform or on Python's hash randomisation.
Degraded images are quantized to 8 bits, as a saved noisy photo would be.

* Denoising: ``clean × 255 + σ × N(0, 1)``, rounded and clipped to 0–255; with a photon count
  ``peak`` shot noise comes first (``Poisson(clean × peak) / peak``, a camera sensor's
  signal-dependent noise); with a JPEG quality the noisy image is then saved as a JPEG
  (Pillow's default 4:2:0 chroma subsampling, as most cameras and editors write) and decoded.
* Inpainting: a hole mask from :func:`ganrestore.data.masks.make_mask` (or a file from
  ``--masks DIR``, matched by stem); holes are set to mid-gray (the value our networks see
  there) so that no clean pixel leaks into the input.
* Real pairs (``--data DIR`` holding ``clean/`` beside the task's pair folder): nothing is
  drawn; :mod:`ganrestore.evaluation.real_pairs` reads each pair file as the input (a mask's
  holes are punched as ``--masks`` punches them).
* A task that takes none of these options (``Task.eval_options``), an upscaling task or a
  plugin's: the task's own validation degradation (``Task.validation_item`` with its default
  options), driven by the same per-file generator. Its item's clean image is the truth the
  outputs are scored against (an upscaling task cuts the photo to a multiple of its scale).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ganrestore.data.io import read_mask
from ganrestore.data.masks import MASK_KINDS, HoleRatio, make_mask
from ganrestore.errors import GanrestoreError

#: Gray value written into holes (8-bit), the 0 of the networks' [-1, 1] range.
HOLE_FILL = 128
DEFAULT_HOLE_RATIO: HoleRatio = (0.05, 0.4)
#: Name of the condition of real pairs, in tables, files and folders.
REAL_PAIRS = "real-pairs"


class DegradationError(GanrestoreError):
    """A degradation that cannot be applied (bad σ, unknown mask kind, missing mask file)."""


@dataclass(frozen=True)
class Condition:
    """One degradation setting of an evaluation.

    Attributes:
        name: short label used in tables, files and folders: ``sigma25``, ``box``, ``masks``.
        sigma: noise level on the 0–255 scale (denoising), else None.
        peak: photon count at white of shot noise added before the Gaussian noise, or None.
        jpeg_quality: the noisy image is saved as a JPEG of this quality, or None (PNG).
        mask_kind: ``"box"``/``"free"``/``"mixed"`` for generated masks, else None.
        masks_dir: folder of mask files (inpainting with ``--masks``), else None.
        task: a task whose own validation degradation makes the input, else None.
        real_pairs: the inputs are the pair files beside ``clean/`` (real pairs), not made.
    """

    name: str
    sigma: float | None = None
    peak: float | None = None
    jpeg_quality: int | None = None
    mask_kind: str | None = None
    masks_dir: Path | None = None
    task: str | None = None
    real_pairs: bool = False

    @property
    def makes_holes(self) -> bool:
        """Whether the inputs get holes (generated masks or ``--masks``)."""
        return self.mask_kind is not None or self.masks_dir is not None

    @property
    def sigma_hint(self) -> float | None:
        """The σ told to baselines that take one: the Gaussian σ, or with shot noise the σ of
        the total noise at mid-gray, ``sqrt(σ² + 255² × 0.5 / peak)`` (0–255 scale)."""
        if self.sigma is None or self.peak is None:
            return self.sigma
        return float(np.sqrt(self.sigma**2 + 255.0**2 * 0.5 / self.peak))


def noise_condition(
    sigma: float, peak: float | None = None, jpeg_quality: int | None = None
) -> Condition:
    """Gaussian noise of ``sigma`` (0–255 scale), after shot noise of photon count ``peak`` at
    white when given, saved as a JPEG of ``jpeg_quality`` when given.

    Names: ``sigma25``, ``sigma25_peak30``, ``sigma25_jpeg90``, ``sigma25_peak30_jpeg90``.
    """
    if not (np.isfinite(sigma) and sigma >= 0):
        raise DegradationError(f"--sigma: noise levels must be numbers >= 0, got {sigma}")
    name = f"sigma{float(sigma):g}"
    if peak is not None:
        if not (np.isfinite(peak) and peak > 0):
            raise DegradationError(f"--peak: photon counts must be numbers > 0, got {peak}")
        name += f"_peak{float(peak):g}"
    if jpeg_quality is not None:
        if not 1 <= jpeg_quality <= 95:
            raise DegradationError(f"--jpeg: qualities must be in 1-95, got {jpeg_quality}")
        name += f"_jpeg{int(jpeg_quality)}"
    return Condition(
        name=name,
        sigma=float(sigma),
        peak=None if peak is None else float(peak),
        jpeg_quality=None if jpeg_quality is None else int(jpeg_quality),
    )


def mask_condition(kind: str) -> Condition:
    """Generated masks of ``kind`` (``box``, ``free`` or ``mixed``)."""
    if kind not in MASK_KINDS:
        raise DegradationError(f"--mask-kind {kind}: choose one of {', '.join(MASK_KINDS)}")
    return Condition(name=kind, mask_kind=kind)


def task_condition(task: str) -> Condition:
    """The degradation the task ``task`` validates on, named after it."""
    return Condition(name=task, task=task)


def real_pairs_condition() -> Condition:
    """The inputs are real pairs: each clean image's pair file (a degraded or small image, or a
    mask), as ``ganrestore train`` reads them."""
    return Condition(name=REAL_PAIRS, real_pairs=True)


def file_seed(seed: int, name: str, condition: str) -> int:
    """A 64-bit seed from ``(seed, name, condition)`` through SHA-256 (platform independent)."""
    text = f"ganrestore-eval\0{int(seed)}\0{name}\0{condition}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "little")


def file_rng(seed: int, name: str, condition: str) -> np.random.Generator:
    """The generator of one (image, condition): ``default_rng(file_seed(...))``."""
    return np.random.default_rng(file_seed(seed, name, condition))


def add_noise(
    clean: np.ndarray, sigma: float, rng: np.random.Generator, peak: float | None = None
) -> np.ndarray:
    """Noisy 8-bit copy of ``clean``.

    Args:
        clean: ``(H, W, C)`` float in [0, 1].
        sigma: standard deviation on the 0–255 scale.
        rng: the only source of randomness.
        peak: photon count at white of shot noise drawn first, or None.

    Returns:
        ``(H, W, C)`` uint8: ``rint(clip(clean × 255 + σ × N(0, 1), 0, 255))``, with
        ``clean`` replaced by ``Poisson(clean × peak) / peak`` when ``peak`` is given.
    """
    signal = clean.astype(np.float64)
    if peak is not None:
        signal = rng.poisson(np.clip(signal, 0, None) * peak) / peak
    noise = rng.standard_normal(clean.shape, dtype=np.float64) * float(sigma)
    return np.rint(np.clip(signal * 255.0 + noise, 0, 255)).astype(np.uint8)


def save_as_jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    """``(H, W, C)`` uint8 -> the same image after a JPEG round trip at ``quality``.

    Pillow's defaults otherwise: 4:2:0 chroma subsampling for colour, as most photos are saved.
    """
    image = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(quality))
    return np.asarray(Image.open(buffer)).reshape(pixels.shape)


def punch_holes(clean: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """8-bit copy of ``clean`` ``(H, W, C)`` [0, 1] with the ``holes`` ``(H, W)`` set to gray."""
    image = np.rint(np.clip(clean.astype(np.float64), 0, 1) * 255.0).astype(np.uint8)
    image[np.asarray(holes, dtype=bool)] = HOLE_FILL
    return image


def holes_from_file(path: Path, size: tuple[int, int], max_pixels: int) -> np.ndarray:
    """``(H, W)`` bool holes of a mask file (white, brightest channel > 127, = hole), resized
    to ``size`` with nearest neighbour if needed: a ``--masks`` file or a real pair's mask.

    Raises:
        ImageReadError: the file cannot be read, or is above ``max_pixels`` (0: no limit).
    """
    return read_mask(path, size, max_pixels) > 0.5


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
        pixels: ``(h, w, C)`` uint8, what the models restore (uint16: a real pair's 16-bit
            file).
        holes: ``(h, w)`` bool (True = hole) for inpainting, else None.
        target: ``(H, W, C)`` float32 in [0, 1], the clean image the outputs are scored
            against where the degradation made it (a task's own: an upscaling task cuts the
            photo to a multiple of its scale, and its outputs are that large); None: the photo.
    """

    pixels: np.ndarray
    holes: np.ndarray | None
    target: np.ndarray | None = None


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
    if condition.task is not None:
        return _task_degraded(clean, condition.task, rng)
    if condition.sigma is not None:
        noisy = add_noise(clean, condition.sigma, rng, condition.peak)
        if condition.jpeg_quality is not None:
            noisy = save_as_jpeg(noisy, condition.jpeg_quality)
        return Degraded(noisy, None)
    if condition.mask_kind is not None:
        holes = generated_mask(condition.mask_kind, clean.shape[:2], rng, hole_ratio)
    if holes is None:
        raise DegradationError(f"no mask for {name} under condition {condition.name}")
    return Degraded(punch_holes(clean, holes), holes)


def _task_degraded(clean: np.ndarray, task_name: str, rng: np.random.Generator) -> Degraded:
    """``clean`` degraded as the task ``task_name`` makes its validation items; the item's
    clean image is the target."""
    from ganrestore.tasks import build_task

    task = build_task(task_name)
    rgb = np.repeat(clean, 3, axis=2) if clean.shape[2] == 1 else clean[..., :3]
    item = task.validation_item(rgb.astype(np.float32), None, 0, rng, task.options())
    pixels = item["degraded"].permute(1, 2, 0).numpy()
    pixels = np.rint(np.clip(pixels, 0, 1) * 255.0).astype(np.uint8)
    target = item["clean"].permute(1, 2, 0).numpy()
    if clean.shape[2] == 1:  # a gray item is made gray and repeated to RGB: keep one channel
        pixels, target = pixels[..., :1], target[..., :1]
    holes = task.holes({key: value[None] for key, value in item.items()})
    return Degraded(pixels, None if holes is None else holes[0, 0].numpy() > 0.5, target)
