"""Where the model files of a training run are, read without importing the training engine.

A run directory (written by :mod:`ganrestore.engine.checkpoint`) looks like::

    RUN/checkpoints/latest.json            {"step": N, "path": "step-0000000N"}
    RUN/checkpoints/step-0000000N/
        generator.safetensors              the model: EMA weights + the record
        generator_raw.safetensors          raw generator weights (+ the record)
        discriminator.safetensors          (+ the record)
        record.json                        the record again, as text
        training_state.pt                  what only a resumed run reads (engine)

A checkpoint folder is complete once its ``record.json`` is there: folders are written under a
temporary name and renamed into place, so a half-written one is never named ``step-*``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ganrestore.modelfile.record import CheckpointError

CHECKPOINTS = "checkpoints"
LATEST = "latest.json"
GENERATOR = "generator.safetensors"
GENERATOR_RAW = "generator_raw.safetensors"
DISCRIMINATOR = "discriminator.safetensors"
RECORD = "record.json"
#: A checkpoint's optimiser and schedule state (``torch.save``), for ``--resume`` alone.
TRAINING_STATE = "training_state.pt"


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint folder of a run, or ``None`` if it has none.

    ``latest.json`` names it; when that file is missing or damaged, or names anything but a
    ``step-*`` folder right inside ``checkpoints/`` (``../elsewhere``, an absolute path, a link
    out of the run), the newest ``step-*`` folder holding a ``record.json`` is used.
    """
    root = Path(run_dir) / CHECKPOINTS
    pointer = root / LATEST
    if pointer.is_file():
        try:
            named = json.loads(pointer.read_text())["path"]
            candidate = root / named if _is_step_name(named) else None
        except (ValueError, KeyError, TypeError):
            candidate = None
        if candidate is not None and not candidate.is_symlink() and (candidate / RECORD).is_file():
            return candidate
    complete = sorted(
        p for p in root.glob("step-*") if not p.is_symlink() and (p / RECORD).is_file()
    )
    return complete[-1] if complete else None


def _is_step_name(name: object) -> bool:
    """Whether ``name`` is a bare ``step-*`` folder name (no separator, no ``..``)."""
    return (
        isinstance(name, str)
        and name.startswith("step-")
        and Path(name).name == name  # no "/" and no ".." part
        and "\\" not in name
    )


def is_checkpoint_folder(path: Path) -> bool:
    """Whether ``path`` is one complete checkpoint folder (it holds a ``record.json``)."""
    return (Path(path) / RECORD).is_file()


def is_run_directory(path: Path) -> bool:
    """Whether ``path`` holds the ``checkpoints/`` folder of a training run."""
    return (Path(path) / CHECKPOINTS).is_dir()


def generator_file(path: Path) -> Path:
    """The ``generator.safetensors`` of a run directory, a checkpoint folder or the file itself.

    Raises:
        CheckpointError: the path does not exist, is not a ``.safetensors`` file, or is a
            folder holding no complete checkpoint.
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
    if is_checkpoint_folder(path):
        return path / GENERATOR
    if is_run_directory(path) or (path / "config.json").is_file():  # a run, saved or not yet
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
