"""A generator file opened for inference: its record, its task and its checked network.

The file format, the record's checks and the checked rebuild of the network belong to
:mod:`ganrestore.modelfile`; this module adds what only inference needs: the task the record
names (a plugin), whose channels size the network and whose packing feeds it, and a check that
the network's output is what the task composes (:func:`check_output_shape`), so a network that
ignores its ``out_channels`` is refused instead of giving gray images. Every problem is a
:class:`~ganrestore.modelfile.CheckpointError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganrestore.inference.tiling import size_multiple
from ganrestore.modelfile import CheckpointError, ModelRecord, load_generator_module, read_record
from ganrestore.registry import PluginError
from ganrestore.tasks import Task, build_task


@dataclass(frozen=True)
class LoadedGenerator:
    """A generator rebuilt from its file, on the CPU, in eval mode, with its weights loaded.

    Attributes:
        file: the ``.safetensors`` file.
        record: its checked record (task, networks, step, metrics, config ...).
        task: the task it was trained for.
        module: the generator.
    """

    file: Path
    record: ModelRecord
    task: Task
    module: nn.Module


def load_generator(file: Path) -> LoadedGenerator:
    """Rebuild the generator saved in ``file``, checking the record against the weights first.

    Args:
        file: a ``generator.safetensors`` saved by ``ganrestore train`` (or a bundled model).

    Raises:
        CheckpointError: unreadable or damaged file, a record from a newer ganrestore or that
            does not describe its weights, a task or generator plugin that is not installed,
            weights holding NaN or infinity, or a network whose output does not fit the task.
    """
    record = read_record(file)
    try:
        task = build_task(record.task)
    except PluginError as exc:
        raise CheckpointError(f"{file} is a model for task '{record.task}': {exc}") from exc
    module = load_generator_module(file, record.generator, task.in_channels, task.out_channels)
    check_output_shape(module, task, size_multiple(module), str(file))
    return LoadedGenerator(file, record, task, module)


#: The side of the blank image a network is tried on: at least this, a multiple of its own.
PROBE_SIDE = 32


def check_output_shape(network: nn.Module, task: Task, multiple: int, name: str) -> None:
    """Run ``network`` once on a blank image and refuse an output its task cannot compose.

    Args:
        network: a generator or an exported graph, on the CPU, in eval mode.
        task: its task: the input is ``(1, in_channels, S, S)`` zeros, the output must be
            ``(1, out_channels, scale * S, scale * S)``, S the smallest multiple of ``multiple``
            from :data:`PROBE_SIDE`.
        multiple: the network's size multiple.
        name: the file, for messages.

    Raises:
        CheckpointError: another shape (a one-channel network for an RGB task), or a network
            that fails on the blank image.
    """
    side = multiple * -(-PROBE_SIDE // multiple)
    blank = torch.zeros(1, task.in_channels, side, side)
    try:
        with torch.inference_mode():
            output = network(blank)
    except Exception as exc:  # a plugin's or a graph's own error: the file is the cause
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{name}: its network fails on a blank {side}x{side} image ({first}); the file "
            "is damaged or was not made for this task"
        ) from None
    expected = (1, task.out_channels, task.scale * side, task.scale * side)
    got = tuple(output.shape) if isinstance(output, torch.Tensor) else None
    if got != expected:
        channels = f"{got[1]} channel(s)" if got is not None and len(got) == 4 else "no image"
        raise CheckpointError(
            f"{name}: its network returns {channels} {got or type(output).__name__} for a "
            f"{side}x{side} image, but its task '{task.name}' needs {task.out_channels} "
            f"{expected}: it would give wrong images, so it is not used. The file is damaged "
            "or its network was not made for this task"
        )
