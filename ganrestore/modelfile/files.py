"""Model files on disk: safetensors weights with the record in their metadata, written atomically.

A model file is a plain ``.safetensors`` file (no pickled code): the tensors of one network's
state dict, and under the metadata key :data:`RECORD_METADATA_KEY` the JSON of its
:class:`~ganrestore.modelfile.record.ModelRecord`. A checkpoint folder holds one such file per
network plus the same record as ``record.json``.

Files are written to a hidden temporary beside the target (``.NAME.XXXXXXXX.tmp``, the naming
of :mod:`ganrestore.data.atomic`, so its stale-temporary cleanup recognises ours), flushed to
disk and renamed into place in one step: a reader never sees half a model. The few lines are
repeated here rather than imported because this package is a leaf that ``ganrestore.data``
(and everything else) may import.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save

from ganrestore.modelfile.layout import RECORD
from ganrestore.modelfile.record import CheckpointError, ModelRecord

#: The safetensors metadata key that holds the record's JSON.
RECORD_METADATA_KEY = "ganrestore_record"
_SHOWN = 3  # tensor names quoted in a message


def save_model_file(path: Path, tensors: Mapping[str, torch.Tensor], record: ModelRecord) -> Path:
    """Write ``tensors`` (moved to the CPU) and ``record`` to ``path`` atomically.

    Args:
        path: the ``.safetensors`` file; its folder is created if needed.
        tensors: a state dict (any device, any dtype safetensors stores).
        record: what the weights are; stored as JSON in the file's metadata.

    Returns:
        ``path``.
    """
    cpu = {key: value.detach().cpu().contiguous() for key, value in tensors.items()}
    data = save(cpu, metadata={RECORD_METADATA_KEY: record.to_json()})
    _write_atomically(Path(path), data)
    return Path(path)


def read_record(path: Path) -> ModelRecord:
    """The checked record of a ``.safetensors`` model file or of a checkpoint folder.

    Raises:
        CheckpointError: no such file, not readable, no ganrestore record, or a record that
            fails :meth:`ModelRecord.from_dict` (newer format, missing or mistyped fields).
    """
    path = Path(path)
    if path.is_dir():
        record_file = path / RECORD
        if not record_file.is_file():
            raise CheckpointError(f"{path} is not a ganrestore checkpoint (no {RECORD})")
        return ModelRecord.from_json(record_file.read_text(), record_file)
    metadata = _metadata(path)
    if RECORD_METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{path} has no ganrestore record in its metadata; it was not saved by "
            "ganrestore, so its architecture is unknown"
        )
    return ModelRecord.from_json(metadata[RECORD_METADATA_KEY], path)


def load_tensors(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file, on ``device``."""
    if not Path(path).is_file():
        raise CheckpointError(f"{path} does not exist; the checkpoint is incomplete")
    with safe_open(str(path), framework="pt", device=str(device)) as handle:
        return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as a safetensors header describes it.

    Attributes:
        shape: its shape.
        dtype: safetensors' name of its type: ``"F32"``, ``"F16"``, ``"BF16"``, ``"I64"``,
            ``"BOOL"``, ...
    """

    shape: tuple[int, ...]
    dtype: str

    @property
    def floating(self) -> bool:
        """Whether it holds floating-point numbers (``F*`` and ``BF16``)."""
        return self.dtype.startswith(("F", "BF"))

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


def tensor_header(path: Path) -> dict[str, TensorInfo]:
    """Name -> shape and type of every tensor in a safetensors file (nothing loaded)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            slices = {key: handle.get_slice(key) for key in handle.keys()}  # noqa: SIM118
            return {
                key: TensorInfo(tuple(part.get_shape()), str(part.get_dtype()))
                for key, part in slices.items()
            }
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from exc


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a safetensors file, from its header (nothing loaded)."""
    return {key: info.shape for key, info in tensor_header(path).items()}


def nonfinite_tensors(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors of a state dict that hold NaN or infinity."""
    return [
        key
        for key, tensor in tensors.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def check_finite(tensors: Mapping[str, torch.Tensor], path: Path) -> None:
    """Refuse weights holding NaN or infinity, naming the file and the first such tensors."""
    bad = nonfinite_tensors(tensors)
    if bad:
        raise CheckpointError(
            f"{path}: {len(bad)} weight tensor(s) hold NaN or infinity ({listing(bad)}), so "
            "every output would be wrong (black). The file is damaged or its training diverged: "
            "use an earlier checkpoint of the run, or train again"
        )


def listing(keys: list[str]) -> str:
    """The first few tensor names, quoted, and how many more there are."""
    shown = ", ".join(f"'{key}'" for key in keys[:_SHOWN])
    return f"{shown} and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else shown


def _metadata(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{path} is not a readable safetensors file: {exc}") from exc


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` to ``path`` through a flushed temporary beside it, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
