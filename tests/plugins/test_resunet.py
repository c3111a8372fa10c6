"""resunet: residual learning, and the noise level it measures for ``noise_map``."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch
from torch import nn

from ganrestore_plugins.resunet import estimate_noise_level, resunet

SMALL = {"widths": [8, 16, 16], "blocks": 1}


def photo() -> torch.Tensor:
    """(1, 3, 128, 128) crop of the coffee photo in [-1, 1]."""
    crop = skimage.data.coffee()[100:228, 200:328].astype(np.float32) / 127.5 - 1
    return torch.from_numpy(crop).permute(2, 0, 1)[None]


def measured_sigma(image: torch.Tensor) -> float:
    """σ on the 0-255 scale, as the network measures it."""
    return float(estimate_noise_level(nn.PixelUnshuffle(2)(image), 3)[0]) * 127.5


@pytest.mark.parametrize("sigma", [10.0, 25.0])
def test_the_noise_level_of_a_noisy_photo_is_measured_within_15_percent(sigma: float) -> None:
    clean = photo()
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    noisy = (clean + noise * sigma / 127.5).clamp(-1, 1)

    assert measured_sigma(noisy) == pytest.approx(sigma, rel=0.15)
    assert measured_sigma(clean) < 3.0  # texture alone reads as almost no noise


def test_with_its_last_layer_at_zero_the_residual_network_returns_its_input() -> None:
    network = resunet(3, 3, **SMALL).eval()
    nn.init.zeros_(network.tail.weight)
    nn.init.zeros_(network.tail.bias)
    image = photo()[..., :97, :115]  # sizes that need padding inside
    with torch.no_grad():
        assert torch.equal(network(image), image)


def test_the_noise_map_starts_at_zero_then_adapts_the_output_to_the_noise() -> None:
    torch.manual_seed(0)
    plain = resunet(3, 3, **SMALL).eval()
    conditioned = resunet(3, 3, **SMALL, noise_map=True).eval()
    missing = conditioned.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(key.startswith("noise_embedding.") for key in missing)
    image = photo()
    with torch.no_grad():
        assert torch.equal(conditioned(image), plain(image))
        for level in conditioned.noise_embedding.levels:
            level.weight.fill_(0.5)
        noisy = image + torch.randn(image.shape, generator=torch.Generator().manual_seed(1)) / 10
        # The offsets are a learned function of the measured σ: more noise, more change.
        on_noisy = (conditioned(noisy) - plain(noisy)).abs().mean()
        on_clean = (conditioned(image) - plain(image)).abs().mean()
        assert on_noisy > 3 * on_clean > 0
