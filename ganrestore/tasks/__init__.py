"""Restoration tasks: everything that differs between denoising, inpainting and a new task.

A task is the only owner of what is task-specific, and the rest of ganrestore asks it:

* what its training folder holds (:attr:`Task.pair`: ``clean/`` with ``degraded/`` images,
  with ``masks/``, with ``small/`` images ``scale`` times smaller, or clean photos alone,
  degraded on the fly);
* how a training item and a deterministic validation item are made from a clean crop and its
  pair (:meth:`Task.training_item`, :meth:`Task.validation_item`), with its own config table
  (:attr:`Task.options_type`, the ``[denoise]`` / ``[inpaint]`` table of a config);
* how the network input is packed and its output composed (:meth:`Task.network_input`,
  :meth:`Task.restore`), its channel counts and the output-to-input size ratio;
* its ready config, its bundled model, which images ``apply`` routes to it in auto mode, and
  what a user is asked for before a restoration (:attr:`Task.controls`);
* its classical baselines (:attr:`Task.baselines`) and how ``ganrestore eval`` degrades images
  for it and scores the outputs (:attr:`Task.eval_options`, :meth:`Task.scored_input`,
  :meth:`Task.eval_scoring`).

Tasks are plugins like networks (registry ``TASKS``, entry-point group ``ganrestore.tasks``):
the built-ins ``denoise``, ``inpaint``, ``upscale-x2`` and ``upscale-x4`` are declared in
ganrestore's own ``pyproject.toml`` exactly as another distribution declares its own. A task
factory returns a :class:`Task`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
import torch

from ganrestore.data.io import to_tensor
from ganrestore.data.pair_folder import PairFolder
from ganrestore.errors import GanrestoreError
from ganrestore.registry import TASKS

Batch = dict[str, torch.Tensor]
#: A training or validation item: ``clean`` and ``degraded`` ``(C, S, S)`` in [0, 1], ``mask``
#: ``(1, S, S)`` in {0, 1} (1 = hole; zeros for tasks without masks), ``sigma`` a scalar (the
#: synthetic noise level on the 0-255 scale, 0 when there is none).
Item = dict[str, torch.Tensor]
#: How ``apply`` without ``--model`` routes an image: to the task of masked images, of images
#: without a mask, or never (the task is only used when asked for by name).
Route = Literal["masked", "unmasked", "never"]
#: What a task asks the user for before a restoration (``ganrestore serve``'s page shows these
#: controls for it): ``"mask"`` the holes to fill, drawn by the user and required (a task with
#: ``uses_mask``); ``"grow"`` pixels every drawn hole is widened by before it is filled (the
#: task's :meth:`Task.restore_settings` has ``set_grow(pixels)``);
#: ``"strength"`` the share of the restoration applied, 0 to 1 (0: the input as
#: :meth:`Task.shown_input` shows it). The noise level a network is told is the network's own
#: (``takes_noise_sigma``), not the task's.
Control = Literal["mask", "grow", "strength"]
#: The most pixels the ``"grow"`` control widens a hole by (``apply --grow-mask``, the web
#: page's grow field).
MAX_GROW = 64


@runtime_checkable
class HoleEdges(Protocol):
    """The restore settings (:meth:`Task.restore_settings`) of a task that fills holes, as
    ``apply``, ``eval`` and the web page set them without knowing the task.

    Attributes:
        grow: pixels a hole is widened by before it is filled (0: exactly as masked).
    """

    grow: int

    def set_grow(self, pixels: int | None) -> None:
        """Widen every hole by ``pixels`` (0 to :data:`MAX_GROW`), or None: the task's default."""

    def set_edges(self, grow: int | None, feather: int | None, texture: bool) -> str:
        """Set how a hole's edge is treated (``--grow-mask``, ``--feather``, ``--no-texture``;
        None keeps a setting) and return a line that says so for the user ("" when the holes
        are filled exactly as masked)."""


def set_hole_edges(
    settings: Any, grow: int | None, feather: int | None, texture: bool = True
) -> str:
    """:meth:`HoleEdges.set_edges` of ``settings`` when they are :class:`HoleEdges`; anything
    else (None for a baseline, which fills exactly as masked; the settings of a task without
    holes) is left as it is and "" returned."""
    if not isinstance(settings, HoleEdges):
        return ""
    return settings.set_edges(grow, feather, texture)


@dataclass(frozen=True)
class Scoring:
    """How ``ganrestore eval`` scores a task's outputs against the clean image.

    Every task gets PSNR and SSIM over every pixel and channel, and LPIPS; an input with holes
    adds the PSNR and the detail ratio over its holes.

    Attributes:
        border: pixels cut from each side of the output and the truth before every metric (the
            super-resolution protocol cuts the scale: no method can know what lies past the
            image's edge).
        detail: also score the detail ratio (the output's finest detail over the truth's, 1.0 =
            as much) over the whole scored image, at the finest pyramid level.
    """

    border: int = 0
    detail: bool = False


@dataclass(frozen=True)
class NetworkRun:
    """How a restorer runs its network, as :meth:`Task.restore_images` is given it.

    Attributes:
        forward: tiles ``(N, C, h, w)`` of :meth:`Task.tile_input` on ``device`` -> the
            network's output on them as an image, ``(N, out_channels, scale·h, scale·w)`` in
            [0, 1] (:meth:`Task.tile_output`); ``h`` and ``w`` multiples of ``multiple``.
        tiling: the restorer's :class:`~ganrestore.inference.tiling.TileSettings`.
        device: where the network runs.
        multiple: the network's size multiple.
        settings: the restorer's settings of the task's own strategy, as
            :meth:`Task.restore_settings` made them (an inpainting task: how holes are grown,
            feathered, filled coarse to fine and given texture), or None.
    """

    forward: Callable[[torch.Tensor], torch.Tensor]
    tiling: Any
    device: torch.device
    multiple: int
    settings: Any = None


def to_network_range(images: torch.Tensor) -> torch.Tensor:
    """``[0, 1]`` -> ``[-1, 1]`` (what networks see)."""
    return images * 2 - 1


def from_network_range(images: torch.Tensor) -> torch.Tensor:
    """``[-1, 1]`` -> ``[0, 1]``, clamped."""
    return ((images + 1) / 2).clamp(0, 1)


def make_item(
    clean: np.ndarray, degraded: np.ndarray, mask: np.ndarray | None = None, sigma: float = 0.0
) -> Item:
    """The item of ``(S, S, C)`` float32 arrays in [0, 1] (``mask`` ``(S, S, 1)``, 1 = hole).

    A gray ``(S, S, 1)`` pair is repeated to RGB, as a restorer repeats a gray photo.
    """
    if clean.shape[2] == 1:
        clean, degraded = np.repeat(clean, 3, axis=2), np.repeat(degraded, 3, axis=2)
    if mask is None:
        mask = np.zeros((*clean.shape[:2], 1), np.float32)
    return {
        "clean": to_tensor(clean),
        "degraded": to_tensor(degraded),
        "mask": to_tensor(mask),
        "sigma": torch.tensor(sigma, dtype=torch.float32),
    }


@dataclass(frozen=True)
class NoOptions:
    """The config table of a task without settings of its own."""

    def rules(self) -> list[tuple[str, bool, str]]:
        """``(key, holds, what it must be)`` for every value check; see :meth:`check`."""
        return []

    def check(self) -> None:
        """Raise ``ValueError`` naming the first key whose value cannot work."""
        check_rules(self.rules())


def check_rules(rules: list[tuple[str, bool, str]]) -> None:
    """Raise ``ValueError("KEY must be ...")`` for the first rule that does not hold."""
    for key, holds, expected in rules:
        if not holds:
            raise ValueError(f"{key} must be {expected}")


class Task:
    """Base class of a task; subclasses set the attributes and implement the four methods.

    Attributes:
        name: registry name, e.g. ``"denoise"``; also the name of its config table.
        in_channels: generator input channels.
        out_channels: generator output channels (3: RGB).
        condition_channels: channels of :meth:`condition` (what a conditional discriminator
            sees beside the image).
        uses_mask: whether items and ``restore`` carry a meaningful ``mask`` (1 = hole).
        scale: output side / input side (1, or e.g. 4 for an upscaling task).
        pair: what its training folder's pair folder holds.
        options_type: the frozen dataclass of its config table.
        ready_config: the ready config shipped with ganrestore (``configs/NAME.toml``), or None.
        bundled_model: the bundled weights (``ganrestore/weights/NAME.safetensors``), or None.
        route: which images ``apply`` without ``--model`` sends to its bundled model.
        baselines: the registered classical baselines (``ganrestore.baselines``) made for it,
            in the order ``ganrestore eval --model baselines`` runs them.
        purpose: what it does, as it ends the sentence "the NAME task ...": ``"removes noise"``.
        eval_options: the ``ganrestore eval`` options that choose how clean images are degraded
            for it (``--sigma``, ``--peak``, ``--jpeg``: noise; ``--mask-kind``, ``--masks``:
            holes), each with the value used when it is not given (None: left out). Without
            any, ``eval`` degrades images as :meth:`validation_item` does and refuses those
            options.
        controls: what the user is asked for before a restoration (:data:`Control`).
    """

    name: ClassVar[str]
    in_channels: ClassVar[int]
    out_channels: ClassVar[int] = 3
    condition_channels: ClassVar[int]
    uses_mask: ClassVar[bool] = False
    scale: ClassVar[int] = 1
    pair: ClassVar[PairFolder]
    options_type: ClassVar[type[Any]] = NoOptions
    ready_config: ClassVar[str | None] = None
    bundled_model: ClassVar[str | None] = None
    route: ClassVar[Route] = "never"
    baselines: ClassVar[tuple[str, ...]] = ()
    purpose: ClassVar[str] = "restores images"
    eval_options: ClassVar[Mapping[str, str | None]] = MappingProxyType({})
    controls: ClassVar[tuple[Control, ...]] = ()

    def training_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        rng: np.random.Generator,
        options: Any,
    ) -> Item:
        """A training item from a random crop.

        Args:
            clean: ``(S, S, 3)`` float32 in [0, 1], already cropped, flipped and rotated.
            pair: the same crop of its real pair (``(S, S, 3)`` image or ``(S, S, 1)`` mask,
                ``(S // s, S // s, 3)`` for a pair ``s`` = ``pair.scale`` times smaller,
                as :attr:`pair` says), or None: degrade ``clean`` on the fly.
            rng: the item's only source of randomness (the same seed gives the same item).
            options: an instance of :attr:`options_type`.
        """
        raise NotImplementedError

    def validation_item(
        self,
        clean: np.ndarray,
        pair: np.ndarray | None,
        index: int,
        rng: np.random.Generator,
        options: Any,
    ) -> Item:
        """Validation item ``index`` of a centre crop: the same on every run and machine.

        ``rng`` is seeded by ``index`` alone. By default the same as a training item.
        """
        return self.training_item(clean, pair, rng, options)

    def network_input(self, batch: Batch) -> torch.Tensor:
        """``(B, in_channels, H, W)`` in ``[-1, 1]`` (a mask channel stays ``{0, 1}``)."""
        raise NotImplementedError

    def restore(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Raw generator output in ``[-1, 1]`` -> restored ``(B, out_channels, sH, sW)`` in
        [0, 1] (for a masked task, known pixels of ``batch["degraded"]`` kept)."""
        return from_network_range(raw)

    def tile_input(self, images: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        """What a restorer cuts into tiles: ``(B, C, H, W)`` in [0, 1], the images (``(B, 3,
        H, W)``) with the task's other inputs stacked as channels (a mask task: its holes,
        ``(B, 1, H, W)``, as a fourth channel). :meth:`tile_batch` takes a tile apart again."""
        return images

    def tile_batch(self, tiles: torch.Tensor) -> Batch:
        """The batch of a stack of tiles cut from :meth:`tile_input`, as
        :meth:`network_input` reads it."""
        return {"degraded": tiles[:, :3]}

    def skips_tile(self, tile: torch.Tensor) -> bool:
        """Whether a tile ``(C, h, w)`` of :meth:`tile_input` is left as it is, without the
        network (a mask task: a tile without a hole). Never for a task that changes the size."""
        return False

    def tile_output(self, raw: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The network's output on tiles made an image, ``(N, out_channels, sh, sw)`` in [0,
        1]; by default :meth:`restore`. A mask task returns the network's output at every
        pixel: the restorer puts the known pixels back itself, on the whole image."""
        return self.restore(raw, batch)

    def restore_settings(self) -> Any:
        """A fresh object of the settings of the task's own inference strategy, or None (the
        default: a task without any).

        A :class:`~ganrestore.inference.NetworkRestorer` keeps it as ``restorer.settings``,
        where the user may change it, and hands it back to :meth:`restore_images` as
        ``run.settings``. The inpainting task: a
        :class:`~ganrestore.tasks.inpaint.settings.HoleSettings`.
        """
        return None

    def restore_images(
        self, images: torch.Tensor, masks: torch.Tensor | None, run: NetworkRun
    ) -> torch.Tensor:
        """Whole images restored by the network, the task's own inference strategy.

        By default the images (with the task's other inputs, :meth:`tile_input`) are cut into
        blended tiles (:func:`~ganrestore.inference.tiling.tiled_forward`; tiles
        :meth:`skips_tile` says need no network are left as they are), and a gray image is
        restored as RGB and made gray again. A task overrides it for a strategy of its own
        (inpainting: holes grown, filled coarse to fine, given texture).

        Args:
            images: ``(B, C, H, W)`` float32 on the CPU in [0, 1], ``C`` 1 (gray) or 3.
            masks: ``(B, 1, H, W)`` in {0, 1} (1 = hole) for a task with the ``"mask"``
                control, else None.
            run: how to run the network.

        Returns:
            ``(B, C, scale·H, scale·W)`` float32 on the CPU in [0, 1].
        """
        from ganrestore.inference.tiling import tiled_forward  # inference builds on tasks

        rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        restored = tiled_forward(
            self.tile_input(rgb, masks),
            run.forward,
            out_channels=self.out_channels,
            settings=run.tiling,
            device=run.device,
            multiple=run.multiple,
            passthrough=self.skips_tile if self.scale == 1 else None,
            scale=self.scale,
        ).clamp_(0, 1)
        if images.shape[1] == 1 and restored.shape[1] == 3:
            restored = restored.mean(dim=1, keepdim=True)
        return restored

    def shown_input(self, batch: Batch) -> torch.Tensor:
        """The degraded input as it is shown beside the output and scored against the target:
        ``(B, 3, sH, sW)`` in [0, 1], the output's size (for the input's PSNR in validation and
        the sample grids). By default ``batch["degraded"]``; a task whose output is larger, or
        whose input hides pixels, says how it looks."""
        return batch["degraded"]

    def example_batch(self, images: torch.Tensor) -> Batch:
        """A batch of ``images`` ``(B, 3, H, W)`` in [0, 1] with whatever else the task takes
        made up (a mask task: a box hole in the middle): what an exported network is checked
        on. By default the images alone, with no holes."""
        batch, _, height, width = images.shape
        return {"degraded": images, "mask": torch.zeros(batch, 1, height, width)}

    def scored_input(self, batch: Batch) -> torch.Tensor:
        """The degraded input as ``ganrestore eval`` scores it (its row ``input``) and shows it
        beside the outputs: ``(B, C, sH, sW)`` in [0, 1], the output's size. By default
        :meth:`shown_input`."""
        return self.shown_input(batch)

    def eval_scoring(self) -> Scoring:
        """How ``ganrestore eval`` scores the outputs; by default every pixel, nothing cut."""
        return Scoring()

    def holes(self, batch: Batch) -> torch.Tensor | None:
        """``(B, 1, H, W)``, 1 = hole: what hole-weighted losses weigh; None (the default) for
        a task without holes."""
        return batch["mask"] if self.uses_mask else None

    def condition(self, batch: Batch) -> torch.Tensor:
        """What a conditional discriminator sees beside the image, ``[-1, 1]``."""
        return self.network_input(batch)

    def options(self, values: dict[str, Any] | None = None) -> Any:
        """:attr:`options_type` from keyword values (defaults for the others), checked.

        Raises:
            ValueError: an unknown key or a value that cannot work, named.
        """
        try:
            options = self.options_type(**(values or {}))
        except TypeError as exc:
            raise ValueError(f"{self.name}: {exc}") from None
        options.check()
        return options


def build_task(name: str) -> Task:
    """The task registered as ``name`` (raises the registry's error listing the known ones)."""
    return TASKS.build(name)


def task_names() -> list[str]:
    """The names of every installed task."""
    return TASKS.names()


def routed_tasks(route: Route) -> list[Task]:
    """The installed tasks with a bundled model that ``apply`` routes ``route`` images to."""
    found = []
    for name in TASKS.names():
        try:
            task = build_task(name)
        except Exception:  # a broken third-party task is reported by `plugins list`
            continue
        if task.route == route and task.bundled_model is not None:
            found.append(task)
    return found


def routed_task(route: Route) -> str | None:
    """The name of the first installed task (by name) whose bundled model ``route`` images go
    to, or None."""
    found = routed_tasks(route)
    return found[0].name if found else None


def checked_task_name(name: str, option: str = "--task") -> str:
    """``name`` if a task of that name is installed, else a :class:`GanrestoreError` listing
    the installed ones."""
    if name not in TASKS:
        raise GanrestoreError(
            f"{option} {name}: no such task; installed: {', '.join(TASKS.names())}"
        )
    return name


def task_model(task: str) -> str:
    """``"a denoise model"``, ``"an inpaint model"``: a model of ``task``, for messages."""
    article = "an" if task[:1].lower() in "aeiou" else "a"
    return f"{article} {task} model"
