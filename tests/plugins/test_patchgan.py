"""Specification of the built-in ``patchgan`` discriminator plugin."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganrestore.registry import Registry
from ganrestore_plugins.patchgan import PatchDiscriminator, patchgan


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def images(*shape: int) -> torch.Tensor:
    """Seeded images in the networks' [-1, 1] range."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_defaults_are_pix2pix_basic_discriminator() -> None:
    net = patchgan(6)
    assert sum(p.numel() for p in net.parameters()) == 2_768_705
    assert net(images(1, 6, 256, 256)).shape == (1, 1, 30, 30)


@pytest.mark.parametrize(
    ("n_layers", "size", "logits"),
    [(3, (97, 131), (10, 14)), (1, (6, 7), (1, 1)), (2, (40, 33), (8, 6))],
)
def test_any_size_at_least_the_minimum_gives_a_logits_map(
    n_layers: int, size: tuple[int, int], logits: tuple[int, int]
) -> None:
    out = patchgan(3, width=8, n_layers=n_layers)(images(2, 3, *size))
    assert out.shape == (2, 1, *logits)


def test_features_are_every_activation_then_the_logits() -> None:
    net = patchgan(6, width=8).eval()
    x = images(2, 6, 64, 48)
    features = net.features(x)
    assert [tuple(f.shape[1:]) for f in features] == [
        (8, 32, 24),
        (16, 16, 12),
        (32, 8, 6),
        (64, 7, 5),
        (1, 6, 4),
    ]
    torch.testing.assert_close(features[-1], net(x))


def test_spectral_norm_wraps_every_convolution() -> None:
    net = patchgan(6, width=8, norm="none", spectral_norm=True)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert all(parametrize.is_parametrized(conv, "weight") for conv in convs)
    assert net(images(1, 6, 32, 32)).shape == (1, 1, 2, 2)


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_norm_choice_sets_layers_and_biases(norm: str) -> None:
    net = patchgan(6, width=8, norm=norm)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert any(isinstance(m, nn.InstanceNorm2d) for m in net.modules()) == (norm == "instance")
    assert all(m.bias is not None for m in net.modules() if isinstance(m, nn.Conv2d))


def test_batch_norm_convolutions_have_no_bias() -> None:
    convs = [m for m in patchgan(6, width=8).modules() if isinstance(m, nn.Conv2d)]
    assert [conv.bias is not None for conv in convs] == [True, False, False, False, True]


@pytest.mark.parametrize(
    "params",
    [{}, {"norm": "instance"}, {"norm": "none", "spectral_norm": True}, {"n_layers": 1}],
)
def test_backward_gives_finite_gradients_on_every_parameter(params: dict) -> None:
    net = patchgan(6, width=8, **params)
    sum(f.mean() for f in net.features(images(2, 6, 37, 29))).backward()
    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_channels": 0}, "in_channels"),
        ({"width": -1}, "width"),
        ({"n_layers": 0}, "n_layers"),
        ({"norm": "layer"}, "'batch', 'instance', 'none'"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    args = {"in_channels": 6, **kwargs}
    with pytest.raises(ValueError, match=message):
        patchgan(args.pop("in_channels"), **args)


def test_bad_inputs_are_reported() -> None:
    net = patchgan(6, width=8)
    with pytest.raises(ValueError, match="at least 24"):
        net(images(1, 6, 23, 64))
    with pytest.raises(ValueError, match=r"\(B, 6, H, W\)"):
        net.features(images(1, 3, 64, 64))


def test_found_through_its_entry_point() -> None:
    discriminators = Registry("discriminator", "ganrestore.discriminators")
    assert isinstance(discriminators.build("patchgan", 6, width=8), PatchDiscriminator)
    assert discriminators.source("patchgan").target == "ganrestore_plugins.patchgan:patchgan"


def test_docstring_documents_every_parameter() -> None:
    doc = patchgan.__doc__ or ""
    for name in ["in_channels", *patchgan.__kwdefaults__]:
        assert f"    {name}: " in doc, name
    assert "Shape:" in doc


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_importing_patchgan_does_not_import_unet() -> None:
    code = (
        "import sys, ganrestore_plugins.patchgan; "
        "sys.exit('ganrestore_plugins.unet' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
