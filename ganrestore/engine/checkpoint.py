"""Checkpoints of a training run: written atomically, resumed without unpickling code.

Layout of a run directory::

    RUN/
      config.json                      the resolved config of the run
      metrics.jsonl                    one JSON object per log / validation
      samples/step-00001000.png        input | output | target grids
      checkpoints/
        latest.json                    {"step": N, "path": "step-0000000N"}, replaced atomically
        step-0000000N/
          generator.safetensors        EMA weights (raw ones when EMA is off) + the record
          generator_raw.safetensors    the raw generator weights
          discriminator.safetensors
          training_state.pt            optimisers, schedulers, scalers, RNG (tensors and numbers)
          record.json                  step, task, networks {name, params, plugin source}, config

The model files and their record belong to :mod:`ganrestore.modelfile` (which also finds the
newest checkpoint of a run, for inference); this module owns the training side: writing a
checkpoint folder, ``latest.json``, ``training_state.pt`` and pruning old checkpoints.

Every checkpoint folder is written under a temporary name and renamed into place, and
``latest.json`` is replaced only afterwards, so a run killed at any moment resumes from the last
complete checkpoint. ``generator.safetensors`` carries the record in its metadata, so that one
file alone is a complete model for ``ganrestore apply``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from ganrestore.modelfile import (
    CHECKPOINTS,
    LATEST,
    RECORD,
    CheckpointError,
    ModelRecord,
    save_model_file,
)
from ganrestore.modelfile.layout import TRAINING_STATE


def step_name(step: int) -> str:
    return f"step-{step:08d}"


def save_checkpoint(
    run_dir: Path,
    step: int,
    networks: dict[str, dict[str, torch.Tensor]],
    training_state: dict[str, Any],
    record: ModelRecord,
    keep: int = 2,
) -> Path:
    """Write one checkpoint atomically and point ``latest.json`` at it.

    Args:
        run_dir: the run directory.
        step: completed training steps.
        networks: file name (e.g. ``GENERATOR``) -> state dict, each saved as a model file.
        training_state: optimiser/scheduler/scaler/RNG states (tensors, numbers, lists, dicts).
        record: what the run trains; saved with ``step`` as ``record.json`` and in the
            metadata of every model file.
        keep: how many of the newest checkpoints to keep.

    Returns:
        The checkpoint folder.
    """
    root = run_dir / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_name(step)
    temporary = root / f".tmp-{step_name(step)}-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        record = record.at_step(step)
        for file_name, state in networks.items():
            save_model_file(temporary / file_name, state, record)
        torch.save(training_state, temporary / TRAINING_STATE)
        (temporary / RECORD).write_text(record.to_json(indent=2))
        _replace_dir(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _write_json_atomic(root / LATEST, {"step": step, "path": final.name})
    _prune(root, keep)
    return final


def load_training_state(checkpoint: Path) -> dict[str, Any]:
    """Optimiser, scheduler, scaler and RNG states; never unpickles code."""
    path = checkpoint / TRAINING_STATE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing; this checkpoint cannot be resumed")
    return torch.load(path, map_location="cpu", weights_only=True)


def _replace_dir(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``; an existing ``target`` is moved aside first."""
    if target.exists():
        aside = target.with_name(f".old-{target.name}-{os.getpid()}")
        os.replace(target, aside)
        os.replace(source, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(source, target)


def _write_json_atomic(path: Path, value: Any) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(value))
    os.replace(temporary, path)


def _prune(root: Path, keep: int) -> None:
    steps = sorted(p for p in root.glob("step-*") if p.is_dir())
    for old in steps[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in root.glob(".tmp-step-*"):  # left by a run killed while writing
        if not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)
