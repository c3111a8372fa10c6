"""A generator file opened for inference: its record, its task and its checked network.

The file format, the record's checks and the checked rebuild of the network belong to
:mod:`ganrestore.modelfile`; this module adds what only inference needs: the task the record
names (a plugin), whose channels size the network and whose packing feeds it. Every problem
is a :class:`~ganrestore.modelfile.CheckpointError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

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
            or weights holding NaN or infinity.
    """
    record = read_record(file)
    try:
        task = build_task(record.task)
    except PluginError as exc:
        raise CheckpointError(f"{file} is a model for task '{record.task}': {exc}") from exc
    module = load_generator_module(file, record.generator, task.in_channels, task.out_channels)
    return LoadedGenerator(file, record, task, module)
