"""A task's own restore-time settings: the inpainting task's HoleSettings, held by its restorer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import ganrestore
from ganrestore.inference.bundled import BundledPair, masked_settings
from ganrestore.tasks import HoleEdges, build_task, set_hole_edges
from ganrestore.tasks.inpaint.scales import ScaleSettings
from ganrestore.tasks.inpaint.settings import HoleSettings
from ganrestore.tasks.inpaint.texture import TextureSettings


def test_every_inpainting_restorer_holds_its_own_hole_settings_at_the_defaults(
    inpaint_run: Path, denoise_run: Path
) -> None:
    first, second = (ganrestore.load_restorer(inpaint_run, device="cpu") for _ in range(2))
    assert first.settings == HoleSettings(2, "halos", 0, TextureSettings(), "scales")
    assert first.settings.scales == ScaleSettings()
    first.settings.grow = 0
    assert second.settings.grow == 2  # not shared
    assert build_task("inpaint").restore_settings() is not build_task("inpaint").restore_settings()
    assert ganrestore.load_restorer(denoise_run, device="cpu").settings is None


def test_a_restorer_fills_as_its_settings_say(inpaint_run: Path, astronaut: np.ndarray) -> None:
    restorer = ganrestore.load_restorer(inpaint_run, device="cpu")
    holes = np.zeros(astronaut.shape[:2], bool)
    holes[30:50, 40:80] = True
    restorer.settings.texture = None
    restorer.settings.set_grow(3)
    grown = restorer.restore(astronaut, holes)
    restorer.settings.set_grow(0)
    exact = restorer.restore(astronaut, holes)
    assert np.array_equal(exact[~holes], astronaut[~holes])
    ring = np.zeros_like(holes)
    ring[27:53, 37:83] = True
    assert not np.array_equal(grown[ring & ~holes], astronaut[ring & ~holes])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strategy": "pyramid"}, "strategy must be one of scales, tiles, not 'pyramid'"),
        ({"grow_where": "edges"}, "grow_where must be halos or all, not 'edges'"),
        ({"grow": -1}, "grow must be >= 0 pixels, got -1"),
        ({"feather": -2}, "feather must be >= 0 pixels, got -2"),
    ],
)
def test_settings_that_cannot_work_are_refused_by_name(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HoleSettings(**changes)
    settings = HoleSettings()
    for key, value in changes.items():
        setattr(settings, key, value)  # mutable: checked when it fills
    with pytest.raises(ValueError, match=message):
        settings.check()


def test_set_grow_sets_how_far_and_which_holes_together() -> None:
    settings = HoleSettings()
    settings.set_grow(4)
    assert (settings.grow, settings.grow_where) == (4, "all")
    settings.set_grow(0)
    assert (settings.grow, settings.grow_where) == (0, "all")
    settings.set_grow(None)
    assert (settings.grow, settings.grow_where) == (2, "halos")
    with pytest.raises(ValueError, match="grow must be >= 0"):
        settings.set_grow(-1)


def test_set_hole_edges_sets_the_options_and_says_what_they_do() -> None:
    settings = HoleSettings()
    assert isinstance(settings, HoleEdges)  # what apply, eval and the web page set
    assert set_hole_edges(settings, None, None) == (
        "holes whose outline shows a removed object's soft edge are grown by 2 px, the others "
        "filled exactly as masked (--grow-mask 0: all exactly; N: all by N)"
    )
    said = set_hole_edges(settings, 3, 2, texture=False)
    assert settings == replace(HoleSettings(), grow=3, grow_where="all", feather=2, texture=None)
    assert said == (
        "every hole is grown by 3 px (--grow-mask 3); fills fade into the 2 px around them "
        "(--feather); fills are the network's alone, without the photo's copied detail"
    )
    assert set_hole_edges(HoleSettings(), 0, None) == ""  # exactly as masked: nothing to say
    assert set_hole_edges(None, 3, 2, texture=False) == ""  # a baseline: left as it is


def test_the_masked_settings_are_the_inpainting_networks(
    inpaint_run: Path, denoise_run: Path
) -> None:
    inpainter = ganrestore.load_restorer(inpaint_run, device="cpu")
    denoiser = ganrestore.load_restorer(denoise_run, device="cpu")
    assert masked_settings(inpainter) is inpainter.settings
    assert masked_settings(BundledPair(denoiser, inpainter)) is inpainter.settings
    assert masked_settings(denoiser) is None
    assert masked_settings(ganrestore.load_restorer("baseline:telea")) is None
