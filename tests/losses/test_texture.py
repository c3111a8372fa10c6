"""The weight-free texture loss: Gram matrices of fixed random filters over the holes."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

from ganrestore.losses import LossInputError, LossInputs
from ganrestore.losses.texture import RandomTextureLoss, random_filter_bank


def _grass_and_hole() -> tuple[torch.Tensor, torch.Tensor]:
    """A photo of grass (a stationary texture, grey as RGB) and a 64 x 64 hole in its middle."""
    photo = np.repeat(skimage.data.grass()[:128, :128, None], 3, axis=2)
    image = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 32:96, 32:96] = 1
    return image, mask


def _loss_of(fill: torch.Tensor) -> float:
    truth, mask = _grass_and_hole()
    output = truth * (1 - mask) + fill * mask
    return float(RandomTextureLoss()(LossInputs(output, truth, mask)))


def test_the_truth_scores_zero_and_a_blur_or_a_flat_fill_score_high() -> None:
    truth, _ = _grass_and_hole()
    assert _loss_of(truth) == 0.0
    assert _loss_of(F.avg_pool2d(truth, 9, 1, 4)) > 0.6
    assert _loss_of(truth.mean(dim=(2, 3), keepdim=True).expand_as(truth)) > 0.8


def test_the_same_texture_shifted_scores_low_although_every_pixel_is_off() -> None:
    truth, _ = _grass_and_hole()
    shifted = truth.roll(shifts=(7, 11), dims=(2, 3))
    assert _loss_of(shifted) < 0.3 * _loss_of(F.avg_pool2d(truth, 9, 1, 4))


def test_filters_are_fixed_zero_mean_per_channel_and_unit_norm() -> None:
    bank = random_filter_bank(8, 5, seed=3)
    assert torch.equal(bank, random_filter_bank(8, 5, seed=3))
    assert bank.mean(dim=(2, 3)).abs().max() < 1e-6
    assert torch.allclose(bank.flatten(1).norm(dim=1), torch.ones(8))


def test_gradients_reach_the_output_and_a_mask_is_required() -> None:
    truth, mask = _grass_and_hole()
    output = F.avg_pool2d(truth, 5, 1, 2).requires_grad_(True)
    RandomTextureLoss()(LossInputs(output, truth, mask)).backward()
    assert output.grad is not None and output.grad[..., 40:80, 40:80].abs().sum() > 0
    with pytest.raises(LossInputError, match="texture"):
        RandomTextureLoss()(LossInputs(output, truth))


def test_gray_images_are_read_as_rgb() -> None:
    truth, mask = _grass_and_hole()
    gray = truth[:, :1]
    flat = gray * (1 - mask) + gray.mean() * mask
    assert RandomTextureLoss()(LossInputs(flat, gray, mask)) > 0.8
    assert RandomTextureLoss()(LossInputs(gray, gray, mask)) == 0


@pytest.mark.parametrize("params", [{"filters": 0}, {"size": 4}, {"scales": 0}, {"floor": -1}])
def test_bad_params_are_refused(params: dict) -> None:
    with pytest.raises(ValueError):
        RandomTextureLoss(**params)
