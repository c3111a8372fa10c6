"""Nothing is dropped without a word: ignored files, refused animations, metadata, mask warnings."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from ganrestore.data.io import read_image
from ganrestore.inference import ApplyOptions, NetworkRestorer, run_folder
from ganrestore.inference.bundled import BundledPair

from ..conftest import permissions, said
from .conftest import kept_pixels

MAKE, MODEL, DATE_TIME, ORIENTATION = 0x010F, 0x0110, 0x0132, 0x0112


@pytest.fixture(scope="module")
def pair(denoiser: NetworkRestorer, inpainter: NetworkRestorer) -> BundledPair:
    """What ``apply`` uses without --model and --task: inpaint with a mask, else denoise."""
    return BundledPair(denoiser, inpainter)


def folder_of(tmp_path: Path, name: str = "in") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


@pytest.fixture
def cluttered(tmp_path: Path, astronaut) -> Path:
    """One good image among things that are no images we can restore."""
    root = folder_of(tmp_path)
    Image.fromarray(astronaut).save(root / "good.png")
    Image.fromarray(astronaut).save(root / "cat.gif")
    (root / "phone.HEIC").write_bytes(b"\0\0\0\x18ftypheic")  # only the suffix matters here
    (root / "shot.cr2").write_bytes(b"II*\0 raw sensor data")
    (root / "notes.txt").write_text("not an image")
    (root / "sub").mkdir()
    Image.fromarray(astronaut).save(root / "sub" / "nested.png")
    os.symlink("missing.png", root / "gone.png")
    os.symlink("loop.png", root / "loop.png")
    os.symlink("sub", root / "linked")
    (root / ".hidden.gif").write_bytes(b"GIF89a")  # hidden: never an input, never reported
    return root


def test_every_file_that_is_not_restored_is_named_with_the_reason(
    cluttered: Path, tmp_path: Path, denoiser
) -> None:
    lines: list[str] = []
    summary = run_folder(denoiser, ApplyOptions(cluttered, tmp_path / "out"), log=lines.append)

    assert [p.name for p in summary.restored] == ["good.png"] and summary.exit_code == 0
    ignored = {path.name: reason for path, reason in summary.ignored}
    assert sorted(ignored) == [
        "cat.gif", "gone.png", "linked", "loop.png", "notes.txt", "phone.HEIC", "shot.cr2", "sub",
    ]  # fmt: skip
    assert ignored["cat.gif"].startswith("GIF image: not supported; convert it to PNG, JPEG")
    assert ignored["phone.HEIC"].startswith("HEIC/HEIF/AVIF photo: not supported; convert it")
    assert ignored["shot.cr2"].startswith("camera RAW file: not supported; develop it")
    assert ignored["gone.png"] == "broken symbolic link to missing.png: fix or remove the link"
    assert ignored["loop.png"] == "symbolic link loop: fix or remove the link"
    assert ignored["linked"].startswith("symbolic link to a folder: links are not followed")
    assert ignored["sub"] == "sub-folder (use --recursive)"
    assert ignored["notes.txt"] == "not an image file (by its suffix)"
    # One line per ignored file as the run starts, except plain non-image files (only counted).
    assert f"ignored: {cluttered / 'cat.gif'}: {ignored['cat.gif']}" in lines
    assert f"ignored: {cluttered / 'sub'}: sub-folder (use --recursive)" in lines
    assert not [line for line in lines if "notes.txt" in line]


def test_with_recursive_sub_folders_are_restored_and_no_longer_reported(
    cluttered: Path, tmp_path: Path, denoiser
) -> None:
    options = ApplyOptions(cluttered, tmp_path / "out", recursive=True)
    summary = run_folder(denoiser, options)
    assert sorted(p.name for p in summary.restored) == ["good.png", "nested.png"]
    assert "sub" not in {path.name for path, _ in summary.ignored}
    assert "linked" in {path.name for path, _ in summary.ignored}  # links are never followed


def test_masks_inside_the_input_folder_are_neither_inputs_nor_reported(
    tmp_path: Path, inpainter, astronaut
) -> None:
    root = folder_of(tmp_path)
    masks = root / "masks"
    (masks / "old").mkdir(parents=True)
    Image.fromarray(astronaut).save(root / "photo.png")
    Image.fromarray(box(astronaut.shape[:2], 0, 255)).save(masks / "photo.png")
    (masks / "readme.txt").write_text("white = hole")
    os.symlink("loop.png", root / "loop.png")
    options = ApplyOptions(root, tmp_path / "out", masks_dir=masks, recursive=True)
    summary = run_folder(inpainter, options)
    assert [p.name for p in summary.restored] == ["photo.png"]
    assert summary.ignored == [(root / "loop.png", "symbolic link loop: fix or remove the link")]


def test_an_animated_image_fails_with_its_frame_count(tmp_path: Path, denoiser, astronaut) -> None:
    root = folder_of(tmp_path)
    Image.fromarray(astronaut).save(root / "still.png")
    frames = [Image.fromarray(np.roll(astronaut, 7 * i, axis=0)) for i in range(3)]
    frames[0].save(root / "moving.png", save_all=True, append_images=frames[1:])
    summary = run_folder(denoiser, ApplyOptions(root, tmp_path / "out"))
    assert [p.name for p in summary.restored] == ["still.png"]
    [(path, reason)] = summary.failed
    assert path.name == "moving.png" and summary.exit_code == 1
    assert reason.startswith("animated image with 3 frames; only still images are supported")
    assert not (tmp_path / "out" / "moving.png").exists()


@pytest.mark.parametrize(
    ("name", "output_format"),
    [
        ("photo.jpg", "keep"),
        ("photo.png", "keep"),
        ("photo.webp", "keep"),
        ("photo.tif", "keep"),
        ("photo.jpg", "png"),
    ],
)
def test_apply_keeps_exif_and_the_icc_profile(
    tmp_path: Path, denoiser, astronaut, name: str, output_format: str
) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[DATE_TIME] = "Nikon", "D750", "2023:08:09 10:11:12"
    exif[ORIENTATION] = 6  # the camera was held upright
    root = folder_of(tmp_path)
    Image.fromarray(astronaut).save(root / name, exif=exif.tobytes(), icc_profile=profile)

    options = ApplyOptions(root, tmp_path / "out", output_format=output_format)
    summary = run_folder(denoiser, options)
    [output] = [p for p in (tmp_path / "out").iterdir()]

    assert len(summary.restored) == 1
    with Image.open(output) as restored:
        assert restored.info.get("icc_profile") == profile
        kept = restored.getexif()
        assert (kept.get(MAKE), kept.get(MODEL)) == ("Nikon", "D750")
        assert kept.get(DATE_TIME) == "2023:08:09 10:11:12"
        assert kept.get(ORIENTATION) == 1 and restored.size == (72, 100)  # stored upright


def test_16_bit_gray_alpha_comes_back_gray_alpha(tmp_path: Path, denoiser, astronaut) -> None:
    import zlib  # a 16-bit gray+alpha PNG, which neither Pillow nor OpenCV can write

    values = (astronaut[..., :2].astype(np.uint16) * 257)[..., [0, 1]]
    values[..., 1] = 40000  # alpha, half transparent everywhere
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in values)
    header = struct.pack(">IIBBBBB", values.shape[1], values.shape[0], 16, 4, 0, 0, 0)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    root = folder_of(tmp_path)
    (root / "la16.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    run_folder(denoiser, ApplyOptions(root, tmp_path / "out"))

    output = tmp_path / "out" / "la16.png"
    assert struct.unpack(">BB", output.read_bytes()[24:26]) == (16, 4)  # 16-bit gray + alpha
    decoded = read_image(output)
    assert decoded.is_grayscale and decoded.bit_depth == 16
    assert np.array_equal(np.rint(decoded.alpha * 65535), values[..., 1])


def box(shape: tuple[int, int], fill: int, inside: int) -> np.ndarray:
    """A mask of ``fill`` with a box of ``inside`` (a sixteenth of the image)."""
    mask = np.full(shape, fill, np.uint8)
    height, width = shape
    mask[height // 3 : height // 3 + height // 4, width // 3 : width // 3 + width // 4] = inside
    return mask


def test_images_without_a_mask_in_masks_are_named_with_what_became_of_them(
    tmp_path: Path, pair: BundledPair, astronaut, coffee
) -> None:
    root, masks = folder_of(tmp_path), folder_of(tmp_path, "masks")
    Image.fromarray(astronaut).save(root / "a.png")
    Image.fromarray(box(astronaut.shape[:2], 0, 255)).save(masks / "a.png")
    Image.fromarray(coffee).save(root / "b.png")  # no mask anywhere
    alpha = box(astronaut.shape[:2], 255, 0)  # a transparent box
    Image.fromarray(np.dstack([astronaut, alpha])).save(root / "c.png")

    lines: list[str] = []
    options = ApplyOptions(root, tmp_path / "out", masks_dir=masks)
    summary = run_folder(pair, options, log=lines.append)

    assert summary.without_mask == [
        (root / "b.png", "restored by the denoise model instead"),
        (root / "c.png", "its transparent pixels are the holes"),
    ]
    warning = f"{root / 'b.png'}: no mask in --masks {masks}; restored by the denoise model instead"
    assert f"warning: {warning}" in lines
    assert {task: sorted(p.name for p in paths) for task, paths in summary.by_task.items()} == {
        "denoise": ["b.png"],
        "inpaint": ["a.png", "c.png"],
    }


def test_an_inverted_mask_is_warned_about_and_invert_mask_turns_it_around(
    tmp_path: Path, inpainter, astronaut
) -> None:
    root, masks = folder_of(tmp_path), folder_of(tmp_path, "masks")
    Image.fromarray(astronaut).save(root / "photo.png")
    inverted = box(astronaut.shape[:2], 255, 0)  # black box = the hole, white elsewhere
    Image.fromarray(inverted).save(masks / "photo.png")

    lines: list[str] = []
    run_folder(inpainter, ApplyOptions(root, tmp_path / "out", masks), log=lines.append)
    [warning] = [line for line in lines if line.startswith("warning:")]
    share = round((inverted > 127).mean() * 100)
    assert warning == (
        f"warning: mask {masks / 'photo.png'} covers {share} % of its image (white = hole); "
        "if your masks are inverted, use --invert-mask"
    )

    lines.clear()
    options = ApplyOptions(root, tmp_path / "fixed", masks, invert_mask=True)
    summary = run_folder(inpainter, options, log=lines.append)
    assert len(summary.restored) == 1 and summary.warnings == [] and lines == []
    result = np.asarray(Image.open(tmp_path / "fixed" / "photo.png"))
    known = kept_pixels(inverted <= 127)
    assert np.array_equal(result[known], astronaut[known])  # white is kept exactly now
    assert not np.array_equal(result[~known], astronaut[~known])  # and the black box filled


def test_a_mask_without_any_hole_is_warned_about(tmp_path: Path, inpainter, astronaut) -> None:
    root, masks = folder_of(tmp_path), folder_of(tmp_path, "masks")
    Image.fromarray(astronaut).save(root / "photo.png")
    Image.fromarray(np.zeros(astronaut.shape[:2], np.uint8)).save(masks / "photo.png")

    summary = run_folder(inpainter, ApplyOptions(root, tmp_path / "out", masks))
    no_hole = f"mask {masks / 'photo.png'} marks no hole (no white pixel): its image is written"
    assert summary.warnings == [(root / "photo.png", f"{no_hole} unchanged")]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "photo.png")), astronaut)


def test_an_image_that_is_mostly_transparent_is_warned_about(
    tmp_path: Path, inpainter, astronaut
) -> None:
    root = folder_of(tmp_path)
    alpha = box(astronaut.shape[:2], 0, 255)  # a logo on a transparent background
    Image.fromarray(np.dstack([astronaut, alpha])).save(root / "logo.png")
    summary = run_folder(inpainter, ApplyOptions(root, tmp_path / "out"))
    [(path, warning)] = summary.warnings
    share = round((alpha < 128).mean() * 100)
    assert path == root / "logo.png"
    assert warning == (
        f"{path}: transparent pixels cover {share} % of it, and transparent = hole: they are filled"
    )


def test_in_an_inpaint_run_an_image_without_a_mask_is_named_once_as_skipped(
    tmp_path: Path, inpainter: NetworkRestorer, astronaut, coffee
) -> None:
    root, masks = folder_of(tmp_path), folder_of(tmp_path, "masks")
    Image.fromarray(astronaut).save(root / "a.png")
    Image.fromarray(box(astronaut.shape[:2], 0, 255)).save(masks / "a.png")
    Image.fromarray(coffee).save(root / "b.png")  # no mask anywhere

    lines: list[str] = []
    summary = run_folder(
        inpainter, ApplyOptions(root, tmp_path / "out", masks_dir=masks), lines.append
    )

    assert summary.without_mask == [] and [path.name for path, _ in summary.skipped] == ["b.png"]
    assert sum("b.png" in line for line in lines) == 1, lines


def test_with_recursive_a_sub_folder_that_cannot_be_read_is_named(
    tmp_path: Path, astronaut, run_cli
) -> None:
    """Its images would otherwise be passed over without a word (the search skips it)."""
    root = folder_of(tmp_path)
    Image.fromarray(astronaut[:48, :48]).save(root / "good.png")
    (root / "locked").mkdir()
    Image.fromarray(astronaut[:48, :48]).save(root / "locked" / "missed.png")
    with permissions(root / "locked", 0):
        result = run_cli(
            "apply", "--in", str(root), "--out", str(tmp_path / "out"), "--model", "denoise",
            "--recursive", as_user=True,
        )  # fmt: skip
    assert result.returncode == 0, said(result)
    assert f"ignored: {root / 'locked'}: folder cannot be read (Permission denied)" in said(result)
    assert (tmp_path / "out" / "good.png").is_file()
