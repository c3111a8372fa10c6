"""Structural similarity loss: ``1 - SSIM`` with kornia's Gaussian-window SSIM."""

from __future__ import annotations

import kornia
import torch
from torch import Tensor, nn

from ganrestore.losses.inputs import LossInputs


def ssim_loss(output: Tensor, target: Tensor, window_size: int = 11) -> Tensor:
    """``1 - mean SSIM`` of two images in [0, 1]; 0 for identical images.

    Computed in float32 with autocast off: SSIM subtracts squared means from means of squares,
    which loses everything in half precision.

    Args:
        output: generated image, float in [0, 1].
        target: ground truth, float in [0, 1].
        window_size: side of the Gaussian window (sigma 1.5), odd.

    Returns:
        Scalar float32 tensor in [0, 2].

    Shape:
        - output, target: :math:`(B, C, H, W)`, the same shape.
    """
    with torch.autocast(device_type=output.device.type, enabled=False):
        similarity = kornia.metrics.ssim(
            output.float(), target.float(), window_size=window_size, max_val=1.0
        )
        return 1 - similarity.mean()


class SSIMLoss(nn.Module):
    """``1 - SSIM`` between ``output`` and ``target``; see :func:`ssim_loss`.

    Args:
        window_size: side of the Gaussian window, an odd integer >= 3 (default 11).

    Raises:
        ValueError: ``window_size`` is not an odd integer >= 3.
    """

    def __init__(self, window_size: int = 11) -> None:
        super().__init__()
        if isinstance(window_size, bool) or not isinstance(window_size, int):
            raise ValueError(f"window_size must be an odd integer >= 3, got {window_size!r}")
        if window_size < 3 or window_size % 2 == 0:
            raise ValueError(f"window_size must be an odd integer >= 3, got {window_size}")
        self.window_size = window_size

    def forward(self, inputs: LossInputs) -> Tensor:
        return ssim_loss(inputs.output, inputs.target, self.window_size)

    def extra_repr(self) -> str:
        return f"window_size={self.window_size}"
