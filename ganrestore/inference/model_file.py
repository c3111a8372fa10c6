"""A generator file, checked before anything is built from it.

``generator.safetensors`` carries a record (in its metadata) that names the task, the generator
plugin and its params. The record comes from a file, so it is checked like any other input:

1. its types, into a :class:`GeneratorRecord` (a message names the file and the bad field);
2. the network it describes is built on the ``meta`` device (no memory) and the shape of every
   parameter and buffer is compared with the file's header, read without loading a weight;
3. only a network that fits its weights is built for real, so loading never allocates much
   more than the file holds, however large the widths the record declares;
4. weights holding NaN or infinity are refused: they would turn every image black.

Every problem is a :class:`~ganrestore.engine.checkpoint.CheckpointError` naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from torch import nn

from ganrestore.engine import checkpoint as ckpt
from ganrestore.models.networks import build_generator
from ganrestore.registry import GENERATORS, PluginError
from ganrestore.tasks import Task, build_task

CheckpointError = ckpt.CheckpointError
_SHOWN = 3  # tensor names quoted in a message


@dataclass(frozen=True)
class GeneratorRecord:
    """What a generator file's record says about its network.

    Attributes:
        task: registry name of the task, e.g. ``"denoise"``.
        name: registry name of the generator plugin, e.g. ``"unet"``.
        params: the plugin's keyword parameters.
        distribution: the distribution the plugin came from when the file was saved, or None.
        version: that distribution's version, or None.
    """

    task: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    distribution: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, record: Mapping[str, Any], file: Path) -> GeneratorRecord:
        """Check the types of ``record`` (from :func:`ckpt.read_record`) read from ``file``.

        Raises:
            CheckpointError: a field is missing or of the wrong type, or the file was saved by
                a newer ganrestore.
        """
        version = record.get("format_version")
        if isinstance(version, int) and version > ckpt.FORMAT_VERSION:
            raise CheckpointError(
                f"{file} was saved by a newer ganrestore (format {version}; this one reads up "
                f"to {ckpt.FORMAT_VERSION}): upgrade ganrestore to load it"
            )
        task, spec = record.get("task"), record.get("generator")
        if not isinstance(task, str) or not task or not isinstance(spec, Mapping):
            raise CheckpointError(
                f"{file}: its record names no task or generator ('task' must be a name and "
                "'generator' an object); the file is damaged or was not saved by ganrestore"
            )
        name, params = spec.get("name"), spec.get("params", {})
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"{file}: its record's generator has no name (got {name!r})")
        if not isinstance(params, Mapping):
            raise CheckpointError(
                f"{file}: its record's generator params must be a JSON object "
                f"(name: value), got {_json_kind(params)}; the file is damaged"
            )
        return cls(
            task=task,
            name=name,
            params=dict(params),
            distribution=_text_or_none(spec.get("distribution")),
            version=_text_or_none(spec.get("version")),
        )

    def source(self) -> str:
        """Where the plugin came from, for messages, e.g. ``fancy-nets 2.0``."""
        version = f" {self.version}" if self.version else ""
        return f"{self.distribution or 'an unknown distribution'}{version}"


@dataclass(frozen=True)
class LoadedGenerator:
    """A generator rebuilt from its file, on the CPU, in eval mode, with its weights loaded.

    Attributes:
        file: the ``.safetensors`` file.
        record: the whole record (as saved: step, metrics, config ...).
        spec: the checked part of the record.
        task: the task it was trained for.
        module: the generator.
    """

    file: Path
    record: dict[str, Any]
    spec: GeneratorRecord
    task: Task
    module: nn.Module


def load_generator(file: Path) -> LoadedGenerator:
    """Rebuild the generator saved in ``file``, checking the record against the weights first.

    Args:
        file: a ``generator.safetensors`` saved by ``ganrestore train`` (or a bundled model).

    Raises:
        CheckpointError: unreadable or damaged file, a record that does not describe its
            weights, a plugin that is not installed, or weights holding NaN or infinity.
    """
    record = ckpt.read_record(file)
    spec = GeneratorRecord.parse(record, file)
    task = _task(spec, file)
    shapes = tensor_shapes(file)
    _check_shapes(_expected_shapes(spec, task, file), shapes, spec, file)
    generator = _build(spec, task, file)
    tensors = ckpt.load_tensors(file)
    check_finite(tensors, file)
    try:
        generator.load_state_dict(tensors)
    except RuntimeError as exc:  # e.g. a dtype that cannot be copied; shapes were checked
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"{file}: the weights do not fit generator '{spec.name}' ({first})"
        ) from exc
    return LoadedGenerator(file, record, spec, task, generator.eval())


def tensor_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a safetensors file, from its header (nothing loaded)."""
    try:
        with safe_open(str(file), framework="pt") as handle:
            return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{file} is not a readable safetensors file: {exc}") from exc


def check_finite(tensors: Mapping[str, torch.Tensor], file: Path) -> None:
    """Refuse weights holding NaN or infinity, naming the first such tensor."""
    bad = ckpt.nonfinite_tensors(tensors)
    if bad:
        raise CheckpointError(
            f"{file}: {len(bad)} weight tensor(s) hold NaN or infinity ({_listing(bad)}), so "
            "every output would be wrong (black). The file is damaged or its training diverged: "
            "use an earlier checkpoint of the run, or train again"
        )


def _task(spec: GeneratorRecord, file: Path) -> Task:
    try:
        return build_task(spec.task)
    except PluginError as exc:
        raise CheckpointError(f"{file} is a model for task '{spec.task}': {exc}") from exc


def _expected_shapes(spec: GeneratorRecord, task: Task, file: Path) -> dict[str, tuple[int, ...]]:
    """Shapes of the state dict of the network the record describes, built without memory.

    The plugin is imported first, outside the ``meta`` context, so that tensors its module
    creates at import time are real. A plugin that cannot be built on ``meta`` is built for real.
    """
    try:
        GENERATORS.get(spec.name)
    except PluginError as exc:
        raise CheckpointError(
            f"{file} needs generator '{spec.name}' from {spec.source()}: {exc}"
        ) from exc
    try:
        with torch.device("meta"):
            module = build_generator(spec.name, task.in_channels, task.out_channels, **spec.params)
    except PluginError as exc:
        raise _bad_params(spec, file, exc) from exc
    except Exception:  # not buildable on meta: fall back to a real build
        module = _build(spec, task, file)
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def _build(spec: GeneratorRecord, task: Task, file: Path) -> nn.Module:
    try:
        return build_generator(spec.name, task.in_channels, task.out_channels, **spec.params)
    except Exception as exc:  # the record is input: any failure to build is reported
        raise _bad_params(spec, file, exc) from exc


def _bad_params(spec: GeneratorRecord, file: Path, exc: Exception) -> CheckpointError:
    reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
    return CheckpointError(
        f"{file}: generator '{spec.name}' cannot be built from the params in its record "
        f"({reason}); the file is damaged or needs another version of {spec.source()}"
    )


def _check_shapes(
    expected: dict[str, tuple[int, ...]],
    found: dict[str, tuple[int, ...]],
    spec: GeneratorRecord,
    file: Path,
) -> None:
    """Raise unless ``found`` (the file) has exactly the tensors of ``expected`` (the record)."""
    what = f"{file}: the weights do not fit generator '{spec.name}' with the params in its record"
    advice = "the file is damaged or was edited: save or download it again"
    missing = [key for key in expected if key not in found]
    if missing:
        raise CheckpointError(f"{what}: the file lacks {_listing(missing)}; {advice}")
    extra = [key for key in found if key not in expected]
    if extra:
        raise CheckpointError(
            f"{what}: the file has {_listing(extra)}, which the network lacks; {advice}"
        )
    for key, shape in expected.items():
        if found[key] != shape:
            raise CheckpointError(
                f"{what}: '{key}' is {found[key]} in the file but the record makes it {shape}; "
                f"{advice}"
            )


def _listing(keys: list[str]) -> str:
    shown = ", ".join(f"'{key}'" for key in keys[:_SHOWN])
    return f"{shown} and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else shown


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")
