"""Image-quality metrics on integer images, the way papers and other toolkits compute them.

Images are numpy ``(H, W, C)`` (or ``(H, W)``) ``uint8`` or ``uint16``: what is saved on disk,
so that scoring saved files (``ganrestore eval --restored``) and scoring in memory agree.
The data range is the dtype's (255 or 65535).

* PSNR: ``10 log10(range² / MSE)`` over every pixel and channel; identical images give ``inf``.
* PSNR over the holes: the same over the pixels where the mask is 1 (all channels).
* SSIM: scikit-image ``structural_similarity`` with its defaults (7×7 uniform window,
  K1 = 0.01, K2 = 0.03), ``channel_axis=-1``, averaged over channels.
* LPIPS (AlexNet, v0.1) through :class:`ganrestore.losses.perceptual.LPIPSLoss` when the
  backbone's ImageNet weights are in the torch cache; otherwise unavailable, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganrestore.errors import GanrestoreError

#: Peak value of each accepted dtype.
DATA_RANGE = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


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
    if min(reference.shape[:2]) < 7:
        raise MetricInputError(f"SSIM needs images of at least 7x7, got {reference.shape[:2]}")
    return float(
        structural_similarity(
            reference, restored, channel_axis=-1, data_range=data_range(reference)
        )
    )


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
