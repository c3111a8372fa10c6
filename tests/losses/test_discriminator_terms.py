"""R1 penalty against hand-computed gradients of tiny discriminators."""

from __future__ import annotations

import pytest
import torch

from ganrestore.losses import r1_penalty


def linear_d(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """D(x) = <weight, x> per sample, as (B, 1, 1, 1) logits; its input gradient is ``weight``."""
    return (x * weight).sum(dim=(1, 2, 3)).view(-1, 1, 1, 1)


def test_linear_discriminator_penalty_is_the_squared_weight_norm(
    generator: torch.Generator,
) -> None:
    weight = torch.tensor([[[[1.0, -2.0], [0.5, 0.0]]]], requires_grad=True)  # (1, 1, 2, 2)
    real = torch.rand(3, 1, 2, 2, generator=generator).requires_grad_()
    penalty = r1_penalty(linear_d(real, weight), real)
    assert penalty.item() == pytest.approx(1 + 4 + 0.25)
    # The penalty trains D: d(||w||^2)/dw = 2w.
    penalty.backward()
    torch.testing.assert_close(weight.grad, 2 * weight.detach())


def test_quadratic_discriminator_penalty_per_sample_then_batch_mean() -> None:
    # D(x) = sum(x^2): the gradient is 2x, so the penalty is mean_b 4 * ||x_b||^2.
    real = torch.tensor([1.0, 2.0, 0.0, 3.0]).view(2, 1, 1, 2).requires_grad_()
    logits = real.square().sum(dim=(1, 2, 3)).view(-1, 1, 1, 1)
    assert r1_penalty(logits, real).item() == pytest.approx((4 * 5 + 4 * 9) / 2)


def test_multi_scale_penalty_is_the_mean_over_scales(generator: torch.Generator) -> None:
    real = torch.rand(2, 1, 2, 2, generator=generator).requires_grad_()
    small, large = torch.full((1, 1, 2, 2), 1.0), torch.full((1, 1, 2, 2), 3.0)
    penalty = r1_penalty([linear_d(real, small), linear_d(real, large)], real)
    assert penalty.item() == pytest.approx((4 * 1 + 4 * 9) / 2)


def test_inputs_must_require_grad() -> None:
    real = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="requires_grad_"):
        r1_penalty(real.sum().view(1, 1, 1, 1), real)
