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

from .inference.conftest import save_tiny_run


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
    from ganrestore.inference import bundled

    empty = tmp_path / "no-weights"
    empty.mkdir()
    monkeypatch.setattr(bundled, "WEIGHTS_DIR", empty)


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


def test_a_clean_run_exits_0_and_format_png_renames(tmp_path: Path, photos: Path, runs) -> None:
    (photos / "corrupt.jpg").unlink()
    out = tmp_path / "fixed"
    result = invoke("--in", photos, "--out", out, "--model", runs["denoise"], "--format", "png")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]


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
    assert np.array_equal(filled[mask == 0], picture[mask == 0])
    assert not np.array_equal(filled[mask > 0], picture[mask > 0])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "{in}/inner"], "inside --in"),
        (["--out", "{in}"], "inside --in"),
        (["--out", "{tmp}/o", "--task", "inpaint", "--model", "{denoise}"], "denoise model"),
        (["--out", "{tmp}/o", "--masks", "{tmp}", "--model", "{denoise}"], "--masks given"),
        (["--out", "{tmp}/o", "--model", "{tmp}/nothing"], "no such file or folder"),
        (["--out", "{tmp}/o", "--tile", "32", "--overlap", "16"], "half the tile"),
        (["--out", "{tmp}/o"], "ganrestore train denoise"),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(
    photos: Path, tmp_path: Path, runs, extra: list[str], message: str, without_bundled_models
) -> None:
    values = {"in": photos, "tmp": tmp_path, "denoise": runs["denoise"]}
    args = [arg.format(**values) for arg in extra]
    result = invoke("--in", photos, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (photos / "inner").exists() and not (tmp_path / "o").exists()


def test_without_a_model_the_task_is_guessed_from_the_masks(
    tmp_path: Path, photos, without_bundled_models
) -> None:
    result = invoke("--in", photos, "--out", tmp_path / "o", "--masks", tmp_path)
    assert result.exit_code == 2 and "ganrestore train inpaint" in result.output


def test_the_real_command_line_runs(run_cli, photos: Path, tmp_path: Path, runs) -> None:
    out = tmp_path / "fixed"
    result = run_cli(
        "apply", "--in", str(photos), "--out", str(out), "--model", str(runs["denoise"])
    )
    assert result.returncode == 1
    assert "failed" in result.stderr and "corrupt.jpg" in result.stderr
    assert "restored 2, skipped 0, failed 1" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg"]


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
    assert np.array_equal(restored[mask <= 127], rocket[mask <= 127])  # known pixels kept
    assert np.asarray(Image.open(out / "coffee_gray_noisy.png")).ndim == 2  # grey stays grey
