"""Where a model comes from: ``--model``, ``--init`` and ``load_restorer(model)`` parsed once.

:func:`parse_model_source` turns what a user wrote into a :class:`ModelSource`, in this order:

1. ``baseline:NAME``: a classical baseline (a plugin of :data:`ganrestore.registry.BASELINES`);
2. an existing path: a ``.safetensors`` model file, a checkpoint folder (it holds
   ``record.json``), a run directory (it holds ``checkpoints/``; its newest complete
   checkpoint is used) or a file written by ``ganrestore export`` (by its suffix, see
   :data:`EXPORTED_SUFFIXES`: it runs, but is no model file to train from or export again); an
   existing path wins over a bundled name;
3. a bundled name (``denoise``, ``inpaint``): ``ganrestore/weights/NAME.safetensors``.

Anything else is a :class:`ModelNotFoundError` that says what was tried. Run options (device,
tiles, self-ensemble) are not part of a source: whoever loads it takes them separately.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ganrestore.errors import GanrestoreError
from ganrestore.modelfile.layout import (
    GENERATOR,
    TRAINING_STATE,
    generator_file,
    is_checkpoint_folder,
    is_run_directory,
)
from ganrestore.registry import BASELINES

#: Where the bundled models are installed (``NAME.safetensors``).
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
#: The bundled models shipped with this installation, by name (a task names its own bundled
#: model, ``Task.bundled_model``).
BUNDLED_MODELS: tuple[str, ...] = tuple(sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors")))
#: ``baseline:NAME`` selects a classical baseline instead of a trained model.
BASELINE_PREFIX = "baseline:"
#: Suffix of a file written by ``ganrestore export`` -> its format (``--format``).
EXPORTED_SUFFIXES: dict[str, str] = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript"}


class ModelNotFoundError(GanrestoreError):
    """A model names no file, folder, bundled model or baseline, or a bundled one is missing."""


class SourceKind(str, Enum):
    """What kind of thing a model source is."""

    BUNDLED = "bundled"
    RUN = "run"
    CHECKPOINT = "checkpoint"
    FILE = "file"
    EXPORTED = "exported"
    BASELINE = "baseline"


@dataclass(frozen=True)
class ModelSource:
    """One model, as the user named it.

    Attributes:
        kind: bundled name, run directory, checkpoint folder, model file, exported file or
            baseline.
        given: what the user wrote (for messages and labels).
        path: the run directory, checkpoint folder or file; a bundled model's weights file
            (which may be missing from an installation); None for a baseline.
        name: the bundled or baseline name; None for paths.
    """

    kind: SourceKind
    given: str
    path: Path | None = None
    name: str | None = None

    @property
    def is_network(self) -> bool:
        """Whether the source is a trained network (a model file or an exported one), not a
        baseline."""
        return self.kind is not SourceKind.BASELINE

    @property
    def exported_format(self) -> str | None:
        """``"onnx"`` or ``"torchscript"`` for a file of ``ganrestore export``, else None."""
        if self.kind is not SourceKind.EXPORTED or self.path is None:
            return None
        return EXPORTED_SUFFIXES[self.path.suffix.lower()]

    def model_file(self) -> Path:
        """The generator ``.safetensors`` file this source stands for.

        Raises:
            ModelNotFoundError: a bundled model that is not installed, a baseline, or an
                exported file (it only runs: it holds a graph, not the network's weights).
            CheckpointError: a run directory without a complete checkpoint.
        """
        if self.kind is SourceKind.BASELINE or self.path is None:
            raise ModelNotFoundError(f"{self.given} is a classical baseline: it has no model file")
        if self.kind is SourceKind.EXPORTED and self.path.name == TRAINING_STATE:
            raise ModelNotFoundError(
                f"{self.given} is a checkpoint's training state (for --resume), not a model; "
                f"pass its checkpoint folder {self.path.parent} or the run directory"
            )
        if self.kind is SourceKind.EXPORTED:
            raise ModelNotFoundError(
                f"{self.given} was written by `ganrestore export`: it runs (apply, "
                "load_restorer), but cannot be trained from or exported again; pass the "
                ".safetensors model file, run directory or checkpoint folder it was exported from"
            )
        if self.kind is SourceKind.BUNDLED and not self.path.is_file():
            raise ModelNotFoundError(
                f"the bundled '{self.name}' model is not installed yet ({self.path} is "
                f"missing). Train one with `ganrestore train {self.name} --data DIR --out "
                "RUN_DIR` and pass --model RUN_DIR"
            )
        return generator_file(self.path)


def bundled_path(name: str) -> Path:
    """``ganrestore/weights/NAME.safetensors`` (it may not exist yet)."""
    return WEIGHTS_DIR / f"{name}.safetensors"


def installed_bundled_models() -> list[str]:
    """The bundled models whose weights are installed."""
    return [name for name in BUNDLED_MODELS if bundled_path(name).is_file()]


def bundled_source(name: str) -> ModelSource:
    """The bundled model ``name`` (e.g. ``denoise``), installed or not.

    Raises:
        ModelNotFoundError: no bundled model has that name.
    """
    if name not in BUNDLED_MODELS:
        raise ModelNotFoundError(f"no bundled model '{name}'; bundled: {', '.join(BUNDLED_MODELS)}")
    return ModelSource(SourceKind.BUNDLED, name, bundled_path(name), name)


def parse_model_source(
    model: str | os.PathLike[str] | ModelSource, what: str = "--model", baselines: bool = True
) -> ModelSource:
    """Where ``model`` comes from (see the module docstring for the order).

    Args:
        model: a run directory, checkpoint folder, ``.safetensors`` file, exported ``.onnx`` /
            ``.pt`` / ``.ts`` file, bundled name or ``baseline:NAME``, as ``str`` or path; a
            :class:`ModelSource` is returned as it is.
        what: how the value is named in messages: ``"--model"``, ``"init"``, ``"model"``.
        baselines: whether ``baseline:NAME`` is accepted here (not for ``init``).

    Raises:
        ModelNotFoundError: ``model`` is of another type, or names nothing that exists.
        CheckpointError: an existing path that is no model (a ``.png``, an unrelated folder).
    """
    if isinstance(model, ModelSource):
        return model
    if not isinstance(model, (str, os.PathLike)):
        shown = repr(model)
        shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
        raise ModelNotFoundError(
            f"model must be a run directory, a checkpoint folder or a .safetensors file (a str "
            f"or pathlib.Path), a bundled model name ({', '.join(BUNDLED_MODELS)}) or "
            f"baseline:NAME; got {type(model).__name__} {shown}"
        )
    given = os.fspath(model)
    if isinstance(model, str) and given.startswith(BASELINE_PREFIX):
        return _baseline(given, what, baselines)
    path = Path(given)
    if path.exists():
        return ModelSource(_path_kind(path), given, path)
    if given in BUNDLED_MODELS:
        return bundled_source(given)
    raise ModelNotFoundError(_not_found(given, what, baselines))


def _baseline(given: str, what: str, accepted: bool) -> ModelSource:
    name = given.removeprefix(BASELINE_PREFIX)
    if not accepted:
        raise ModelNotFoundError(
            f"{what} {given}: a classical baseline has no trained weights to start from; pass "
            "a run directory, a checkpoint folder, a .safetensors model file or a bundled name "
            f"({', '.join(BUNDLED_MODELS)})"
        )
    if not name:
        raise ModelNotFoundError(
            f"{what} {given}: name the baseline, e.g. baseline:{(BASELINES.names() or ['tv'])[0]} "
            "(ganrestore plugins list --kind baselines)"
        )
    return ModelSource(SourceKind.BASELINE, given, None, name)


def _path_kind(path: Path) -> SourceKind:
    """Run directory, checkpoint folder, model file or exported file; anything else is a
    CheckpointError."""
    if path.is_dir():
        if is_checkpoint_folder(path):
            return SourceKind.CHECKPOINT
        if is_run_directory(path):
            return SourceKind.RUN
    elif path.suffix.lower() in EXPORTED_SUFFIXES:
        return SourceKind.EXPORTED  # whether it really is one is checked when it is opened
    generator_file(path)  # raises, naming what the path lacks
    return SourceKind.FILE


def _not_found(given: str, what: str, baselines: bool) -> str:
    names = ", ".join(BUNDLED_MODELS)
    hint = ""
    close = difflib.get_close_matches(given, BUNDLED_MODELS, n=1, cutoff=0.6)
    if close:
        hint = f" Did you mean '{close[0]}'?"
    elif baselines and given in BASELINES:
        hint = f" Did you mean '{BASELINE_PREFIX}{given}'?"
    kinds = [
        "a run directory from `ganrestore train`",
        "one of its checkpoint folders",
        f"a .safetensors model file (such as its {GENERATOR})",
        "a bundled name",
        *(["baseline:NAME"] if baselines else []),
    ]
    return (
        f"{what} {given}: no such file or folder, and not a bundled model ({names}); pass "
        f"{', '.join(kinds[:-1])} or {kinds[-1]}.{hint}"
    )
