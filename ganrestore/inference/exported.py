"""Files of ``ganrestore export`` as restorers: ``apply --model FILE.onnx`` and ``load_restorer``.

An exported file opens as an :class:`~ganrestore.inference.export_graph.ExportedGraph`, an
``nn.Module`` that runs the graph (ONNX Runtime, or TorchScript) and knows its record and task.
It is handed to :class:`~ganrestore.inference.restorer.NetworkRestorer` in place of the PyTorch
generator, so tiling, masks, hole growing, inpainting at several scales, the composition that
keeps known pixels, routing and the folder runner are the same code for both.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganrestore.devices import resolve_device
from ganrestore.inference.export_graph import ExportedGraph
from ganrestore.inference.export_onnx import OnnxGraph
from ganrestore.inference.export_torchscript import TorchScriptGraph
from ganrestore.inference.restorer import NetworkRestorer
from ganrestore.inference.tiling import TileSettings
from ganrestore.modelfile import CheckpointError
from ganrestore.modelfile.source import EXPORTED_SUFFIXES


def open_exported(
    source: Path | bytes, fmt: str, device: str | torch.device = "cpu", name: str = ""
) -> ExportedGraph:
    """The graph of an exported file (or of its bytes), its record checked.

    Args:
        source: the file, or its bytes (to check an export before it is written).
        fmt: ``"onnx"`` or ``"torchscript"``.
        device: where an ONNX graph runs (a TorchScript one is moved by its restorer).
        name: the file, for messages (default: ``source`` itself).

    Raises:
        CheckpointError: not such a file, not one of ganrestore's, or damaged.
        MissingExportDependency: onnxruntime is not installed (ONNX).
    """
    name = name or str(source if isinstance(source, Path) else "the exported model")
    if isinstance(source, Path) and not source.is_file():
        raise CheckpointError(f"{source} does not exist")
    if fmt == "onnx":
        return OnnxGraph(source, device, name)
    return TorchScriptGraph(source, name)


def exported_restorer(
    path: Path | str,
    device: str | torch.device = "auto",
    tiling: TileSettings | None = None,
    self_ensemble: bool = False,
) -> NetworkRestorer:
    """A restorer running the exported file ``path`` (``.onnx``, ``.pt`` or ``.ts``).

    ONNX files run in ONNX Runtime on the CPU (or CUDA with ``onnxruntime-gpu``), TorchScript
    files on any device torch has. The restorer's ``record`` is the file's record.

    Raises:
        CheckpointError: another suffix, a missing, foreign or damaged file, or a task that is
            not installed.
        MissingExportDependency: an ONNX file without onnxruntime installed.
        GanrestoreError: a device the runtime cannot use.
    """
    path = Path(path)
    fmt = EXPORTED_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise CheckpointError(
            f"{path}: an exported model ends in {', '.join(EXPORTED_SUFFIXES)}; pass the file "
            "`ganrestore export` wrote"
        )
    if fmt == "onnx":
        graph = open_exported(path, fmt, device)
        if isinstance(graph, OnnxGraph):
            device = graph.device  # where onnxruntime runs it: tiles go there
    else:
        device = resolve_device(device)
        graph = open_exported(path, fmt)
    runtime = "ONNX Runtime" if fmt == "onnx" else "TorchScript"
    return NetworkRestorer(
        graph,
        graph.task,
        device,
        tiling,
        description=f"{path} ({runtime})",
        record=graph.record,
        self_ensemble=self_ensemble,
    )
