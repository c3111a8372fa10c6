"""Learning-rate schedules, the generator EMA, and what each task feeds its networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganrestore.engine.ema import ModelEMA
from ganrestore.engine.schedule import lr_multiplier
from ganrestore.tasks import build_task


def test_linear_schedule_holds_then_decays_to_zero() -> None:
    f = lr_multiplier("linear", total_steps=100, decay_start=0.5)
    assert [f(0), f(49), f(50), f(75), f(100)] == [1.0, 1.0, 1.0, 0.5, 0.0]


def test_cosine_and_constant_schedules() -> None:
    cosine = lr_multiplier("cosine", 10, 0.0)
    assert cosine(0) == 1.0 and abs(cosine(5) - 0.5) < 1e-9 and abs(cosine(10)) < 1e-9
    assert lr_multiplier("constant", 10, 0.5)(9) == 1.0
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_multiplier("step", 10, 0.5)


def test_ema_follows_the_weights_and_copies_buffers() -> None:
    model = nn.BatchNorm1d(2)
    ema = ModelEMA(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(3.0)
        model.running_mean.fill_(7.0)
    ema.update(model)  # warm-up decay min(0.5, 2/11) = 2/11
    expected = 1.0 + (3.0 - 1.0) * (1 - 2 / 11)
    assert torch.allclose(ema.module.weight, torch.full((2,), expected))
    assert torch.equal(ema.module.running_mean, torch.full((2,), 7.0))
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_denoise_task_maps_ranges_both_ways() -> None:
    task = build_task("denoise")
    degraded = torch.rand(2, 3, 8, 8)
    batch = {"degraded": degraded}
    x = task.network_input(batch)
    assert x.shape == (2, 3, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert torch.allclose(task.restore(x, batch), degraded, atol=1e-6)


def test_inpaint_task_keeps_known_pixels_exactly() -> None:
    task = build_task("inpaint")
    degraded = torch.rand(1, 3, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:5, 3:6] = 1
    batch = {"degraded": degraded, "mask": mask}
    x = task.network_input(batch)
    assert x.shape == (1, 4, 8, 8)
    assert torch.equal(x[:, 3:], mask) and (x[:, :3][mask.expand(1, 3, 8, 8) == 1] == 0).all()
    restored = task.restore(torch.ones(1, 3, 8, 8), batch)  # the network says "white"
    hole = mask.expand_as(restored) == 1
    assert torch.equal(restored[~hole], degraded[~hole])
    assert (restored[hole] == 1).all()
