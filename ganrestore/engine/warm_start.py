"""Start a run from trained weights (config key ``init``, ``ganrestore train --init``).

Fine-tuning a trained or bundled model on your own photos, or growing a network: every weight
of the source is copied into the new network, which may only *add* parts (e.g. resunet's
``noise_map``); the added parts keep their initialisation. A source whose tensors do not fit is
refused with the first tensor that differs, so a run never starts from half a network. The
discriminator is taken over as well when the source is a checkpoint of a run whose
discriminator fits; otherwise it starts fresh. Optimiser states and the step count start anew.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganrestore.config import ConfigError
from ganrestore.engine.components import Components
from ganrestore.modelfile import (
    DISCRIMINATOR,
    check_finite,
    load_tensors,
    parse_model_source,
    read_record,
)
from ganrestore.tasks import task_model


@dataclass(frozen=True)
class WarmStart:
    """What ``init`` loaded.

    Attributes:
        source: the generator file the weights came from.
        loaded: how many generator tensors were copied.
        added: generator tensors the source lacks (they keep their initialisation).
        discriminator: whether the discriminator was loaded too; None for a run that trains
            none.
    """

    source: Path
    loaded: int
    added: list[str]
    discriminator: bool | None

    def describe(self) -> str:
        """One line for the run's log."""
        parts = [f"generator from {self.source} ({self.loaded} tensors)"]
        if self.added:
            parts.append(f"{len(self.added)} new tensors start fresh ({self.added[0]}, ...)")
        if self.discriminator is not None:  # a run without one is not told about it
            parts.append(f"discriminator {'too' if self.discriminator else 'starts fresh'}")
        return "init: " + "; ".join(parts)


def warm_start(parts: Components, init: str | os.PathLike[str], task: str) -> WarmStart:
    """Copy the weights of ``init`` into ``parts``.

    ``init`` is read by :func:`~ganrestore.modelfile.parse_model_source`, as ``--model`` is:
    a run directory, a checkpoint folder, a ``.safetensors`` model file or a bundled name.
    The generator (and its EMA copy) take the source's inference weights (EMA ones when the
    source trained with EMA).

    Raises:
        ModelNotFoundError: ``init`` names nothing, or a baseline (it has no weights).
        CheckpointError: ``init`` is not a ganrestore model, or its weights hold NaN.
        ConfigError: the source was trained for another task, or its weights do not fit.
    """
    source = parse_model_source(init, what="init", baselines=False).model_file()
    record = read_record(source)
    if record.task != task:
        raise ConfigError(
            f"init {init}: it is {task_model(record.task)}, not {task}; "
            f"start from {task_model(task)}"
        )
    weights = load_tensors(source)
    check_finite(weights, source)
    added = _load_fitting(parts.generator, weights, f"init {init}")
    if parts.ema is not None:
        parts.ema.module.load_state_dict(parts.generator.state_dict())
    discriminator_file = source.parent / DISCRIMINATOR
    with_discriminator = None if parts.discriminator is None else False
    if parts.discriminator is not None and discriminator_file.is_file():
        tensors = load_tensors(discriminator_file)
        if _fits_exactly(parts.discriminator, tensors):
            parts.discriminator.load_state_dict(tensors)
            with_discriminator = True
    loaded = len(parts.generator.state_dict()) - len(added)
    return WarmStart(source, loaded, added, with_discriminator)


def _load_fitting(module: nn.Module, tensors: dict[str, torch.Tensor], what: str) -> list[str]:
    """Load ``tensors`` into ``module``; returns the module's tensors the source lacks."""
    own = module.state_dict()
    for key, tensor in tensors.items():
        if key not in own:
            raise ConfigError(
                f"{what}: its weights do not fit this generator: it has '{key}', which this "
                "network lacks. Use the source's generator name and params (a network may only "
                "add parts to it)."
            )
        if own[key].shape != tensor.shape:
            raise ConfigError(
                f"{what}: its weights do not fit this generator: '{key}' is "
                f"{tuple(tensor.shape)} there and {tuple(own[key].shape)} here. Use the "
                "source's generator name and params (a network may only add parts to it)."
            )
    module.load_state_dict(tensors, strict=False)
    return [key for key in own if key not in tensors]


def _fits_exactly(module: nn.Module, tensors: dict[str, torch.Tensor]) -> bool:
    own = module.state_dict()
    return own.keys() == tensors.keys() and all(
        own[key].shape == tensor.shape for key, tensor in tensors.items()
    )
