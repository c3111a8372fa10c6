"""Pixel losses: plain L1, mean squared error (PSNR's own measure), and the hole/valid-weighted
L1 of partial-convolution inpainting."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganrestore.losses.inputs import LossInputs


def l1_loss(output: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error, computed in float32.

    Args:
        output: generated image, float in [0, 1].
        target: ground truth, float in [0, 1].

    Returns:
        Scalar float32 tensor.

    Shape:
        - output, target: :math:`(B, C, H, W)`, the same shape.
    """
    return (output.float() - target.float()).abs().mean()


def mse_loss(output: Tensor, target: Tensor) -> Tensor:
    """Mean squared error, computed in float32: what PSNR measures (``PSNR = -10 log10 MSE``).

    A PSNR model trained with L1 is often fine-tuned with it at the end (L1 first, for its
    steadier start; then the error that the score counts). Arguments, result and shapes as
    :func:`l1_loss`: two :math:`(B, C, H, W)` images in [0, 1] give a float32 scalar.
    """
    return (output.float() - target.float()).square().mean()


def hole_l1_loss(
    output: Tensor,
    target: Tensor,
    mask: Tensor,
    hole_weight: float = 6.0,
    valid_weight: float = 1.0,
) -> Tensor:
    """L1 with separate weights inside and outside the hole (Liu et al. 2018, partial conv).

    ``hole_weight * mean(|mask * (output - target)|) + valid_weight * mean(|(1 - mask) * ...|)``.
    As in the paper, both means divide by the number of elements of the whole image, not of the
    region, so a small hole gives a small loss.

    Args:
        output: generated image, float in [0, 1].
        target: ground truth, float in [0, 1].
        mask: 1 = hole, 0 = known; broadcast over channels.
        hole_weight: weight of the error inside the hole (paper: 6).
        valid_weight: weight of the error on known pixels (paper: 1). It is 0 by construction
            when ``output`` is already composited with the known pixels.

    Returns:
        Scalar float32 tensor.

    Shape:
        - output, target: :math:`(B, C, H, W)`.
        - mask: :math:`(B, 1, H, W)`.
    """
    error = (output.float() - target.float()).abs()
    hole = mask.float()
    return hole_weight * (hole * error).mean() + valid_weight * ((1 - hole) * error).mean()


class L1Loss(nn.Module):
    """Mean absolute error between ``output`` and ``target``; see :func:`l1_loss`."""

    def forward(self, inputs: LossInputs) -> Tensor:
        return l1_loss(inputs.output, inputs.target)


class MSELoss(nn.Module):
    """Mean squared error between ``output`` and ``target``; see :func:`mse_loss`.

    Its values are small (an error of 2 levels in 100 gives 4e-4), so its weight is large:
    ``terms = { mse = 5000.0 }`` weighs about as ``l1 = 100`` at that error.
    """

    def forward(self, inputs: LossInputs) -> Tensor:
        return mse_loss(inputs.output, inputs.target)


class HoleL1Loss(nn.Module):
    """Hole/valid-weighted L1 for inpainting; needs ``inputs.mask``. See :func:`hole_l1_loss`.

    Args:
        hole_weight: weight of the error inside the hole, >= 0.
        valid_weight: weight of the error on known pixels, >= 0.

    Raises:
        ValueError: a weight is negative or not finite.
        LossInputError: (at call time) the inputs carry no mask.
    """

    needs_mask = True

    def __init__(self, hole_weight: float = 6.0, valid_weight: float = 1.0) -> None:
        super().__init__()
        for name, value in (("hole_weight", hole_weight), ("valid_weight", valid_weight)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        self.hole_weight = float(hole_weight)
        self.valid_weight = float(valid_weight)

    def forward(self, inputs: LossInputs) -> Tensor:
        mask = inputs.require_mask("hole_l1")
        return hole_l1_loss(inputs.output, inputs.target, mask, self.hole_weight, self.valid_weight)

    def extra_repr(self) -> str:
        return f"hole_weight={self.hole_weight}, valid_weight={self.valid_weight}"
