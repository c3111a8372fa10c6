"""GeneratorObjective: terms by name, weighted totals, zero weights, and third-party terms."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import ganrestore.losses  # noqa: F401  (registers the built-in terms)
from ganrestore.losses import (
    GeneratorObjective,
    LossConfigError,
    LossInputs,
    PerceptualWeightsError,
    feature_matching_loss,
)
from ganrestore.registry import LOSSES, PluginParamsError, UnknownPluginError

# Params that let every built-in term run here (no ImageNet files, small images).
TEST_PARAMS = {
    "lpips": {"pretrained": False, "net": "squeeze"},
    "vgg": {"pretrained": False, "layers": ["relu1_2"]},
}


def full_inputs(generator: torch.Generator, size: int = 32) -> LossInputs:
    """Inputs carrying everything a term may read: output with grad, mask, and features."""
    output = torch.rand(2, 3, size, size, generator=generator, requires_grad=True)
    target = torch.rand(2, 3, size, size, generator=generator)
    mask = (torch.rand(2, 1, size, size, generator=generator) > 0.5).float()
    fake = [torch.rand(2, 8, 4, 4, generator=generator, requires_grad=True)]
    real = [torch.rand(2, 8, 4, 4, generator=generator)]
    return LossInputs(output, target, mask, fake_features=fake, real_features=real)


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_registered_term_gives_a_differentiable_scalar(
    name: str, generator: torch.Generator
) -> None:
    term = LOSSES.build(name, **TEST_PARAMS.get(name, {}))
    assert isinstance(term, nn.Module)
    inputs = full_inputs(generator)
    value = term(inputs)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert inputs.output.grad is not None or inputs.fake_features[0].grad is not None


def test_total_is_the_weighted_sum_and_logs_are_unweighted(generator: torch.Generator) -> None:
    inputs = full_inputs(generator)
    objective = GeneratorObjective(
        {"l1": 1.0, "ssim": 0.5, "hole_l1": 2.0}, params={"hole_l1": {"hole_weight": 3.0}}
    )
    total, logs = objective(inputs)

    l1 = LOSSES.build("l1")(inputs).item()
    ssim = LOSSES.build("ssim")(inputs).item()
    hole = LOSSES.build("hole_l1", hole_weight=3.0)(inputs).item()
    assert list(logs) == ["l1", "ssim", "hole_l1"]
    assert all(isinstance(value, float) for value in logs.values())
    assert logs == pytest.approx({"l1": l1, "ssim": ssim, "hole_l1": hole})
    assert total.item() == pytest.approx(l1 + 0.5 * ssim + 2.0 * hole)
    total.backward()
    assert inputs.output.grad.abs().sum() > 0


def test_zero_weight_terms_are_not_built(hub_dir: Path, generator: torch.Generator) -> None:
    # The hub cache is empty: building LPIPS would raise; with weight 0 it is never built.
    objective = GeneratorObjective({"l1": 1.0, "lpips": 0.0}, params={"lpips": {"net": "vgg"}})
    assert objective.weights == {"l1": 1.0}
    assert len(objective.terms) == 1
    _, logs = objective(full_inputs(generator))
    assert list(logs) == ["l1"]

    with pytest.raises(PerceptualWeightsError):
        GeneratorObjective({"l1": 1.0, "lpips": 0.1})


def test_no_terms_gives_a_zero_total(generator: torch.Generator) -> None:
    total, logs = GeneratorObjective({"l1": 0})(full_inputs(generator))
    assert total.item() == 0 and logs == {}


def test_needs_features_and_needs_mask_follow_the_built_terms() -> None:
    assert GeneratorObjective({"feature_matching": 1.0}).needs_features
    assert not GeneratorObjective({"feature_matching": 0.0, "l1": 1.0}).needs_features
    assert GeneratorObjective({"hole_l1": 1.0}).needs_mask
    assert not GeneratorObjective({"l1": 1.0}).needs_mask


@pytest.mark.parametrize("weight", [1.0, 0.0])
def test_unknown_name_raises_the_registry_error_listing_names(weight: float) -> None:
    with pytest.raises(UnknownPluginError) as error:
        GeneratorObjective({"l1": 1.0, "lpip": weight})
    message = str(error.value)
    assert "Did you mean 'lpips'" in message
    for name in ("l1", "hole_l1", "ssim", "lpips", "vgg", "feature_matching"):
        assert name in message


def test_unknown_param_lists_the_accepted_ones() -> None:
    with pytest.raises(PluginParamsError, match=r"hole_weight=6\.0, valid_weight=1\.0"):
        GeneratorObjective({"hole_l1": 1.0}, params={"hole_l1": {"hole_wieght": 2.0}})


def test_params_without_a_weight_are_a_config_error() -> None:
    with pytest.raises(LossConfigError, match="'ssim', which have no weight"):
        GeneratorObjective({"l1": 1.0}, params={"ssim": {"window_size": 7}})


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), True, "1"])
def test_bad_weights_are_a_config_error(weight: object) -> None:
    with pytest.raises(LossConfigError, match="weight of loss 'l1'"):
        GeneratorObjective({"l1": weight})


def test_perceptual_terms_stay_in_eval_mode_when_the_objective_trains() -> None:
    objective = GeneratorObjective({"lpips": 1.0}, params={"lpips": TEST_PARAMS["lpips"]})
    objective.train()
    assert objective.training
    assert not any(module.training for module in objective.terms[0].modules())


class _BrightnessLoss(nn.Module):
    """A third party's term: difference of mean brightness."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        return self.scale * (inputs.output.mean() - inputs.target.mean()).abs()


def test_a_term_registered_in_process_is_usable(scratch_losses: None) -> None:
    @LOSSES.register("test_objective_brightness")
    def brightness(scale: float = 1.0) -> nn.Module:
        return _BrightnessLoss(scale)

    objective = GeneratorObjective(
        {"test_objective_brightness": 2.0}, params={"test_objective_brightness": {"scale": 3.0}}
    )
    inputs = LossInputs(torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.25))
    total, logs = objective(inputs)
    assert logs == pytest.approx({"test_objective_brightness": 0.75})
    assert total.item() == pytest.approx(1.5)


PLUGIN_MODULE = '''
import torch
from torch import nn


class GradientLoss(nn.Module):
    """L1 between horizontal image gradients."""

    needs_features = True  # pretend, to check the objective reads the attribute

    def forward(self, inputs):
        def dx(image):
            return image[..., 1:] - image[..., :-1]

        return (dx(inputs.output) - dx(inputs.target)).abs().mean()


def gradient_loss():
    return GradientLoss()
'''


def test_a_term_from_an_installed_distribution_is_usable(
    scratch_losses: None, make_distribution
) -> None:
    make_distribution(
        "acme-losses",
        {"ganrestore.losses": {"acme_gradient": "acme_losses:gradient_loss"}},
        {"acme_losses": PLUGIN_MODULE},
    )
    LOSSES.discover(refresh=True)
    assert LOSSES.source("acme_gradient").distribution == "acme-losses"

    objective = GeneratorObjective({"acme_gradient": 1.0})
    assert objective.needs_features
    output = torch.tensor([0.0, 1.0, 0.0]).expand(1, 3, 1, 3)
    target = torch.zeros(1, 3, 1, 3)
    _, logs = objective(LossInputs(output, target))
    assert logs == pytest.approx({"acme_gradient": 1.0})


class _PerPixelL1(nn.Module):
    """A buggy third-party term: forgets to reduce its error map."""

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        return (inputs.output - inputs.target).abs()


def test_a_term_returning_a_non_scalar_is_reported(scratch_losses: None) -> None:
    LOSSES.add("test_objective_per_pixel", _PerPixelL1)
    objective = GeneratorObjective({"test_objective_per_pixel": 1.0})
    image = torch.zeros(1, 3, 2, 2)
    with pytest.raises(ValueError, match=r"'test_objective_per_pixel'.*returned \(1, 3, 2, 2\)"):
        objective(LossInputs(image, image))


def test_feature_matching_through_the_objective(generator: torch.Generator) -> None:
    inputs = full_inputs(generator)
    _, logs = GeneratorObjective({"feature_matching": 1.0})(inputs)
    expected = feature_matching_loss(inputs.fake_features, inputs.real_features).item()
    assert logs["feature_matching"] == pytest.approx(expected)
