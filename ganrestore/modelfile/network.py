"""A generator rebuilt from its model file, checked before anything is built from it.

The record comes from a file, so it is checked like any other input:

1. its types (:meth:`ModelRecord.from_dict`, by :func:`read_record`);
2. the network it describes is built on the ``meta`` device (no memory) and the shape of every
   parameter and buffer is compared with the file's header, read without loading a weight;
3. only a network that fits its weights is built for real, so loading never allocates much
   more than the file holds, however large the widths the record declares;
4. weights holding NaN or infinity are refused: they would turn every image black.

Every problem is a :class:`CheckpointError` naming the file. The channels come from the task,
which the caller looks up (tasks are plugins above this package).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganrestore.modelfile.files import check_finite, listing, load_tensors, tensor_shapes
from ganrestore.modelfile.record import CheckpointError, NetworkRecord
from ganrestore.models.networks import build_generator
from ganrestore.registry import GENERATORS, PluginError


def load_generator_module(
    file: Path, spec: NetworkRecord, in_channels: int, out_channels: int
) -> nn.Module:
    """The generator ``spec`` describes, with the weights of ``file``, on the CPU, in eval mode.

    Args:
        file: the ``.safetensors`` model file (its record already read and checked).
        spec: the record's generator entry.
        in_channels: network input channels of the record's task (3 RGB, 4 RGB + mask).
        out_channels: network output channels of the task (3).

    Raises:
        CheckpointError: the plugin is not installed, the params do not build, the weights do
            not fit the network, or they hold NaN or infinity.
    """
    channels = (in_channels, out_channels)
    shapes = tensor_shapes(file)
    _check_shapes(_expected_shapes(spec, channels, file), shapes, spec, file)
    generator = _build(spec, channels, file)
    tensors = load_tensors(file)
    check_finite(tensors, file)
    try:
        generator.load_state_dict(tensors)
    except RuntimeError as exc:  # e.g. a dtype that cannot be copied; shapes were checked
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"{file}: the weights do not fit generator '{spec.name}' ({first})"
        ) from exc
    return generator.eval()


def _expected_shapes(
    spec: NetworkRecord, channels: tuple[int, int], file: Path
) -> dict[str, tuple[int, ...]]:
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
            module = build_generator(spec.name, *channels, **spec.params)
    except PluginError as exc:
        raise _bad_params(spec, file, exc) from exc
    except Exception:  # not buildable on meta: fall back to a real build
        module = _build(spec, channels, file)
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def _build(spec: NetworkRecord, channels: tuple[int, int], file: Path) -> nn.Module:
    try:
        return build_generator(spec.name, *channels, **spec.params)
    except Exception as exc:  # the record is input: any failure to build is reported
        raise _bad_params(spec, file, exc) from exc


def _bad_params(spec: NetworkRecord, file: Path, exc: Exception) -> CheckpointError:
    reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
    return CheckpointError(
        f"{file}: generator '{spec.name}' cannot be built from the params in its record "
        f"({reason}); the file is damaged or needs another version of {spec.source()}"
    )


def _check_shapes(
    expected: dict[str, tuple[int, ...]],
    found: dict[str, tuple[int, ...]],
    spec: NetworkRecord,
    file: Path,
) -> None:
    """Raise unless ``found`` (the file) has exactly the tensors of ``expected`` (the record)."""
    what = f"{file}: the weights do not fit generator '{spec.name}' with the params in its record"
    advice = "the file is damaged or was edited: save or download it again"
    missing = [key for key in expected if key not in found]
    if missing:
        raise CheckpointError(f"{what}: the file lacks {listing(missing)}; {advice}")
    extra = [key for key in found if key not in expected]
    if extra:
        raise CheckpointError(
            f"{what}: the file has {listing(extra)}, which the network lacks; {advice}"
        )
    for key, shape in expected.items():
        if found[key] != shape:
            raise CheckpointError(
                f"{what}: '{key}' is {found[key]} in the file but the record makes it {shape}; "
                f"{advice}"
            )
