"""`ganrestore apply`, run as a user runs it: options, messages, exit codes, files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app

from .inference.conftest import header_only_png, kept_pixels, save_tiny_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {task: save_tiny_run(root / task, task) for task in ("denoise", "inpaint")}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three good images of two sizes (one nested, one gray) and a corrupt one."""
    folder = tmp_path / "photos"
    (folder / "trip").mkdir(parents=True)
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut[:60, :80]).save(folder / "a.png")
    Image.fromarray(astronaut[100:160, 100:180]).save(folder / "b.jpg", quality=95)
    Image.fromarray(skimage.data.camera()[:50, :70]).save(folder / "trip" / "c.png")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    return folder


@pytest.fixture
def without_bundled_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installation whose bundled weights are missing (e.g. a slimmed-down package)."""
    from ganrestore.modelfile import source

    empty = tmp_path / "no-weights"
    empty.mkdir()
    monkeypatch.setattr(source, "WEIGHTS_DIR", empty)


def invoke(*args: str | Path):
    return CliRunner().invoke(app, ["apply", *map(str, args)])


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_help_documents_the_options_and_the_mask_convention() -> None:
    result = CliRunner().invoke(app, ["apply", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    options = "--in --out --model --task --masks --tile --overlap --batch-size --device"
    for option in [*options.split(), "--recursive", "--overwrite", "--format"]:
        assert option in text
    assert "white / non-zero = hole, thresholded at 127" in text
    assert "NAME_mask.*" in text and "transparent = hole" in text


def test_a_folder_is_restored_and_the_corrupt_file_named_with_exit_code_1(
    photos: Path, tmp_path: Path, runs
) -> None:
    before = digest(photos)
    out = tmp_path / "fixed"
    result = invoke("--in", photos, "--out", out, "--model", runs["denoise"], "--recursive")
    assert result.exit_code == 1, result.output
    assert "corrupt.jpg" in result.output
    assert "restored 3, skipped 0, failed 1" in result.output
    assert "images/s" in result.output and "megapixels/s" in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == [
        "a.png",
        "b.jpg",
        "trip/c.png",
    ]
    assert digest(photos) == before

    again = invoke("--in", photos, "--out", out, "--model", runs["denoise"], "--recursive")
    assert "restored 0, skipped 3, failed 1" in again.output
    assert "output exists (use --overwrite)" in again.output


@pytest.mark.parametrize(("choice", "pil_format"), [("png", "PNG"), ("tiff", "TIFF")])
def test_a_clean_run_exits_0_and_format_renames(
    tmp_path: Path, photos: Path, runs, choice: str, pil_format: str
) -> None:
    (photos / "corrupt.jpg").unlink()
    out = tmp_path / "fixed"
    result = invoke("--in", photos, "--out", out, "--model", runs["denoise"], "--format", choice)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [f"a.{choice}", f"b.{choice}"]
    assert Image.open(out / f"a.{choice}").format == pil_format


def test_inpainting_with_a_masks_folder_keeps_known_pixels(tmp_path: Path, runs) -> None:
    images, masks = tmp_path / "holes", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    picture = skimage.data.coffee()[100:160, 150:230]
    mask = np.zeros(picture.shape[:2], np.uint8)
    mask[20:40, 30:60] = 255
    Image.fromarray(picture).save(images / "cup.png")
    Image.fromarray(mask).save(masks / "cup.webp", lossless=True)
    out = tmp_path / "filled"
    result = invoke("--in", images, "--out", out, "--masks", masks, "--model", runs["inpaint"])
    assert result.exit_code == 0, result.output
    filled = np.asarray(Image.open(out / "cup.png"))
    known = kept_pixels(mask)  # all but the holes grown by 2 pixels (--grow-mask)
    assert np.array_equal(filled[known], picture[known])
    assert not np.array_equal(filled[mask > 0], picture[mask > 0])
    assert "soft edge are grown by 2 px" in result.output  # said, with how to turn it off
    assert "--grow-mask 0" in result.output

    everywhere = invoke(
        *("--in", images, "--out", tmp_path / "grown", "--masks", masks),
        *("--model", runs["inpaint"], "--grow-mask", "3"),
    )
    assert everywhere.exit_code == 0, everywhere.output
    assert "every hole is grown by 3 px" in everywhere.output
    smooth = invoke(
        *("--in", images, "--out", tmp_path / "smooth", "--masks", masks),
        *("--model", runs["inpaint"], "--no-texture"),
    )
    assert smooth.exit_code == 0 and "without the photo's copied detail" in smooth.output
    filled = np.asarray(Image.open(tmp_path / "grown" / "cup.png"))
    assert np.array_equal(filled[kept_pixels(mask, 3)], picture[kept_pixels(mask, 3)])
    assert not np.array_equal(filled[kept_pixels(mask, 0)], picture[kept_pixels(mask, 0)])

    exact = invoke(
        *("--in", images, "--out", tmp_path / "exact", "--masks", masks),
        *("--model", runs["inpaint"], "--grow-mask", "0"),
    )
    assert exact.exit_code == 0, exact.output
    assert "grown" not in exact.output
    filled = np.asarray(Image.open(tmp_path / "exact" / "cup.png"))
    assert np.array_equal(filled[mask == 0], picture[mask == 0])  # every known pixel kept


def test_hole_settings_with_a_denoise_model_are_usage_errors(tmp_path: Path, runs) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skimage.data.coffee()[:40, :40]).save(photos / "a.png")
    for flag, *value in (("--grow-mask", "3"), ("--feather", "3"), ("--no-texture",)):
        args = ("--in", photos, "--out", tmp_path / "o", "--model", runs["denoise"], flag, *value)
        result = invoke(*args)
        assert result.exit_code == 2 and f"{flag} given" in result.output
        assert not (tmp_path / "o").exists()


def test_strength_zero_writes_the_inputs_and_a_half_lies_between(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    clean = skimage.data.astronaut()[:64, :96].astype(float)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 20, clean.shape), 0, 255)
    Image.fromarray(noisy.round().astype(np.uint8)).save(photos / "a.png")
    Image.fromarray(skimage.data.camera()[:40, :48]).save(photos / "gray.png")
    outputs = {}
    for strength in ("0", "0.5", "1"):
        out = tmp_path / f"s{strength}"
        result = invoke("--in", photos, "--out", out, "--model", "denoise", "--strength", strength)
        assert result.exit_code == 0, result.output
        outputs[strength] = {p.name: np.asarray(Image.open(p)).astype(int) for p in out.iterdir()}
    for name in ("a.png", "gray.png"):
        source = np.asarray(Image.open(photos / name)).astype(int)
        zero, half, full = (outputs[s][name] for s in ("0", "0.5", "1"))
        assert np.array_equal(zero, source)
        assert (
            (half >= np.minimum(source, full) - 1) & (half <= np.maximum(source, full) + 1)
        ).all()
    source, half, full = (
        np.asarray(Image.open(photos / "a.png")).astype(int),
        outputs["0.5"]["a.png"],
        outputs["1"]["a.png"],
    )
    assert 0.45 < np.abs(half - source).mean() / np.abs(full - source).mean() < 0.55


def test_strength_and_noise_sigma_are_said_and_refused_where_they_mean_nothing(
    photos: Path, tmp_path: Path
) -> None:
    result = invoke(
        "--in", photos / "a.png", "--out", tmp_path / "o", "--strength", "0.5", "--noise-sigma", "8"
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "0.5 of each correction is applied (--strength)" in said
    assert "noise of σ 8 (of 255) instead of measuring it (--noise-sigma)" in said
    for args, message in (
        (["--model", "inpaint", "--strength", "0.5"], "--strength given, but"),
        (["--model", "baseline:nlm", "--noise-sigma", "5"], "a classical method"),
        (["--strength", "1.5"], "--strength"),
        (["--noise-sigma", "-1"], "--noise-sigma"),
    ):
        result = invoke("--in", photos, "--out", tmp_path / "x", *args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output and not (tmp_path / "x").exists()


def test_the_precision_is_said_unless_float32_and_refused_where_it_cannot_run(
    photos: Path, tmp_path: Path, runs
) -> None:
    one = ["--in", photos / "a.png", "--model", runs["denoise"], "--device", "cpu"]
    asked = invoke(*one, "--out", tmp_path / "bf16", "--precision", "bf16")
    assert asked.exit_code == 0, asked.output
    assert "the network runs in bfloat16 (--precision bf16)" in " ".join(asked.output.split())
    exact = invoke(*one, "--out", tmp_path / "fp32", "--precision", "fp32")
    assert exact.exit_code == 0 and "runs in" not in exact.output, exact.output
    for args, message in (
        (["--precision", "fp16"], "--precision=fp16 runs on CUDA only"),
        (["--model", "baseline:nlm", "--precision", "bf16"], "drop --precision"),
    ):
        result = invoke("--in", photos, "--out", tmp_path / "x", "--device", "cpu", *args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output and not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "{in}/inner"], "inside --in"),
        (["--out", "{in}"], "inside --in"),
        (["--out", "{tmp}/o", "--task", "inpaint", "--model", "{denoise}"], "denoise model"),
        (["--out", "{tmp}/o", "--masks", "{masks}", "--model", "{denoise}"], "--masks given"),
        (["--out", "{masks}", "--masks", "{masks}", "--overwrite"], "inside --masks"),
        (["--out", "{masks}/restored", "--masks", "{masks}"], "inside --masks"),
        (["--out", "{tmp}/o", "--masks", "{in}"], "every image would count as a mask"),
        (["--out", "{tmp}/o", "--masks", "{tmp}"], "every image would count as a mask"),
        (["--out", "{tmp}/o", "--model", "{tmp}/nothing"], "no such file or folder"),
        (["--out", "{tmp}/o", "--tile", "32", "--overlap", "16"], "half the tile (32); give a"),
        (["--out", "{masks}/a.png/o"], "written there ({masks}/a.png is a file"),
        (["--out", "{tmp}/o"], "ganrestore train denoise"),
        (["--in", "{tmp}/cat.gif", "--out", "{tmp}/o"], "GIF image: not supported; convert it"),
        (["--in", "{tmp}/notes.txt", "--out", "{tmp}/o"], "not an image file (PNG, JPEG"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(
    photos: Path, tmp_path: Path, runs, extra: list[str], message: str, without_bundled_models
) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(masks / "a.png")  # a.png's mask
    before = digest(photos), digest(masks)
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(tmp_path / "cat.gif")
    (tmp_path / "notes.txt").write_text("not an image")
    values = {"in": photos, "tmp": tmp_path, "denoise": runs["denoise"], "masks": masks}
    args = [arg.format(**values) for arg in extra]
    result = invoke("--in", photos, *args)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert message.format(**values) in said and "Traceback" not in result.output
    assert not (photos / "inner").exists() and not (tmp_path / "o").exists()
    assert (digest(photos), digest(masks)) == before  # inputs and masks are never written


def test_without_a_model_the_task_is_guessed_from_the_masks(
    tmp_path: Path, photos, without_bundled_models
) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    result = invoke("--in", photos, "--out", tmp_path / "o", "--masks", masks)
    assert result.exit_code == 2 and "ganrestore train inpaint" in result.output


@pytest.mark.slow  # a real process: the start-up imports torch
def test_the_real_command_line_runs(run_cli, photos: Path, tmp_path: Path, runs) -> None:
    out = tmp_path / "fixed"
    result = run_cli(
        "apply", "--in", str(photos), "--out", str(out), "--model", str(runs["denoise"])
    )
    assert result.returncode == 1
    assert "failed" in result.stderr and "corrupt.jpg" in result.stderr
    assert "restored 2, skipped 0, failed 1" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg"]


@pytest.mark.slow  # a real process and the bundled models
def test_the_readme_command_restores_every_example_with_the_bundled_models(
    run_cli, tmp_path: Path
) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples" / "broken"
    out = tmp_path / "fixed"
    result = run_cli("apply", "--in", str(examples), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "restored 4, skipped 0, failed 0" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "astronaut_holes.png",
        "chelsea_noisy.png",
        "coffee_gray_noisy.png",
        "rocket.png",
    ]
    rocket, mask = (np.asarray(Image.open(examples / n)) for n in ("rocket.png", "rocket_mask.png"))
    restored = np.asarray(Image.open(out / "rocket.png"))
    known = kept_pixels(mask)  # beyond the holes grown by 2 pixels: kept exactly
    assert np.array_equal(restored[known], rocket[known])
    assert np.asarray(Image.open(out / "coffee_gray_noisy.png")).ndim == 2  # grey stays grey


def test_out_equal_to_masks_never_replaces_a_mask_even_with_overwrite(
    tmp_path: Path, photos: Path, runs
) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    Image.fromarray(np.full((60, 80), 255, np.uint8)).save(masks / "a.png")  # a.png's mask
    before = digest(masks)
    result = invoke(
        "--in", photos, "--masks", masks, "--out", masks, "--overwrite", "--model", runs["inpaint"]
    )
    assert result.exit_code == 2 and "inside --masks" in result.output, result.output
    assert digest(masks) == before


def test_masks_equal_to_in_is_an_error_not_zero_images(photos: Path, tmp_path: Path, runs) -> None:
    result = invoke(
        "--in", photos, "--masks", photos, "--out", tmp_path / "o", "--model", runs["inpaint"]
    )
    assert result.exit_code == 2, result.output
    assert "every image would count as a mask" in result.output
    assert "0 image(s)" not in result.output and not (tmp_path / "o").exists()


def test_a_single_image_file_is_restored_into_out(photos: Path, tmp_path: Path, runs) -> None:
    out = tmp_path / "fixed"
    result = invoke("--in", photos / "b.jpg", "--out", out, "--model", runs["denoise"])
    assert result.exit_code == 0, result.output
    assert "1 image(s)" in result.output and "restored 1, skipped 0, failed 0" in result.output
    assert [p.name for p in out.iterdir()] == ["b.jpg"]

    beside = invoke("--in", photos / "b.jpg", "--out", photos, "--model", runs["denoise"])
    assert beside.exit_code == 2 and "folder of --in" in beside.output


def test_an_image_above_max_pixels_fails_by_name_and_the_folder_goes_on(
    photos: Path, tmp_path: Path, runs
) -> None:
    (photos / "corrupt.jpg").unlink()
    header_only_png(photos / "huge.png", 20000, 20000)  # 57 bytes, 400 megapixels
    out = tmp_path / "fixed"
    result = invoke("--in", photos, "--out", out, "--model", runs["denoise"])
    assert result.exit_code == 1, result.output
    assert "restored 2, skipped 0, failed 1" in result.output
    failure = next(line for line in result.output.splitlines() if "huge.png" in line)
    assert "400.0 megapixels" in failure and "--max-pixels" in failure
    assert "DecompressionBomb" not in result.output  # Pillow's own guard does not pre-empt it

    unlimited = invoke(
        "--in", photos, "--out", out, "--model", runs["denoise"], "--max-pixels", "0"
    )
    failure = next(line for line in unlimited.output.splitlines() if "huge.png" in line)
    assert "truncated" in failure  # no limit: it was decoded, and has no pixel data


def test_without_a_terminal_progress_is_printed_as_lines(
    photos: Path, tmp_path: Path, runs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganrestore.cli import progress

    result = invoke("--in", photos, "--out", tmp_path / "a", "--model", runs["denoise"])
    lines = [line for line in result.output.splitlines() if line.startswith("progress:")]
    assert [line.split(",")[0] for line in lines] == [
        f"progress: {n}/3 image(s) done" for n in (1, 2, 3)
    ]

    monkeypatch.setattr(progress, "PROGRESS_LINE_SECONDS", 0.0)  # a slow machine, in effect
    args = ["--model", runs["denoise"], "--tile", "32", "--overlap", "8", "--batch-size", "2"]
    result = invoke("--in", photos / "a.png", "--out", tmp_path / "b", *args)  # 60x80: 9 tiles
    assert "progress: 0/1 image(s) done, tile 2/9," in result.output
    assert "tile 9/9," in result.output and "progress: 1/1 image(s) done," in result.output


def test_a_failed_file_is_named_exactly_once(photos: Path, tmp_path: Path, runs) -> None:
    out = tmp_path / "fixed"
    result = invoke("--in", photos, "--out", out, "--model", runs["denoise"])
    assert result.exit_code == 1
    assert result.output.count("corrupt.jpg") == 1, result.output
    again = invoke("--in", photos, "--out", out, "--model", runs["denoise"])
    assert again.output.count("a.png") == 1 and again.output.count("corrupt.jpg") == 1


def test_a_wrong_task_message_uses_an_before_inpaint(photos: Path, tmp_path: Path, runs) -> None:
    result = invoke(
        "--in", photos, "--out", tmp_path / "o", "--task", "denoise", "--model", runs["inpaint"]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "is an inpaint model" in text and "pass a denoise model" in text
    assert "a inpaint" not in text


def test_a_single_file_with_a_sidecar_is_guessed_to_be_inpainting(
    photos: Path, tmp_path: Path, without_bundled_models
) -> None:
    Image.fromarray(np.zeros((60, 80), np.uint8)).save(photos / "a_mask.png")
    result = invoke("--in", photos / "a.png", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "ganrestore train inpaint" in result.output, result.output
    result = invoke("--in", photos / "b.jpg", "--out", tmp_path / "o")  # its neighbour's: no
    assert result.exit_code == 2 and "ganrestore train denoise" in result.output, result.output
