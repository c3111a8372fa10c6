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


class GanStep:
    """Callable performing one full D+G step on a batch.

    Args:
        task: turns a batch into network inputs and outputs into images.
        generator: the generator as trained (possibly DDP-wrapped).
        discriminator: the discriminator as trained (possibly DDP-wrapped), or ``None`` when no
            loss needs one (adversarial weight 0, no feature matching, no R1).
        discriminator_module: the plain discriminator module (frozen in the generator update).
        g_updater / d_updater: optimiser, scaler and clipping of each network.
        adversarial: the adversarial loss.
        objective: the weighted reconstruction/perceptual terms of the generator.
        adversarial_weight: weight of the generator's adversarial term.
        r1_weight: weight of the R1 penalty on real pairs (0 = off).
        conditional: the discriminator sees (condition, image) pairs rather than images alone.
        d_steps_per_g: discriminator updates per generator update.
        autocast: returns the mixed-precision context of this device.
        agree: turns a local "all losses finite" flag into a decision shared by every process.
    """

    def __init__(
        self,
        task: Task,
        generator: nn.Module,
        discriminator: nn.Module | None,
        discriminator_module: nn.Module | None,
        g_updater: Updater,
        d_updater: Updater | None,
        adversarial: AdversarialLoss,
        objective: GeneratorObjective,
        adversarial_weight: float,
        r1_weight: float = 0.0,
        conditional: bool = True,
        d_steps_per_g: int = 1,
        autocast: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
        agree: Callable[[bool], bool] = lambda flag: flag,
    ) -> None:
        self.task = task
        self.generator = generator
        self.discriminator = discriminator
        self.discriminator_module = discriminator_module
        self.g_updater = g_updater
        self.d_updater = d_updater
        self.adversarial = adversarial
        self.objective = objective
        self.adversarial_weight = adversarial_weight
        self.r1_weight = r1_weight
        self.conditional = conditional
        self.d_steps_per_g = d_steps_per_g
        self.autocast = autocast
        self.agree = agree

    def __call__(self, batch: Batch) -> StepResult:
        result = StepResult()
        with self.autocast():
            restored = self.task.restore(self.generator(self.task.network_input(batch)), batch)
        if self.discriminator is not None:
            for _ in range(self.d_steps_per_g):
                self._discriminator_update(batch, restored.detach(), result)
        self._generator_update(batch, restored, result)
        return result

    def pair(self, batch: Batch, images: torch.Tensor) -> torch.Tensor:
        """What the discriminator judges: ``[condition, image]`` in [-1, 1], or the image alone."""
        image = to_network_range(images)
        if not self.conditional:
            return image
        return torch.cat([self.task.condition(batch), image], dim=1)

    def _discriminator_update(self, batch: Batch, fake: torch.Tensor, result: StepResult) -> None:
        assert self.discriminator is not None and self.d_updater is not None
        self.discriminator_module.requires_grad_(True)
        real_pair = self.pair(batch, batch["clean"])
        if self.r1_weight > 0:
            real_pair.requires_grad_(True)
        with self.autocast():
            real_logits = self.discriminator(real_pair)
            fake_logits = self.discriminator(self.pair(batch, fake))
            loss = self.adversarial.discriminator_loss(real_logits, fake_logits)
        result.losses["d_adv"] = float(loss.detach())
        if self.r1_weight > 0:
            penalty = r1_penalty(real_logits, real_pair)
            result.losses["d_r1"] = float(penalty.detach())
            loss = loss + self.r1_weight * penalty
        if self.agree(bool(torch.isfinite(loss))):
            self.d_updater.apply(loss)
        else:
            result.skipped.append("discriminator")

    def _generator_update(self, batch: Batch, restored: torch.Tensor, result: StepResult) -> None:
        features = None
        with self.autocast(), _frozen(self.discriminator_module):
            if self.discriminator_module is not None and self.objective.needs_features:
                real = self.discriminator_module.features(self.pair(batch, batch["clean"]))
                fake = self.discriminator_module.features(self.pair(batch, restored))
                features, fake_logits = (fake, [r.detach() for r in real]), fake[-1]
            elif self.discriminator_module is not None and self.adversarial_weight > 0:
                fake_logits = self.discriminator_module(self.pair(batch, restored))
            else:
                fake_logits = None
            inputs = LossInputs(
                output=restored,
                target=batch["clean"],
                mask=batch["mask"] if self.task.uses_mask else None,
                fake_features=features[0] if features else None,
                real_features=features[1] if features else None,
            )
            loss, parts = self.objective(inputs)
            if fake_logits is not None and self.adversarial_weight > 0:
                g_adv = self.adversarial.generator_loss(fake_logits)
                result.losses["g_adv"] = float(g_adv.detach())
                loss = loss + self.adversarial_weight * g_adv
        result.losses.update({f"g_{name}": value for name, value in parts.items()})
        result.losses["g_total"] = float(loss.detach())
        if self.agree(bool(torch.isfinite(loss))):
            self.g_updater.apply(loss)
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
