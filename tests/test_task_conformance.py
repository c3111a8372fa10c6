"""Every installed task, the plugin example's ``deblur`` included, goes the whole way.

For each task, through the real CLI in real processes: train a few steps from its ready
config, apply the run to a folder (whole images and in tiles), export it to ONNX and apply the
exported file, evaluate it, and check what the web page would ask the user for. Nothing here
names a task: what differs (the output's scale, whether images need a mask) is asked of the
task itself, in a process that sees the same plugins as the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganrestore.registry import TASKS

pytestmark = pytest.mark.slow  # real training, export and evaluation processes per task

#: The example distribution's task, installed beside ganrestore's own for this test.
EXAMPLE_TASK = "deblur"
TASK_NAMES = sorted({*TASKS.names(), EXAMPLE_TASK})


#: Prints what the task says of itself (argv: the task's name).
_TASK_FACTS = """
import json, sys
from ganrestore.tasks import build_task
task = build_task(sys.argv[1])
print(json.dumps({"scale": task.scale, "controls": list(task.controls)}))
"""
#: Prints the page's report of the task (argv: the task's name and its model), as the page
#: reads it from a real app: ``GET /api/tasks``.
_PAGE_REPORT = """
import json, sys
from fastapi.testclient import TestClient
from ganrestore.web.app import create_app
from ganrestore.web.config import ServeConfig
from ganrestore.web.models import ModelCache
app = create_app(ServeConfig(), ModelCache({sys.argv[1]: sys.argv[2]}, device="cpu"))
tasks = TestClient(app, base_url="http://127.0.0.1:8080").get("/api/tasks").json()
print(json.dumps(next(entry for entry in tasks["tasks"] if entry["name"] == sys.argv[1])))
"""


def _python(code: str, *args: str, site: Path) -> dict:
    """Run ``code`` in a process that sees the plugin example too; its printed JSON."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site)},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small crops of scikit-image photos (one gray), sides that no tile size divides."""
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(np.ascontiguousarray(skimage.data.coffee()[80:176, 120:264])).save(
        folder / "coffee.png"
    )
    Image.fromarray(np.ascontiguousarray(skimage.data.camera()[100:196, 180:300])).save(
        folder / "camera.png"
    )
    return folder


def _with_masks(photos: Path, folder: Path) -> Path:
    """A copy of ``photos`` with a sidecar mask (a box hole) beside each image."""
    folder.mkdir()
    for source in sorted(photos.glob("*.png")):
        image = Image.open(source)
        image.save(folder / source.name)
        holes = np.zeros((image.height, image.width), np.uint8)
        holes[20:44, 30:62] = 255
        Image.fromarray(holes).save(folder / f"{source.stem}_mask.png")
    return folder


def _outputs(folder: Path) -> dict[str, np.ndarray]:
    return {
        path.name: np.asarray(Image.open(path), np.float32) / 255.0
        for path in sorted(folder.glob("*.png"))
        if not path.stem.endswith("_mask")
    }


@pytest.mark.parametrize("task", TASK_NAMES)
def test_every_task_trains_applies_exports_evaluates_and_says_what_it_asks_for(
    task: str, example_plugin_site: Path, run_cli, photos: Path, tmp_path: Path
) -> None:
    site = [example_plugin_site]
    facts = _python(_TASK_FACTS, task, site=example_plugin_site)
    scale = facts["scale"]
    inputs = _with_masks(photos, tmp_path / "in") if "mask" in facts["controls"] else photos

    run = tmp_path / "run"
    trained = run_cli(
        "train", task, "--data", str(photos), "--out", str(run), "--steps", "2",
        "--crop", "48", "--batch-size", "2", "--set", "data.workers=0", extra_path=site,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "Traceback" not in trained.stderr

    whole, tiled = tmp_path / "whole", tmp_path / "tiled"
    for out, tiling in ((whole, []), (tiled, ["--tile", "64", "--overlap", "16"])):
        applied = run_cli(
            "apply", "--in", str(inputs), "--out", str(out), "--model", str(run), *tiling,
            extra_path=site,
        )  # fmt: skip
        assert applied.returncode == 0, applied.stderr
        assert "restored 2, skipped 0, failed 0" in applied.stdout + applied.stderr
    sources = {path.name: Image.open(path) for path in sorted(photos.glob("*.png"))}
    whole_images, tiled_images = _outputs(whole), _outputs(tiled)
    for name, source in sources.items():
        height, width = whole_images[name].shape[:2]
        assert (height, width) == (scale * source.height, scale * source.width), name
        # Tiles are blended where they overlap: no seam, the same image within rounding.
        difference = np.abs(whole_images[name] - tiled_images[name])
        assert difference.mean() < 2 / 255 and difference.max() < 0.25, name

    exported = tmp_path / "model.onnx"
    export = run_cli("export", str(run), "--out", str(exported), extra_path=site)
    assert export.returncode == 0, export.stderr
    from_file = tmp_path / "from-onnx"
    applied = run_cli(
        "apply", "--in", str(inputs), "--out", str(from_file), "--model", str(exported),
        extra_path=site,
    )  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    for name, image in _outputs(from_file).items():
        assert image.shape == whole_images[name].shape
        assert np.abs(image - whole_images[name]).max() <= 2 / 255, name

    scores = tmp_path / "scores.json"
    evaluated = run_cli(
        "eval", "--task", task, "--data", str(photos), "--model", str(run), "--no-lpips",
        "--json", str(scores), extra_path=site,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(scores.read_text())
    assert report, "the evaluation wrote no scores"

    page = _python(_PAGE_REPORT, task, str(run), site=example_plugin_site)
    assert page["error"] is None, page["error"]
    assert page["scale"] == scale
    assert set(facts["controls"]) <= set(page["controls"])  # a network may add its own
