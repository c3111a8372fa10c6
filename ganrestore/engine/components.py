"""Build everything a run trains with from its config: networks, optimisers, losses, precision."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganrestore.config import ConfigError, TrainConfig
from ganrestore.engine.distributed import ProcessContext, all_true
from ganrestore.engine.ema import ModelEMA
from ganrestore.engine.schedule import build_scheduler
from ganrestore.engine.steps import GanStep, Updater
from ganrestore.losses import GeneratorObjective, build_adversarial
from ganrestore.models import build_discriminator, build_generator
from ganrestore.models.networks import provenance
from ganrestore.registry import DISCRIMINATORS, GENERATORS
from ganrestore.tasks import Task, build_task


@dataclass
class Components:
    """The trainable state of a run and the step that updates it."""

    task: Task
    generator: nn.Module  # plain module (what is saved)
    discriminator: nn.Module | None
    ema: ModelEMA | None
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    scalers: dict[str, torch.amp.GradScaler]
    step: GanStep
    autocast: Callable[[], contextlib.AbstractContextManager[Any]]

    def advance(self) -> None:
        """What follows every step: the EMA of the generator follows it, the schedules advance."""
        if self.ema is not None:
            self.ema.update(self.generator)
        with warnings.catch_warnings():
            # A step whose update was skipped (NaN guard, fp16 overflow) still advances the
            # schedule; PyTorch warns about that order, which is intended here.
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step")
            for scheduler in self.schedulers.values():
                scheduler.step()

    @property
    def inference_generator(self) -> nn.Module:
        """The weights used for validation and saved as the model: EMA when enabled."""
        return self.ema.module if self.ema is not None else self.generator


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for ``precision`` on ``device``; ``None`` means plain float32."""
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "fp32":
        return None
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("precision 'fp16' needs a CUDA device; use 'bf16' or 'fp32' on a CPU")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def needs_discriminator(config: TrainConfig) -> bool:
    loss = config.loss
    feature_matching = loss.terms.get("feature_matching", 0.0) > 0
    return loss.adversarial_weight > 0 or feature_matching or loss.r1_weight > 0


def build_components(config: TrainConfig, context: ProcessContext) -> Components:
    """Networks on the device (DDP-wrapped when distributed), optimisers, schedulers, step."""
    device = context.device
    task = build_task(config.task)
    memory_format = torch.channels_last if config.channels_last else torch.preserve_format
    generator = build_generator(
        config.generator.name, task.in_channels, task.out_channels, **config.generator.params
    ).to(device, memory_format=memory_format)
    discriminator = None
    if needs_discriminator(config):
        channels = task.out_channels + (task.condition_channels if config.loss.conditional else 0)
        discriminator = build_discriminator(
            config.discriminator.name, channels, **config.discriminator.params
        ).to(device, memory_format=memory_format)
    objective = GeneratorObjective(config.loss.terms, config.loss.params).to(device)
    if objective.needs_features and not hasattr(discriminator, "features"):
        raise ConfigError(
            f"loss.terms.feature_matching needs a discriminator with a features() method; "
            f"'{config.discriminator.name}' has none. Set its weight to 0 or change networks."
        )
    if config.loss.r1_weight > 0 and context.distributed:
        raise ConfigError("loss.r1_weight is not supported with several processes yet; set it 0")

    ema = ModelEMA(generator, config.optim.ema_decay) if config.optim.ema_decay > 0 else None
    trained_g, trained_d = _wrap(generator, context), _wrap(discriminator, context)
    optimizers = {"generator": _adam(generator, config.optim.lr_g, config, device)}
    if discriminator is not None:
        optimizers["discriminator"] = _adam(discriminator, config.optim.lr_d, config, device)
    schedulers = {
        name: build_scheduler(opt, config.optim.schedule, config.steps, config.optim.decay_start)
        for name, opt in optimizers.items()
    }
    dtype = resolve_precision(config.precision, device)
    scalers = {
        name: torch.amp.GradScaler(device.type, enabled=dtype is torch.float16)
        for name in optimizers
    }

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=dtype)

    clip = config.optim.grad_clip
    step = GanStep(
        task=task,
        generator=trained_g,
        discriminator=trained_d,
        discriminator_module=discriminator,
        g_updater=Updater(generator, optimizers["generator"], scalers["generator"], clip),
        d_updater=(
            Updater(discriminator, optimizers["discriminator"], scalers["discriminator"], clip)
            if discriminator is not None
            else None
        ),
        adversarial=build_adversarial(config.loss.adversarial),
        objective=objective,
        adversarial_weight=config.loss.adversarial_weight,
        r1_weight=config.loss.r1_weight,
        conditional=config.loss.conditional,
        d_steps_per_g=config.optim.d_steps_per_g,
        autocast=autocast,
        agree=lambda flag: all_true(flag, context),
    )
    return Components(
        task, generator, discriminator, ema, optimizers, schedulers, scalers, step, autocast
    )


def network_record(config: TrainConfig, has_discriminator: bool) -> dict[str, Any]:
    """``{name, params}`` of each network plus the plugin's distribution, version and target."""
    record = {
        "generator": {
            "name": config.generator.name,
            "params": config.generator.params,
            **provenance(GENERATORS, config.generator.name),
        }
    }
    if has_discriminator:
        record["discriminator"] = {
            "name": config.discriminator.name,
            "params": config.discriminator.params,
            **provenance(DISCRIMINATORS, config.discriminator.name),
        }
    return record


def _wrap(module: nn.Module | None, context: ProcessContext) -> nn.Module | None:
    if module is None or not context.distributed:
        return module
    if context.device.type == "cuda":  # SyncBatchNorm runs on GPUs only
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids)


def _adam(
    module: nn.Module, lr: float, config: TrainConfig, device: torch.device
) -> torch.optim.Optimizer:
    # The fused kernel runs on CUDA and, since torch 2.4, on CPUs, where it is ~10x faster than
    # the default per-tensor loop (0.02 s instead of 0.23 s per step for pix2pix's 54M-parameter
    # U-Net on 2 cores): the largest single saving of the CPU training step.
    return torch.optim.Adam(module.parameters(), lr=lr, betas=config.optim.betas, fused=True)
