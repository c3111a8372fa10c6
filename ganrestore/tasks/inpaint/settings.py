"""How an inpainting model fills holes: the settings a restorer of the ``inpaint`` task holds.

:meth:`InpaintTask.restore_settings <ganrestore.tasks.inpaint.InpaintTask.restore_settings>`
makes a fresh :class:`HoleSettings`; a :class:`~ganrestore.inference.NetworkRestorer` keeps it
as ``restorer.settings`` and hands it to every fill (:mod:`.fill`). Change it there::

    restorer = ganrestore.load_restorer("inpaint")
    restorer.settings.grow = 0  # fill exactly the mask
    restorer.settings.texture = None  # the network's fill alone

:meth:`HoleSettings.set_edges` sets it from ``apply``'s and ``eval``'s options and says what it
set (they call it through :func:`ganrestore.tasks.set_hole_edges`, without knowing the task).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ganrestore.tasks.inpaint.scales import ScaleSettings, checked_strategy
from ganrestore.tasks.inpaint.texture import TextureSettings

#: Which holes grow: only those whose outline shows a removed object's soft edge, or all.
GROW_WHERE = ("halos", "all")


@dataclass
class HoleSettings:
    """How holes are grown, filled and given texture. Mutable: set a field, or
    :meth:`set_grow`; every fill checks them (:meth:`check`).

    Attributes:
        grow: pixels a hole is widened by before it is filled (default 2), so that the soft
            outline of a removed object goes too and leaves no halo
            (:func:`~ganrestore.tasks.inpaint.edges.grow_holes`); 0 fills exactly the mask.
        grow_where: which holes grow: ``"halos"`` (default) only those whose outline shows an
            object's soft edge (:func:`~ganrestore.tasks.inpaint.edges.halo_holes`), so that
            a mask that marks exactly the missing pixels keeps all its context; ``"all"``
            every hole.
        feather: known pixels this close to a (grown) hole take part of the fill, fading out
            (default 0: every pixel outside the grown holes is the input's, bit for bit).
        texture: the photo's own fine detail is copied into the fill where its colours match
            (:mod:`~ganrestore.tasks.inpaint.texture`; default on), so that a smooth fill gets
            the grain of its surroundings; None: the network's fill alone.
        strategy: how the network meets large images and holes: ``"scales"`` (default: it
            runs only around the holes, and holes deeper than its reach are filled coarse to
            fine, :mod:`~ganrestore.tasks.inpaint.scales`) or ``"tiles"`` (every tile with a
            hole in it, at full resolution only).
        scales: depths, cells and margins of the ``"scales"`` strategy.
    """

    grow: int = 2
    grow_where: str = "halos"
    feather: int = 0
    texture: TextureSettings | None = field(default_factory=TextureSettings)
    strategy: str = "scales"
    scales: ScaleSettings = field(default_factory=ScaleSettings)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming the first field whose value cannot work."""
        if self.grow < 0:
            raise ValueError(f"grow must be >= 0 pixels, got {self.grow}")
        if self.grow_where not in GROW_WHERE:
            raise ValueError(f"grow_where must be halos or all, not {self.grow_where!r}")
        if self.feather < 0:
            raise ValueError(f"feather must be >= 0 pixels, got {self.feather}")
        checked_strategy(self.strategy)

    def set_grow(self, pixels: int | None) -> None:
        """How holes are widened before they are filled: the one place that sets ``grow`` and
        ``grow_where`` together.

        Args:
            pixels: None for the default (2 pixels, only for the holes whose outline shows a
                halo: ``--grow-mask auto``); N >= 0 to widen every hole by N pixels (0:
                exactly as masked).
        """
        if pixels is None:
            self.grow, self.grow_where = HoleSettings.grow, HoleSettings.grow_where
        else:
            if pixels < 0:
                raise ValueError(f"grow must be >= 0 pixels, got {pixels}")
            self.grow, self.grow_where = pixels, "all"

    def set_edges(self, grow: int | None, feather: int | None, texture: bool = True) -> str:
        """Set how the edge of a hole is treated, as ``apply`` and ``eval`` are told
        (``--grow-mask``, ``--feather``, ``--no-texture``): the inpainting task's
        :meth:`~ganrestore.tasks.HoleEdges.set_edges`.

        Args:
            grow: pixels every hole is widened by (None: keep the default, 2 pixels for the
                holes whose outline shows a halo).
            feather: pixels of known context the fill fades into (None: keep, 0).
            texture: copy the photo's own fine detail into the fills (the default); False: the
                network's fill alone.

        Returns:
            A line that says how holes will be treated, for the user; empty when they are
            filled exactly as masked.
        """
        if grow is not None:
            self.set_grow(grow)
        if feather is not None:
            self.feather = feather
        if not texture:
            self.texture = None
        said = []
        if self.grow and self.grow_where == "all":
            said.append(f"every hole is grown by {self.grow} px (--grow-mask {self.grow})")
        elif self.grow:
            said.append(
                f"holes whose outline shows a removed object's soft edge are grown by "
                f"{self.grow} px, the others filled exactly as masked (--grow-mask 0: all "
                "exactly; N: all by N)"
            )
        if self.feather:
            said.append(f"fills fade into the {self.feather} px around them (--feather)")
        if self.texture is None:
            said.append("fills are the network's alone, without the photo's copied detail")
        return "; ".join(said)
