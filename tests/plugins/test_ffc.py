"""The FFC generator: a receptive field as wide as the image, float32 Fourier transforms."""

from __future__ import annotations

import pytest
import torch

from ganrestore.models import build_generator


def _output_change_far_from(generator: torch.nn.Module, size: int = 128) -> float:
    """How much the output's top-left corner moves when the bottom-right input corner does."""
    torch.manual_seed(0)
    x = torch.rand(1, 4, size, size) * 2 - 1
    changed = x.clone()
    changed[..., -8:, -8:] = -x[..., -8:, -8:]
    with torch.no_grad():
        before, after = generator(x), generator(changed)
    return float((after - before)[..., :8, :8].abs().max())


def test_the_fourier_blocks_reach_across_the_whole_image_where_convolutions_do_not() -> None:
    ffc = build_generator("ffc", 4, 3, blocks=1).eval()
    local = build_generator("resunet", 4, 3, widths=[16, 32], blocks=1, residual=False).eval()
    assert _output_change_far_from(ffc) > 1e-6
    assert _output_change_far_from(local) == 0.0


def test_runs_under_bf16_autocast_with_the_fourier_transform_in_float32() -> None:
    generator = build_generator("ffc", 4, 3, width=8, blocks=1)
    x = torch.rand(2, 4, 40, 56)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = generator(x)
    assert y.shape == (2, 3, 40, 56) and torch.isfinite(y).all()
    y.float().mean().backward()
    assert all(p.grad is not None for p in generator.parameters())


@pytest.mark.parametrize(
    "params, word",
    [
        ({"global_ratio": 1.0}, "global_ratio"),
        ({"downsamples": -1}, "downsamples"),
        ({"width": 0}, "width"),
    ],
)
def test_bad_params_are_named(params: dict, word: str) -> None:
    with pytest.raises(Exception, match=word):
        build_generator("ffc", 4, 3, **params)
