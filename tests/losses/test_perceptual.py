"""LPIPS and VGG perceptual losses: frozen, differentiable, and never downloading weights.

Here there is no network and no ImageNet file, so the real loading path is proven with state
dicts saved from random torchvision networks, laid out exactly as torchvision's files are.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from ganrestore.losses import LossInputs, LPIPSLoss, PerceptualWeightsError, VGGPerceptualLoss
from ganrestore.registry import LOSSES, PluginParamsError

# registered name, params, expected torchvision file name
PRETRAINED_CASES = [
    ("lpips", {"net": "alex"}, "alexnet-owt-7be5be79.pth"),
    ("lpips", {"net": "vgg"}, "vgg16-397923af.pth"),
    ("lpips", {"net": "squeeze"}, "squeezenet1_1-b8a52dc0.pth"),
    ("vgg", {}, "vgg19-dcbb9e9d.pth"),
]

RANDOM_CASES = [
    ("lpips", {"net": "alex"}),
    ("lpips", {"net": "squeeze"}),
    ("vgg", {"layers": ["relu1_2", "relu2_2"]}),
]


def random_pair(generator: torch.Generator, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    output = torch.rand(2, 3, size, size, generator=generator, requires_grad=True)
    return output, torch.rand(2, 3, size, size, generator=generator)


@pytest.mark.parametrize(("name", "params"), RANDOM_CASES)
class TestRandomBackbone:
    def test_forward_backward_reaches_the_output(
        self, name: str, params: dict, generator: torch.Generator
    ) -> None:
        term = LOSSES.build(name, pretrained=False, **params)
        output, target = random_pair(generator)
        value = term(LossInputs(output, target))
        assert value.ndim == 0 and value.item() > 0
        value.backward()
        assert torch.isfinite(output.grad).all() and output.grad.abs().sum() > 0

    def test_identical_images_give_zero(
        self, name: str, params: dict, generator: torch.Generator
    ) -> None:
        term = LOSSES.build(name, pretrained=False, **params)
        image = torch.rand(1, 3, 32, 32, generator=generator)
        assert term(LossInputs(image, image.clone())).item() == pytest.approx(0.0, abs=1e-6)

    def test_frozen_and_stays_in_eval_mode(self, name: str, params: dict) -> None:
        term = LOSSES.build(name, pretrained=False, **params)
        term.train()  # what an owner module's .train() does to its children
        assert all(not p.requires_grad for p in term.parameters())
        assert not any(module.training for module in term.modules())

    def test_grayscale_images_are_expanded(
        self, name: str, params: dict, generator: torch.Generator
    ) -> None:
        term = LOSSES.build(name, pretrained=False, **params)
        gray = torch.rand(1, 1, 32, 32, generator=generator)
        rgb = gray.expand(-1, 3, -1, -1)
        other = torch.rand(1, 1, 32, 32, generator=generator)
        from_gray = term(LossInputs(gray, other))
        from_rgb = term(LossInputs(rgb, other.expand(-1, 3, -1, -1)))
        assert from_gray.item() == pytest.approx(from_rgb.item())


@pytest.mark.parametrize(("name", "params", "file_name"), PRETRAINED_CASES)
def test_missing_weights_file_says_which_where_and_what_to_do(
    name: str, params: dict, file_name: str, hub_dir: Path
) -> None:
    with pytest.raises(PerceptualWeightsError) as error:
        LOSSES.build(name, **params)
    message = str(error.value)
    assert file_name in message
    assert str(hub_dir / "checkpoints" / file_name) in message
    assert "weights_path" in message and f"weight of '{name}' to 0" in message
    assert not (hub_dir / "checkpoints").exists()  # nothing was downloaded


def test_missing_weights_path_names_that_path(tmp_path: Path, hub_dir: Path) -> None:
    missing = tmp_path / "nowhere" / "alexnet.pth"
    with pytest.raises(PerceptualWeightsError, match=r"alexnet-owt-7be5be79\.pth") as error:
        LPIPSLoss(net="alex", weights_path=str(missing))
    assert str(missing) in str(error.value)


def test_lpips_loads_a_torchvision_file_from_the_hub_cache(
    hub_dir: Path, generator: torch.Generator
) -> None:
    torch.manual_seed(0)  # torchvision initialises from the global generator
    state = torchvision.models.squeezenet1_1(weights=None).state_dict()  # features + classifier
    (hub_dir / "checkpoints").mkdir(parents=True)
    torch.save(state, hub_dir / "checkpoints" / "squeezenet1_1-b8a52dc0.pth")

    term = LOSSES.build("lpips", net="squeeze")
    loaded = term.model.net.state_dict()  # lpips keeps torchvision's indices in its slices
    for key in ("0.weight", "12.expand3x3.bias"):
        slice_key = next(k for k in loaded if k.split(".", 1)[1] == key)
        torch.testing.assert_close(loaded[slice_key], state[f"features.{key}"])
    output, target = random_pair(generator)
    term(LossInputs(output, target)).backward()
    assert output.grad.abs().sum() > 0


def test_lpips_loads_weights_path(tmp_path: Path) -> None:
    torch.manual_seed(0)
    features = torchvision.models.alexnet(weights=None).features.state_dict()
    path = tmp_path / "alexnet.pth"
    torch.save({f"features.{key}": value for key, value in features.items()}, path)

    term = LPIPSLoss(net="alex", weights_path=str(path))
    loaded = term.model.net.state_dict()
    torch.testing.assert_close(loaded["slice5.10.weight"], features["10.weight"])


def test_vgg_loads_weights_path_and_matches_torchvision(
    tmp_path: Path, generator: torch.Generator
) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"]).eval()
    path = tmp_path / "vgg19.pth"
    torch.save({f"features.{k}": v for k, v in reference.state_dict().items()}, path)

    term = VGGPerceptualLoss(layers=["relu2_2"], weights_path=str(path))
    image = torch.rand(1, 3, 16, 16, generator=generator)
    normalised = (image - term.mean) / term.std
    with torch.no_grad():
        torch.testing.assert_close(term.extract(image)[0], reference[:9](normalised))


def test_a_file_of_another_network_is_refused(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "squeezenet.pth"
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), path)
    with pytest.raises(PerceptualWeightsError, match=r"lacks \d+ expected tensors"):
        LPIPSLoss(net="alex", weights_path=str(path))


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vgg19.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(PerceptualWeightsError, match="cannot read weights file"):
        VGGPerceptualLoss(weights_path=str(path))


@pytest.mark.parametrize(
    ("name", "params", "complaint"),
    [
        ("lpips", {"net": "resnet"}, "net must be one of alex, vgg, squeeze"),
        ("lpips", {"pretrained": False, "weights_path": "x.pth"}, "pretrained=False"),
        ("vgg", {"layers": ["relu9_9"], "pretrained": False}, "unknown VGG19 layers"),
        ("vgg", {"layers": "relu1_2", "pretrained": False}, "non-empty list"),
    ],
)
def test_bad_params_are_explained(name: str, params: dict, complaint: str) -> None:
    with pytest.raises(PluginParamsError, match=complaint):
        LOSSES.build(name, **params)


def test_lpips_rejects_images_too_small_for_its_backbone() -> None:
    term = LPIPSLoss(net="squeeze", pretrained=False)
    image = torch.zeros(1, 3, 16, 16)
    with pytest.raises(ValueError, match="needs H and W >= 17"):
        term(LossInputs(image, image))
