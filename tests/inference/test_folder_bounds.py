"""``--max-pixels`` bounds every decode of ``apply``: images when they are decoded (not only
when the folder is scanned), ``--masks`` files and sidecar masks; the rest of the folder goes on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from ganrestore.inference import ApplyOptions, plan_folder, run_folder, run_plan
from ganrestore.inference.masks import guess_route
from ganrestore.inference.restorer import Restorer

from .conftest import header_only_png

LIMIT = 5000  # pixels: the photos below are 2240 and 1920


@pytest.fixture
def photos(tmp_path: Path, coffee: np.ndarray, astronaut: np.ndarray) -> Path:
    """b.png (40x56) and c.png (40x48)."""
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(coffee).save(folder / "b.png")
    Image.fromarray(astronaut[:40, :48]).save(folder / "c.png")
    return folder


def reasons(summary) -> dict[str, str]:
    return {path.name: reason for path, reason in summary.failed}


def test_a_mask_in_masks_above_the_limit_fails_its_image_by_name_and_the_rest_goes_on(
    tmp_path: Path, photos: Path, inpainter, box_mask: Callable
) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(box_mask((40, 56))).save(masks / "b.png")
    huge = header_only_png(masks / "c.png", 1000, 1000)  # a mask of 1 megapixel, no pixel data
    out = tmp_path / "out"
    lines: list[str] = []
    options = ApplyOptions(photos, out, masks_dir=masks, max_pixels=LIMIT)
    summary = run_folder(inpainter, options, log=lines.append)

    assert [path.name for path in summary.restored] == ["b.png"]
    reason = reasons(summary)["c.png"]
    assert f"its mask {huge}" in reason and "1000x1000 is 1000000 pixels" in reason
    assert "--max-pixels" in reason and "truncated" not in reason  # refused, never decoded
    assert any(line.startswith("failed: ") and "c.png" in line for line in lines)
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]


def test_a_sidecar_mask_above_the_limit_fails_its_image_and_the_rest_goes_on(
    tmp_path: Path, photos: Path, inpainter, box_mask: Callable
) -> None:
    Image.fromarray(box_mask((40, 56))).save(photos / "b_mask.png")
    sidecar = photos / "c_mask.png"
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(sidecar)  # 10000 pixels, decodable
    out = tmp_path / "out"
    summary = run_folder(inpainter, ApplyOptions(photos, out, max_pixels=LIMIT))

    assert [path.name for path in summary.restored] == ["b.png"]
    reason = reasons(summary)["c.png"]
    assert f"its mask {sidecar}" in reason and "100x100" in reason and "--max-pixels" in reason
    assert run_folder(inpainter, ApplyOptions(photos, tmp_path / "all")).exit_code == 0


class SwapsAFileDuringTheRun(Restorer):
    """Restores with ``restorer``; while its first batch is restored, ``swap`` runs once.

    By then the folder has been scanned (sizes from headers) but not every file decoded: the
    runner decodes a few same-size groups ahead only.
    """

    def __init__(self, restorer: Restorer, swap: Callable[[], None]) -> None:
        self.restorer, self.swap = restorer, swap
        self.task, self.takes_masks = restorer.task, restorer.takes_masks
        self.description = restorer.description

    def restore_batch(self, images: torch.Tensor, masks: torch.Tensor | None = None):
        swap, self.swap = self.swap, lambda: None
        swap()
        return self.restorer.restore_batch(images, masks)

    def batch_limit(self, height: int, width: int) -> int:
        return 1


def test_an_image_replaced_by_a_larger_one_after_the_scan_is_refused_when_decoded(
    tmp_path: Path, denoiser
) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    camera = skimage.data.camera()
    for index in range(10):  # ten sizes: ten groups, the last decoded well after the first batch
        Image.fromarray(camera[: 20 + index, :30]).save(folder / f"{index}.png")
    last = folder / "9.png"

    def replace_the_last_photo() -> None:  # as a sync tool or a user may do mid-run
        bigger = folder / "bigger.tmp"
        Image.fromarray(camera[:100, :100]).save(bigger, format="PNG")  # 10000 pixels
        bigger.replace(last)

    options = ApplyOptions(folder, out, max_pixels=LIMIT)
    plan = plan_folder(options, takes_masks=False)
    summary = run_plan(SwapsAFileDuringTheRun(denoiser, replace_the_last_photo), plan, options)

    assert len(summary.restored) == 9 and not (out / "9.png").exists()
    reason = reasons(summary)["9.png"]
    assert "100x100 is 10000 pixels, above the limit of 5000 pixels" in reason
    assert "--max-pixels" in reason


def test_guessing_the_route_does_not_decode_images_above_the_limit(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[10:20, 10:20, 3] = 0  # transparent = hole
    Image.fromarray(rgba).save(folder / "a.png")  # 72x100: 7200 pixels

    assert guess_route(folder, False, None) == "masked"
    assert guess_route(folder, False, None, max_pixels=LIMIT) == "unmasked"
