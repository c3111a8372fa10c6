"""Seconds per full D+G training step: ganrestore's engine against the reference pix2pix step.

Both sides train the *same* networks (built from the config through the plugin registry) on
the same synthetic batch, so the comparison measures the training step alone, not data loading.
The reference side transcribes junyanz/pytorch-CycleGAN-and-pix2pix's
``Pix2PixModel.optimize_parameters`` as published: float32, NCHW, ``torch.optim.Adam`` with its
defaults, ``BCEWithLogitsLoss`` against target tensors, D loss halved, two D passes.

    python bench/train_speed.py --config configs/pix2pix.toml --size 256 --batch 1 --steps 20

prints one JSON object; ``step_s`` is the median seconds per step after warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from ganrestore.config import load_config
from ganrestore.devices import cpu_has_native_bf16
from ganrestore.engine.components import build_components
from ganrestore.engine.distributed import ProcessContext
from ganrestore.models import build_discriminator, build_generator, count_parameters
from ganrestore.tasks import build_task


def synthetic_batch(task: str, batch: int, size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    clean = torch.rand(batch, 3, size, size, generator=generator)
    degraded = (clean + 0.1 * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    mask = (torch.rand(batch, 1, size, size, generator=generator) > 0.7).float()
    if task == "inpaint":
        degraded = clean * (1 - mask)
    return {"clean": clean, "degraded": degraded, "mask": mask, "sigma": torch.zeros(batch)}


def ganrestore_step(config, batch: dict[str, torch.Tensor]) -> tuple[Callable[[], None], dict]:
    """One step of ganrestore's engine exactly as the trainer runs it (step + EMA + schedule)."""
    parts = build_components(config, ProcessContext(torch.device("cpu")))
    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    batch = {
        k: v.contiguous(memory_format=memory_format) if v.ndim == 4 else v for k, v in batch.items()
    }

    def step() -> None:
        parts.step(batch)
        parts.advance()

    sizes = {"generator_params": count_parameters(parts.generator)}
    if parts.discriminator is not None:
        sizes["discriminator_params"] = count_parameters(parts.discriminator)
    return step, sizes


def reference_step(config, batch: dict[str, torch.Tensor]) -> tuple[Callable[[], None], dict]:
    """The published pix2pix ``optimize_parameters`` on the same networks."""
    task = build_task(config.task)
    net_g = build_generator(
        config.generator.name, task.in_channels, task.out_channels, **config.generator.params
    )
    net_d = build_discriminator(
        config.discriminator.name,
        task.condition_channels + task.out_channels,
        **config.discriminator.params,
    )
    optimizer_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizer_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    real_a = task.network_input(batch)
    real_b = batch["clean"] * 2 - 1
    condition = task.condition(batch)

    def gan_loss(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        target = torch.tensor(1.0 if target_is_real else 0.0).expand_as(prediction)
        return bce(prediction, target)

    def set_requires_grad(net: nn.Module, flag: bool) -> None:
        for parameter in net.parameters():
            parameter.requires_grad = flag

    def step() -> None:
        fake_b = net_g(real_a)
        set_requires_grad(net_d, True)
        optimizer_d.zero_grad()
        fake_ab = torch.cat((condition, fake_b), 1)
        loss_d_fake = gan_loss(net_d(fake_ab.detach()), False)
        loss_d_real = gan_loss(net_d(torch.cat((condition, real_b), 1)), True)
        ((loss_d_fake + loss_d_real) * 0.5).backward()
        optimizer_d.step()
        set_requires_grad(net_d, False)
        optimizer_g.zero_grad()
        loss_g = gan_loss(net_d(fake_ab), True) + l1(fake_b, real_b) * 100.0
        loss_g.backward()
        optimizer_g.step()

    return step, {"generator_params": count_parameters(net_g)}


def time_steps(step: Callable[[], None], steps: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        step()
    durations = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        durations.append(time.perf_counter() - start)
    return {
        "step_s": statistics.median(durations),
        "step_s_mean": statistics.fmean(durations),
        "step_s_min": min(durations),
        "steps_per_s": 1.0 / statistics.median(durations),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/pix2pix.toml"))
    parser.add_argument("--task", default="denoise", choices=["denoise", "inpaint"])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--mode", default="both", choices=["both", "ganrestore", "reference"])
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="config override key=value (repeatable), e.g. precision=bf16",
    )
    args = parser.parse_args()

    config = load_config(args.task, args.config, args.overrides, device="cpu")
    batch = synthetic_batch(args.task, args.batch, args.size)
    report: dict[str, object] = {
        "config": str(args.config),
        "overrides": args.overrides,
        "task": args.task,
        "size": args.size,
        "batch": args.batch,
        "steps": args.steps,
        "warmup": args.warmup,
        "precision": config.precision,
        "channels_last": config.channels_last,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_native_bf16": cpu_has_native_bf16(),
    }
    if args.mode in ("both", "reference"):
        torch.manual_seed(0)
        step, sizes = reference_step(config, batch)
        report["reference"] = {**sizes, **time_steps(step, args.steps, args.warmup)}
    if args.mode in ("both", "ganrestore"):
        torch.manual_seed(0)
        step, sizes = ganrestore_step(config, batch)
        report["ganrestore"] = {**sizes, **time_steps(step, args.steps, args.warmup)}
        report["step_s"] = report["ganrestore"]["step_s"]
    if args.mode == "both":
        report["speedup_vs_reference"] = report["reference"]["step_s"] / report["step_s"]
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
