"""``ganrestore export``: a model as an ONNX or TorchScript file, checked against PyTorch.

:func:`export_model` takes anything ``apply`` loads as a network (a bundled name, a run
directory, a checkpoint folder, a ``.safetensors`` model file, third-party generators
included), rebuilds its generator from the model file, traces it on random images packed by
its task, and keeps the model file's record, with how it was exported
(:class:`~ganrestore.export.graph.ExportInfo`), in the exported file's metadata.

Before anything is written, the export is opened again, exactly as ``apply`` opens it, and run
on random images of two other sizes (one that is not a multiple of the network's size multiple,
so the padding outside the graph is checked too); its output must match the PyTorch generator's
within ``tolerance``. The file is then written atomically, never over an existing one unless
``overwrite`` says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ganrestore.data.atomic import OutputExistsError, why_unwritable, write_atomically
from ganrestore.errors import GanrestoreError
from ganrestore.export.exported import open_exported
from ganrestore.export.graph import (
    EXPORT_KEY,
    INPUT_NAME,
    MAX_SIZE_MULTIPLE,
    OUTPUT_NAME,
    ExportedGraph,
    ExportInfo,
)
from ganrestore.export.onnx_graph import onnx_opset, write_onnx
from ganrestore.export.torchscript_graph import write_torchscript
from ganrestore.inference.model_file import load_generator
from ganrestore.inference.tiling import size_multiple
from ganrestore.modelfile.source import EXPORTED_SUFFIXES, SourceKind, parse_model_source
from ganrestore.models.padding import pad_to_multiple
from ganrestore.tasks import Task

#: ``--format`` -> how people call it.
FORMATS = {"onnx": "ONNX", "torchscript": "TorchScript"}
_WRITERS = {"onnx": write_onnx, "torchscript": write_torchscript}
#: The largest difference from PyTorch an export may show (network output, [-1, 1] scale).
TOLERANCE = 1e-3
#: The trace images are at least this many pixels on a side (and two size multiples).
MIN_TRACE_SIDE = 64


class ExportError(GanrestoreError):
    """A model cannot be exported, its export does not match PyTorch, or --out is taken."""


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_model` wrote and how well it matches PyTorch.

    Attributes:
        source: the model file exported.
        file: the file written.
        format: ``"onnx"`` or ``"torchscript"``.
        task: the model's task.
        generator: the generator's plugin name.
        in_channels: channels of the graph's input (the task's packing).
        size_multiple: H and W the graph takes are multiples of this.
        trace_size: side of the square images it was traced with.
        checked: ``(batch, height, width)`` of each check against PyTorch.
        max_abs_difference: the largest difference from PyTorch's output, in [-1, 1] units.
        tolerance: the largest difference allowed.
        bytes: size of the file.
        opset: the ONNX opset (None for TorchScript).
        seconds: how long the export and its check took.
    """

    source: Path
    file: Path
    format: str
    task: str
    generator: str
    in_channels: int
    size_multiple: int
    trace_size: int
    checked: tuple[tuple[int, int, int], ...]
    max_abs_difference: float
    tolerance: float
    bytes: int
    opset: int | None
    seconds: float

    def describe_io(self) -> str:
        """The graph's input and output, in words (for people using the file elsewhere)."""
        sizes = (
            "any H and W"
            if self.size_multiple == 1
            else f"H and W multiples of {self.size_multiple} (ganrestore pads other sizes)"
        )
        return (
            f"input '{INPUT_NAME}' (B, {self.in_channels}, H, W) float32 in [-1, 1] as the "
            f"task '{self.task}' packs it, {sizes}; output '{OUTPUT_NAME}' in [-1, 1]"
        )


def export_format(out: Path, fmt: str | None) -> str:
    """The format to write: ``fmt``, or the one ``out``'s suffix names; the two must agree.

    Raises:
        ExportError: an unknown format, a suffix of no format, or a suffix of another one.
    """
    by_suffix = EXPORTED_SUFFIXES.get(out.suffix.lower())
    if fmt is not None and fmt not in FORMATS:
        raise ExportError(f"--format {fmt}: unknown format; use {' or '.join(FORMATS)}")
    wanted = fmt or by_suffix
    if wanted is None or by_suffix != wanted:
        suffixes = {
            name: " or ".join(s for s, f in EXPORTED_SUFFIXES.items() if f == name)
            for name in FORMATS
        }
        if wanted is None:
            endings = ", ".join(f"{suffixes[name]} ({label})" for name, label in FORMATS.items())
            raise ExportError(f"--out {out}: name a file ending in {endings}, or give --format")
        article = "an" if wanted == "onnx" else "a"
        raise ExportError(
            f"--out {out}: {article} {FORMATS[wanted]} file ends in {suffixes[wanted]} (apply "
            "knows an exported file by its suffix); rename --out"
        )
    return wanted


def export_model(
    model: str | Path,
    out: str | Path,
    fmt: str | None = None,
    *,
    overwrite: bool = False,
    tolerance: float = TOLERANCE,
    announce: Callable[[str], None] | None = None,
) -> ExportReport:
    """Export ``model`` to ``out`` as ONNX or TorchScript and check it against PyTorch.

    Args:
        model: a bundled name, run directory, checkpoint folder or ``.safetensors`` file.
        out: the file to write (``.onnx``; ``.pt`` or ``.ts`` for TorchScript).
        fmt: ``"onnx"`` or ``"torchscript"``; None: from ``out``'s suffix.
        overwrite: replace ``out`` if it exists (else: refused, nothing exported).
        tolerance: the largest difference from PyTorch's output allowed ([-1, 1] units).
        announce: told in a line what is exported, once the model is loaded (an export takes
            seconds to a minute).

    Raises:
        ExportError: ``out`` exists or has the wrong suffix, a baseline, a network the exporter
            cannot handle, or an export that does not match PyTorch (nothing is written).
        ModelNotFoundError, CheckpointError: the model cannot be found or loaded.
        MissingExportDependency: the format's packages are not installed.
    """
    started = time.perf_counter()
    out = Path(out)
    fmt = export_format(out, fmt)
    if out.is_dir() or (out.exists() and not overwrite):
        what = "a folder" if out.is_dir() else "a file"
        raise ExportError(
            f"--out {out} is {what} that exists already: not replaced; pick another name"
            + ("" if out.is_dir() else " or pass --overwrite")
        )
    problem = why_unwritable(out)
    if problem is not None:  # said before the export, which takes a while, not after
        raise ExportError(f"--out {out}: cannot be written ({problem}); pick another path")
    source = parse_model_source(model, what="MODEL")
    if source.kind is SourceKind.BASELINE:
        raise ExportError(f"{model} is a classical baseline: it has no network to export")
    loaded = load_generator(source.model_file())
    multiple = size_multiple(loaded.module)
    if multiple > MAX_SIZE_MULTIPLE:
        raise ExportError(
            f"{loaded.file}: generator '{loaded.record.generator.name}' needs sizes in multiples "
            f"of {multiple}; an exported file may claim at most {MAX_SIZE_MULTIPLE} (every image "
            "is padded to it), so it cannot be exported"
        )
    trace = multiple * max(2, -(-MIN_TRACE_SIDE // multiple))
    info = ExportInfo(fmt, multiple, trace, source=str(loaded.file))
    record = loaded.record.with_extra(**{EXPORT_KEY: info.to_dict()})
    example = network_inputs(loaded.task, 2, trace, trace, seed=0)
    if announce is not None:
        announce(
            f"exporting the {loaded.task.name} model ({loaded.record.generator.name}) of "
            f"{loaded.file} to {FORMATS[fmt]}, then checking it against PyTorch..."
        )
    try:
        data = _WRITERS[fmt](loaded.module, example, record)
    except GanrestoreError:  # a missing package (MissingExportDependency)
        raise
    except Exception as exc:  # the exporters raise many kinds; the network is a plugin
        other = next(name for name in FORMATS if name != fmt)
        raise ExportError(
            f"{loaded.file}: torch cannot export generator '{loaded.record.generator.name}' "
            f"({loaded.record.generator.source()}) to {FORMATS[fmt]}: {_reason(exc)}; try "
            f"--format {other}"
        ) from exc
    name = f"the {FORMATS[fmt]} export of {loaded.file}"
    graph = open_exported(data, fmt, "cpu", name, trust_torchscript=True)  # ours, just made
    checked = check_sizes(trace, multiple)
    difference = max_difference(loaded.module, graph, loaded.task, checked)
    if not difference <= tolerance:  # NaN fails too
        raise ExportError(
            f"the {FORMATS[fmt]} export of {loaded.file} differs from PyTorch by up to "
            f"{difference:.3g} on random images (allowed: {tolerance:g}); nothing was written. "
            f"The generator may take a branch on its input that tracing fixed; try --format "
            f"{next(name for name in FORMATS if name != fmt)}"
        )
    try:
        write_atomically(out, data, overwrite=overwrite)
    except OutputExistsError:
        raise ExportError(f"--out {out} appeared meanwhile: not replaced") from None
    except OSError as exc:
        raise ExportError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
    return ExportReport(
        source=loaded.file,
        file=out,
        format=fmt,
        task=loaded.task.name,
        generator=loaded.record.generator.name,
        in_channels=loaded.task.in_channels,
        size_multiple=multiple,
        trace_size=trace,
        checked=tuple(checked),
        max_abs_difference=difference,
        tolerance=tolerance,
        bytes=len(data),
        opset=onnx_opset(data) if fmt == "onnx" else None,
        seconds=time.perf_counter() - started,
    )


def network_inputs(task: Task, batch: int, height: int, width: int, seed: int) -> Tensor:
    """Random images packed by ``task``, with what else it takes made up
    (:meth:`Task.example_batch`: a box hole, for a task with masks).

    Returns:
        ``(batch, task.in_channels, height, width)`` as :meth:`Task.network_input` packs it.
    """
    generator = torch.Generator().manual_seed(seed)
    degraded = torch.rand(batch, 3, height, width, generator=generator)
    return task.network_input(task.example_batch(degraded))


def check_sizes(trace: int, multiple: int) -> list[tuple[int, int, int]]:
    """``(batch, height, width)`` to check an export at: two sizes other than the trace's.

    The first is a multiple of ``multiple`` with two images; the second is one image whose
    sides leave a remainder of 1 (not a multiple, when ``multiple`` > 1: padded outside).
    """
    return [(2, trace + multiple, trace), (1, trace - multiple + 1, trace + multiple + 1)]


def max_difference(
    module: nn.Module, graph: ExportedGraph, task: Task, sizes: list[tuple[int, int, int]]
) -> float:
    """The largest difference between ``graph`` and ``module`` on random inputs of ``sizes``.

    ``module`` gets its input padded at the bottom and right to its size multiple and its output
    cropped back, as the tiler hands it every tile (and as ``graph`` pads).
    """
    worst = 0.0
    scale = task.scale
    with torch.inference_mode():
        for seed, (batch, height, width) in enumerate(sizes, start=1):
            inputs = network_inputs(task, batch, height, width, seed)
            padded, _ = pad_to_multiple(inputs, graph.size_multiple)
            expected = module(padded)[..., : height * scale, : width * scale].float()
            got = graph(inputs).float()
            if got.shape != expected.shape:
                raise ExportError(
                    f"{graph.name} returns {tuple(got.shape)} for input {tuple(inputs.shape)}, "
                    f"PyTorch {tuple(expected.shape)}; nothing was written"
                )
            difference = float((got - expected).abs().max())
            if difference != difference:  # NaN: the export is broken
                return difference
            worst = max(worst, difference)
    return worst


def _reason(exc: BaseException) -> str:
    """The innermost cause's first line: what the exporter could not do."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    return first if len(first) <= 300 else f"{first[:297]}..."
