"""The run directory of a training run: where a run may start, and what a resumed run reads.

A new run starts only in a folder that does not exist yet or is empty, and never inside the
data folder (its sample grids would become training images); ``--resume`` continues a run. A
resumed run continues from the newest intact checkpoint: one that cannot be read, or whose
weights hold NaN or infinite values, is set aside (renamed ``damaged-step-N``, never deleted)
and the one before it is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganrestore.engine.checkpoint import TRAINING_STATE, load_training_state
from ganrestore.errors import GanrestoreError
from ganrestore.modelfile import (
    CHECKPOINTS,
    DISCRIMINATOR,
    GENERATOR,
    GENERATOR_RAW,
    RECORD,
    CheckpointError,
    ModelRecord,
    latest_checkpoint,
    load_tensors,
    nonfinite_tensors,
    read_record,
)

_STEP_FOLDER = re.compile(r"step-(\d+)")
#: How the weight files of a checkpoint are named in messages.
_WEIGHT_NAMES = {
    GENERATOR: "generator (EMA)",
    GENERATOR_RAW: "generator",
    DISCRIMINATOR: "discriminator",
}
_SHOWN = 5


@dataclass
class ResumePoint:
    """What a resumed run loads: one intact checkpoint, read in full.

    Attributes:
        checkpoint: the checkpoint folder.
        record: its record (``record.json``).
        state: optimiser, scheduler, scaler and RNG states.
        tensors: file name (e.g. ``GENERATOR_RAW``) -> state dict.
        damaged: ``(folder, reason)`` of each newer checkpoint that could not be used.
    """

    checkpoint: Path
    record: ModelRecord
    state: dict[str, Any]
    tensors: dict[str, dict[str, torch.Tensor]]
    damaged: list[tuple[Path, str]] = field(default_factory=list)


def check_outside_data(run_dir: Path, data_dir: Path) -> None:
    """Refuse a run directory inside (or equal to) the data folder, or data inside the run.

    Either way the run's sample grids and checkpoints would be read as training images (a
    ``--resume`` with ``--data RUN/samples``, say).

    Raises:
        GanrestoreError: naming both folders.
    """
    run, data = Path(run_dir).resolve(), Path(data_dir).resolve()
    if run == data or run.is_relative_to(data):
        raise GanrestoreError(
            f"--out {run_dir} is inside --data {data_dir}: the run's sample grids and "
            "checkpoints would be read as training images; choose an --out outside the data "
            "folder"
        )
    if data.is_relative_to(run):
        raise GanrestoreError(
            f"--data {data_dir} is inside the run folder {run_dir}: the run's own sample grids "
            "and checkpoints would be read as training images; keep the photos outside the run"
        )


def is_run(folder: Path) -> bool:
    """Whether ``folder`` holds a ganrestore training run (its config or checkpoints)."""
    return (folder / "config.json").is_file() or (folder / CHECKPOINTS).is_dir()


def refuse_occupied(run_dir: Path) -> None:
    """A new run needs a folder that does not exist yet or is empty.

    Raises:
        GanrestoreError: the folder holds a run (use ``--resume``) or anything else.
    """
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise GanrestoreError(f"--out {run_dir} is a file; choose a folder for the run")
    if is_run(run_dir):
        latest = latest_checkpoint(run_dir)
        if latest is None:  # nothing --resume could continue from
            raise GanrestoreError(
                f"{run_dir} already holds a training run that stopped before its first "
                "checkpoint, so there is nothing to resume; choose another --out (or delete "
                "that folder yourself)"
            )
        raise GanrestoreError(
            f"{run_dir} already holds a training run (checkpoint at step {_step_of(latest)}); "
            "pass --resume to continue it, or choose another --out so nothing is overwritten"
        )
    contents = sorted(run_dir.iterdir())
    if contents:
        names = [path.name + ("/" if path.is_dir() else "") for path in contents]
        listed = ", ".join(names[:_SHOWN])
        if len(names) > _SHOWN:
            listed += f" (and {len(names) - _SHOWN} more)"
        raise GanrestoreError(
            f"--out {run_dir} is not empty and is not a ganrestore run (it holds {listed}); "
            "choose a new or empty folder for --out, so nothing in it is overwritten"
        )


def nonfinite_weights(networks: Mapping[str, Mapping[str, torch.Tensor]]) -> list[str]:
    """The networks (by name, e.g. ``"discriminator"``) whose weights hold NaN or infinity.

    Args:
        networks: weight file name (e.g. ``DISCRIMINATOR``) -> state dict.
    """
    return [
        _WEIGHT_NAMES.get(name, name)
        for name, state in networks.items()
        if nonfinite_tensors(state)
    ]


def load_resume_point(run_dir: Path, names: Sequence[str]) -> ResumePoint:
    """Read the newest intact checkpoint of ``run_dir`` in full.

    Args:
        run_dir: the run directory.
        names: the weight files this run needs (``GENERATOR_RAW``, ...).

    Raises:
        CheckpointError: the run holds no checkpoint, or none is intact; the message lists
            each one and what is wrong with it.
    """
    folders = _newest_first(run_dir)
    if not folders:
        raise CheckpointError(
            f"--resume: {run_dir} holds no checkpoint to resume from (the run stopped before "
            "its first one); start again with another --out"
        )
    never_saved = [name for name in names if not any((f / name).exists() for f in folders)]
    if never_saved and any((folder / TRAINING_STATE).is_file() for folder in folders):
        # Not damage: the run was trained without these networks and the settings now ask
        # for them (e.g. an adversarial weight set at --resume). Nothing is set aside.
        missing = " and ".join(Path(name).stem.replace("_", " ") for name in never_saved)
        raise CheckpointError(
            f"--resume: {run_dir} was trained without a {missing} (none of its "
            "checkpoints holds one), but the settings now need it: a --set changed what the run "
            "trains. Resume with the run's own settings, or start a new run from it with "
            f"--init {run_dir} --out NEW_RUN"
        )
    damaged: list[tuple[Path, str]] = []
    for folder in folders:
        try:
            point = _read_intact(folder, names)
        except Exception as exc:  # any failure to read a file means the checkpoint is damaged
            damaged.append((folder, _reason(exc)))
            continue
        point.damaged = damaged
        return point
    listed = "; ".join(f"{folder.name}: {reason}" for folder, reason in damaged)
    raise CheckpointError(
        f"--resume: no intact checkpoint in {run_dir / CHECKPOINTS} ({listed}). "
        "Start a new run with another --out; the damaged folders are left as they are"
    )


def set_aside(damaged: Sequence[tuple[Path, str]]) -> list[str]:
    """Rename damaged checkpoints ``damaged-step-N`` so that no newer run mistakes them for good.

    Returns:
        One sentence per checkpoint, for the user.
    """
    said = []
    for folder, reason in damaged:
        target = folder.with_name(f"damaged-{folder.name}")
        suffix = 1
        while target.exists():
            suffix += 1
            target = folder.with_name(f"damaged-{folder.name}-{suffix}")
        try:
            folder.rename(target)
            where = f"moved to {target}"
        except OSError as exc:
            where = f"left in place ({exc.strerror})"
        said.append(f"checkpoint {folder} cannot be resumed from ({reason}); {where}")
    return said


def _newest_first(run_dir: Path) -> list[Path]:
    root = run_dir / CHECKPOINTS
    if not root.is_dir():
        return []
    steps = [
        (int(match.group(1)), path)
        for path in root.iterdir()
        if path.is_dir() and (match := _STEP_FOLDER.fullmatch(path.name))
    ]
    return [path for _, path in sorted(steps, reverse=True)]


def _read_intact(folder: Path, names: Sequence[str]) -> ResumePoint:
    record = _reading(RECORD, lambda: read_record(folder))
    state = _reading(TRAINING_STATE, lambda: load_training_state(folder))
    tensors = {name: _reading(name, lambda n=name: load_tensors(folder / n)) for name in names}
    nonfinite = nonfinite_weights(tensors)
    if nonfinite:
        raise CheckpointError(f"the {' and '.join(nonfinite)} weights hold NaN or infinity")
    if "step" not in state:
        raise CheckpointError(f"{TRAINING_STATE} has no step")
    return ResumePoint(folder, record, state, tensors)


def _reading(name: str, read: Callable[[], Any]) -> Any:
    """``read()``; any failure becomes a CheckpointError naming the file and the error."""
    try:
        return read()
    except CheckpointError:
        raise
    except Exception as exc:  # a damaged file can fail in any way its parser chooses
        first_line = (str(exc).splitlines() or [""])[0]
        detail = f": {first_line}" if 0 < len(first_line) <= 100 else ""
        raise CheckpointError(f"{name} cannot be read ({type(exc).__name__}{detail})") from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, GanrestoreError):
        return str(exc)
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"[:200]


def _step_of(checkpoint: Path) -> str:
    match = _STEP_FOLDER.fullmatch(checkpoint.name)
    return str(int(match.group(1))) if match else checkpoint.name
