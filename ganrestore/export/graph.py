"""An exported generator graph as a generator: what every format of ``ganrestore export`` shares.

A file of ``ganrestore export`` holds the generator as a graph (ONNX, TorchScript) and, in its
metadata, the model file's :class:`~ganrestore.modelfile.ModelRecord` with one extra key,
:data:`EXPORT_KEY`, saying how it was exported (:class:`ExportInfo`). From the record alone the
file is known: its task (so its channels, its scale, how its input is packed), its generator
``{name, params}`` and where it came from.

The graph maps ``(B, task.in_channels, H, W)`` in [-1, 1] to ``(B, task.out_channels,
scale * H, scale * W)`` in [-1, 1], exactly as the generator does, but only for H and W that are
multiples of the generator's size multiple: the network's own padding to that multiple is a
branch on the input size, which a traced graph keeps only as it was taken at the trace size
(a multiple). :class:`ExportedGraph` is an ``nn.Module`` that pads other sizes outside the graph
(at the bottom and right, as the tiler pads every tile) and crops the output back, so a
:class:`~ganrestore.inference.restorer.NetworkRestorer` runs it as it runs the PyTorch network.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from torch import Tensor, nn

from ganrestore.errors import GanrestoreError
from ganrestore.modelfile import CheckpointError, ModelRecord
from ganrestore.models.padding import pad_to_multiple
from ganrestore.registry import PluginError
from ganrestore.tasks import Task, build_task

#: The record's extra key that says how a file was exported (:class:`ExportInfo`).
EXPORT_KEY = "export"
#: The newest layout of :data:`EXPORT_KEY` this ganrestore reads (and the one it writes).
EXPORT_VERSION = 1
#: Names of the graph's input and output (ONNX); a TorchScript graph takes one tensor too.
INPUT_NAME, OUTPUT_NAME = "network_input", "network_output"
#: The largest size multiple an exported file may claim. The record's number is not checked
#: against the graph, and every image is padded to it: a file claiming 8192 padded a small
#: photo to 11.7 GB. The built-in networks need 16 (resunet) to 256 (pix2pix's U-Net of depth 8).
MAX_SIZE_MULTIPLE = 256
#: What to install for ONNX, said in every message about a missing package.
INSTALL_ONNX = 'pip install "ganrestore[onnx]" (or pip install -e ".[onnx]" in a clone)'


class MissingExportDependency(GanrestoreError):
    """A package that exporting or running an exported file needs is not installed."""


def require(package: str, purpose: str) -> ModuleType:
    """Import ``package`` (``"onnxruntime"``), or say what ``purpose`` needs and how to get it.

    Raises:
        MissingExportDependency: it is not installed (or does not import).
    """
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise MissingExportDependency(
            f"{purpose} needs the Python package '{package}', which is not installed here "
            f"({exc}): {INSTALL_ONNX}"
        ) from None


@dataclass(frozen=True)
class ExportInfo:
    """How a file was exported, kept in its record under :data:`EXPORT_KEY`.

    Attributes:
        format: ``"onnx"`` or ``"torchscript"``.
        size_multiple: H and W the graph takes are multiples of this (others are padded).
        trace_size: side of the square images the graph was traced with.
        source: the model file it was exported from (for people; never read back).
        version: the layout of these keys (:data:`EXPORT_VERSION`).
    """

    format: str
    size_multiple: int
    trace_size: int
    source: str = ""
    version: int = EXPORT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "size_multiple": self.size_multiple,
            "trace_size": self.trace_size,
            "source": self.source,
            "version": self.version,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
        }

    @classmethod
    def from_record(cls, record: ModelRecord, name: str) -> ExportInfo:
        """The export keys of the record read from the file ``name``, checked.

        Raises:
            CheckpointError: the record has none (a model file, not an export), they are
                damaged, or they come from a newer ganrestore.
        """
        data = record.extra.get(EXPORT_KEY)
        if not isinstance(data, dict):
            raise CheckpointError(
                f"{name}: its ganrestore record does not say how it was exported; export the "
                "model again with `ganrestore export`"
            )
        version, multiple = data.get("version"), data.get("size_multiple")
        if isinstance(version, int) and version > EXPORT_VERSION:
            raise CheckpointError(
                f"{name} was exported by a newer ganrestore (export version {version}; this one "
                f"reads up to {EXPORT_VERSION}): upgrade ganrestore to run it"
            )
        if not _whole(multiple) or not 1 <= multiple <= MAX_SIZE_MULTIPLE:
            raise CheckpointError(
                f"{name}: its record's export size_multiple must be a whole number from 1 to "
                f"{MAX_SIZE_MULTIPLE}, got {multiple!r} (every image would be padded to it); "
                "the file is damaged or was edited: export the model again"
            )
        trace_size = data.get("trace_size")
        if trace_size is not None and (
            not _whole(trace_size) or trace_size < 1 or trace_size % multiple
        ):
            raise CheckpointError(
                f"{name}: its record's export trace_size must be a whole multiple of its "
                f"size_multiple {multiple}, got {trace_size!r}; the file is damaged or was "
                "edited: export the model again"
            )
        return cls(
            format=str(data.get("format", "")),
            size_multiple=multiple,
            trace_size=trace_size or 0,
            source=str(data.get("source", "")),
            version=version if isinstance(version, int) else EXPORT_VERSION,
        )


def _whole(value: Any) -> bool:
    """Whether a JSON value is a whole number (``true`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


class ExportedGraph(nn.Module, ABC):
    """A generator graph read from an exported file, with its record, task and export keys.

    Calling it maps ``(B, task.in_channels, H, W)`` in [-1, 1], any H and W, to ``(B,
    task.out_channels, scale * H, scale * W)``: sizes that are not multiples of
    ``size_multiple`` are padded (reflected at the bottom and right) before the graph and
    cropped after it. Subclasses implement :meth:`run` for sizes that are multiples.

    Args:
        record_json: the record's JSON text from the file's metadata, or None when it has none.
        name: the file, for messages.
        fmt: the format the file was opened as, for messages.

    Attributes:
        record: the checked record (task, generator, training summary, :data:`EXPORT_KEY`).
        task: the record's task (a plugin: it must be installed, its generator need not be).
        info: how the file was exported.
        size_multiple: what :func:`~ganrestore.inference.tiling.size_multiple` reads.
        fixed_precision: the one number format the graph runs in whatever the restorer asks
            (``"fp32"``), or None: autocast reaches it as it reaches a network of PyTorch.

    Raises:
        CheckpointError: no record, a damaged or newer one, or a task that is not installed.
    """

    fixed_precision: str | None = None

    def __init__(self, record_json: str | None, name: str, fmt: str) -> None:
        super().__init__()
        if not record_json:
            raise CheckpointError(
                f"{name} is a {fmt} file without a ganrestore record in its metadata, so its "
                "task is unknown; export the model with `ganrestore export MODEL --out FILE`"
            )
        self.record = ModelRecord.from_json(record_json, name)
        self.info = ExportInfo.from_record(self.record, name)
        try:
            self.task: Task = build_task(self.record.task)
        except PluginError as exc:
            raise CheckpointError(
                f"{name} is a model for task '{self.record.task}': {exc}"
            ) from exc
        self.size_multiple = self.info.size_multiple
        self.name = name

    def forward(self, x: Tensor) -> Tensor:
        """``(B, in_channels, H, W)`` in [-1, 1] -> ``(B, out_channels, sH, sW)`` in [-1, 1]."""
        height, width = x.shape[-2:]
        padded, _ = pad_to_multiple(x, self.size_multiple)
        scale = self.task.scale
        return self.run(padded)[..., : height * scale, : width * scale]

    @abstractmethod
    def run(self, x: Tensor) -> Tensor:
        """The graph on ``x``, whose H and W are multiples of :attr:`size_multiple`."""
