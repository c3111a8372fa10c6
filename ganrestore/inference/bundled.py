"""A model as a restorer: whatever ``--model`` names (see :mod:`ganrestore.modelfile.source`).

:func:`resolve_model` turns a :class:`~ganrestore.modelfile.ModelSource` (or the text it is
parsed from) into a :class:`Restorer`: a trained network from its model file, the bundled
``ganrestore/weights/NAME.safetensors`` (``denoise``, ``inpaint``, ``upscale-x2``,
``upscale-x4``; until one is installed, asking for it says how to train a model instead), the
bundled denoise and inpaint models at once, chosen per image by its mask
(:class:`BundledPair`), or a classical baseline ``baseline:NAME``. Baselines are plugins, built
through :data:`ganrestore.registry.BASELINES` for a task that lists them
(:attr:`ganrestore.tasks.Task.baselines`): inference never imports :mod:`ganrestore.baselines`
(which builds on inference's :class:`Restorer`).
"""

from __future__ import annotations

import os
from typing import Any

import torch

from ganrestore.errors import GanrestoreError
from ganrestore.inference.restorer import NetworkRestorer, Restorer
from ganrestore.inference.tiling import TileSettings
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
from ganrestore.registry import BASELINES, TASKS
from ganrestore.tasks import Task, build_task, routed_task, task_model

__all__ = [
    "BUNDLED_MODELS",
    "BaselineTaskError",
    "BundledPair",
    "ModelNotFoundError",
    "baseline_tasks",
    "build_baseline",
    "bundled_path",
    "installed_bundled_models",
    "masked_settings",
    "resolve_model",
]


def resolve_model(
    model: str | os.PathLike[str] | ModelSource | None = None,
    task: str | None = None,
    device: str | torch.device = "auto",
    tiling: TileSettings | None = None,
    self_ensemble: bool = False,
    *,
    trust_torchscript: bool = False,
) -> Restorer:
    """The restorer for ``--model`` (and ``--task``).

    Args:
        model: a run directory (its latest checkpoint), a checkpoint folder, a
            ``.safetensors`` file saved by ganrestore, a bundled name (``denoise``,
            ``inpaint``) or ``baseline:NAME``; an existing path wins over a name; or a
            :class:`ModelSource` parsed already. None: the bundled model of ``task``, or with
            no task either, both bundled models (:class:`BundledPair`).
        task: ``"denoise"`` or ``"inpaint"``; checked against the model's own task.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        tiling: tile side, overlap and batch size.
        self_ensemble: networks average over the 8 rotated / mirrored views of each image
            (8x slower, slightly better); classical baselines ignore it.
        trust_torchscript: open a TorchScript file (``.pt``, ``.ts``) of ``ganrestore
            export``; opening one runs code it holds, so only for files the user trusts
            (``--trust-torchscript``). ONNX and ``.safetensors`` files hold data only.

    Raises:
        UntrustedTorchScriptError: a TorchScript file without ``trust_torchscript``.
        ModelNotFoundError: nothing is found under that name, or no model is given nor a task.
        CheckpointError: the checkpoint is incomplete, foreign or does not fit its record.
        GanrestoreError: the model's task is not ``task``.
    """
    if model is None and task is None:
        unmasked, masked = (_task_bundle(routed_task(route)) for route in ("unmasked", "masked"))
        return BundledPair(
            _network(bundled_source(unmasked), device, tiling, self_ensemble),
            _network(bundled_source(masked), device, tiling, self_ensemble),
        )
    source = bundled_source(_task_bundle(task)) if model is None else parse_model_source(model)
    if source.kind is SourceKind.BASELINE:
        restorer = build_baseline(source.name or "", task)
    else:
        restorer = _network(source, device, tiling, self_ensemble, trust_torchscript)
    if task is not None and restorer.task != task:
        raise GanrestoreError(
            f"--task {task}, but {restorer.description} is {task_model(restorer.task)}; "
            f"drop --task or pass {task_model(task)} with --model"
        )
    return restorer


def _task_bundle(task: str | None) -> str:
    """The bundled model of the task ``task``.

    Raises:
        ModelNotFoundError: the task has none (or no task routes these images).
    """
    bundled = build_task(task).bundled_model if task is not None else None
    if bundled is None:
        raise ModelNotFoundError(
            f"no bundled model for task '{task}'; bundled: {', '.join(BUNDLED_MODELS)}. Pass "
            "--model with a run directory from `ganrestore train` or a model file"
        )
    return bundled


class BaselineTaskError(GanrestoreError):
    """A baseline asked for a task it is not made for, or without a task when several (or no)
    installed tasks list it."""


def baseline_tasks(name: str) -> list[str]:
    """The installed tasks, by name, that list the baseline ``name`` (without ``baseline:``)
    among their :attr:`~ganrestore.tasks.Task.baselines`; a task that fails to build is left out
    (``ganrestore plugins list`` reports it)."""
    found = []
    for task_name in TASKS.names():
        try:
            task = build_task(task_name)
        except Exception:  # a broken third-party task
            continue
        if name in task.baselines:
            found.append(task_name)
    return found


def build_baseline(name: str, task: Task | str | None = None, **params: Any) -> Restorer:
    """The classical baseline ``name`` (``"bm3d"`` or ``"baseline:bm3d"``) built for ``task``.

    The task says which baselines are made for it (:attr:`~ganrestore.tasks.Task.baselines`),
    and the baseline learns from it what it restores (holes or not, the output's scale). A
    baseline that no installed task lists (a third party's) is built for the task it is given.

    Args:
        name: a registered baseline, with or without the ``baseline:`` prefix.
        task: a task or its name; None: the one installed task that lists the baseline.
        params: the baseline's own parameters (``ganrestore plugins show NAME``).

    Raises:
        UnknownPluginError: no such baseline (the message lists them).
        BaselineTaskError: the task does not list it while others do, or no task is given and
            not exactly one installed task lists it.
        BaselineDependencyError: its package is missing (the message says what to install).
        PluginParamsError: a parameter it does not accept.
        GanrestoreError: the plugin built something that is not a :class:`Restorer`.
    """
    short = name.removeprefix(BASELINE_PREFIX)
    BASELINES.get(short)  # an unknown name: the registry's error, listing the known ones
    restorer = BASELINES.build(short, _task_of_baseline(short, task), **params)
    if not isinstance(restorer, Restorer):
        raise GanrestoreError(
            f"baseline '{short}' ({BASELINES.source(short).describe()}) returned a "
            f"{type(restorer).__name__}, not a ganrestore Restorer"
        )
    return restorer


def _task_of_baseline(short: str, task: Task | str | None) -> Task:
    """The task to build the baseline ``short`` for: ``task`` if it may be, else the only
    installed task that lists the baseline.

    Raises:
        BaselineTaskError: as :func:`build_baseline` says.
    """
    serving = baseline_tasks(short)
    made_for = " and ".join(serving)
    if task is None:
        if len(serving) == 1:
            return build_task(serving[0])
        if serving:
            raise BaselineTaskError(
                f"baseline:{short} is made for {made_for}: pass --task (task= in Python) to "
                "say which"
            )
        raise BaselineTaskError(
            f"baseline:{short} is listed by no installed task: pass --task (task= in Python) "
            "to say which task to build it for"
        )
    spec = build_task(task) if isinstance(task, str) else task
    if serving and short not in spec.baselines:
        own = ", ".join(spec.baselines) or "none"
        raise BaselineTaskError(
            f"baseline:{short} is made for {made_for}, but --task is {spec.name}; the "
            f"baselines of {spec.name}: {own}"
        )
    return spec


def _network(
    source: ModelSource,
    device: str | torch.device,
    tiling: TileSettings | None,
    self_ensemble: bool,
    trust_torchscript: bool = False,
) -> NetworkRestorer:
    if source.kind is SourceKind.EXPORTED:  # a file of `ganrestore export`
        from ganrestore.export.exported import exported_restorer

        return exported_restorer(
            source.given, device, tiling, self_ensemble, trust_torchscript=trust_torchscript
        )
    return NetworkRestorer.from_checkpoint(source.model_file(), device, tiling, self_ensemble)


class BundledPair(Restorer):
    """Two bundled models: images with a mask go to the task that fills holes (``inpaint``),
    the others to the task of unmasked images (``denoise``), as each task's ``route`` says.

    What ``ganrestore apply --in DIR --out DIR`` uses when neither ``--model`` nor ``--task`` is
    given, so one folder may mix noisy photos and photos with holes (marked by transparency, a
    sidecar ``NAME_mask.*`` or ``--masks``).
    """

    task = "auto"
    takes_masks = True
    mask_optional = True

    def __init__(self, unmasked: Restorer, masked: Restorer) -> None:
        self.unmasked, self.masked = unmasked, masked
        self.description = f"the bundled {unmasked.task} and {masked.task} models"

    def restore_batch(self, images: torch.Tensor, masks: torch.Tensor | None = None):
        model = self.masked if masks is not None else self.unmasked
        return model.restore_batch(images, masks)

    def task_for(self, has_mask: bool) -> str:
        return (self.masked if has_mask else self.unmasked).task

    def batch_limit(self, height: int, width: int) -> int:
        limits = (self.unmasked.batch_limit(height, width), self.masked.batch_limit(height, width))
        return min(limits)


def masked_settings(restorer: Restorer) -> Any:
    """The settings of the network of ``restorer`` that restores images with holes: its
    :attr:`NetworkRestorer.settings` (what its task's
    :meth:`~ganrestore.tasks.Task.restore_settings` made), of ``restorer`` itself or of the
    masked model of a :class:`BundledPair`; None for a classical baseline or a model that takes
    no mask. ``apply`` and ``eval`` set their hole edges with
    :func:`ganrestore.tasks.set_hole_edges`."""
    member = restorer.masked if isinstance(restorer, BundledPair) else restorer
    if not (isinstance(member, NetworkRestorer) and member.takes_masks):
        return None
    return member.settings


def set_strength(restorer: Restorer, strength: float | None, noise_sigma: float | None) -> str:
    """Set how strongly the network of ``restorer`` that restores whole images works.

    Args:
        restorer: a :class:`NetworkRestorer` of a task without masks (``denoise``), or a
            :class:`BundledPair`, whose model for images without holes takes the settings.
        strength: 0 to 1, the share of the restoration applied (None: keep, 1).
        noise_sigma: the noise σ (0-255 scale) the network is told every image holds,
            instead of the one it measures (None: measured per image or tile).

    Returns:
        A line that says what was set, for the user; empty when nothing was.

    Raises:
        GanrestoreError: a value out of range, or a model that takes it not (a baseline, an
            inpainting model, a network without a noise map for ``noise_sigma``); the message
            names the option as ``--strength`` / ``--noise-sigma``.
    """
    if strength is None and noise_sigma is None:
        return ""
    member = restorer.unmasked if isinstance(restorer, BundledPair) else restorer
    given = "--strength" if strength is not None else "--noise-sigma"
    if member.takes_masks:
        raise GanrestoreError(
            f"{given} given, but {member.description} is {task_model(member.task)}: it fills "
            f"holes, which takes no {given}; drop it (it is for denoise models)"
        )
    if not isinstance(member, NetworkRestorer):
        raise GanrestoreError(
            f"{given} given, but {member.description} is a classical method, not a trained "
            f"network; drop {given} (it is for trained denoise models)"
        )
    said = []
    if strength is not None:
        try:
            member.set_strength(strength)
        except GanrestoreError as exc:
            raise GanrestoreError(f"--strength: {exc}") from None
        if strength < 1:
            said.append(f"{strength:g} of each correction is applied (--strength)")
    if noise_sigma is not None:
        try:
            member.set_noise_sigma(noise_sigma)
        except GanrestoreError as exc:
            raise GanrestoreError(f"--noise-sigma: {exc}") from None
        said.append(
            f"the network is told every image holds noise of σ {noise_sigma:g} (of 255) "
            "instead of measuring it (--noise-sigma)"
        )
    if said and isinstance(restorer, BundledPair):
        said.append(f"images with holes are filled by {restorer.masked.task} as usual")
    return "; ".join(said)


#: What a network's number format is called for the user.
PRECISION_WORDS = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def set_precision(restorer: Restorer, asked: str) -> str:
    """Run the networks of ``restorer`` (both of a :class:`BundledPair`) in ``asked``
    (``--precision``: ``"auto"``, ``"fp32"``, ``"bf16"`` or ``"fp16"``).

    Returns:
        A line that says what they run in when it is not float32 (and how to get float32),
        for the user; empty for float32 and for a classical baseline.

    Raises:
        GanrestoreError: a format the device does not run, a format for a model that is no
            PyTorch network (a baseline; an ONNX file runs in float32 only); named as
            ``--precision``.
    """
    members = (
        [restorer.unmasked, restorer.masked] if isinstance(restorer, BundledPair) else [restorer]
    )
    networks = [member for member in members if isinstance(member, NetworkRestorer)]
    if not networks:
        if asked != "auto":
            raise GanrestoreError(
                f"--precision {asked} given, but {restorer.description} is a classical "
                "method, not a trained network; drop --precision"
            )
        return ""
    for network in networks:
        network.set_precision(asked)
    precision = next((net.precision for net in networks if net.precision != "fp32"), "fp32")
    if precision == "fp32":
        return ""
    device = networks[0].device.type
    word = PRECISION_WORDS[precision]
    if asked != "auto":  # bf16 on a CPU that emulates it: choose_precision warns already
        said = f"the network runs in {word} (--precision {asked})"
    elif device == "cpu":
        said = (
            f"the network runs in {word}, which this CPU computes natively: faster than "
            "float32, at the same quality"
        )
    else:
        said = f"the network runs in {word} on {device.upper()}"
    return f"{said}; --precision fp32 for float32"
