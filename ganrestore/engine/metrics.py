"""Image-quality metrics on tensors, for validation during training."""

from __future__ import annotations

import kornia
import torch


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


def ssim(restored: torch.Tensor, reference: torch.Tensor, window: int = 11) -> torch.Tensor:
    """Mean structural similarity per image (Gaussian window), ``(B,)`` in [-1, 1]."""
    similarity = kornia.metrics.ssim(restored.float(), reference.float(), window, max_val=1.0)
    return similarity.flatten(1).mean(dim=1)
