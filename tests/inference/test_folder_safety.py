"""The folder runner's safety rules: masks never written, no output replaced by a race,
leftovers of killed runs cleaned, huge images refused, single files, TIFF, tile progress."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.atomic import temporary_path
from ganrestore.data.io import read_image
from ganrestore.inference import (
    ApplyOptions,
    ApplySummary,
    UnsafeFoldersError,
    plan_folder,
    run_folder,
    run_plan,
)

from .conftest import header_only_png, kept_pixels


@pytest.fixture
def photos(tmp_path: Path, astronaut, coffee) -> Path:
    """a.png (72x100), b.png (40x56), c.jpg (40x48)."""
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(coffee).save(folder / "b.png")
    Image.fromarray(astronaut[:40, :48]).save(folder / "c.jpg", quality=95)
    return folder


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def names(paths) -> list[str]:
    return sorted(Path(p).name for p in paths)


# --- item 1: --masks is only read -------------------------------------------------------------


@pytest.mark.parametrize("out", ["masks", "masks/restored"])
def test_out_in_or_inside_masks_is_refused_and_the_masks_kept(
    tmp_path: Path, photos: Path, inpainter, box_mask: Callable, out: str
) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(box_mask((72, 100))).save(masks / "a.png")  # same name as the image
    before = fingerprint(masks)
    options = ApplyOptions(photos, tmp_path / out, masks_dir=masks, overwrite=True)
    with pytest.raises(UnsafeFoldersError, match="inside --masks"):
        run_folder(inpainter, options)
    assert fingerprint(masks) == before and not (masks / "restored").exists()


@pytest.mark.parametrize("masks", ["in", "."])
def test_masks_equal_to_or_holding_in_is_refused(
    tmp_path: Path, photos: Path, inpainter, masks: str
) -> None:
    options = ApplyOptions(photos, tmp_path / "out", masks_dir=tmp_path / masks)
    with pytest.raises(UnsafeFoldersError, match="every image would count as a mask"):
        run_folder(inpainter, options)
    assert not (tmp_path / "out").exists()


def test_an_output_reaching_into_masks_through_a_link_fails(
    tmp_path: Path, inpainter, astronaut, box_mask: Callable
) -> None:
    photos, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    (photos / "sub").mkdir(parents=True)
    masks.mkdir()
    out.mkdir()
    Image.fromarray(astronaut).save(photos / "top.png")
    Image.fromarray(astronaut).save(photos / "sub" / "x.png")
    Image.fromarray(box_mask((72, 100))).save(masks / "top.png")
    Image.fromarray(box_mask((72, 100))).save(masks / "x.png")  # x.png's mask, top of --masks
    (out / "sub").symlink_to(masks, target_is_directory=True)
    before = fingerprint(masks)
    options = ApplyOptions(photos, out, masks_dir=masks, recursive=True, overwrite=True)
    summary = run_folder(inpainter, options)
    assert fingerprint(masks) == before
    assert names(summary.restored) == ["top.png"]
    assert [(p.name, "inside --masks" in reason) for p, reason in summary.failed] == [
        ("x.png", True)
    ]


# --- item 2: never replace, checked when writing ----------------------------------------------


def test_an_output_created_after_planning_is_skipped_not_replaced(
    tmp_path: Path, photos: Path, denoiser
) -> None:
    out = tmp_path / "out"
    options = ApplyOptions(photos, out)
    plan = plan_folder(options, takes_masks=False)
    out.mkdir()
    (out / "b.png").write_bytes(b"written meanwhile by someone else")
    lines: list[str] = []
    summary = run_plan(denoiser, plan, options, log=lines.append)

    assert (out / "b.png").read_bytes() == b"written meanwhile by someone else"
    assert names(summary.restored) == ["a.png", "c.jpg"] and summary.exit_code == 0
    assert [(p.name, "appeared during the run" in why) for p, why in summary.skipped] == [
        ("b.png", True)
    ]
    assert sum("b.png" in line for line in lines) == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.jpg"]  # no temporary


def test_with_overwrite_an_output_created_after_planning_is_replaced(
    tmp_path: Path, photos: Path, denoiser
) -> None:
    out = tmp_path / "out"
    options = ApplyOptions(photos, out, overwrite=True)
    plan = plan_folder(options, takes_masks=False)
    out.mkdir()
    (out / "b.png").write_bytes(b"old")
    summary = run_plan(denoiser, plan, options)
    assert len(summary.restored) == 3 and read_image(out / "b.png").pixels.shape == (40, 56, 3)


def test_two_concurrent_runs_on_one_out_restore_each_file_exactly_once(
    tmp_path: Path, photos: Path, denoiser
) -> None:
    out = tmp_path / "out"
    options = ApplyOptions(photos, out, workers=2)
    plans = [plan_folder(options, takes_masks=False) for _ in range(2)]  # both before any write
    summaries: list[ApplySummary | None] = [None, None]
    start = threading.Barrier(2)

    def run(index: int) -> None:
        start.wait()
        summaries[index] = run_plan(denoiser, plans[index], options)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    restored = [p.name for summary in summaries for p in summary.restored]
    skipped = [p.name for summary in summaries for p, _ in summary.skipped]
    assert sorted(restored) == ["a.png", "b.png", "c.jpg"]  # each claimed by one run only
    assert sorted(skipped) == sorted(restored)
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "c.jpg"]
    for name in ("a.png", "b.png", "c.jpg"):
        assert read_image(out / name).pixels.size > 0


# --- item 3: leftovers of a killed run ----------------------------------------------------------


def test_temporaries_left_by_a_killed_run_are_removed_when_the_next_starts(
    tmp_path: Path, photos: Path, denoiser
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    killed = subprocess.Popen([sys.executable, "-c", "pass"])  # a run that is gone
    killed.wait()
    orphan = temporary_path(out / "a.png", pid=killed.pid)  # what SIGKILL during a write leaves
    others = [out / ".a.png.tmp", out / "notes.0badc0de.tmp", out / ".todo.txt.0badc0de.tmp"]
    hour_ago = time.time() - 3600
    for path in [orphan, *others]:
        path.write_bytes(b"half an image")
        os.utime(path, (hour_ago, hour_ago))
    lines: list[str] = []
    summary = run_folder(denoiser, ApplyOptions(photos, out), log=lines.append)

    assert not orphan.exists() and all(path.exists() for path in others)
    assert any("removed 1 temporary file(s)" in line for line in lines)
    assert len(summary.restored) == 3


# --- item 8: a pixel cap read from the header -----------------------------------------------------


def test_an_image_above_max_pixels_fails_from_its_header_and_the_rest_goes_on(
    tmp_path: Path, photos: Path, denoiser
) -> None:
    header_only_png(photos / "huge.png", 1000, 1000)  # no pixel data: decoding would fail
    out = tmp_path / "out"
    lines: list[str] = []
    summary = run_folder(denoiser, ApplyOptions(photos, out, max_pixels=5000), log=lines.append)

    assert names(summary.restored) == ["b.png", "c.jpg"]  # 2240 and 1920 pixels
    reasons = {p.name: reason for p, reason in summary.failed}
    assert sorted(reasons) == ["a.png", "huge.png"]  # 7200 and 1000000 pixels
    assert "1000x1000" in reasons["huge.png"] and "--max-pixels" in reasons["huge.png"]
    assert "truncated" not in reasons["huge.png"]  # refused before decoding
    assert any("huge.png" in line and "--max-pixels" in line for line in lines)
    assert not (out / "a.png").exists()


def test_the_default_pixel_cap_keeps_a_12_megapixel_photo_and_refuses_169() -> None:
    options = ApplyOptions(Path("in"), Path("out"))
    assert 4000 * 3000 < options.max_pixels < 13000 * 13000


# --- item 18: one file, TIFF output, tile progress ---------------------------------------------


def test_a_single_image_file_is_restored_into_out(tmp_path: Path, photos: Path, denoiser) -> None:
    before = fingerprint(photos)
    out = tmp_path / "out"
    summary = run_folder(denoiser, ApplyOptions(photos / "b.png", out))
    assert summary.restored == [photos / "b.png"] and not summary.skipped + summary.failed
    assert sorted(p.name for p in out.iterdir()) == ["b.png"]
    assert fingerprint(photos) == before

    again = run_folder(denoiser, ApplyOptions(photos / "b.png", out))
    assert [p.name for p, _ in again.skipped] == ["b.png"] and again.restored == []


def test_a_single_file_cannot_be_written_beside_itself(tmp_path: Path, photos: Path, denoiser):
    (photos / "notes.txt").write_text("not an image")
    before = fingerprint(photos)
    for format in ("keep", "png"):
        options = ApplyOptions(photos / "c.jpg", photos, overwrite=True, output_format=format)
        with pytest.raises(UnsafeFoldersError, match="folder of --in"):
            run_folder(denoiser, options)
    with pytest.raises(UnsafeFoldersError, match="not an image file"):
        run_folder(denoiser, ApplyOptions(photos / "notes.txt", tmp_path / "out"))
    assert fingerprint(photos) == before


def test_a_single_file_finds_its_sidecar_mask(
    tmp_path: Path, photos: Path, inpainter, coffee, box_mask: Callable
) -> None:
    Image.fromarray(box_mask((40, 56))).save(photos / "b_mask.png")
    summary = run_folder(inpainter, ApplyOptions(photos / "b.png", tmp_path / "out"))
    assert summary.restored == [photos / "b.png"]
    result = np.asarray(Image.open(tmp_path / "out" / "b.png"))
    known = kept_pixels(box_mask((40, 56)))
    assert np.array_equal(result[known], coffee[known])
    assert not np.array_equal(result[~known], coffee[~known])


def test_format_tiff_writes_tiff_files(tmp_path: Path, photos: Path, denoiser) -> None:
    summary = run_folder(denoiser, ApplyOptions(photos, tmp_path / "out", output_format="tiff"))
    assert len(summary.restored) == 3
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == ["a.tiff", "b.tiff", "c.tiff"]
    assert {Image.open(p).format for p in written} == {"TIFF"}


def test_a_large_photo_reports_its_progress_tile_by_tile(tmp_path: Path, denoiser, astronaut):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.tile(astronaut, (2, 2, 1))).save(folder / "large.png")  # 144x200: 12 tiles
    reports: list[tuple[int, int]] = []
    summary = run_folder(
        denoiser, ApplyOptions(folder, tmp_path / "out"), tiles=lambda *r: reports.append(r)
    )
    assert len(summary.restored) == 1
    # A pass holds at most tile x tile pixels: one 64x64 tile per step.
    assert reports == [(done, 12) for done in range(1, 13)]
