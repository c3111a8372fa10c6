"""Adversarial losses: values on known logits, gradient directions, scales, precision."""

from __future__ import annotations

import math

import pytest
import torch

from ganrestore.losses import AdversarialLoss, build_adversarial
from ganrestore.registry import ADVERSARIAL_LOSSES, UnknownPluginError

BUILT_IN = ["vanilla", "lsgan", "hinge"]


def logits(*values: float) -> torch.Tensor:
    """A (1, 1, 1, N) logits map holding ``values``."""
    return torch.tensor(values, dtype=torch.float32).view(1, 1, 1, -1)


def test_built_ins_are_registered_and_built_by_name() -> None:
    assert set(BUILT_IN) <= set(ADVERSARIAL_LOSSES.names())
    for name in BUILT_IN:
        assert isinstance(build_adversarial(name), AdversarialLoss)


def test_unknown_name_lists_the_available_losses() -> None:
    with pytest.raises(UnknownPluginError) as error:
        build_adversarial("hinj")
    message = str(error.value)
    assert "hinge" in message and "lsgan" in message and "vanilla" in message
    assert "Did you mean 'hinge'" in message


class TestVanilla:
    def test_zero_logits(self) -> None:
        loss = build_adversarial("vanilla")
        zeros = torch.zeros(2, 1, 4, 4)
        assert loss.discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
        assert loss.generator_loss(zeros).item() == pytest.approx(math.log(2))

    def test_known_logits(self) -> None:
        loss = build_adversarial("vanilla")
        # BCE(x, 1) = ln(1 + e^-x), BCE(x, 0) = ln(1 + e^x)
        expected_d = math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))
        assert loss.discriminator_loss(logits(2.0), logits(-1.0)).item() == pytest.approx(
            expected_d
        )
        assert loss.generator_loss(logits(-1.0)).item() == pytest.approx(math.log(1 + math.e))

    def test_generator_loss_is_non_saturating(self) -> None:
        # D is sure the fake is fake: log(1 - D) would give G almost no gradient; -log(D) does.
        fake = logits(-10.0).requires_grad_()
        build_adversarial("vanilla").generator_loss(fake).backward()
        assert fake.grad.item() == pytest.approx(-torch.sigmoid(torch.tensor(10.0)).item())


class TestLeastSquares:
    def test_known_logits(self) -> None:
        loss = build_adversarial("lsgan")
        # D: mean((0.5-1)^2, (1.5-1)^2) + mean(0.5^2, (-0.5)^2) = 0.25 + 0.25
        assert loss.discriminator_loss(logits(0.5, 1.5), logits(0.5, -0.5)).item() == (
            pytest.approx(0.5)
        )
        # G: mean((0.5-1)^2, (-0.5-1)^2) = (0.25 + 2.25) / 2
        assert loss.generator_loss(logits(0.5, -0.5)).item() == pytest.approx(1.25)


class TestHinge:
    def test_known_logits(self) -> None:
        loss = build_adversarial("hinge")
        # D: mean(relu(1-2), relu(1-0.5)) + mean(relu(1-2), relu(1+0)) = 0.25 + 0.5
        assert loss.discriminator_loss(logits(2.0, 0.5), logits(-2.0, 0.0)).item() == (
            pytest.approx(0.75)
        )
        assert loss.generator_loss(logits(-2.0, 0.0)).item() == pytest.approx(1.0)

    def test_confident_discriminator_gets_no_gradient(self) -> None:
        real, fake = logits(3.0).requires_grad_(), logits(-3.0).requires_grad_()
        build_adversarial("hinge").discriminator_loss(real, fake).backward()
        assert real.grad.item() == 0 and fake.grad.item() == 0


@pytest.mark.parametrize("name", BUILT_IN)
def test_gradients_push_real_up_fake_down_and_generator_up(name: str) -> None:
    loss = build_adversarial(name)
    real = torch.full((2, 1, 3, 3), 0.5, requires_grad=True)
    fake = torch.full((2, 1, 3, 3), 0.5, requires_grad=True)
    loss.discriminator_loss(real, fake).backward()
    # Gradient descent moves logits against the gradient: D raises real and lowers fake logits.
    assert (real.grad < 0).all()
    assert (fake.grad > 0).all()

    fake_for_g = torch.full((2, 1, 3, 3), 0.5, requires_grad=True)
    loss.generator_loss(fake_for_g).backward()
    assert (fake_for_g.grad < 0).all()  # G wants its fakes judged more real


@pytest.mark.parametrize("name", BUILT_IN)
def test_list_of_scales_is_the_mean_over_scales(name: str, generator: torch.Generator) -> None:
    loss = build_adversarial(name)
    real = [torch.randn(2, 1, size, size, generator=generator) for size in (8, 3)]
    fake = [torch.randn(2, 1, size, size, generator=generator) for size in (8, 3)]
    per_scale_d = [loss.discriminator_loss(r, f) for r, f in zip(real, fake, strict=True)]
    per_scale_g = [loss.generator_loss(f) for f in fake]
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(sum(per_scale_d).item() / 2)
    assert loss.generator_loss(fake).item() == pytest.approx(sum(per_scale_g).item() / 2)
    assert loss.generator_loss(tuple(fake)).item() == pytest.approx(sum(per_scale_g).item() / 2)


@pytest.mark.parametrize("name", BUILT_IN)
def test_scale_lists_must_match_and_not_be_empty(name: str) -> None:
    loss = build_adversarial(name)
    one = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="2 scales but fake_logits has 1"):
        loss.discriminator_loss([one, one], [one])
    with pytest.raises(ValueError, match="empty"):
        loss.generator_loss([])


@pytest.mark.parametrize("name", BUILT_IN)
def test_computed_in_float32_under_autocast(name: str, generator: torch.Generator) -> None:
    loss = build_adversarial(name)
    real = torch.randn(2, 1, 4, 4, generator=generator)
    fake = torch.randn(2, 1, 4, 4, generator=generator)
    expected = loss.discriminator_loss(real, fake)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        d_loss = loss.discriminator_loss(real.bfloat16(), fake.bfloat16())
        g_loss = loss.generator_loss(fake.bfloat16())
    assert d_loss.dtype == torch.float32 and g_loss.dtype == torch.float32
    assert d_loss.item() == pytest.approx(expected.item(), rel=2e-2)
