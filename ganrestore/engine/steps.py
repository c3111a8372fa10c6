"""One training step of a conditional GAN: discriminator update(s), then generator update.

No I/O here: the trainer owns data, devices, logging and checkpoints. The step follows the
textbook recipe (pix2pix, BasicSR): the discriminator judges real and *detached* fake pairs in
two passes (so batch-norm statistics never mix them); for the generator update the
discriminator's weights are frozen and the plain module is used, so no gradient reaches it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ganrestore.losses import AdversarialLoss, GeneratorObjective, LossInputs, r1_penalty
from ganrestore.tasks import Batch, Task, to_network_range


@dataclass
class StepResult:
    """What one step did: loss values for logging and whether every update was applied."""

    losses: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def finite(self) -> bool:
        return not self.skipped


@dataclass
class Updater:
    """An optimiser with its gradient scaler and clipping, for one network."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    grad_clip: float = 0.0

    def apply(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.module.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()


def _alone(flag: bool) -> bool:
    """The decision of a single process: its own flag."""
    return flag


@dataclass(frozen=True)
class StepNetworks:
    """The networks a step trains and how each is updated.

    Attributes:
        generator: the generator as trained (DDP-wrapped when distributed).
        g_updater: the generator's optimiser, scaler and clipping.
        discriminator: the discriminator as trained (possibly DDP-wrapped), or ``None`` when
            no loss needs one (adversarial weight 0, no term reading its features, no R1).
        d_updater: the discriminator's optimiser, scaler and clipping; ``None`` exactly when
            ``discriminator`` is. Its ``module`` is the plain discriminator, which the
            generator update uses frozen.
        d_steps_per_g: discriminator updates per generator update.
    """

    generator: nn.Module
    g_updater: Updater
    discriminator: nn.Module | None = None
    d_updater: Updater | None = None
    d_steps_per_g: int = 1

    def __post_init__(self) -> None:
        if (self.discriminator is None) != (self.d_updater is None):
            raise ValueError("give the discriminator and its updater together, or neither")

    @property
    def discriminator_module(self) -> nn.Module | None:
        """The plain discriminator module (never DDP-wrapped), or ``None``."""
        return None if self.d_updater is None else self.d_updater.module


@dataclass(frozen=True)
class StepLosses:
    """What the step minimises.

    Attributes:
        objective: the generator's weighted reconstruction / perceptual / feature terms.
        adversarial: the adversarial loss of both players.
        adversarial_weight: weight of the generator's adversarial term.
        r1_weight: weight of the R1 penalty on real pairs (0 = off).
        conditional: the discriminator sees ``(condition, image)`` pairs rather than images
            alone.
    """

    objective: GeneratorObjective
    adversarial: AdversarialLoss
    adversarial_weight: float
    r1_weight: float = 0.0
    conditional: bool = True


@dataclass(frozen=True)
class StepRuntime:
    """How this process runs a step: its mixed precision and its agreement with the others.

    Attributes:
        autocast: returns the mixed-precision context of this device (a no-op for float32).
        agree: turns a local "all losses finite" flag into a decision shared by every process
            (the flag itself for a single process).
    """

    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    agree: Callable[[bool], bool] = _alone


class GanStep:
    """Callable performing one full D+G step on a batch.

    Args:
        task: turns a batch into network inputs and outputs into images.
        networks: the generator, the discriminator (if any) and their updaters.
        losses: the generator's objective and the adversarial game's losses and weights.
        runtime: mixed precision and the agreement of several processes.
    """

    def __init__(
        self,
        task: Task,
        networks: StepNetworks,
        losses: StepLosses,
        runtime: StepRuntime | None = None,
    ) -> None:
        self.task = task
        self.networks = networks
        self.losses = losses
        self.runtime = runtime or StepRuntime()

    def __call__(self, batch: Batch) -> StepResult:
        result = StepResult()
        generator = self.networks.generator
        with self.runtime.autocast():
            restored = self.task.restore(generator(self.task.network_input(batch)), batch)
        if self.networks.discriminator is not None:
            for _ in range(self.networks.d_steps_per_g):
                self._discriminator_update(batch, restored.detach(), result)
        self._generator_update(batch, restored, result)
        return result

    def pair(self, batch: Batch, images: torch.Tensor) -> torch.Tensor:
        """What the discriminator judges: ``[condition, image]`` in [-1, 1], or the image alone."""
        image = to_network_range(images)
        if not self.losses.conditional:
            return image
        return torch.cat([self.task.condition(batch), image], dim=1)

    def _discriminator_update(self, batch: Batch, fake: torch.Tensor, result: StepResult) -> None:
        networks, losses, runtime = self.networks, self.losses, self.runtime
        assert networks.discriminator is not None and networks.d_updater is not None
        networks.d_updater.module.requires_grad_(True)
        real_pair = self.pair(batch, batch["clean"])
        if losses.r1_weight > 0:
            real_pair.requires_grad_(True)
        with runtime.autocast():
            real_logits = networks.discriminator(real_pair)
            fake_logits = networks.discriminator(self.pair(batch, fake))
            loss = losses.adversarial.discriminator_loss(real_logits, fake_logits)
        result.losses["d_adv"] = float(loss.detach())
        if losses.r1_weight > 0:
            penalty = r1_penalty(real_logits, real_pair)
            result.losses["d_r1"] = float(penalty.detach())
            loss = loss + losses.r1_weight * penalty
        if runtime.agree(bool(torch.isfinite(loss))):
            networks.d_updater.apply(loss)
        else:
            result.skipped.append("discriminator")

    def _generator_update(self, batch: Batch, restored: torch.Tensor, result: StepResult) -> None:
        losses, runtime = self.losses, self.runtime
        discriminator = self.networks.discriminator_module
        features = None
        with runtime.autocast(), _frozen(discriminator):
            if discriminator is not None and losses.objective.needs_features:
                real = discriminator.features(self.pair(batch, batch["clean"]))
                fake = discriminator.features(self.pair(batch, restored))
                features, fake_logits = (fake, [r.detach() for r in real]), fake[-1]
            elif discriminator is not None and losses.adversarial_weight > 0:
                fake_logits = discriminator(self.pair(batch, restored))
            else:
                fake_logits = None
            inputs = LossInputs(
                output=restored,
                target=batch["clean"],
                mask=self.task.holes(batch),
                fake_features=features[0] if features else None,
                real_features=features[1] if features else None,
            )
            loss, parts = losses.objective(inputs)
            if fake_logits is not None and losses.adversarial_weight > 0:
                g_adv = losses.adversarial.generator_loss(fake_logits)
                result.losses["g_adv"] = float(g_adv.detach())
                loss = loss + losses.adversarial_weight * g_adv
        result.losses.update({f"g_{name}": value for name, value in parts.items()})
        result.losses["g_total"] = float(loss.detach())
        if runtime.agree(bool(torch.isfinite(loss))):
            self.networks.g_updater.apply(loss)
        else:
            result.skipped.append("generator")


@contextlib.contextmanager
def _frozen(module: nn.Module | None) -> Iterator[None]:
    """Turn off gradients of ``module``'s weights (gradients still flow through it)."""
    if module is None:
        yield
        return
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)
