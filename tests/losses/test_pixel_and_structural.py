"""Pixel (l1, mse, hole_l1), structural (ssim) and feature-matching terms on known tensors."""

from __future__ import annotations

import pytest
import torch

from ganrestore.losses import LossInputError, LossInputs, feature_matching_loss
from ganrestore.registry import LOSSES, PluginParamsError


def left_column_hole(batch: int = 1, size: int = 2) -> torch.Tensor:
    """(B, 1, size, size) mask whose first column is a hole (1)."""
    mask = torch.zeros(batch, 1, size, size)
    mask[..., 0] = 1
    return mask


class TestL1:
    def test_mean_absolute_error(self) -> None:
        output = torch.zeros(1, 3, 2, 2)
        target = torch.zeros(1, 3, 2, 2)
        target[:, 0] = 0.5  # one channel of three off by 0.5
        value = LOSSES.build("l1")(LossInputs(output, target))
        assert value.item() == pytest.approx(0.5 / 3)

    def test_gradient_reaches_the_output(self, generator: torch.Generator) -> None:
        output = torch.rand(2, 3, 4, 4, generator=generator, requires_grad=True)
        target = torch.rand(2, 3, 4, 4, generator=generator)
        LOSSES.build("l1")(LossInputs(output, target)).backward()
        assert output.grad is not None and output.grad.abs().sum() > 0


class TestMSE:
    def test_mean_squared_error_is_what_psnr_measures(self) -> None:
        output = torch.zeros(1, 3, 2, 2)
        target = torch.zeros(1, 3, 2, 2)
        target[:, 0, 0, 0] = 0.5  # one value of twelve off by 0.5
        value = LOSSES.build("mse")(LossInputs(output, target))
        assert value.item() == pytest.approx(0.25 / 12)

    def test_large_errors_weigh_more_than_under_l1(self) -> None:
        output = torch.zeros(1, 1, 1, 2, requires_grad=True)
        target = torch.tensor([[[[0.1, 0.4]]]])
        LOSSES.build("mse")(LossInputs(output, target)).backward()
        assert output.grad is not None
        assert output.grad[0, 0, 0, 1] == pytest.approx(4 * output.grad[0, 0, 0, 0])


class TestHoleL1:
    def test_error_everywhere_weights_hole_and_valid(self) -> None:
        # Error 1 on every pixel, half of them in the hole: 6 * 0.5 + 1 * 0.5.
        inputs = LossInputs(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2), left_column_hole())
        assert LOSSES.build("hole_l1")(inputs).item() == pytest.approx(3.5)

    def test_means_are_over_the_whole_image(self) -> None:
        # Error 1 only in the hole (half the image): hole mean 0.5, valid mean 0.
        target = torch.zeros(1, 3, 2, 2)
        target[..., 0] = 1
        inputs = LossInputs(torch.zeros(1, 3, 2, 2), target, left_column_hole())
        term = LOSSES.build("hole_l1", hole_weight=2.0, valid_weight=10.0)
        assert term(inputs).item() == pytest.approx(1.0)

    def test_without_mask_names_the_term_and_what_to_do(self) -> None:
        inputs = LossInputs(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2))
        with pytest.raises(LossInputError, match=r"'hole_l1' needs an inpainting mask.*weight"):
            LOSSES.build("hole_l1")(inputs)

    def test_negative_weight_is_rejected(self) -> None:
        with pytest.raises(PluginParamsError, match="hole_weight"):
            LOSSES.build("hole_l1", hole_weight=-1.0)


class TestSSIM:
    def test_identical_images_give_zero(self, generator: torch.Generator) -> None:
        image = torch.rand(2, 3, 16, 16, generator=generator)
        assert LOSSES.build("ssim")(LossInputs(image, image.clone())).item() == pytest.approx(
            0.0, abs=1e-5
        )

    def test_different_images_give_a_positive_differentiable_loss(
        self, generator: torch.Generator
    ) -> None:
        output = torch.rand(2, 3, 16, 16, generator=generator, requires_grad=True)
        target = torch.rand(2, 3, 16, 16, generator=generator)
        value = LOSSES.build("ssim")(LossInputs(output, target))
        assert 0.5 < value.item() <= 2.0  # independent noise images are far from similar
        value.backward()
        assert torch.isfinite(output.grad).all() and output.grad.abs().sum() > 0

    def test_float32_under_autocast(self, generator: torch.Generator) -> None:
        image = torch.rand(1, 3, 16, 16, generator=generator)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            value = LOSSES.build("ssim")(LossInputs(image.bfloat16(), image.bfloat16()))
        assert value.dtype == torch.float32
        assert value.item() == pytest.approx(0.0, abs=1e-5)

    @pytest.mark.parametrize("window_size", [4, 1, 11.0])
    def test_window_size_must_be_odd_integer(self, window_size: object) -> None:
        with pytest.raises(PluginParamsError, match="window_size"):
            LOSSES.build("ssim", window_size=window_size)


class TestFeatureMatching:
    def test_mean_over_layers_of_l1(self) -> None:
        fake = [torch.zeros(1, 2, 2, 2), torch.ones(1, 1, 1, 1)]
        real = [torch.ones(1, 2, 2, 2), torch.full((1, 1, 1, 1), 3.0)]
        assert feature_matching_loss(fake, real).item() == pytest.approx((1 + 2) / 2)

    def test_only_the_fake_branch_gets_gradient(self, generator: torch.Generator) -> None:
        fake = [torch.rand(1, 4, 3, 3, generator=generator, requires_grad=True)]
        real = [torch.rand(1, 4, 3, 3, generator=generator, requires_grad=True)]
        image = torch.rand(1, 3, 8, 8, generator=generator)
        inputs = LossInputs(image, image, fake_features=fake, real_features=real)
        LOSSES.build("feature_matching")(inputs).backward()
        assert fake[0].grad is not None and fake[0].grad.abs().sum() > 0
        assert real[0].grad is None

    def test_without_features_names_the_term(self) -> None:
        image = torch.zeros(1, 3, 4, 4)
        with pytest.raises(LossInputError, match="'feature_matching' needs discriminator"):
            LOSSES.build("feature_matching")(LossInputs(image, image))

    def test_inputs_reject_mismatched_feature_lists(self) -> None:
        image = torch.zeros(1, 3, 4, 4)
        with pytest.raises(ValueError, match="equal length"):
            LossInputs(image, image, fake_features=[image], real_features=[image, image])
        with pytest.raises(ValueError, match="or neither"):
            LossInputs(image, image, fake_features=[image])


def test_inputs_check_shapes() -> None:
    image = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match="same shape"):
        LossInputs(image, torch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"mask must be \(B, 1, H, W\)"):
        LossInputs(image, image, mask=torch.zeros(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"output must be \(B, C, H, W\)"):
        LossInputs(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4))
