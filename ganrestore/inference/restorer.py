"""Restorers: a model behind one ``restore(image, mask=None)`` call.

:class:`Restorer` is the small base every kind of model implements: a network from a
checkpoint (:class:`NetworkRestorer`) today, classical baselines later. Subclasses implement
only :meth:`Restorer.restore_batch` on tensors; the base turns numpy arrays, PIL images and
tensors into that batch and back, so notebooks, services and the folder runner all share it.

A checkpoint rebuilds its own generator: ``generator.safetensors`` carries a record with the
task and the generator's ``{name, params}`` (see :mod:`ganrestore.modelfile`).
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ganrestore.devices import AUTOCAST_DTYPES, choose_precision, resolve_device
from ganrestore.errors import GanrestoreError
from ganrestore.inference.ensemble import symmetric_mean
from ganrestore.inference.image_batch import ImageLike, RestoreInputError, from_batch, to_batch
from ganrestore.inference.masks import ALPHA_HOLE_BELOW, mask_batch
from ganrestore.inference.model_file import load_generator
from ganrestore.inference.tiling import TileSettings, size_multiple
from ganrestore.modelfile import ModelRecord, generator_file
from ganrestore.tasks import NetworkRun, Task, task_model


class MaskRequiredError(RestoreInputError):
    """An inpainting model got an image without a mask (and without transparent holes)."""


class Restorer(ABC):
    """A model that restores images; subclasses implement :meth:`restore_batch`.

    Attributes:
        task: the name of the task the model restores (``"denoise"``, ``"upscale-x4"``...).
        takes_masks: whether :meth:`restore` takes a mask (1 = hole): its task asks the user
            for one (the ``"mask"`` control of :attr:`ganrestore.tasks.Task.controls`).
        mask_optional: whether an image without a mask is still restored (a restorer that
            routes masked images to inpainting and the others to denoising).
        description: where the model came from, for messages.
        scale: output side / input side (1, or e.g. 4 for an upscaling model).

    A subclass written before ``uses_mask`` was renamed ``takes_masks`` still works: its
    ``uses_mask`` (a class or an instance attribute) is read as ``takes_masks``, with a
    :class:`DeprecationWarning` once per class.
    """

    task: str
    takes_masks: bool
    description: str
    mask_optional: bool = False
    scale: int = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A class that sets the old ``uses_mask`` and no ``takes_masks``: read it as that.
        super().__init_subclass__(**kwargs)
        if "uses_mask" in vars(cls) and not hasattr(cls, "takes_masks"):
            _warn_uses_mask(cls, stacklevel=4)  # the class statement, past ABCMeta.__new__
            cls.takes_masks = bool(vars(cls)["uses_mask"])

    if not TYPE_CHECKING:  # type checkers keep refusing unknown attributes of a restorer

        def __getattr__(self, name: str) -> Any:
            # Only reached when normal lookup fails: an instance that set ``self.uses_mask``.
            if name == "takes_masks" and "uses_mask" in vars(self):
                _warn_uses_mask(type(self), stacklevel=3)  # the line that read it
                return bool(vars(self)["uses_mask"])
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @abstractmethod
    def restore_batch(self, images: Tensor, masks: Tensor | None = None) -> Tensor:
        """Restore a batch of same-size images.

        Args:
            images: ``(B, C, H, W)`` float32 on the CPU in [0, 1]; ``C`` is 1 (gray) or 3.
            masks: ``(B, 1, H, W)`` float32 in {0, 1}, 1 = hole; required when ``takes_masks``.

        Returns:
            ``(B, C, sH, sW)`` float32 on the CPU in [0, 1], ``s`` = :attr:`scale`; pixels
            where the mask is 0 are the input's, bit for bit, except near a hole that a
            :class:`NetworkRestorer` grows or feathers as its ``settings`` say (an inpainting
            model grows holes with a soft outline by 2 pixels by default).
        """

    def batch_limit(self, height: int, width: int) -> int:
        """How many images of this size :meth:`restore_batch` should get at once."""
        return 1

    def task_for(self, has_mask: bool) -> str:
        """The task of the model that restores an image with (or without) a mask.

        ``task`` itself, unless the restorer routes images between models (``mask_optional``).
        """
        return self.task

    def restore(self, image: ImageLike, mask: ImageLike | None = None) -> Any:
        """Restore one image (or a tensor batch) and return it in the form it came in.

        Args:
            image: numpy ``(H, W)`` or ``(H, W, C)`` with C in {1, 2, 3, 4} (2 and 4 carry
                alpha), uint8, uint16 or float in [0, 1]; a PIL image; or a float tensor
                ``(C, H, W)`` / ``(B, C, H, W)`` in [0, 1] with C in {1, 3}.
            mask: holes to fill (1 / white / True = hole; uint8 above 127, floats above 0.5),
                ``(H, W)`` numpy or PIL, or a tensor ``(H, W)``, ``(1, H, W)``, ``(B, 1, H, W)``.
                Inpainting models need one, or an image whose transparent pixels
                (alpha below 128 of 255) mark the holes. An inpainting network grows every
                hole first where its outline shows a halo, as its ``settings`` say (a
                :class:`~ganrestore.tasks.inpaint.settings.HoleSettings`: 2 pixels by default;
                ``restorer.settings.grow = 0`` fills exactly the mask).

        Returns:
            The restored image: same type, shape, dtype (and device) as ``image``. Alpha is kept;
            holes taken from alpha become opaque.

        Raises:
            RestoreInputError: a bad image or mask, or a mask given to a denoising model.
            MaskRequiredError: an inpainting model without a mask.
        """
        batch = to_batch(image)
        masks = None
        if mask is not None:
            if not self.takes_masks:
                raise RestoreInputError(
                    f"{self.description} is {task_model(self.task)} and takes no mask; drop mask="
                )
            try:
                masks = mask_batch(mask, batch.pixels.shape)
            except ValueError as exc:
                raise RestoreInputError(str(exc)) from None
        alpha = batch.alpha
        has_alpha_holes = alpha is not None and bool((alpha < ALPHA_HOLE_BELOW).any())
        if self.takes_masks and masks is None and (has_alpha_holes or not self.mask_optional):
            if not has_alpha_holes:
                raise MaskRequiredError(
                    f"{self.description} is an inpainting model: pass mask= (white / 1 = hole) "
                    "or an image whose transparent pixels mark the holes"
                )
            masks = (alpha < ALPHA_HOLE_BELOW).float()
            alpha = torch.where(masks > 0, torch.ones_like(alpha), alpha)
        restored = self.restore_batch(batch.pixels, masks)
        return from_batch(batch, restored, alpha)


class NetworkRestorer(Restorer):
    """A generator run through its task, tiled and blended, with known pixels kept exactly.

    By default it runs in float16 autocast on CUDA, in bfloat16 autocast on a CPU that computes
    it natively and in float32 elsewhere (:func:`~ganrestore.devices.choose_precision`);
    everywhere in ``torch.inference_mode`` and ``channels_last``.

    Args:
        generator: maps ``(B, task.in_channels, H, W)`` in [-1, 1] to ``(B,
            task.out_channels, task.scale * H, task.scale * W)``.
        task: how images (and masks) become the network input and its output an image.
        device: where the network runs (``"auto"`` picks CUDA, then MPS, then CPU).
        tiling: tile side, overlap and batch size; can be changed later through ``tiling``.
        description: where the model came from, for messages.
        record: the model file's record, when it came from one.
        self_ensemble: average each tile over its 8 rotated / mirrored views
            (:mod:`ganrestore.inference.ensemble`): 8x the time for a slightly better result;
            can be changed later through ``self_ensemble``.
        precision: the number format the network runs in, ``"auto"``, ``"fp32"``, ``"bf16"``
            or ``"fp16"`` (:func:`~ganrestore.devices.choose_precision`); can be changed
            later with :meth:`set_precision`.

    Attributes:
        settings: the settings of the task's own inference strategy, made fresh for this
            restorer (:meth:`~ganrestore.tasks.Task.restore_settings`) and handed to the task
            with every batch; change them here (an inpainting model: a
            :class:`~ganrestore.tasks.inpaint.settings.HoleSettings`, how holes are grown,
            feathered, filled and given texture). None for a task without any.
        precision: the number format the network runs in on its device: ``"fp32"``,
            ``"bf16"`` or ``"fp16"`` (``"auto"`` resolved); set it with :meth:`set_precision`.
        strength: how much of the restoration is applied, 0 to 1 (default 1), for tasks
            without masks: ``input + strength * (restored - input)``, where the input is as
            the task shows it at the output's size (an upscaling task: its bicubic upscale);
            0 returns that input, without running the network (exactly the input for a task
            that keeps the size). Set it with :meth:`set_strength`.
    """

    strength: float = 1.0

    def __init__(
        self,
        generator: nn.Module,
        task: Task,
        device: str | torch.device = "auto",
        tiling: TileSettings | None = None,
        description: str = "the model",
        record: ModelRecord | None = None,
        self_ensemble: bool = False,
        precision: str = "auto",
    ) -> None:
        self.device = resolve_device(device)
        self.task_spec = task
        self.task = task.name
        self.takes_masks = "mask" in task.controls
        self.scale = task.scale
        self.settings: Any = task.restore_settings()
        self.tiling = tiling or TileSettings()
        self.description = description
        self.record = record
        self.self_ensemble = self_ensemble
        self.multiple = size_multiple(generator)
        self.generator = generator.eval().requires_grad_(False)
        self.generator.to(self.device, memory_format=torch.channels_last)
        self.set_precision(precision)

    @classmethod
    def from_checkpoint(
        cls,
        path: Path | str,
        device: str | torch.device = "auto",
        tiling: TileSettings | None = None,
        self_ensemble: bool = False,
    ) -> NetworkRestorer:
        """Rebuild the generator saved by ``ganrestore train`` from its record and weights.

        Args:
            path: a run directory (its latest checkpoint), a checkpoint folder, or a
                ``generator.safetensors`` file.
            device: where to run it.
            tiling: tile settings.
            self_ensemble: average over the 8 rotated / mirrored views (8x slower).

        Raises:
            CheckpointError: missing, incomplete, foreign or damaged checkpoint, a record that
                does not fit its weights, weights holding NaN or infinity, or a generator
                plugin that is not installed (:mod:`ganrestore.inference.model_file`).
        """
        loaded = load_generator(generator_file(Path(path)))  # checked before it is built
        return cls(
            loaded.module,
            loaded.task,
            device,
            tiling,
            description=str(loaded.file),
            record=loaded.record,
            self_ensemble=self_ensemble,
        )

    def set_precision(self, asked: str) -> None:
        """Run the network in ``asked`` from now on: ``"auto"``, ``"fp32"``, ``"bf16"`` or
        ``"fp16"``; :attr:`precision` says what that is on this device.

        Raises:
            GanrestoreError: a format this device does not run
                (:func:`~ganrestore.devices.choose_precision`), or another than its own for
                a generator that runs in one format only (an ONNX graph: ``fixed_precision``).
        """
        fixed = getattr(self.generator, "fixed_precision", None)  # an ONNX graph: its own
        if fixed is None:
            self.precision = choose_precision(self.device, asked)
        elif asked in ("auto", fixed):
            self.precision = fixed
        else:
            raise GanrestoreError(
                f"--precision {asked}: {self.description} runs in {fixed} only; drop --precision"
            )

    def set_strength(self, strength: float) -> None:
        """How much of the restoration is applied: 0 (the input, exactly) to 1 (all of it).

        Raises:
            GanrestoreError: ``strength`` outside [0, 1], or a model that fills holes (a
                half-filled hole is no result).
        """
        if not 0.0 <= strength <= 1.0:  # also refuses NaN
            raise GanrestoreError(f"strength must be from 0 to 1, got {strength}")
        if "strength" not in self.task_spec.controls and strength != 1.0:
            raise GanrestoreError(
                f"{self.description} is {task_model(self.task)}: it {self.task_spec.purpose}, "
                "which takes no strength; drop strength (it is for models that restore whole "
                "images, such as denoise)"
            )
        self.strength = float(strength)

    @property
    def noise_sigma(self) -> float | None:
        """The noise σ (0-255 scale) the network is told its input holds; None: measured."""
        return getattr(self.generator, "noise_sigma", None)

    def set_noise_sigma(self, sigma: float | None) -> None:
        """Tell the network the noise σ (0-255 scale) of every image, in place of its own
        estimate; None: measure it again. Lower leaves more of the noise, higher smooths harder.

        Raises:
            GanrestoreError: ``sigma`` outside [0, 255], or a network that measures no noise
                level (only generators with ``takes_noise_sigma``, e.g. ``resunet`` with
                ``noise_map``, such as the bundled ``denoise``).
        """
        if sigma is not None and not 0.0 <= sigma <= 255.0:
            raise GanrestoreError(f"noise sigma must be from 0 to 255, got {sigma}")
        if not getattr(self.generator, "takes_noise_sigma", False):
            raise GanrestoreError(
                f"{self.description} takes no noise level: its network does not measure one "
                "(only denoise models with a noise map do, such as the bundled denoise)"
            )
        self.generator.noise_sigma = None if sigma is None else float(sigma)

    def batch_limit(self, height: int, width: int) -> int:
        if self.tiling.fits_one_tile(height, width, self.multiple):
            return self.tiling.per_pass(height, width, self.multiple)
        return 1  # a large image fills the pass with its own tiles

    @torch.inference_mode()
    def restore_batch(self, images: Tensor, masks: Tensor | None = None) -> Tensor:
        _check_batch(images, masks, self.takes_masks, self.description)
        images = images.float()
        if self.strength == 0.0:  # the input as the task shows it (exactly, at scale 1)
            return self._unrestored(images)
        forward = self._symmetric_forward if self.self_ensemble else self._forward
        run = NetworkRun(forward, self.tiling, self.device, self.multiple, self.settings)
        restored = self.task_spec.restore_images(images, masks, run)
        _check_finite_output(restored, self.description, self.device)
        if self.strength < 1.0:
            restored = torch.lerp(self._unrestored(images), restored, self.strength)
        return restored

    def _unrestored(self, images: Tensor) -> Tensor:
        """What strength 0 gives: ``images`` ``(B, C, H, W)`` as the task shows its input at
        the output's size (a copy of them for a task that keeps the size)."""
        if self.scale == 1:
            return images.clone()
        return self.task_spec.shown_input({"degraded": images})

    def _symmetric_forward(self, tiles: Tensor) -> Tensor:
        """:meth:`_forward` averaged over the 8 rotated / mirrored views of the tiles."""
        return symmetric_mean(self._forward, tiles)

    def _forward(self, tiles: Tensor) -> Tensor:
        """``(N, C, h, w)`` tiles of the task's :meth:`~ganrestore.tasks.Task.tile_input` on
        the device -> ``(N, out_channels, scale * h, scale * w)`` in [0, 1]."""
        task = self.task_spec
        batch = task.tile_batch(tiles)
        network_input = task.network_input(batch).contiguous(memory_format=torch.channels_last)
        dtype = AUTOCAST_DTYPES.get(self.precision)
        autocast = (
            torch.autocast(self.device.type, dtype=dtype)
            if dtype is not None
            else contextlib.nullcontext()
        )
        with autocast:
            raw = self.generator(network_input)
        return task.tile_output(raw.float(), batch)


#: The restorer classes already warned that their ``uses_mask`` is now ``takes_masks``.
_WARNED_USES_MASK: weakref.WeakSet[type] = weakref.WeakSet()


def _warn_uses_mask(cls: type, stacklevel: int) -> None:
    """Say once per class that ``cls`` sets the old ``uses_mask`` (read as ``takes_masks``),
    at the caller ``stacklevel`` frames up."""
    if cls in _WARNED_USES_MASK:
        return
    _WARNED_USES_MASK.add(cls)
    warnings.warn(
        f"{cls.__module__}.{cls.__qualname__} sets uses_mask, which Restorer now calls "
        "takes_masks: rename it (uses_mask is read as takes_masks for now)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def _check_finite_output(restored: Tensor, description: str, device: torch.device) -> None:
    """Refuse a network output holding NaN or infinity (clamped, it would be a black image)."""
    if not bool(torch.isfinite(restored).all()):
        hint = " (float16 overflow on CUDA? try device='cpu')" if device.type == "cuda" else ""
        raise GanrestoreError(
            f"{description} produced NaN or infinity for this image{hint}: its output would "
            "be black; check the model file, or use an earlier checkpoint"
        )


def _check_batch(images: Tensor, masks: Tensor | None, takes_masks: bool, description: str) -> None:
    if not isinstance(images, Tensor):
        raise RestoreInputError(
            f"restore_batch takes a tensor (B, 1 or 3, H, W), not a {type(images).__name__}; "
            "restore() takes numpy arrays and PIL images"
        )
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise RestoreInputError(f"expected images (B, 1 or 3, H, W), got {tuple(images.shape)}")
    if images.is_floating_point() and not bool(torch.isfinite(images).all()):
        raise RestoreInputError("the images contain NaN or infinity: nothing to restore from")
    if takes_masks and masks is None:
        raise MaskRequiredError(f"{description} is an inpainting model and needs masks")
    if masks is not None:
        expected = (images.shape[0], 1, *images.shape[2:])
        if tuple(masks.shape) != expected:
            raise RestoreInputError(f"expected masks {expected}, got {tuple(masks.shape)}")
