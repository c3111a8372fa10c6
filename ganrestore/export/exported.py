"""Files of ``ganrestore export`` as restorers: ``apply --model FILE.onnx`` and ``load_restorer``.

An exported file opens as an :class:`~ganrestore.export.graph.ExportedGraph`, an
``nn.Module`` that runs the graph (ONNX Runtime, or TorchScript) and knows its record and task.
It is handed to :class:`~ganrestore.inference.restorer.NetworkRestorer` in place of the PyTorch
generator, so tiling, masks, hole growing, inpainting at several scales, the composition that
keeps known pixels, routing and the folder runner are the same code for both.

An ONNX file is data: onnxruntime runs its graph of known operators. A TorchScript file is a
program: ``torch.jit.load`` runs code it holds (a scripted ``__setstate__`` can write to any file
the user can), so one is opened only with ``trust_torchscript=True`` (``--trust-torchscript``);
otherwise :class:`UntrustedTorchScriptError` says why and what to use instead. Once opened,
either graph is run once on a blank image, and a graph whose output does not have its task's
channels and size is refused (a one-channel network would give gray "restored" images).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganrestore.devices import resolve_device
from ganrestore.errors import GanrestoreError
from ganrestore.export.graph import ExportedGraph
from ganrestore.export.onnx_graph import OnnxGraph
from ganrestore.export.torchscript_graph import TorchScriptGraph
from ganrestore.inference.model_file import check_output_shape
from ganrestore.inference.restorer import NetworkRestorer
from ganrestore.inference.tiling import TileSettings
from ganrestore.modelfile import CheckpointError
from ganrestore.modelfile.source import EXPORTED_SUFFIXES


class UntrustedTorchScriptError(GanrestoreError):
    """A TorchScript file was to be opened without ``trust_torchscript`` (``--trust-torchscript``
    on the command line)."""


def untrusted_torchscript(name: str) -> UntrustedTorchScriptError:
    """The refusal to open the TorchScript file ``name``: why, and what to use instead."""
    return UntrustedTorchScriptError(
        f"{name} is a TorchScript file, and opening a TorchScript file runs code it may hold "
        "(code that can read or overwrite your files), so it is not opened unless you trust "
        "it. Use the model's .onnx export or its .safetensors model file instead: they hold "
        "data only (`ganrestore export MODEL --out FILE.onnx` writes one). For a file you "
        "trust, pass --trust-torchscript (trust_torchscript=True in Python)"
    )


def open_exported(
    source: Path | bytes,
    fmt: str,
    device: str | torch.device = "cpu",
    name: str = "",
    *,
    trust_torchscript: bool = False,
) -> ExportedGraph:
    """The graph of an exported file (or of its bytes), its record and its output checked.

    Args:
        source: the file, or its bytes (to check an export before it is written).
        fmt: ``"onnx"`` or ``"torchscript"``.
        device: where an ONNX graph runs (a TorchScript one is moved by its restorer).
        name: the file, for messages (default: ``source`` itself).
        trust_torchscript: open a TorchScript file, which runs code it holds; only for files
            the user trusts (or that ganrestore has just written).

    Raises:
        UntrustedTorchScriptError: a TorchScript file without ``trust_torchscript``.
        CheckpointError: not such a file, not one of ganrestore's, damaged, or a graph whose
            output does not fit its task.
        MissingExportDependency: onnxruntime is not installed (ONNX).
    """
    name = name or str(source if isinstance(source, Path) else "the exported model")
    if isinstance(source, Path) and not source.is_file():
        raise CheckpointError(f"{source} does not exist")
    if fmt == "onnx":
        graph: ExportedGraph = OnnxGraph(source, device, name)
    elif not trust_torchscript:
        raise untrusted_torchscript(name)
    else:
        graph = TorchScriptGraph(source, name)
    check_output_shape(graph, graph.task, graph.size_multiple, name)
    return graph


def exported_restorer(
    path: Path | str,
    device: str | torch.device = "auto",
    tiling: TileSettings | None = None,
    self_ensemble: bool = False,
    *,
    trust_torchscript: bool = False,
) -> NetworkRestorer:
    """A restorer running the exported file ``path`` (``.onnx``, ``.pt`` or ``.ts``).

    ONNX files run in ONNX Runtime on the CPU (or CUDA with ``onnxruntime-gpu``), TorchScript
    files on any device torch has, when ``trust_torchscript`` says the file may run its code.
    The restorer's ``record`` is the file's record.

    Raises:
        UntrustedTorchScriptError: a TorchScript file without ``trust_torchscript``.
        CheckpointError: another suffix, a missing, foreign or damaged file, a task that is
            not installed, or a graph whose output does not fit its task.
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
        graph = open_exported(path, fmt, trust_torchscript=trust_torchscript)
        device = resolve_device(device)
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
