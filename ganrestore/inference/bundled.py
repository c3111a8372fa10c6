"""Where a model comes from: ``--model`` (run, checkpoint, file or bundled name), resolved once.

Bundled models ship as ``ganrestore/weights/NAME.safetensors`` (``denoise``, ``inpaint``): a
generator file saved by ``ganrestore train``, so it rebuilds itself like any checkpoint. Until
they are released, asking for one says how to train a model instead. Later kinds of model
(e.g. classical baselines ``baseline:NAME``) plug in here, in :func:`resolve_model`, and nowhere
else.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ganrestore.errors import GanrestoreError
from ganrestore.inference.restorer import NetworkRestorer, Restorer
from ganrestore.inference.tiling import TileSettings
from ganrestore.tasks import task_model

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
#: The bundled model of each task, by name.
BUNDLED_MODELS = ("denoise", "inpaint")


class ModelNotFoundError(GanrestoreError):
    """``--model`` names no file, folder or bundled model, or a bundled model is not installed."""


def bundled_path(name: str) -> Path:
    """``ganrestore/weights/NAME.safetensors`` (it may not exist yet)."""
    return WEIGHTS_DIR / f"{name}.safetensors"


def installed_bundled_models() -> list[str]:
    """The bundled models whose weights are installed."""
    return [name for name in BUNDLED_MODELS if bundled_path(name).is_file()]


def resolve_model(
    model: str | Path | None = None,
    task: str | None = None,
    device: str | torch.device = "auto",
    tiling: TileSettings | None = None,
    self_ensemble: bool = False,
) -> Restorer:
    """The restorer for ``--model`` (and ``--task``).

    Args:
        model: a run directory (its latest checkpoint), a checkpoint folder, a
            ``.safetensors`` file saved by ganrestore, or a bundled name (``denoise``,
            ``inpaint``); an existing path wins over a name. None: the bundled model of ``task``,
            or with no task either, both bundled models (:class:`BundledPair`).
        task: ``"denoise"`` or ``"inpaint"``; checked against the model's own task.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        tiling: tile side, overlap and batch size.
        self_ensemble: networks average over the 8 rotated / mirrored views of each image
            (8x slower, slightly better); classical baselines ignore it.

    Raises:
        ModelNotFoundError: nothing is found under that name, or no model is given nor a task.
        CheckpointError: the checkpoint is incomplete, foreign or does not fit its record.
        GanrestoreError: the model's task is not ``task``.
    """
    _check_model_kind(model)
    if model is None:
        if task is None:
            return BundledPair(
                _bundled("denoise", device, tiling, self_ensemble),
                _bundled("inpaint", device, tiling, self_ensemble),
            )
        restorer = _bundled(task, device, tiling, self_ensemble)
    elif str(model).startswith("baseline:"):
        from ganrestore.baselines import load_baseline  # baselines import inference: not at top

        restorer = load_baseline(str(model), device=device)
    elif Path(model).exists():
        restorer = NetworkRestorer.from_checkpoint(Path(model), device, tiling, self_ensemble)
    elif str(model) in BUNDLED_MODELS:
        restorer = _bundled(str(model), device, tiling, self_ensemble)
    else:
        raise ModelNotFoundError(
            f"--model {model}: no such file or folder, and not a bundled model "
            f"({', '.join(BUNDLED_MODELS)}); pass a run directory from `ganrestore train`, "
            "one of its checkpoint folders, or a generator.safetensors file"
        )
    if task is not None and restorer.task != task:
        raise GanrestoreError(
            f"--task {task}, but {restorer.description} is {task_model(restorer.task)}; "
            f"drop --task or pass {task_model(task)} with --model"
        )
    return restorer


def _check_model_kind(model: object) -> None:
    """Refuse a ``model`` that is neither text nor a path (e.g. ``load_restorer(123)``)."""
    if model is None or isinstance(model, (str, os.PathLike)):
        return
    shown = repr(model)
    shown = shown if len(shown) <= 60 else f"{shown[:57]}..."
    raise ModelNotFoundError(
        f"model must be a run directory, a checkpoint folder or a .safetensors file (a str or "
        f"pathlib.Path), a bundled model name ({', '.join(BUNDLED_MODELS)}) or baseline:NAME; "
        f"got {type(model).__name__} {shown}"
    )


def _bundled(
    name: str, device: str | torch.device, tiling: TileSettings | None, self_ensemble: bool
) -> Restorer:
    if name not in BUNDLED_MODELS:
        raise ModelNotFoundError(
            f"no bundled model for task '{name}'; bundled: {', '.join(BUNDLED_MODELS)}"
        )
    path = bundled_path(name)
    if not path.is_file():
        raise ModelNotFoundError(
            f"the bundled '{name}' model is not installed yet ({path} is missing). Train one "
            f"with `ganrestore train {name} --data DIR --out RUN_DIR` and pass --model RUN_DIR"
        )
    return NetworkRestorer.from_checkpoint(path, device, tiling, self_ensemble)


class BundledPair(Restorer):
    """Both bundled models: images with a mask are inpainted, the others are denoised.

    What ``ganrestore apply --in DIR --out DIR`` uses when neither ``--model`` nor ``--task`` is
    given, so one folder may mix noisy photos and photos with holes (marked by transparency, a
    sidecar ``NAME_mask.*`` or ``--masks``).
    """

    task = "auto"
    uses_mask = True
    mask_optional = True

    def __init__(self, denoise: Restorer, inpaint: Restorer) -> None:
        self.denoise, self.inpaint = denoise, inpaint
        self.description = "the bundled denoise and inpaint models"

    def restore_batch(self, images: torch.Tensor, masks: torch.Tensor | None = None):
        model = self.inpaint if masks is not None else self.denoise
        return model.restore_batch(images, masks)

    def task_for(self, has_mask: bool) -> str:
        return (self.inpaint if has_mask else self.denoise).task

    def batch_limit(self, height: int, width: int) -> int:
        return min(self.denoise.batch_limit(height, width), self.inpaint.batch_limit(height, width))


def set_hole_edges(restorer: Restorer, grow: int | None, feather: int | None) -> str:
    """Set how the network of ``restorer`` that fills holes treats the edge of a hole.

    Args:
        restorer: any restorer; a :class:`NetworkRestorer` for inpainting, or the inpainting
            member of a :class:`BundledPair`, takes the settings (baselines fill as masked).
        grow: pixels every hole is widened by (None: keep the model's default, 2).
        feather: pixels of known context the fill fades into (None: keep, 0).

    Returns:
        A line that says how holes will be treated, for the user; empty when no network of
        ``restorer`` fills holes, or it fills them exactly as masked.
    """
    member = restorer.inpaint if isinstance(restorer, BundledPair) else restorer
    if not (isinstance(member, NetworkRestorer) and member.uses_mask):
        return ""
    if grow is not None:
        member.grow = grow
    if feather is not None:
        member.feather = feather
    said = []
    if member.grow:
        said.append(
            f"holes are grown by {member.grow} px to take the soft outline of removed objects "
            "too (--grow-mask 0: exactly as masked)"
        )
    if member.feather:
        said.append(f"fills fade into the {member.feather} px around them (--feather)")
    return "; ".join(said)
