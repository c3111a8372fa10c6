"""Every registered network honours the plugin contract: shapes, gradients, odd sizes."""

from __future__ import annotations

import pytest
import torch

import ganrestore
from ganrestore.models import count_parameters
from ganrestore.registry import DISCRIMINATORS, GENERATORS, PluginError

# Small settings per built-in so that the contract tests stay fast; plugins not listed here are
# tested with their defaults, so a new plugin is covered without touching this file.
FAST_PARAMS = {
    "unet": {"depth": 4, "base_channels": 8},
    "patchgan": {"width": 8},
    "upnet": {"width": 8, "blocks": 1},
}


@pytest.mark.parametrize("name", GENERATORS.names())
@pytest.mark.parametrize("in_channels", [3, 4])
def test_generator_keeps_odd_sizes_and_backpropagates(name: str, in_channels: int) -> None:
    torch.manual_seed(0)
    net = ganrestore.build_generator(name, in_channels, 3, **FAST_PARAMS.get(name, {}))
    x = torch.rand(2, in_channels, 97, 131) * 2 - 1
    y = net(x)
    scale = getattr(net, "scale", 1)  # an upscaling network says how much larger it makes
    assert y.shape == (2, 3, 97 * scale, 131 * scale)
    y.square().mean().backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("name", DISCRIMINATORS.names())
def test_discriminator_gives_patch_logits_and_backpropagates(name: str) -> None:
    torch.manual_seed(0)
    net = ganrestore.build_discriminator(name, 6, **FAST_PARAMS.get(name, {}))
    x = (torch.rand(2, 6, 97, 131) * 2 - 1).requires_grad_()
    logits = net(x)
    assert logits.ndim == 4 and logits.shape[:2] == (2, 1) and min(logits.shape[2:]) > 0
    logits.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_canonical_pix2pix_parameter_counts() -> None:
    assert count_parameters(ganrestore.build_generator("unet", 3, 3)) == 54_413_955
    discriminator = ganrestore.build_discriminator("patchgan", 6)
    assert count_parameters(discriminator) == 2_768_705
    with torch.no_grad():
        assert discriminator.eval()(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)


def test_a_factory_that_returns_no_module_is_refused() -> None:
    @ganrestore.register_generator("_returns_a_string")
    def returns_a_string(in_channels: int, out_channels: int) -> str:
        return "not a network"

    try:
        with pytest.raises(PluginError, match=r"not a torch\.nn\.Module"):
            ganrestore.build_generator("_returns_a_string", 3, 3)
    finally:
        GENERATORS.unregister("_returns_a_string")
