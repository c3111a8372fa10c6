"""The model file: one owner for what ganrestore saves and loads as a model.

Training writes through it (:mod:`ganrestore.engine.checkpoint`), inference, ``--init``,
``scripts/export_model.py`` and the benchmarks read through it. It is a leaf: it imports torch,
safetensors, :mod:`ganrestore.errors`, :mod:`ganrestore.registry` and :mod:`ganrestore.models`
(to rebuild a generator), never the engine, inference, data, baselines or the CLI, so loading
a model never imports the training code.

* :mod:`~ganrestore.modelfile.record`: the typed :class:`ModelRecord` (task, networks
  ``{name, params, distribution, version}``, training summary) and the format-version check;
* :mod:`~ganrestore.modelfile.files`: :func:`save_model_file` (atomic, safetensors with the
  record in its metadata), :func:`read_record`, :func:`load_tensors`, the header
  (:func:`tensor_header`: shapes and types), NaN checks;
* :mod:`~ganrestore.modelfile.network`: a generator rebuilt from its file, checked first;
* :mod:`~ganrestore.modelfile.budget`: how much building a network may create, set by the
  file's header, so that a record's params cannot make loading slow or large;
* :mod:`~ganrestore.modelfile.layout`: where a run directory keeps its model files;
* :mod:`~ganrestore.modelfile.source`: :func:`parse_model_source`, where a model comes from
  (bundled name, run directory, checkpoint folder, file or ``baseline:NAME``).

Example::

    from ganrestore.modelfile import parse_model_source, read_record
    record = read_record(parse_model_source("runs/denoise").model_file())
    record.task, record.generator.name, record.step
"""

from ganrestore.modelfile.files import (
    RECORD_METADATA_KEY,
    TensorInfo,
    check_finite,
    load_tensors,
    nonfinite_tensors,
    read_record,
    save_model_file,
    tensor_header,
    tensor_shapes,
)
from ganrestore.modelfile.layout import (
    CHECKPOINTS,
    DISCRIMINATOR,
    GENERATOR,
    GENERATOR_RAW,
    LATEST,
    RECORD,
    generator_file,
    latest_checkpoint,
)
from ganrestore.modelfile.network import load_generator_module
from ganrestore.modelfile.record import (
    FORMAT,
    FORMAT_VERSION,
    CheckpointError,
    ModelRecord,
    NetworkRecord,
    TrainingSummary,
)
from ganrestore.modelfile.source import (
    BASELINE_PREFIX,
    BUNDLED_MODELS,
    ModelNotFoundError,
    ModelSource,
    SourceKind,
    bundled_path,
    bundled_source,
    installed_bundled_models,
    parse_model_source,
)

__all__ = [
    "BASELINE_PREFIX",
    "BUNDLED_MODELS",
    "CHECKPOINTS",
    "DISCRIMINATOR",
    "FORMAT",
    "FORMAT_VERSION",
    "GENERATOR",
    "GENERATOR_RAW",
    "LATEST",
    "RECORD",
    "RECORD_METADATA_KEY",
    "CheckpointError",
    "ModelNotFoundError",
    "ModelRecord",
    "ModelSource",
    "NetworkRecord",
    "SourceKind",
    "TensorInfo",
    "TrainingSummary",
    "bundled_path",
    "bundled_source",
    "check_finite",
    "generator_file",
    "installed_bundled_models",
    "latest_checkpoint",
    "load_generator_module",
    "load_tensors",
    "nonfinite_tensors",
    "parse_model_source",
    "read_record",
    "save_model_file",
    "tensor_header",
    "tensor_shapes",
]
