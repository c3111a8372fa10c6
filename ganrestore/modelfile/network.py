"""A generator rebuilt from its model file, checked before anything is built from it.

The record comes from a file, so it is checked like any other input:

1. its types (:meth:`ModelRecord.from_dict`, by :func:`read_record`);
2. the network it describes is built on the ``meta`` device (no memory) under a
   :class:`~ganrestore.modelfile.budget.BuildBudget` set by the file's header: a record whose
   params make far more modules or tensors than the file holds (``blocks: 1000000``) is
   stopped in well under a second, whatever the plugin;
3. the shape of every parameter and buffer is compared with the header, read without loading a
   weight, and a tensor the network holds as floating point must be floating point in the file
   (boolean or integer weights would load as 0 and 1 and give a white image);
4. only a network that fits its weights is built for real, so loading never allocates much
   more than the file holds, however large the widths the record declares;
5. weights holding NaN or infinity are refused: they would turn every image black.

Every problem is a :class:`CheckpointError` naming the file. The channels come from the task,
which the caller looks up (tasks are plugins above this package).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganrestore.modelfile.budget import BudgetExceeded, BuildBudget
from ganrestore.modelfile.files import (
    TensorInfo,
    check_finite,
    listing,
    load_tensors,
    tensor_header,
)
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
        CheckpointError: the plugin is not installed, the params do not build or make far more
            than the file holds, the weights do not fit the network, are not floating point
            where it holds floats, or hold NaN or infinity.
    """
    channels = (in_channels, out_channels)
    header = tensor_header(file)
    expected = _expected_tensors(spec, channels, file, header)
    _check_shapes({key: shape for key, (shape, _) in expected.items()}, header, spec, file)
    _check_floating(expected, header, spec, file)
    generator = _build(spec, channels, file, header)
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


def _expected_tensors(
    spec: NetworkRecord, channels: tuple[int, int], file: Path, header: dict[str, TensorInfo]
) -> dict[str, tuple[tuple[int, ...], bool]]:
    """Shape and floating-pointness of each tensor of the state dict the record describes,
    from a network built without memory, within the budget the header sets.

    The plugin is imported first, outside the ``meta`` context, so that tensors its module
    creates at import time are real. A plugin that cannot be built on ``meta`` is built for
    real, its weight values counted too.
    """
    try:
        GENERATORS.get(spec.name)
    except PluginError as exc:
        raise CheckpointError(
            f"{file} needs generator '{spec.name}' from {spec.source()}: {exc}"
        ) from exc
    budget = BuildBudget(len(header))
    module = None
    try:
        with budget, torch.device("meta"):
            module = build_generator(spec.name, *channels, **spec.params)
    except BudgetExceeded:
        pass  # reported below
    except PluginError as exc:
        if budget.exceeded is None:
            raise _bad_params(spec, file, exc) from exc
    except Exception:  # not buildable on meta: fall back to a real build
        if budget.exceeded is None:
            module = _build(spec, channels, file, header)
    _check_budget(budget, spec, file, header)
    assert module is not None  # every other way out of the build raised
    return {
        key: (tuple(value.shape), value.is_floating_point())
        for key, value in module.state_dict().items()
    }


def _build(
    spec: NetworkRecord, channels: tuple[int, int], file: Path, header: dict[str, TensorInfo]
) -> nn.Module:
    """The network built for real, within a budget of the header's tensors and values."""
    budget = BuildBudget(len(header), sum(info.elements for info in header.values()))
    module = None
    try:
        with budget:
            module = build_generator(spec.name, *channels, **spec.params)
    except BudgetExceeded:
        pass  # reported below
    except Exception as exc:  # the record is input: any failure to build is reported
        if budget.exceeded is None:
            raise _bad_params(spec, file, exc) from exc
    _check_budget(budget, spec, file, header)
    assert module is not None  # every other way out of the build raised
    return module


def _check_budget(
    budget: BuildBudget, spec: NetworkRecord, file: Path, header: dict[str, TensorInfo]
) -> None:
    """Refuse a build the budget stopped (also one whose plugin swallowed the stop)."""
    if budget.exceeded is not None:
        raise CheckpointError(
            f"{file}: the params in its record make generator '{spec.name}' far larger than "
            f"the weights in the file: building it made more than {budget.exceeded}, and the file "
            f"holds {len(header)} tensors; the file is damaged or was edited: save or download "
            "it again"
        )


def _bad_params(spec: NetworkRecord, file: Path, exc: Exception) -> CheckpointError:
    reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
    return CheckpointError(
        f"{file}: generator '{spec.name}' cannot be built from the params in its record "
        f"({reason}); the file is damaged or needs another version of {spec.source()}"
    )


def _check_floating(
    expected: dict[str, tuple[tuple[int, ...], bool]],
    header: dict[str, TensorInfo],
    spec: NetworkRecord,
    file: Path,
) -> None:
    """Refuse booleans, integers (or complex numbers) where the network holds floats."""
    wrong = [key for key, (_, real) in expected.items() if real and not header[key].floating]
    if wrong:
        kinds = sorted({header[key].dtype for key in wrong})
        raise CheckpointError(
            f"{file}: {len(wrong)} weight tensor(s) of generator '{spec.name}' are stored as "
            f"{'/'.join(kinds)}, not floating point ({listing(wrong)}); they would load as "
            "whole numbers and every output would be wrong. The file is damaged or was edited: "
            "save or download it again"
        )


def _check_shapes(
    expected: dict[str, tuple[int, ...]],
    found: dict[str, TensorInfo],
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
        if found[key].shape != shape:
            raise CheckpointError(
                f"{what}: '{key}' is {found[key].shape} in the file but the record makes it "
                f"{shape}; "
                f"{advice}"
            )
