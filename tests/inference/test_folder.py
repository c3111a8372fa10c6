"""The folder runner: every rule of ``ganrestore apply`` on real files in real folders."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from ganrestore.data.io import read_image
from ganrestore.inference import (
    ApplyOptions,
    NetworkRestorer,
    Restorer,
    UnsafeFoldersError,
    run_folder,
)

from .conftest import kept_pixels


class Recording(Restorer):
    """Any restorer, remembering the batch sizes it was given (and optionally interrupted)."""

    def __init__(self, inner: Restorer, interrupt_after: int | None = None) -> None:
        self.inner, self.interrupt_after = inner, interrupt_after
        self.task, self.takes_masks, self.description = inner.task, inner.takes_masks, "recording"
        self.batches: list[int] = []

    def batch_limit(self, height: int, width: int) -> int:
        return self.inner.batch_limit(height, width)

    def restore_batch(self, images: torch.Tensor, masks: torch.Tensor | None = None):
        if self.interrupt_after is not None and len(self.batches) == self.interrupt_after:
            raise KeyboardInterrupt
        self.batches.append(images.shape[0])
        return self.inner.restore_batch(images, masks)


@pytest.fixture
def mixed(tmp_path: Path, astronaut, coffee, camera) -> Path:
    """A folder mixing sizes, formats, gray, RGBA, 16-bit, a nested folder and a corrupt file."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(astronaut).save(root / "rgb.png")
    Image.fromarray(coffee).save(root / "photo.jpg", quality=90)
    Image.fromarray(astronaut[:, ::-1]).save(root / "pic.webp", lossless=True)
    Image.fromarray(camera).save(root / "gray.png")
    Image.fromarray(coffee).save(root / "old.bmp")
    alpha = np.linspace(0, 255, astronaut.shape[1], dtype=np.uint8)[None].repeat(72, axis=0)
    Image.fromarray(np.dstack([astronaut, alpha])).save(root / "rgba.png")
    deep = astronaut.astype(np.uint16) * 257 + 3
    cv2.imwrite(str(root / "deep.png"), deep[..., ::-1])
    cv2.imwrite(str(root / "scan.tif"), deep[:40, :48, ::-1])
    Image.fromarray(camera).save(root / "sub" / "nested.png")
    (root / "broken.png").write_bytes((root / "rgb.png").read_bytes()[:200])
    (root / "notes.txt").write_text("not an image")
    return root


def fingerprint(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_mixed_folder_is_restored_and_the_bad_file_named(
    mixed: Path, tmp_path: Path, denoiser: NetworkRestorer
) -> None:
    before = fingerprint(mixed)
    out = tmp_path / "out"
    lines: list[str] = []
    summary = run_folder(denoiser, ApplyOptions(mixed, out, recursive=True), log=lines.append)

    assert fingerprint(mixed) == before  # the input folder is never written to
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "deep.png", "gray.png", "old.bmp", "photo.jpg", "pic.webp", "rgb.png", "rgba.png",
        "scan.tif", "sub/nested.png",
    ]  # fmt: skip
    assert len(summary.restored) == 9 and summary.skipped == []
    assert [p.name for p, _ in summary.failed] == ["broken.png"] and summary.exit_code == 1
    assert any("broken.png" in line and "failed" in line for line in lines)
    assert summary.megapixels > 0 and summary.images_per_second > 0

    formats = {p.name: Image.open(p).format for p in out.rglob("*.*")}
    assert formats["photo.jpg"] == "JPEG" and formats["pic.webp"] == "WEBP"
    assert formats["old.bmp"] == "BMP" and formats["scan.tif"] == "TIFF"
    assert Image.open(out / "gray.png").mode == "L"
    assert Image.open(out / "sub" / "nested.png").mode == "L"
    rgba_in, rgba_out = read_image(mixed / "rgba.png"), read_image(out / "rgba.png")
    assert rgba_out.alpha is not None and np.array_equal(rgba_out.alpha, rgba_in.alpha)
    for name in ("deep.png", "scan.tif"):
        decoded = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert decoded.dtype == np.uint16 and decoded.shape[2] == 3
        assert len(np.unique(decoded % 257)) > 1  # not 8-bit values stretched to 16


def test_without_recursive_sub_folders_are_left_alone(mixed, tmp_path, denoiser) -> None:
    summary = run_folder(denoiser, ApplyOptions(mixed, tmp_path / "out"))
    assert not (tmp_path / "out" / "sub").exists() and len(summary.restored) == 8


@pytest.mark.parametrize("inside", [".", "restored", "sub/deeper"])
def test_an_output_folder_inside_the_input_is_refused(mixed, denoiser, inside: str) -> None:
    before = fingerprint(mixed)
    with pytest.raises(UnsafeFoldersError, match="inside --in"):
        run_folder(denoiser, ApplyOptions(mixed, mixed / inside))
    assert fingerprint(mixed) == before


def test_existing_outputs_are_skipped_unless_overwrite(mixed, tmp_path, denoiser) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "rgb.png").write_bytes(b"mine")
    summary = run_folder(denoiser, ApplyOptions(mixed, out))
    assert (out / "rgb.png").read_bytes() == b"mine"
    assert [(p.name, reason) for p, reason in summary.skipped] == [
        ("rgb.png", "output exists (use --overwrite)")
    ]
    again = run_folder(denoiser, ApplyOptions(mixed, out, overwrite=True))
    assert len(again.restored) == 8 and Image.open(out / "rgb.png").format == "PNG"


def test_a_failed_write_is_reported_and_the_run_goes_on(mixed, tmp_path, denoiser) -> None:
    out = tmp_path / "out"
    (out / "rgb.png").mkdir(parents=True)  # a folder where the output should go
    summary = run_folder(denoiser, ApplyOptions(mixed, out, overwrite=True))
    assert [p.name for p, _ in summary.failed] == ["broken.png", "rgb.png"]
    assert len(summary.restored) == 7
    written = sum(np.prod(Image.open(path).size) for path in out.rglob("*") if path.is_file())
    assert summary.megapixels == pytest.approx(written / 1e6)  # the failed write counts nothing


def test_format_changes_the_suffix_and_name_clashes_fail(tmp_path, denoiser, astronaut) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(astronaut).save(folder / "a.bmp")
    Image.fromarray(astronaut).save(folder / "b.tif")
    summary = run_folder(denoiser, ApplyOptions(folder, tmp_path / "out", output_format="jpg"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg", "b.jpg"]
    assert Image.open(tmp_path / "out" / "b.jpg").format == "JPEG"
    assert [(p.name, "same output" in reason) for p, reason in summary.failed] == [("a.png", True)]


def test_what_the_output_format_cannot_keep_is_said_per_file(tmp_path, denoiser, astronaut) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    opaque = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    see_through = opaque.copy()
    see_through[:8, :8, 3] = 0
    Image.fromarray(opaque).save(folder / "opaque.png")
    Image.fromarray(see_through).save(folder / "see_through.png")
    Image.fromarray(astronaut[..., 0].astype(np.uint16) * 257).save(folder / "deep.png")
    lines: list[str] = []
    options = ApplyOptions(folder, tmp_path / "out", output_format="jpg")
    summary = run_folder(denoiser, options, log=lines.append)
    assert len(summary.restored) == 3
    warned = {path.name: warning for path, warning in summary.warnings}
    assert sorted(warned) == ["deep.png", "see_through.png"]  # an opaque alpha loses nothing
    assert warned["see_through.png"].endswith("see_through.jpg: its format has no alpha; "
                                              "transparency dropped")  # fmt: skip
    assert warned["deep.png"].endswith(
        "deep.jpg: its format keeps 8 bits per channel; the 16-bit image was reduced to 8 "
        "(--format png or tiff keeps 16)"
    )
    assert f"warning: {warned['deep.png']}" in lines


def test_exif_orientation_is_applied(tmp_path: Path, denoiser, coffee) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    Image.fromarray(coffee).save(folder / "phone.jpg", exif=exif, quality=95)
    run_folder(denoiser, ApplyOptions(folder, tmp_path / "out"))
    assert Image.open(tmp_path / "out" / "phone.jpg").size == (40, 56)  # (W, H) upright


def test_same_size_images_are_batched_and_large_ones_tiled_alone(
    tmp_path: Path, denoiser, astronaut
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(np.roll(astronaut[:40, :48], i, axis=1)).save(folder / f"s{i}.png")
    Image.fromarray(np.tile(astronaut, (2, 2, 1))).save(folder / "large.png")  # 144x200 > tile
    recording = Recording(denoiser)
    summary = run_folder(recording, ApplyOptions(folder, tmp_path / "out"))
    assert len(summary.restored) == 6
    # A pass holds at most 64 x 64 pixels (the tile): two 40x48 images, so 2 + 2 + 1.
    assert sorted(recording.batches) == [1, 1, 2, 2]


def test_an_interrupted_run_leaves_only_complete_images(tmp_path, denoiser, astronaut) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(astronaut[:, i:]).save(folder / f"a{i}.png")  # six sizes: six batches
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_folder(Recording(denoiser, interrupt_after=3), ApplyOptions(folder, out))
    written = sorted(out.iterdir())
    assert len(written) == 3 and not [p for p in written if p.name.startswith(".")]
    for path in written:
        assert read_image(path).pixels.shape[:2] == Image.open(folder / path.name).size[::-1]


@pytest.fixture
def inpaint_folder(tmp_path: Path, astronaut, coffee, box_mask: Callable) -> Path:
    """Images whose masks come from --masks (one of another size), a sidecar, alpha, or none."""
    root, masks = tmp_path / "in", tmp_path / "masks"
    root.mkdir()
    masks.mkdir()
    Image.fromarray(astronaut).save(root / "by_dir.png")
    Image.fromarray(box_mask((36, 50))).save(masks / "by_dir.bmp")  # half size, another format
    Image.fromarray(coffee).save(root / "by_sidecar.png")
    Image.fromarray(box_mask(coffee.shape[:2])).save(root / "by_sidecar_mask.png")
    alpha = np.where(box_mask(astronaut.shape[:2]) > 0, 0, 255).astype(np.uint8)
    Image.fromarray(np.dstack([astronaut, alpha])).save(root / "by_alpha.png")
    Image.fromarray(coffee).save(root / "no_mask.png")
    return root


def test_inpainting_finds_each_mask_keeps_known_pixels_and_skips_the_maskless(
    inpaint_folder: Path, tmp_path: Path, inpainter, astronaut, box_mask
) -> None:
    out = tmp_path / "out"
    lines: list[str] = []
    options = ApplyOptions(inpaint_folder, out, masks_dir=tmp_path / "masks")
    summary = run_folder(inpainter, options, log=lines.append)
    assert sorted(p.name for p in summary.restored) == [
        "by_alpha.png",
        "by_dir.png",
        "by_sidecar.png",
    ]
    assert [(p.name, "no mask" in reason) for p, reason in summary.skipped] == [
        ("no_mask.png", True)
    ]
    assert summary.exit_code == 0 and not (out / "by_sidecar_mask.png").exists()
    assert any("resized" in line and "by_dir.bmp" in line for line in lines)

    holes = box_mask(astronaut.shape[:2]) > 0
    upscaled = box_mask((36, 50)).repeat(2, axis=0).repeat(2, axis=1) > 0  # nearest neighbour
    for name, hole in (("by_dir.png", upscaled), ("by_alpha.png", holes), ("by_sidecar.png", None)):
        source = np.asarray(Image.open(inpaint_folder / name))[..., :3]
        result = np.asarray(Image.open(out / name))[..., :3]
        known = kept_pixels(box_mask(source.shape[:2]) if hole is None else hole)
        assert np.array_equal(result[known], source[known]), name  # bit-exact known pixels
        assert not np.array_equal(result[~known], source[~known]), name
    filled_alpha = np.asarray(Image.open(out / "by_alpha.png"))[..., 3]
    assert (filled_alpha == 255).all() and holes.any()


_MEASURED_CLI = """
import resource, sys
from ganrestore.cli.app import main

sys.argv = ["ganrestore", *sys.argv[1:]]
try:
    main()
finally:
    print("peak_rss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


@pytest.mark.slow
def test_a_4000x3000_photo_is_tiled_within_the_memory_goal(tmp_path: Path, denoise_run) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    photo = cv2.resize(skimage.data.astronaut(), (4000, 3000), interpolation=cv2.INTER_LINEAR)
    Image.fromarray(photo).save(folder / "photo.jpg", quality=90)
    command = [sys.executable, "-c", _MEASURED_CLI, "apply", "--in", str(folder)]
    command += ["--out", str(tmp_path / "out"), "--model", str(denoise_run), "--device", "cpu"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    peak_mb = int(re.search(r"peak_rss_kb (\d+)", result.stderr).group(1)) / 1024
    assert peak_mb < 3072
    assert Image.open(tmp_path / "out" / "photo.jpg").size == (4000, 3000)
