"""TorchScript files of ``ganrestore export``: ``torch.jit.trace`` written, ``torch.jit.load`` run.

The record's JSON travels in the archive as the extra file :data:`RECORD_FILE`. A traced graph
keeps the generator's size-dependent branches as they were at the trace size, so it takes
heights and widths that are multiples of the size multiple; :class:`TorchScriptGraph` pads
others (see :mod:`ganrestore.export.graph`). It runs on any device torch has, with
PyTorch alone: the generator's plugin need not be installed.

``torch.jit`` is deprecated in torch 2.14 (it still works; its warnings are silenced here). ONNX
is the format to prefer for deployment.

Opening a TorchScript file runs code the file holds (a scripted ``__setstate__`` runs in
``torch.jit.load``, and may read or write any file the user can). :class:`TorchScriptGraph`
opens whatever it is given: callers go through
:func:`~ganrestore.export.exported.open_exported`, which refuses a file unless the user said
to trust it (``trust_torchscript``, ``--trust-torchscript``).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import torch
from torch import Tensor

from ganrestore.export.graph import ExportedGraph
from ganrestore.modelfile import CheckpointError, ModelRecord

FORMAT = "torchscript"
#: The archive's extra file that holds the record's JSON.
RECORD_FILE = "ganrestore_record.json"


def write_torchscript(module: torch.nn.Module, example: Tensor, record: ModelRecord) -> bytes:
    """The TorchScript archive of ``module`` traced on ``example``, with ``record`` inside.

    Args:
        module: the generator, on the CPU, in eval mode.
        example: ``(B, in_channels, S, S)`` in [-1, 1]; S a multiple of the size multiple.
        record: the model file's record with its export keys.

    Raises:
        Exception: whatever ``torch.jit.trace`` raises for a network it cannot trace.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # deprecations and tracer notes: the check decides
        traced = torch.jit.trace(module, (example,), check_trace=False)
        torch.jit.save(traced, buffer, _extra_files={RECORD_FILE: record.to_json()})
    return buffer.getvalue()


class TorchScriptGraph(ExportedGraph):
    """A TorchScript module as a generator (see :class:`ExportedGraph`).

    Constructing one runs the code the archive holds: only for trusted files (see the module
    docstring).

    Args:
        source: the ``.pt`` / ``.ts`` file, or its bytes.
        name: the file, for messages.

    Raises:
        CheckpointError: not a TorchScript archive (a pickled state dict, a training state),
            or one without ganrestore's record.
    """

    def __init__(self, source: Path | bytes, name: str) -> None:
        extra = {RECORD_FILE: ""}
        opened = io.BytesIO(source) if isinstance(source, bytes) else str(source)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation
                module = torch.jit.load(opened, map_location="cpu", _extra_files=extra)
        except Exception as exc:  # torch raises RuntimeError, ValueError ... for other files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(
                f"{name} is not a TorchScript file ({first}); pass one written by `ganrestore "
                "export --format torchscript`, or the .safetensors model file"
            ) from None
        record = extra[RECORD_FILE]
        text = record.decode() if isinstance(record, bytes) else record
        super().__init__(text, name, "TorchScript")
        self.module = module.eval()

    def run(self, x: Tensor) -> Tensor:
        return self.module(x)
