"""Image-quality metrics on tensors, for validation during training.

They are the metrics ``ganrestore eval`` reports (:mod:`ganrestore.evaluation.metrics`), computed
on float tensors on the training device: validation SSIM is scikit-image's SSIM, as eval's, so
the numbers a run prints compare with eval's and with ``docs/benchmarks.md`` (up to eval scoring
the images rounded to 8 bits).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: scikit-image ``structural_similarity`` defaults: side of the uniform window, and the
#: constants ``C1 = (K1 * data_range)**2``, ``C2 = (K2 * data_range)**2``.
SSIM_WINDOW = 7
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def psnr(restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB.

    Args:
        restored: ``(B, C, H, W)`` in [0, 1].
        reference: same shape, in [0, 1].

    Returns:
        ``(B,)``; identical images give 100 dB (a finite stand-in for infinity).
    """
    mse = (restored.float() - reference.float()).square().flatten(1).mean(dim=1)
    decibels = -10 * torch.log10(mse.clamp_min(1e-10))
    return torch.where(mse > 0, decibels, torch.full_like(mse, 100.0))


def ssim(restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Mean structural similarity per image: the SSIM ``ganrestore eval`` reports.

    That is scikit-image's ``structural_similarity(reference, restored, channel_axis=-1,
    data_range=1)`` with its defaults: a 7×7 uniform window, sample (co)variances (``N / (N - 1)``
    with ``N = 49``), ``K1 = 0.01`` and ``K2 = 0.03``, averaged over every window that lies
    inside the image (3 border pixels are left out) and over channels. Not kornia's SSIM (11×11
    Gaussian window), which the ``ssim`` loss term uses.

    Computed in float32 with autocast off, on images shifted by the reference's mean (the means
    are shifted back): the variances subtract squared means from means of squares, and the
    smaller values lose less to rounding. Agrees with scikit-image to about 1e-5.

    Args:
        restored: ``(B, C, H, W)`` in [0, 1], H and W >= 7.
        reference: same shape, in [0, 1].

    Returns:
        ``(B,)`` float32 in [-1, 1]; 1 for identical images.

    Raises:
        ValueError: the images differ in shape or are smaller than 7×7.
    """
    if restored.shape != reference.shape or restored.ndim != 4:
        raise ValueError(
            f"ssim needs two (B, C, H, W) images of one shape, got {tuple(restored.shape)} "
            f"and {tuple(reference.shape)}"
        )
    if min(restored.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"ssim needs images of at least 7x7, got {tuple(restored.shape[-2:])}")
    with torch.autocast(device_type=restored.device.type, enabled=False):
        shift = reference.float().mean(dim=(-2, -1), keepdim=True)
        x, y = restored.float() - shift, reference.float() - shift

        def mean(image: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(image, SSIM_WINDOW, stride=1)

        mean_x, mean_y = mean(x), mean(y)
        sample = SSIM_WINDOW**2 / (SSIM_WINDOW**2 - 1)
        var_x = sample * (mean(x * x) - mean_x * mean_x)
        var_y = sample * (mean(y * y) - mean_y * mean_y)
        cov_xy = sample * (mean(x * y) - mean_x * mean_y)
        mean_x, mean_y = mean_x + shift, mean_y + shift
        c1, c2 = SSIM_K1**2, SSIM_K2**2
        similarity = ((2 * mean_x * mean_y + c1) * (2 * cov_xy + c2)) / (
            (mean_x * mean_x + mean_y * mean_y + c1) * (var_x + var_y + c2)
        )
        return similarity.flatten(1).mean(dim=1)
