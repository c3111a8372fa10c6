"""A task from another distribution trains, applies and evaluates end to end.

The example package (examples/ganrestore-plugin-example) declares a ``deblur`` task and its
own generator in its pyproject only; nothing in ganrestore names them.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganrestore.registry import TASKS

pytestmark = pytest.mark.slow  # a pip install and real ganrestore processes


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Four 96x96 crops of scikit-image's photos (one of them gray)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    crops = {
        "coffee": skimage.data.coffee()[100:196, 150:246],
        "astronaut": skimage.data.astronaut()[40:136, 180:276],
        "chelsea": skimage.data.chelsea()[60:156, 100:196],
        "camera": skimage.data.camera()[100:196, 200:296],
    }
    for name, crop in crops.items():
        Image.fromarray(np.ascontiguousarray(crop)).save(folder / f"{name}.png")
    return folder


def test_the_plugin_task_is_listed_with_the_built_ins(example_plugin_site, run_cli) -> None:
    listed = run_cli("plugins", "list", "--kind", "tasks", extra_path=[example_plugin_site])

    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    deblur = next(line for line in rows if " deblur " in line)
    assert "ganrestore-plugin-example" in deblur and "ok" in deblur
    assert any(" denoise " in line for line in rows) and any(" inpaint " in line for line in rows)


def test_train_apply_and_eval_a_task_from_another_distribution(
    example_plugin_site, run_cli, photos: Path, tmp_path: Path
) -> None:
    site = [example_plugin_site]
    run = tmp_path / "run"
    trained = run_cli(
        "train",
        "deblur",
        "--data",
        str(photos),
        "--out",
        str(run),
        "--steps",
        "4",
        "--crop",
        "48",
        "--batch-size",
        "2",
        extra_path=site,
    )
    assert trained.returncode == 0, trained.stderr
    assert "blur is added on the fly" in trained.stdout + trained.stderr

    fixed = tmp_path / "fixed"
    applied = run_cli(
        "apply",
        "--in",
        str(photos),
        "--out",
        str(fixed),
        "--model",
        str(run),
        "--task",
        "deblur",
        extra_path=site,
    )
    assert applied.returncode == 0, applied.stderr
    for source in sorted(photos.iterdir()):
        output = np.asarray(Image.open(fixed / source.name))
        assert output.shape == np.asarray(Image.open(source)).shape

    scored = run_cli(
        "eval",
        "--task",
        "deblur",
        "--data",
        str(photos),
        "--model",
        str(run),
        "--no-lpips",
        "--json",
        str(tmp_path / "scores.json"),
        extra_path=site,
    )
    assert scored.returncode == 0, scored.stderr
    assert "deblur" in scored.stdout

    refused = run_cli(
        "eval",
        "--task",
        "deblur",
        "--data",
        str(photos),
        "--model",
        str(run),
        "--sigma",
        "25",
        extra_path=site,
    )
    assert refused.returncode != 0 and "degrades images its own way" in refused.stderr


def test_ganrestore_itself_declares_no_deblur_task() -> None:
    """The example's task reaches ganrestore only through the example's own entry points."""
    declared = metadata.distribution("ganrestore").entry_points.select(group="ganrestore.tasks")
    assert {"denoise", "inpaint"} <= {entry.name for entry in declared}
    assert "deblur" not in {entry.name for entry in declared}


def test_an_unknown_task_is_refused_and_the_installed_ones_are_listed(
    run_cli, photos: Path, tmp_path: Path
) -> None:
    # The installed tasks are those of this environment: the example may be installed or not.
    installed = TASKS.names()
    result = run_cli("train", "no_such_task", "--data", str(photos), "--out", str(tmp_path / "r"))

    assert result.returncode != 0
    assert "unknown task 'no_such_task'" in result.stderr
    assert all(name in result.stderr for name in installed) and "denoise" in installed
    assert "Traceback" not in result.stderr
