"""What ``--model`` names in ``ganrestore eval``: trained runs, bundled models and baselines.

* ``baseline:NAME``: the registered baseline ``NAME`` (``ganrestore.baselines``), built for the
  task;
* ``baselines``: every baseline the task lists (:attr:`ganrestore.tasks.Task.baselines`) whose
  dependencies are installed (the others are reported and skipped);
* anything else: :func:`ganrestore.inference.resolve_model` (run directory, checkpoint folder,
  ``.safetensors`` file or bundled name), checked against the task. With ``self_ensemble`` these
  average over the 8 rotated / mirrored views and their labels end in ``+x8``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganrestore.baselines import (
    BASELINE_PREFIX,
    BaselineDependencyError,
    baseline_tasks,
    is_baseline,
    load_baseline,
)
from ganrestore.errors import GanrestoreError
from ganrestore.inference import Restorer, resolve_model
from ganrestore.inference.bundled import masked_settings, set_precision
from ganrestore.registry import PluginError
from ganrestore.tasks import HoleEdges, build_task, set_hole_edges, task_model, task_names

#: ``--model baselines`` expands to every baseline of the task.
ALL_BASELINES = "baselines"
EXACT_MASKS_NOTE = (
    "holes are filled exactly as masked, never grown as `apply` does around a removed "
    "object's soft outline: the evaluation's masks mark exactly the missing pixels"
)


@dataclass(frozen=True)
class EvalModel:
    """A model under evaluation.

    Attributes:
        label: unique short name for tables and folders, e.g. ``bm3d`` or ``runs/x``.
        spec: what the user passed (or ``baseline:NAME`` for an expanded ``baselines``).
        restorer: the model itself.
    """

    label: str
    spec: str
    restorer: Restorer


@dataclass
class ResolvedModels:
    """The models of an evaluation and the notes (skipped baselines) to show the user."""

    models: list[EvalModel]
    notes: list[str] = field(default_factory=list)


def model_task(spec: str, device: str = "cpu", trust_torchscript: bool = False) -> str:
    """The task of a ``--model`` value (used when ``--task`` is not given); a TorchScript file
    is opened only with ``trust_torchscript`` (see :func:`ganrestore.inference.resolve_model`).

    Raises:
        GanrestoreError: ``baselines`` (it has no task of its own), a baseline that serves
            several tasks (``bicubic``), or an unloadable model.
    """
    if spec == ALL_BASELINES:
        raise GanrestoreError(f"--model baselines needs --task, one of: {', '.join(task_names())}")
    if is_baseline(spec):
        name = spec.removeprefix(BASELINE_PREFIX)
        serving = baseline_tasks(name)
        if len(serving) != 1:
            load_baseline(name)  # an unknown name, or no single task: its own error says so
        return serving[0]
    return resolve_model(spec, device=device, trust_torchscript=trust_torchscript).task


def resolve_models(
    specs: Sequence[str],
    task: str,
    device: str = "auto",
    self_ensemble: bool = False,
    texture: bool = True,
    *,
    trust_torchscript: bool = False,
    precision: str = "auto",
) -> ResolvedModels:
    """Load every ``--model`` value for ``task``, in order, duplicates removed.

    ``self_ensemble`` and ``texture`` (False: networks that fill holes without the copied
    detail, labels ending in ``+smooth``) apply to networks only; baselines are run as they are.
    Networks that fill holes fill exactly the evaluation's masks, never grown (said in a note).
    ``trust_torchscript`` opens TorchScript files (which run code they hold when opened).
    ``precision`` is the number format networks run in
    (:func:`~ganrestore.inference.bundled.set_precision`; said in a note when not float32).

    Raises:
        GanrestoreError: a model cannot be loaded or is made for another task; the message
            names the ``--model`` value.
    """
    if not specs:
        raise GanrestoreError(
            "pass at least one --model: a run directory, a bundled name, baseline:NAME or baselines"
        )
    resolved = ResolvedModels([])
    seen: set[str] = set()
    for spec in specs:
        for expanded in _expand(spec, task, resolved.notes):
            if expanded in seen:
                continue
            seen.add(expanded)
            restorer = _load(expanded, task, device, self_ensemble, trust_torchscript)
            if not is_baseline(expanded):
                said = set_precision(restorer, precision)
                if said and said not in resolved.notes:
                    resolved.notes.append(said)
            smooth = _exact_holes(restorer, texture, resolved.notes)
            label = _label(expanded, self_ensemble, resolved.models, smooth)
            resolved.models.append(EvalModel(label, expanded, restorer))
    if not resolved.models:
        raise GanrestoreError(f"no model to evaluate for {task}: {'; '.join(resolved.notes)}")
    return resolved


def _exact_holes(restorer: Restorer, texture: bool, notes: list[str]) -> bool:
    """Make a network that fills holes fill exactly the evaluation's masks (the masks mark
    exactly the missing pixels), without the photo's copied detail when not ``texture``; the
    hole edges are the task's to set (:func:`~ganrestore.tasks.set_hole_edges` leaves
    restorers without :class:`~ganrestore.tasks.HoleEdges` as they are). Returns whether the
    fills are the network's alone (a ``+smooth`` label)."""
    settings = masked_settings(restorer)
    grew = isinstance(settings, HoleEdges) and settings.grow > 0
    said = set_hole_edges(settings, 0, None, texture)
    if grew and EXACT_MASKS_NOTE not in notes:
        notes.append(EXACT_MASKS_NOTE)
    return not texture and bool(said)


def _expand(spec: str, task: str, notes: list[str]) -> list[str]:
    """``spec``, or for ``baselines`` every baseline ``task`` lists that can be built."""
    if spec != ALL_BASELINES:
        return [spec]
    chosen = []
    for name in build_task(task).baselines:
        try:
            load_baseline(name, task=task)
        except (PluginError, BaselineDependencyError) as exc:
            notes.append(f"skipped baseline:{name}: {exc}")
            continue
        chosen.append(BASELINE_PREFIX + name)
    return chosen


def _load(
    spec: str, task: str, device: str, self_ensemble: bool, trust_torchscript: bool = False
) -> Restorer:
    if is_baseline(spec):
        restorer = load_baseline(spec, device=device, task=task)
    else:
        restorer = resolve_model(
            spec,
            task=task,
            device=device,
            self_ensemble=self_ensemble,
            trust_torchscript=trust_torchscript,
        )
    if restorer.task != task:
        raise GanrestoreError(
            f"--model {spec} is made for {restorer.task}, but --task is {task}; "
            f"pick {task_model(task)} (baselines: ganrestore plugins list --kind baselines)"
        )
    return restorer


def _label(spec: str, self_ensemble: bool, existing: list[EvalModel], smooth: bool = False) -> str:
    if is_baseline(spec):
        label = spec.removeprefix(BASELINE_PREFIX)
    else:
        path = Path(spec)
        label = path.as_posix().rstrip("/") if path.exists() else spec
        label += "+x8" if self_ensemble else ""
        label += "+smooth" if smooth else ""
    taken = {model.label for model in existing}
    unique, count = label, 2
    while unique in taken:
        unique, count = f"{label}#{count}", count + 1
    return unique
