"""Small real training folders and tiny configs, so whole runs take seconds on a CPU."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from click.testing import Result
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app

SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "brick")


def train_cli(*args: str) -> Result:
    """``ganrestore train ARGS`` in this process (as a user runs it, without the start-up)."""
    return CliRunner().invoke(app, ["train", *args], env={"COLUMNS": "200"})


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """``data/clean/`` with six 72×80 crops of scikit-image's sample photos (PNG)."""
    clean = tmp_path / "data" / "clean"
    clean.mkdir(parents=True)
    for name in SAMPLES:
        image = np.asarray(getattr(skimage.data, name)())
        Image.fromarray(image[100:172, 100:180]).save(clean / f"{name}.png")
    return tmp_path / "data"


TINY_CONFIG = """
task = "{task}"
steps = {steps}
seed = 3
log_every = 2
validate_every = {validate_every}
checkpoint_every = {checkpoint_every}

[generator]
name = "unet"
params = {{ depth = 3, base_channels = 8, norm = "{norm}", dropout = {dropout} }}

[discriminator]
name = "patchgan"
params = {{ width = 8, n_layers = 2, norm = "{norm}" }}

[data]
crop = 32
batch_size = 2
workers = {workers}
val_size = 32
val_images = 2

[loss]
adversarial = "lsgan"
terms = {{ {terms} }}

[optim]
ema_decay = 0.9
"""


@pytest.fixture
def tiny_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a TOML config for tiny networks; keyword arguments fill the template."""

    def write(task: str = "denoise", **values: object) -> Path:
        defaults: dict[str, object] = {
            "steps": 6,
            "validate_every": 3,
            "checkpoint_every": 3,
            "norm": "batch",
            "dropout": 0.5,
            "workers": 0,
            "terms": "l1 = 100.0" if task == "denoise" else "hole_l1 = 100.0",
        }
        defaults.update(values)
        path = tmp_path / f"{task}-tiny.toml"
        path.write_text(TINY_CONFIG.format(task=task, **defaults))
        return path

    return write
