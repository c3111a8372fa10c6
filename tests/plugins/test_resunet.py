"""resunet: residual learning, and the noise level it measures for ``noise_map``."""

from __future__ import annotations

import re

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


def test_a_grown_refinement_stage_starts_from_the_output_of_the_network_without_it() -> None:
    torch.manual_seed(0)
    plain = resunet(3, 3, **SMALL, noise_map=True).eval()
    grown = resunet(3, 3, **SMALL, noise_map=True, refine_width=8).eval()
    missing = grown.load_state_dict(plain.state_dict(), strict=False).missing_keys
    refinement_offset = f"noise_embedding.levels.{len(plain.noise_embedding.levels)}."
    assert missing and all(key.startswith(("refine.", refinement_offset)) for key in missing)
    image = photo()[..., :97, :115]
    with torch.no_grad():
        assert torch.equal(grown(image), plain(image))
        nn.init.normal_(grown.refine.tail.weight, std=0.1)
        refined = grown(image)
    assert refined.shape == image.shape
    assert not torch.allclose(refined, plain(image))


def test_a_network_grown_deeper_with_identity_init_starts_from_the_trained_output() -> None:
    torch.manual_seed(0)
    trained = resunet(3, 3, **SMALL, noise_map=True, refine_width=8).eval()
    deeper = {"blocks": 3, "refine_blocks": 2}
    grown = resunet(3, 3, **{**SMALL, **deeper}, noise_map=True, refine_width=8, identity_init=True)
    missing = grown.eval().load_state_dict(trained.state_dict(), strict=False).missing_keys
    added = re.compile(r"((encoders|decoders)\.\d+|bottleneck)\.[12]\.|refine\.body\.1\.")
    assert missing and all(added.match(key) for key in missing)  # only the added blocks
    image = photo()[..., :97, :115]
    with torch.no_grad():
        assert torch.equal(grown(image), trained(image))
    # Without it the added blocks start random and change the output.
    plain = resunet(3, 3, **{**SMALL, **deeper}, noise_map=True, refine_width=8).eval()
    plain.load_state_dict(trained.state_dict(), strict=False)
    with torch.no_grad():
        assert not torch.allclose(plain(image), trained(image))


def test_a_told_noise_level_replaces_the_measured_one() -> None:
    torch.manual_seed(0)
    network = resunet(3, 3, **SMALL, noise_map=True).eval()
    assert network.takes_noise_sigma and not resunet(3, 3, **SMALL).takes_noise_sigma
    for level in network.noise_embedding.levels:
        nn.init.normal_(level.weight, std=0.5)
    noisy = photo() + torch.randn(photo().shape, generator=torch.Generator().manual_seed(1)) / 10
    with torch.no_grad():
        measured = network(noisy)
        network.noise_sigma = measured_sigma(noisy)  # told what it would measure: the same
        assert torch.allclose(network(noisy), measured, atol=1e-5)
        network.noise_sigma = 0.0
        assert not torch.allclose(network(noisy), measured, atol=1e-3)
        network.noise_sigma = None
        assert torch.equal(network(noisy), measured)


@pytest.mark.slow  # 150 optimiser steps
def test_the_refinement_stage_trains_at_full_resolution() -> None:
    # One 2x2 block's four pixels are one position at half resolution; the refinement sees
    # them apart, so it alone can learn a per-pixel pattern inside every block.
    torch.manual_seed(0)
    network = resunet(3, 3, **SMALL, refine_width=8)
    image = photo()[..., :32, :32]
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None]) % 2 * 0.2 - 0.1
    target = image + checker
    optimizer = torch.optim.Adam(network.refine.parameters(), lr=3e-3)
    for _ in range(150):
        optimizer.zero_grad()
        loss = (network(image) - target).abs().mean()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < 0.03  # the start (output = input) is 0.1 off everywhere


@pytest.mark.parametrize(
    ("params", "message"),
    [({"refine_width": -1}, "refine_width"), ({"refine_width": 8, "widths": [6, 12]}, "by 4")],
)
def test_bad_refinement_params_are_refused_by_name(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resunet(3, 3, **{**SMALL, **params})
