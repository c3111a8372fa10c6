"""Checkpoints of a training run, written atomically and loaded without unpickling code.

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

Every checkpoint folder is written under a temporary name and renamed into place, and
``latest.json`` is replaced only afterwards, so a run killed at any moment resumes from the last
complete checkpoint. ``generator.safetensors`` carries the record in its metadata, so that one
file alone is a complete model for ``ganrestore apply``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganrestore.errors import GanrestoreError

CHECKPOINTS = "checkpoints"
LATEST = "latest.json"
GENERATOR = "generator.safetensors"
GENERATOR_RAW = "generator_raw.safetensors"
DISCRIMINATOR = "discriminator.safetensors"
TRAINING_STATE = "training_state.pt"
RECORD = "record.json"
RECORD_METADATA_KEY = "ganrestore_record"
FORMAT = "ganrestore-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(GanrestoreError):
    """A checkpoint is missing, incomplete or not a ganrestore checkpoint."""


def step_name(step: int) -> str:
    return f"step-{step:08d}"


def save_checkpoint(
    run_dir: Path,
    step: int,
    networks: dict[str, dict[str, torch.Tensor]],
    training_state: dict[str, Any],
    record: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write one checkpoint atomically and point ``latest.json`` at it.

    Args:
        run_dir: the run directory.
        step: completed training steps.
        networks: file name (e.g. ``GENERATOR``) -> state dict to save as safetensors.
        training_state: optimiser/scheduler/scaler/RNG states (tensors, numbers, lists, dicts).
        record: JSON-serialisable description of the run; stored as ``record.json`` and in the
            metadata of every safetensors file.
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
        record = {"format": FORMAT, "format_version": FORMAT_VERSION, **record, "step": step}
        record_json = json.dumps(record, sort_keys=True)
        for file_name, state in networks.items():
            tensors = {key: value.detach().cpu().contiguous() for key, value in state.items()}
            save_file(tensors, temporary / file_name, metadata={RECORD_METADATA_KEY: record_json})
        torch.save(training_state, temporary / TRAINING_STATE)
        (temporary / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True))
        _replace_dir(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _write_json_atomic(root / LATEST, {"step": step, "path": final.name})
    _prune(root, keep)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or ``None`` if it has none."""
    root = run_dir / CHECKPOINTS
    pointer = root / LATEST
    if pointer.is_file():
        try:
            candidate = root / json.loads(pointer.read_text())["path"]
        except (ValueError, KeyError, TypeError):
            candidate = None
        if candidate is not None and (candidate / RECORD).is_file():
            return candidate
    complete = sorted(p for p in root.glob("step-*") if (p / RECORD).is_file())
    return complete[-1] if complete else None


def read_record(checkpoint: Path) -> dict[str, Any]:
    """The record of a checkpoint folder or of a ``.safetensors`` file saved by ganrestore."""
    if checkpoint.is_dir():
        path = checkpoint / RECORD
        if not path.is_file():
            raise CheckpointError(f"{checkpoint} is not a ganrestore checkpoint (no {RECORD})")
        return _parsed_record(path.read_text(), path)
    metadata = _safetensors_metadata(checkpoint)
    if RECORD_METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{checkpoint} has no ganrestore record in its metadata; it was not saved by "
            "ganrestore, so its architecture is unknown"
        )
    return _parsed_record(metadata[RECORD_METADATA_KEY], checkpoint)


def _parsed_record(text: str, source: Path) -> dict[str, Any]:
    """The record as a dict; bad JSON, too deep nesting or a non-object is a CheckpointError."""
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise CheckpointError(
            f"{source}: its ganrestore record is not valid JSON ({reason}); the file is damaged: "
            "save or download it again"
        ) from None
    if not isinstance(record, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
            type(record), "a number"
        )
        raise CheckpointError(
            f"{source}: its ganrestore record is {kind}, not a JSON object; "
            "the file is damaged or was not saved by ganrestore"
        )
    return record


def generator_file(path: Path) -> Path:
    """The ``generator.safetensors`` of a run directory, a checkpoint folder or the file itself.

    Raises:
        CheckpointError: the path does not exist or holds no complete checkpoint.
    """
    path = Path(path)
    if path.is_file():
        if path.suffix != ".safetensors":
            raise CheckpointError(
                f"{path} is not a model: pass a run directory, a checkpoint folder or its "
                f"{GENERATOR}"
            )
        return path
    if not path.is_dir():
        raise CheckpointError(f"{path} does not exist")
    if (path / RECORD).is_file():
        return path / GENERATOR
    if (path / CHECKPOINTS).is_dir():
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(
                f"{path} has no complete checkpoint yet; let `ganrestore train` save one"
            )
        return latest / GENERATOR
    raise CheckpointError(
        f"{path} is neither a run directory (no {CHECKPOINTS}/) nor a checkpoint folder "
        f"(no {RECORD})"
    )


def nonfinite_tensors(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors of a state dict that hold NaN or infinity."""
    return [
        key
        for key, tensor in tensors.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def load_tensors(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file."""
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist; the checkpoint is incomplete")
    with safe_open(str(path), framework="pt", device=str(device)) as handle:
        return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118


def load_training_state(checkpoint: Path) -> dict[str, Any]:
    """Optimiser, scheduler, scaler and RNG states; never unpickles code."""
    path = checkpoint / TRAINING_STATE
    if not path.is_file():
        raise CheckpointError(f"{path} is missing; this checkpoint cannot be resumed")
    return torch.load(path, map_location="cpu", weights_only=True)


def _safetensors_metadata(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from exc


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
