"""Specification of the built-in ``unet`` generator plugin."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from ganrestore.registry import Registry
from ganrestore_plugins.unet import UNetGenerator, unet

SMALL = {"depth": 4, "base_channels": 8}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def images(*shape: int) -> torch.Tensor:
    """Seeded images in the networks' [-1, 1] range."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(1)) * 2 - 1


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.slow  # 54 M parameters on a 256 x 256 image
def test_defaults_are_pix2pix_unet_256() -> None:
    net = unet(3, 3)
    assert count_params(net) == 54_413_955
    assert sum(isinstance(m, nn.Dropout) for m in net.modules()) == 3
    net.eval()
    with torch.no_grad():
        out = net(images(1, 3, 256, 256))
    assert out.shape == (1, 3, 256, 256)
    assert out.abs().max() <= 1


def test_encoder_ends_have_no_norm_and_batch_norm_convs_have_no_bias() -> None:
    net = unet(3, 3, **SMALL)
    outermost, innermost = net.encoder[0], net.encoder[-1]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in [*outermost.modules(), innermost])
    assert isinstance(innermost, nn.Conv2d) and innermost.bias is None
    last_up = net.decoder[-1][1]
    assert isinstance(last_up, nn.ConvTranspose2d) and last_up.bias is not None
    assert isinstance(net.decoder[-1][-1], nn.Tanh)


@pytest.mark.parametrize(
    ("shape", "in_channels", "params"),
    [
        ((2, 3, 97, 131), 3, {"depth": 5, "base_channels": 8}),
        ((1, 4, 33, 47), 4, SMALL),
        # 2**8 = 256 > 2 * 47: too small to reflect, padded by replication instead.
        ((1, 3, 33, 47), 3, {"depth": 8, "base_channels": 4, "max_channels": 16}),
    ],
)
def test_any_image_size_comes_back_at_its_size(
    shape: tuple[int, ...], in_channels: int, params: dict
) -> None:
    out = unet(in_channels, 3, **params)(images(*shape))
    assert out.shape == (shape[0], 3, *shape[2:])
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
@pytest.mark.parametrize("upsampling", ["transpose", "resize"])
def test_every_norm_and_upsampling_gives_images_in_range(norm: str, upsampling: str) -> None:
    net = unet(3, 3, norm=norm, upsampling=upsampling, **SMALL)
    out = net(images(2, 3, 40, 24))
    assert out.shape == (2, 3, 40, 24)
    assert out.abs().max() <= 1


def test_norm_choice_sets_layers_and_biases() -> None:
    instance = unet(3, 3, norm="instance", **SMALL)
    assert any(isinstance(m, nn.InstanceNorm2d) for m in instance.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in instance.modules())
    assert all(m.bias is not None for m in instance.modules() if isinstance(m, nn.Conv2d))
    plain = unet(3, 3, norm="none", **SMALL)
    assert not any(isinstance(m, nn.InstanceNorm2d | nn.BatchNorm2d) for m in plain.modules())


def test_resize_upsampling_uses_no_transposed_convolution() -> None:
    net = unet(3, 3, upsampling="resize", **SMALL)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    assert sum(isinstance(m, nn.Upsample) for m in net.modules()) == SMALL["depth"]


def test_dropout_only_where_both_widths_are_capped() -> None:
    assert not any(isinstance(m, nn.Dropout) for m in unet(3, 3, dropout=0.0).modules())
    capped = unet(3, 3, depth=6, base_channels=4, max_channels=8)  # widths 4, 8, 8, 8, 8, 8
    assert sum(isinstance(m, nn.Dropout) for m in capped.modules()) == 3


def test_residual_with_a_silent_network_returns_the_input() -> None:
    net = unet(4, 3, residual=True, **SMALL)
    last_up = net.decoder[-1][1]
    nn.init.zeros_(last_up.weight)
    nn.init.zeros_(last_up.bias)
    x = images(2, 4, 33, 47)
    torch.testing.assert_close(net(x), x[:, :3])


def test_residual_output_is_not_clamped() -> None:
    net = unet(3, 3, residual=True, **SMALL)
    last_up = net.decoder[-1][1]
    nn.init.zeros_(last_up.weight)
    nn.init.constant_(last_up.bias, 10.0)  # the tanh branch saturates at +1
    out = net(torch.ones(1, 3, 16, 16))
    torch.testing.assert_close(out, torch.full_like(out, 2.0))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"norm": "instance", "upsampling": "resize"},
        {"norm": "none", "residual": True},
        {"depth": 6, "base_channels": 4, "max_channels": 8},  # with dropout
    ],
)
def test_backward_gives_finite_gradients_on_every_parameter(params: dict) -> None:
    net = unet(3, 3, **{**SMALL, **params})
    net(images(2, 3, 37, 29)).square().mean().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 1}, "depth"),
        ({"norm": "group"}, "'batch', 'instance', 'none'"),
        ({"upsampling": "nearest"}, "'transpose', 'resize'"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"base_channels": 0}, "base_channels"),
        ({"max_channels": -8}, "max_channels"),
        ({"in_channels": 0}, "in_channels"),
        ({"in_channels": 1, "residual": True}, "residual"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    args = {"in_channels": 3, "out_channels": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        unet(args.pop("in_channels"), args.pop("out_channels"), **args)


def test_wrong_input_channels_are_reported() -> None:
    with pytest.raises(ValueError, match=r"\(B, 4, H, W\)"):
        unet(4, 3, **SMALL)(images(1, 3, 16, 16))


def test_found_through_its_entry_point() -> None:
    generators = Registry("generator", "ganrestore.generators")
    net = generators.build("unet", 3, 3, **SMALL)
    assert isinstance(net, UNetGenerator)
    assert generators.source("unet").target == "ganrestore_plugins.unet:unet"


def test_docstring_documents_every_parameter() -> None:
    doc = unet.__doc__ or ""
    for name in ["in_channels", "out_channels", *unet.__kwdefaults__]:
        assert f"    {name}: " in doc, name
    assert "Shape:" in doc


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_importing_unet_does_not_import_patchgan() -> None:
    code = (
        "import sys, ganrestore_plugins.unet; "
        "sys.exit('ganrestore_plugins.patchgan' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
