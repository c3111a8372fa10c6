"""ONNX files of ``ganrestore export``: written by torch's exporter, run by ONNX Runtime.

Writing uses ``torch.onnx.export(..., dynamo=True)`` (``torch.export`` then onnxscript; it needs
the ``onnx`` and ``onnxscript`` packages). The older TorchScript-based exporter
(``dynamo=False``) still exists in torch 2.14 but has no translation of ``aten::median``, which
the bundled denoise model's noise estimate uses, and is deprecated: it is not used. The new
exporter lacks that translation too; :func:`median_dim` supplies it.

Batch, height and width are dynamic (named ``batch``, ``height``, ``width`` in the graph);
height and width must be multiples of the record's size multiple (see
:mod:`ganrestore.export.graph`). The record's JSON is in the model's
``metadata_props`` under :data:`~ganrestore.modelfile.RECORD_METADATA_KEY`, and the model's
``doc_string`` says in words what goes in and comes out, for tools that show it (Netron).

Running needs only ``onnxruntime`` (not the generator's plugin, nor ``onnx``).

OpenCV's DNN module (``cv2.dnn.readNetFromONNX``) runs the files too. It fuses an ``Add`` that
follows a convolution into the convolution, and then needs both terms of the sum to have the
same shape: a per-channel offset ``(B, C, 1, 1)`` added to the features (the bundled denoise
model's noise map) failed there with "residual added after convolution must have the same
shape". :func:`expand_convolution_sums` makes such a broadcast explicit (an ``Expand`` to the
convolution's shape), which changes no value.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganrestore.devices import resolve_device
from ganrestore.errors import GanrestoreError
from ganrestore.export.graph import (
    EXPORT_KEY,
    INPUT_NAME,
    OUTPUT_NAME,
    ExportedGraph,
    require,
)
from ganrestore.modelfile import RECORD_METADATA_KEY, CheckpointError, ModelRecord

FORMAT = "onnx"
#: The names the dynamic axes get in the graph, in input order (channels stay fixed).
AXIS_NAMES = {0: "batch", 2: "height", 3: "width"}


def median_dim(self: Any, dim: int, keepdim: bool = False) -> tuple[Any, Any]:
    """``aten.median.dim`` in ONNX: the lower median (as torch's) and its index, through TopK.

    The ``k = (n - 1) // 2 + 1`` smallest values, sorted, end with the median.
    """
    from onnxscript import opset18 as op

    end = dim + 1
    size = op.Shape(self, start=dim) if end == 0 else op.Shape(self, start=dim, end=end)
    one = op.Constant(value_ints=[1])
    k = op.Add(op.Div(op.Sub(size, one), op.Constant(value_ints=[2])), one)
    values, indices = op.TopK(self, k, axis=dim, largest=0, sorted=1)
    last = op.Sub(k, one)
    value, index = op.Gather(values, last, axis=dim), op.Gather(indices, last, axis=dim)
    if not keepdim:
        axes = op.Constant(value_ints=[dim])
        value, index = op.Squeeze(value, axes), op.Squeeze(index, axes)
    return value, index


def write_onnx(module: torch.nn.Module, example: Tensor, record: ModelRecord) -> bytes:
    """The ONNX model of ``module`` traced on ``example``, with ``record`` in its metadata.

    Args:
        module: the generator, on the CPU, in eval mode.
        example: ``(B, in_channels, S, S)`` in [-1, 1]; S a multiple of the size multiple.
        record: the model file's record with its export keys.

    Returns:
        The serialized model (one file, weights inside).

    Raises:
        MissingExportDependency: onnx or onnxscript is not installed.
        Exception: whatever torch's exporter raises for a network it cannot export.
    """
    purpose = "ganrestore export --format onnx"
    require("onnx", purpose)
    require("onnxscript", purpose)
    from torch.export import Dim

    dynamic = {axis: Dim.DYNAMIC for axis in AXIS_NAMES}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # deprecations and tracer notes: the check decides
        program = torch.onnx.export(
            module,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=(dynamic,),
            custom_translation_table={torch.ops.aten.median.dim: median_dim},
            verbose=False,
        )
    proto = program.model_proto
    expand_convolution_sums(proto)
    _name_axes(proto)
    proto.producer_name = "ganrestore"
    proto.doc_string = _describe(record, example.shape[1])
    entry = proto.metadata_props.add()
    entry.key, entry.value = RECORD_METADATA_KEY, record.to_json()
    return proto.SerializeToString()


#: Operators whose output OpenCV's DNN module fuses a following ``Add`` into.
_FUSED_INTO = ("Conv", "ConvTranspose")


def expand_convolution_sums(proto: Any) -> int:
    """Make every broadcast in an ``Add`` of a convolution's output explicit, in place.

    ``conv + offset`` with ``offset`` of another (or unknown) shape becomes
    ``conv + Expand(offset, Shape(conv))``: the same values, in a form OpenCV's DNN module runs
    (see the module docstring). Sums of two tensors of the same shape are left as they are.

    Args:
        proto: an ``onnx.ModelProto`` whose ``graph.value_info`` holds the shapes the exporter
            inferred.

    Returns:
        How many sums were changed.
    """
    graph = proto.graph
    made_by = {output: node.op_type for node in graph.node for output in node.output}
    shapes = {value.name: _dims(value) for value in [*graph.input, *graph.value_info]}
    shapes.update({tensor.name: list(tensor.dims) for tensor in graph.initializer})
    nodes, changed = [], 0
    for node in graph.node:
        broadcast = _broadcast_term(node, made_by, shapes)
        if broadcast is not None:
            conv, other = node.input[1 - broadcast], node.input[broadcast]
            shape, expanded = f"ganrestore_sum{changed}_shape", f"ganrestore_sum{changed}_term"
            nodes.append(_node("Shape", [conv], [shape], shape))
            nodes.append(_node("Expand", [other, shape], [expanded], expanded))
            node.input[broadcast] = expanded
            changed += 1
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    return changed


def _broadcast_term(
    node: Any, made_by: dict[str, str], shapes: dict[str, list[int | str] | None]
) -> int | None:
    """Which input (0 or 1) of an ``Add`` of a convolution's output may be broadcast, or None."""
    if node.op_type != "Add" or len(node.input) != 2:
        return None
    for conv, other in ((0, 1), (1, 0)):
        name, term = node.input[conv], node.input[other]
        if made_by.get(name) in _FUSED_INTO:
            shape = shapes.get(term)
            return other if shape is None or shape != shapes.get(name) else None
    return None


def _node(op_type: str, inputs: list[str], outputs: list[str], name: str) -> Any:
    from onnx import helper

    return helper.make_node(op_type, inputs, outputs, name=name)


def _dims(value: Any) -> list[int | str] | None:
    """A value's shape as the graph states it (``dim_param`` names for free axes), or None."""
    tensor = value.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return [dim.dim_param or dim.dim_value for dim in tensor.shape.dim]


def onnx_opset(data: bytes) -> int | None:
    """The default-domain opset of a serialized ONNX model."""
    onnx = require("onnx", "reading an ONNX model")
    model = onnx.load_model_from_string(data)
    return next((entry.version for entry in model.opset_import if entry.domain == ""), None)


class OnnxGraph(ExportedGraph):
    """An ONNX Runtime session as a generator (see :class:`ExportedGraph`).

    Tensors are handed to the session as float32 numpy arrays on the CPU and the output comes
    back on the input's device. The session uses as many threads as torch
    (``torch.get_num_threads()``, so ``OMP_NUM_THREADS`` limits both).

    Args:
        source: the ``.onnx`` file, or its bytes.
        device: ``"auto"`` (CUDA when torch sees a GPU and onnxruntime has its CUDA provider,
            else the CPU), ``"cpu"`` or ``"cuda[:N]"``.
        name: the file, for messages.

    Raises:
        MissingExportDependency: onnxruntime is not installed.
        CheckpointError: not a readable ONNX model, not one of ganrestore's, or one whose input
            does not fit its task.
        GanrestoreError: a device this onnxruntime cannot use.
    """

    fixed_precision = "fp32"  # float32 arrays in and out, whatever autocast asks

    def __init__(self, source: Path | bytes, device: str | torch.device, name: str) -> None:
        ort = require("onnxruntime", f"running {name}")
        chosen = onnx_device(device, ort.get_available_providers())
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.log_severity_level = 3  # errors only: no notes on the console
        providers: list[Any] = ["CPUExecutionProvider"]
        if chosen.type == "cuda":
            providers.insert(0, ("CUDAExecutionProvider", {"device_id": chosen.index or 0}))
        try:
            model = source if isinstance(source, bytes) else str(source)
            session = ort.InferenceSession(model, options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own error types for bad files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(
                f"{name} is not an ONNX model onnxruntime can run ({first}); export the model "
                "again with `ganrestore export`"
            ) from None
        metadata = session.get_modelmeta().custom_metadata_map
        super().__init__(metadata.get(RECORD_METADATA_KEY), name, "ONNX")
        inputs = session.get_inputs()
        channels = inputs[0].shape[1] if len(inputs) == 1 and len(inputs[0].shape) == 4 else None
        if channels != self.task.in_channels:
            shapes = ", ".join(f"{given.name} {given.shape}" for given in inputs)
            raise CheckpointError(
                f"{name}: its graph takes {shapes}, but its task '{self.task.name}' packs "
                f"(B, {self.task.in_channels}, H, W); the file is damaged: export it again"
            )
        self.session = session
        self.input_name = inputs[0].name
        self.device = chosen

    def run(self, x: Tensor) -> Tensor:
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        output = self.session.run(None, {self.input_name: array})[0]
        return torch.from_numpy(output).to(x.device)


def onnx_device(device: str | torch.device, providers: list[str]) -> torch.device:
    """Where an ONNX model runs: the CPU, or a CUDA GPU with onnxruntime's CUDA provider.

    Raises:
        GanrestoreError: CUDA asked for without the provider (``onnxruntime-gpu``), or MPS.
    """
    has_cuda = "CUDAExecutionProvider" in providers
    if device == "auto":
        return torch.device("cuda" if has_cuda and torch.cuda.is_available() else "cpu")
    resolved = resolve_device(device)
    if resolved.type == "cuda" and not has_cuda:
        raise GanrestoreError(
            f"--device {device}: this onnxruntime runs on the CPU only (providers: "
            f"{', '.join(providers)}); install onnxruntime-gpu, or use --device cpu"
        )
    if resolved.type == "mps":
        raise GanrestoreError(
            f"--device {device}: ganrestore runs ONNX models on the CPU or CUDA only; use "
            "--device cpu, or export the model with --format torchscript"
        )
    return resolved


def _name_axes(proto: Any) -> None:
    """Rename the exporter's symbols for batch, height and width (``s77``) in the whole graph."""
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    names = {
        dims[axis].dim_param: name for axis, name in AXIS_NAMES.items() if dims[axis].dim_param
    }
    graph = proto.graph
    for value in [*graph.input, *graph.output, *graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in names:
                dim.dim_param = names[dim.dim_param]


def _describe(record: ModelRecord, channels: int) -> str:
    multiple = record.extra.get(EXPORT_KEY, {}).get("size_multiple", 1)
    return (
        f"ganrestore {record.task} model (generator {record.generator.name}). Input "
        f"'{INPUT_NAME}': (batch, {channels}, height, width) float32, the image in [-1, 1] as "
        f"the task '{record.task}' packs it; height and width multiples of {multiple} (pad "
        f"other sizes). Output '{OUTPUT_NAME}': the restored image in [-1, 1]. The record "
        f"(task, generator, training) is the JSON in metadata '{RECORD_METADATA_KEY}'."
    )
