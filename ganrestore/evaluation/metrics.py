"""Image-quality metrics on integer images, the way papers and other toolkits compute them.

Images are numpy ``(H, W, C)`` (or ``(H, W)``) ``uint8`` or ``uint16``: what is saved on disk,
so that scoring saved files (``ganrestore eval --restored``) and scoring in memory agree.
The data range is the dtype's (255 or 65535).

* PSNR: ``10 log10(range² / MSE)`` over every pixel and channel; identical images give ``inf``.
* PSNR over the holes: the same over the pixels where the mask is 1 (all channels).
* SSIM: scikit-image ``structural_similarity`` with its defaults (7×7 uniform window,
  K1 = 0.01, K2 = 0.03), ``channel_axis=-1``, averaged over channels.
* Detail ratio: how much fine detail a fill has against the truth (no learned network): the
  mean |Laplacian| (3×3) of the luma over the holes eroded by 3 pixels, output over truth, at
  pyramid levels 0, 1 and 2 (each level halves the image by area). 1.0 means as much detail as
  the photo had there; a blur gives about 0.1. See :func:`detail_ratio`.
* LPIPS (AlexNet, v0.1) through :class:`ganrestore.losses.perceptual.LPIPSLoss` when the
  backbone's ImageNet weights are in the torch cache; otherwise unavailable, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ganrestore.data.colour import LUMA_WEIGHTS
from ganrestore.errors import GanrestoreError

#: Peak value of each accepted dtype.
DATA_RANGE = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


#: The smallest side SSIM (its 7×7 window) scores.
SSIM_MIN_SIDE = 7


class MetricInputError(GanrestoreError, ValueError):
    """Two images that cannot be compared (dtype, shape, size)."""


def _channels(image: np.ndarray) -> np.ndarray:
    return image[..., None] if image.ndim == 2 else image


def _checked_pair(restored: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    restored, reference = _channels(np.asarray(restored)), _channels(np.asarray(reference))
    if reference.dtype not in DATA_RANGE:
        raise MetricInputError(f"images must be uint8 or uint16, got {reference.dtype}")
    if restored.dtype != reference.dtype:
        raise MetricInputError(
            f"restored image is {restored.dtype} but the reference is {reference.dtype}; "
            "save both with the same bit depth"
        )
    if restored.shape != reference.shape or restored.ndim != 3:
        raise MetricInputError(
            f"restored image {restored.shape[:3]} does not match the reference "
            f"{reference.shape[:3]} (H, W, C)"
        )
    return restored, reference


def data_range(image: np.ndarray) -> int:
    """255 for uint8, 65535 for uint16."""
    if image.dtype not in DATA_RANGE:
        raise MetricInputError(f"images must be uint8 or uint16, got {image.dtype}")
    return DATA_RANGE[image.dtype]


def psnr(restored: np.ndarray, reference: np.ndarray, holes: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB.

    Args:
        restored, reference: ``(H, W[, C])`` uint8 or uint16, same dtype and shape.
        holes: ``(H, W)`` bool or {0, 1}: score only the pixels where it is true (every
            channel of them). None: every pixel.

    Returns:
        PSNR in dB; ``inf`` for identical pixels; ``nan`` when ``holes`` selects no pixel.
    """
    restored, reference = _checked_pair(restored, reference)
    difference = restored.astype(np.float64) - reference.astype(np.float64)
    if holes is not None:
        holes = np.asarray(holes).astype(bool)
        if holes.shape != reference.shape[:2]:
            raise MetricInputError(f"mask {holes.shape} does not match image {reference.shape[:2]}")
        difference = difference[holes]
        if difference.size == 0:
            return math.nan
    mse = float(np.mean(np.square(difference)))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(data_range(reference) ** 2 / mse)


def ssim(restored: np.ndarray, reference: np.ndarray) -> float:
    """Mean structural similarity (scikit-image defaults, ``channel_axis=-1``), in [-1, 1].

    Raises:
        MetricInputError: mismatching images, or an image smaller than 7×7.
    """
    from skimage.metrics import structural_similarity

    restored, reference = _checked_pair(restored, reference)
    if min(reference.shape[:2]) < SSIM_MIN_SIDE:
        raise MetricInputError(
            f"SSIM needs images of at least {SSIM_MIN_SIDE}x{SSIM_MIN_SIDE}, "
            f"got {reference.shape[:2]}"
        )
    return float(
        structural_similarity(
            reference, restored, channel_axis=-1, data_range=data_range(reference)
        )
    )


#: Pyramid levels of the detail ratio, and how far the holes are eroded first (pixels).
DETAIL_LEVELS = 3
DETAIL_ERODE = 3
#: Below this mean |Laplacian| (luma in [0, 1]) the truth is flat there and no ratio is given.
_FLAT = 1e-4
_LUMA = np.array(LUMA_WEIGHTS)


def _luma(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` float64 luma in [0, 1] of a checked ``(H, W, C)`` integer image."""
    scaled = image.astype(np.float64) / data_range(image)
    if scaled.shape[2] >= 3:
        return scaled[..., :3] @ _LUMA
    return scaled[..., 0]


def _halve(values: np.ndarray, reduce: str) -> np.ndarray:
    """Halves an ``(H, W)`` array by 2×2 blocks (an odd last row or column is dropped)."""
    height, width = values.shape[0] // 2, values.shape[1] // 2
    blocks = values[: 2 * height, : 2 * width].reshape(height, 2, width, 2)
    return blocks.min(axis=(1, 3)) if reduce == "min" else blocks.mean(axis=(1, 3))


def _eroded_by_one(region: np.ndarray) -> np.ndarray:
    """``region`` without its pixels next to (8-neighbour) a pixel outside it."""
    kernel = np.ones((3, 3), np.uint8)
    return cv2.erode(region.astype(np.uint8), kernel, borderValue=1).astype(bool)


def detail_ratio(
    restored: np.ndarray,
    reference: np.ndarray,
    holes: np.ndarray | None = None,
    levels: int = DETAIL_LEVELS,
    erode: int = DETAIL_ERODE,
) -> list[float]:
    """Fine detail of ``restored`` against ``reference``, per pyramid level.

    At each level the luma of both images goes through the 3×3 Laplacian
    (``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``, borders reflected); the ratio is the mean absolute
    response of ``restored`` over that of ``reference``, over the region. The region is the
    holes eroded by ``erode`` pixels (so the seam along the known pixels does not count), or
    the whole image; a pixel of a coarser level is in it when its whole 2×2 block is, and is
    scored when its 8 neighbours are in it too (the Laplacian reads them), so no fill pixel
    within ``erode`` of the known ones counts at any level. Level ``k + 1`` is level ``k``
    halved by area (2×2 means). Noise raises level 0 alone; texture
    raises every level; a blur lowers every level.

    Args:
        restored, reference: ``(H, W[, C])`` uint8 or uint16, same dtype and shape.
        holes: ``(H, W)`` bool or {0, 1}, True = hole; None: the whole image.
        levels: number of pyramid levels, >= 1.
        erode: pixels the holes are eroded by first, >= 0.

    Returns:
        ``levels`` ratios >= 0 (1.0: as much detail as the truth), each ``nan`` where the region
        is empty at that level or the truth is flat there (mean |Laplacian| < 1e-4).
    """
    restored, reference = _checked_pair(restored, reference)
    if holes is None:
        region = np.ones(reference.shape[:2], bool)
    else:
        region = np.asarray(holes).astype(bool)
        if region.shape != reference.shape[:2]:
            shape = reference.shape[:2]
            raise MetricInputError(f"mask {region.shape} does not match image {shape}")
        if erode > 0:
            kernel = np.ones((2 * erode + 1, 2 * erode + 1), np.uint8)
            region = cv2.erode(region.astype(np.uint8), kernel).astype(bool)
    images = [_luma(restored), _luma(reference)]
    ratios = []
    for level in range(levels):
        if level:
            images = [_halve(image, "mean") for image in images]
            region = _halve(region, "min")
        # The 3x3 Laplacian reads one pixel around: at a coarser level that pixel's block must
        # lie in the region too (at level 0 the erosion already keeps it inside the hole).
        scored = region if level == 0 or holes is None else _eroded_by_one(region)
        if not scored.any():
            ratios.append(math.nan)
            continue
        out, truth = (
            float(np.abs(cv2.Laplacian(image, cv2.CV_64F, ksize=1))[scored].mean())
            for image in images
        )
        ratios.append(out / truth if truth >= _FLAT else math.nan)
    return ratios


@dataclass
class Lpips:
    """LPIPS (AlexNet backbone) on integer images, or the reason it is unavailable.

    Build it with :meth:`load`; ``score`` returns None when unavailable or when an image is
    smaller than the backbone accepts (31×31).
    """

    model: Any = None
    reason: str | None = None
    min_size: int = 31
    _torch: Any = field(default=None, repr=False)

    @classmethod
    def load(cls, enabled: bool = True, pretrained: bool = True) -> Lpips:
        """LPIPS with torchvision's AlexNet weights from the torch cache (never downloads).

        Args:
            enabled: False: unavailable, reason "disabled (--no-lpips)".
            pretrained: False builds a random backbone (tests only: meaningless numbers).
        """
        if not enabled:
            return cls(reason="disabled (--no-lpips)")
        from ganrestore.losses import perceptual

        url = perceptual.torchvision_weights_url("AlexNet_Weights")
        expected = perceptual.hub_weights_file(url)
        if pretrained and not expected.is_file():
            return cls(
                reason=f"the AlexNet ImageNet weights of LPIPS are not installed: ganrestore "
                f"never downloads; fetch {url} and put it at {expected}"
            )
        try:
            loss = perceptual.LPIPSLoss(net="alex", pretrained=pretrained)
        except perceptual.PerceptualWeightsError as exc:
            return cls(reason=str(exc))
        import torch

        return cls(model=loss, min_size=loss.min_size, _torch=torch)

    @property
    def available(self) -> bool:
        return self.model is not None

    def score(self, restored: np.ndarray, reference: np.ndarray) -> float | None:
        """LPIPS distance (lower is better), or None if unavailable / the image is too small."""
        restored, reference = _checked_pair(restored, reference)
        if self.model is None or min(reference.shape[:2]) < self.min_size:
            return None
        torch = self._torch
        scale = float(data_range(reference))

        def tensor(image: np.ndarray) -> Any:
            values = torch.from_numpy(image.astype(np.float32) / scale).permute(2, 0, 1)[None]
            return values.expand(-1, 3, -1, -1) * 2 - 1

        with torch.inference_mode():
            return float(self.model.model(tensor(restored), tensor(reference)).mean())
