"""The GAN step: who is updated when, and which optional terms take part."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganrestore.config import load_config
from ganrestore.engine.components import build_components
from ganrestore.engine.distributed import ProcessContext
from ganrestore.engine.steps import StepNetworks, StepResult
from ganrestore.losses import LossInputs
from ganrestore.registry import LOSSES

CPU = ProcessContext(torch.device("cpu"))


def _batch(task: str, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    clean = torch.rand(2, 3, 32, 32, generator=generator)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:20, 10:24] = 1
    if task == "inpaint":
        degraded = clean * (1 - mask)
    else:
        degraded = (clean + 0.1 * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    return {"clean": clean, "degraded": degraded, "mask": mask, "sigma": torch.zeros(2)}


def _snapshot(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_one_step_updates_both_networks_and_reports_losses(tiny_config) -> None:
    config = load_config("inpaint", tiny_config("inpaint"))
    torch.manual_seed(0)
    parts = build_components(config, CPU)
    g_before, d_before = _snapshot(parts.generator), _snapshot(parts.discriminator)
    result = parts.step(_batch("inpaint"))
    assert result.finite
    assert {"d_adv", "g_adv", "g_hole_l1", "g_total"} <= set(result.losses)
    assert _changed(g_before, parts.generator) and _changed(d_before, parts.discriminator)
    assert all(p.requires_grad for p in parts.discriminator.parameters())  # unfrozen again


def test_discriminator_steps_per_generator_step(tiny_config) -> None:
    config = load_config("denoise", tiny_config(), overrides=["optim.d_steps_per_g=2"])
    parts = build_components(config, CPU)
    parts.step(_batch("denoise"))
    d_state = parts.optimizers["discriminator"].state_dict()["state"]
    assert all(int(entry["step"]) == 2 for entry in d_state.values())  # two D updates
    g_state = parts.optimizers["generator"].state_dict()["state"]
    assert all(int(entry["step"]) == 1 for entry in g_state.values())


def test_without_adversarial_loss_no_discriminator_is_built(tiny_config) -> None:
    config = load_config("denoise", tiny_config(), overrides=["loss.adversarial_weight=0"])
    parts = build_components(config, CPU)
    assert parts.discriminator is None and "discriminator" not in parts.optimizers
    result = parts.step(_batch("denoise"))
    assert result.finite and "d_adv" not in result.losses and "g_adv" not in result.losses


def test_feature_matching_r1_and_unconditional_discriminator(tiny_config) -> None:
    config = load_config(
        "denoise",
        tiny_config(),
        overrides=[
            "loss.terms.feature_matching=10",
            "loss.r1_weight=1.0",
            "loss.conditional=false",
            'loss.adversarial="hinge"',
        ],
    )
    parts = build_components(config, CPU)
    assert parts.discriminator is not None
    assert next(parts.discriminator.parameters()).shape[1] == 3  # judges images alone
    result = parts.step(_batch("denoise"))
    assert result.finite
    assert result.losses["g_feature_matching"] > 0 and result.losses["d_r1"] >= 0


def test_bf16_autocast_on_cpu_trains(tiny_config) -> None:
    config = load_config("denoise", tiny_config(), overrides=['precision="bf16"'])
    parts = build_components(config, CPU)
    g_before = _snapshot(parts.generator)
    assert parts.step(_batch("denoise")).finite
    assert _changed(g_before, parts.generator)
    assert all(p.dtype == torch.float32 for p in parts.generator.parameters())


def test_channels_last_networks(tiny_config, tmp_path: Path) -> None:
    config = load_config("denoise", tiny_config(), overrides=["channels_last=true"])
    parts = build_components(config, CPU)
    weight = next(p for p in parts.generator.parameters() if p.ndim == 4)
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert parts.step(_batch("denoise")).finite


def test_the_generator_update_never_touches_the_discriminator(tiny_config) -> None:
    parts = build_components(load_config("denoise", tiny_config()), CPU)
    batch = _batch("denoise")
    d_before = _snapshot(parts.discriminator)
    restored = parts.task.restore(parts.generator(parts.task.network_input(batch)), batch)
    result = StepResult()
    parts.step._generator_update(batch, restored, result)
    assert "g_adv" in result.losses  # the adversarial term went through the discriminator...
    assert all(p.grad is None for p in parts.discriminator.parameters())  # ...frozen
    assert not _changed(d_before, parts.discriminator)


class _ReadsFeatures(torch.nn.Module):
    """A plugin term that compares discriminator features, under a name of its own."""

    needs_features = True

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        pairs = zip(inputs.fake_features, inputs.real_features, strict=True)
        return sum((fake - real).abs().mean() for fake, real in pairs)


class _DrawsRandomWeights(torch.nn.Module):
    """A term that, like LPIPS or VGG before loading their files, draws random weights."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(64, 64)

    def forward(self, inputs: LossInputs) -> torch.Tensor:
        return (inputs.output - inputs.target).abs().mean()


def test_a_term_that_reads_discriminator_features_gets_a_discriminator(tiny_config) -> None:
    with LOSSES.isolated():
        LOSSES.add("test_steps_features", _ReadsFeatures)
        config = load_config(
            "denoise",
            tiny_config(),
            overrides=["loss.adversarial_weight=0", "loss.terms.test_steps_features=1"],
        )
        parts = build_components(config, CPU)
        assert parts.discriminator is not None  # asked the objective, not the term's name
        result = parts.step(_batch("denoise"))
    assert result.finite and result.losses["g_test_steps_features"] > 0
    assert "g_adv" not in result.losses


def test_the_loss_terms_never_change_the_networks_initial_weights(tiny_config) -> None:
    def build(terms: str) -> tuple[list[torch.Tensor], torch.Tensor]:
        config = load_config("denoise", tiny_config(), overrides=[terms])
        torch.manual_seed(0)
        parts = build_components(config, CPU)
        weights = _snapshot(parts.generator) + _snapshot(parts.discriminator)
        return weights, torch.get_rng_state()

    with LOSSES.isolated():
        LOSSES.add("test_steps_random", _DrawsRandomWeights)
        plain, plain_rng = build("loss.terms={ l1 = 1 }")
        drawing, drawing_rng = build("loss.terms={ l1 = 1, test_steps_random = 1 }")
    assert all(torch.equal(a, b) for a, b in zip(plain, drawing, strict=True))
    assert torch.equal(plain_rng, drawing_rng)  # and dropout draws the same masks after


def test_a_discriminator_comes_with_its_updater_or_not_at_all(tiny_config) -> None:
    parts = build_components(load_config("denoise", tiny_config()), CPU)
    networks = parts.step.networks
    assert networks.discriminator_module is parts.discriminator  # the plain module, frozen in G
    with pytest.raises(ValueError, match="discriminator and its updater together"):
        StepNetworks(networks.generator, networks.g_updater, discriminator=parts.discriminator)
