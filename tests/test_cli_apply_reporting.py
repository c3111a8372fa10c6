"""`ganrestore apply` says what it ignored, which model restored what, and takes --invert-mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app

from .inference.conftest import kept_pixels, save_tiny_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {task: save_tiny_run(root / task, task) for task in ("denoise", "inpaint")}


def invoke(*args: str | Path):
    return CliRunner().invoke(app, ["apply", *map(str, args)], env={"COLUMNS": "200"})


@pytest.fixture
def picture() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.coffee()[100:160, 150:230])


def test_help_documents_invert_mask() -> None:
    result = CliRunner().invoke(app, ["apply", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    assert "--invert-mask" in text and "black = hole" in text


@pytest.mark.slow  # the bundled models: about 3 s on a CPU
def test_the_summary_says_which_model_restored_what_and_what_was_ignored(
    tmp_path: Path, picture: np.ndarray
) -> None:
    folder, masks = tmp_path / "broken", tmp_path / "masks"
    (folder / "later").mkdir(parents=True)
    masks.mkdir()
    Image.fromarray(picture).save(folder / "holed.png")
    mask = np.zeros(picture.shape[:2], np.uint8)
    mask[20:40, 30:60] = 255
    Image.fromarray(mask).save(masks / "holed.png")
    Image.fromarray(picture[::-1]).save(folder / "noisy.png")  # no mask in --masks
    Image.fromarray(picture).save(folder / "cat.gif")
    Image.fromarray(picture).save(folder / "later" / "nested.png")

    result = invoke("--in", folder, "--out", tmp_path / "fixed", "--masks", masks)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "restored 2, skipped 0, failed 0" in result.output
    assert "  denoise: 1 image(s), inpaint: 1 image(s)" in lines
    assert f"    {folder / 'holed.png'}: holes from the mask {masks / 'holed.png'}" in lines
    assert "  no mask in --masks: 1 image(s)" in lines
    assert f"    {folder / 'noisy.png'}: restored by the denoise model instead" in lines
    assert "  ignored 1: sub-folder (use --recursive)" in lines
    assert any(line.startswith("  ignored 1: GIF image: not supported;") for line in lines)
    gif = "GIF image: not supported; convert it to PNG, JPEG or TIFF (one file per frame if"
    assert f"ignored: {folder / 'cat.gif'}: {gif} animated)" in lines


@pytest.mark.slow  # the bundled models: about 3 s on a CPU
def test_in_auto_mode_each_image_filled_says_where_its_holes_came_from(
    tmp_path: Path, picture: np.ndarray
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    see_through = np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)])
    see_through[20:40, 30:60, 3] = 0
    Image.fromarray(see_through).save(folder / "cut.png")
    Image.fromarray(picture).save(folder / "side.png")
    Image.fromarray((see_through[..., 3] == 0).astype(np.uint8) * 255).save(
        folder / "side_mask.png"
    )
    Image.fromarray(picture[::-1]).save(folder / "plain.png")

    result = invoke("--in", folder, "--out", tmp_path / "fixed")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  denoise: 1 image(s), inpaint: 2 image(s)" in lines
    assert f"    {folder / 'cut.png'}: holes from its transparent pixels" in lines
    assert f"    {folder / 'side.png'}: holes from the mask {folder / 'side_mask.png'}" in lines
    assert not [line for line in lines if "plain.png: holes" in line]


def test_invert_mask_reads_black_as_the_hole(tmp_path: Path, runs, picture: np.ndarray) -> None:
    folder, masks = tmp_path / "photos", tmp_path / "masks"
    folder.mkdir()
    masks.mkdir()
    Image.fromarray(picture).save(folder / "cup.png")
    keep = np.full(picture.shape[:2], 255, np.uint8)  # white: keep
    keep[20:30, 30:45] = 0  # black: the hole
    Image.fromarray(keep).save(masks / "cup.png")
    model = runs["inpaint"]

    plain = invoke("--in", folder, "--out", tmp_path / "a", "--masks", masks, "--model", model)
    assert plain.exit_code == 0, plain.output
    assert "if your masks are inverted, use --invert-mask" in plain.output

    args = ("--in", folder, "--out", tmp_path / "b", "--masks", masks, "--model", model)
    inverted = invoke(*args, "--invert-mask")
    assert inverted.exit_code == 0, inverted.output
    assert "warning" not in inverted.output
    filled = np.asarray(Image.open(tmp_path / "b" / "cup.png"))
    known = kept_pixels(keep == 0)  # black = hole, grown by 2 pixels
    assert np.array_equal(filled[known], picture[known])
    assert not np.array_equal(filled[keep == 0], picture[keep == 0])


def test_invert_mask_with_a_denoise_model_is_a_usage_error(tmp_path: Path, runs, picture) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(picture).save(folder / "cup.png")
    args = ("--in", folder, "--out", tmp_path / "o", "--model", runs["denoise"], "--invert-mask")
    result = invoke(*args)
    assert result.exit_code == 2 and "--invert-mask given" in result.output
    assert not (tmp_path / "o").exists()


def test_a_folder_without_images_says_so_and_names_the_other_files(
    tmp_path: Path, runs: dict[str, Path]
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("a.txt", "b.xmp", "c.json", "d.pdf"):
        (folder / name).write_text("not pixels")

    result = invoke("--in", folder, "--out", tmp_path / "fixed", "--model", runs["denoise"])

    assert result.exit_code == 0, result.output  # nothing failed: there was nothing to do
    text = " ".join(result.output.split())
    assert "nothing to restore: no image files (.bmp, .jpeg, .jpg, .png, .tif" in text
    assert f"in {folder}" in text
    names = ", ".join(str(folder / name) for name in ("a.txt", "b.xmp", "c.json"))
    assert f"ignored 4: not an image file (by its suffix): {names} and 1 more" in text
    assert not (tmp_path / "fixed").exists()


def test_a_file_name_with_control_characters_is_printed_escaped_on_one_line(
    tmp_path: Path, runs
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    hostile = folder / "bad\nline\x1b[31m.png"  # a newline and a terminal colour escape
    hostile.write_bytes(b"not a PNG")
    result = invoke("--in", folder, "--out", tmp_path / "out", "--model", runs["denoise"])
    assert result.exit_code == 1, result.output
    assert "\x1b[31m" not in result.output and "bad\nline" not in result.output
    assert f"failed: {folder}/bad\\nline\\x1b[31m.png: not a PNG, JPEG" in result.output
