"""The bundled networks behind the page: the shipped examples, and a whole 12 MP photo."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganrestore.data.io import read_image

from .conftest import wait_for_job

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "broken"


def test_the_shipped_examples_are_filled_denoised_and_saved(
    make_client, bundled_models, tmp_path: Path
) -> None:
    """`ganrestore serve --in examples/broken --out fixed`, as the README says."""
    out = tmp_path / "fixed"
    client = make_client(bundled_models, input_dir=EXAMPLES, output_dir=out)
    rocket = client.post("/api/inputs/open", json={"name": "rocket.png"}).json()
    assert rocket["mask_source"] == "its mask file rocket_mask.png"
    mask = client.get(f"/api/photos/{rocket['id']}/mask.png").content
    url = f"/api/photos/{rocket['id']}/jobs?task=inpaint&version=0&grow=0"
    job = wait_for_job(client, client.post(url, content=mask).json())
    assert job["state"] == "done", job
    saved = client.post(f"/api/photos/{rocket['id']}/versions/1/save").json()
    assert saved == {"saved": str(out / "rocket.png"), "next": None}
    holes = np.asarray(Image.open(io.BytesIO(mask))) > 127
    before = read_image(EXAMPLES / "rocket.png").pixels
    after = read_image(out / "rocket.png").pixels
    assert np.array_equal(after[~holes], before[~holes])  # grow 0: exactly the mask is filled
    assert np.abs(after[holes] - before[holes]).mean() > 0.01

    cat = client.post("/api/inputs/open", json={"name": "chelsea_noisy.png"}).json()
    url = f"/api/photos/{cat['id']}/jobs?task=denoise&version=0"
    job = wait_for_job(client, client.post(url).json())
    assert job["state"] == "done", job
    saved = client.post(f"/api/photos/{cat['id']}/versions/1/save").json()
    assert saved["next"] == "coffee_gray_noisy.png"
    noisy = read_image(EXAMPLES / "chelsea_noisy.png").pixels
    clean = read_image(out / "chelsea_noisy.png").pixels
    roughness = lambda x: np.abs(np.diff(x, axis=1)).mean()  # noqa: E731
    assert roughness(clean) < 0.7 * roughness(noisy)


def test_the_pages_grow_widens_every_painted_hole(
    make_client, bundled_models, photos: Path
) -> None:
    from scipy.ndimage import binary_dilation

    client = make_client(bundled_models, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "cat.png"}).json()
    mask = client.get(f"/api/photos/{photo['id']}/mask.png").content
    url = f"/api/photos/{photo['id']}/jobs?task=inpaint&version=0&grow=2"  # the page's default
    job = wait_for_job(client, client.post(url, content=mask).json())
    assert job["state"] == "done", job
    result = np.asarray(
        Image.open(io.BytesIO(client.get(f"/api/photos/{photo['id']}/versions/1/file").content))
    )
    original = np.asarray(Image.open(photos / "cat.png"))
    holes = np.asarray(Image.open(io.BytesIO(mask))) > 127
    grown = binary_dilation(holes, iterations=3)
    assert np.array_equal(result[~grown], original[~grown])
    changed = (result != original).any(axis=2)
    assert changed[grown & ~holes].any()  # the ring around the painted hole is filled too


TWELVE_MEGAPIXELS = textwrap.dedent(
    """
    import io, json, resource, sys, time, warnings
    import numpy as np, skimage.data
    from PIL import Image
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient
    from ganrestore.web.app import create_app
    from ganrestore.web.config import ServeConfig
    from ganrestore.web.models import ModelCache

    photo = Image.fromarray(skimage.data.astronaut()).resize((4000, 3000), Image.BICUBIC)
    exif = Image.Exif()
    exif[0x0110] = "twelve megapixels"
    data = io.BytesIO()
    photo.save(data, format="JPEG", quality=90, exif=exif.tobytes())
    holes = np.zeros((3000, 4000), np.uint8)
    holes[1200:1500, 1800:2300] = 255
    mask = io.BytesIO()
    Image.fromarray(holes).save(mask, format="PNG")
    app = create_app(ServeConfig(), ModelCache(device="cpu"))
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        start = time.perf_counter()
        opened = client.post("/api/uploads?name=big.jpg", content=data.getvalue()).json()
        url = f"/api/photos/{opened['id']}/jobs?task=inpaint&version=0"
        job = client.post(url, content=mask.getvalue()).json()
        while job["state"] not in ("done", "failed"):
            time.sleep(0.2)
            job = client.get(f"/api/jobs/{job['id']}").json()
        result = client.get(f"/api/photos/{opened['id']}/versions/1/file").content
        preview = client.get(f"/api/photos/{opened['id']}/versions/1/preview.png").content
        seconds = time.perf_counter() - start
    image = Image.open(io.BytesIO(result))
    print(json.dumps({
        "job": job["state"], "message": job["message"], "size": image.size,
        "tiles": [job["done"], job["total"]],
        "format": image.format, "camera": image.getexif().get(0x0110),
        "preview": Image.open(io.BytesIO(preview)).size, "seconds": seconds,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }))
    """
)


def test_a_whole_12_megapixel_photo_is_filled_within_3_gb() -> None:
    """Upload, fill, preview and download a 4000x3000 JPEG in a process of its own (so that its
    peak memory is the server's alone)."""
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    run = subprocess.run(
        [sys.executable, "-c", TWELVE_MEGAPIXELS], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["job"] == "done", report["message"]
    assert report["size"] == [4000, 3000] and report["preview"] == [4000, 3000]
    done, total = report["tiles"]
    assert total > 0 and done == total  # the progress bar followed the tiles
    assert report["format"] == "JPEG" and report["camera"] == "twelve megapixels"
    assert report["peak_gb"] < 3.0, report


def test_the_pages_strength_and_noise_level_reach_the_denoiser_for_one_job(
    make_client, bundled_models
) -> None:
    client = make_client(bundled_models, input_dir=EXAMPLES)
    cat = client.post("/api/inputs/open", json={"name": "chelsea_noisy.png"}).json()
    noisy = np.asarray(Image.open(EXAMPLES / "chelsea_noisy.png")).astype(int)
    jobs = f"/api/photos/{cat['id']}/jobs?task=denoise&version=0"

    def restored(query: str) -> np.ndarray:
        job = wait_for_job(client, client.post(jobs + query).json())
        assert job["state"] == "done", job
        data = client.get(f"/api/photos/{cat['id']}/versions/{job['version']}/file").content
        return np.asarray(Image.open(io.BytesIO(data))).astype(int)

    assert np.array_equal(restored("&strength=0"), noisy)  # the photo as it is
    full, kept_grain = restored(""), restored("&noise_sigma=2")
    half = restored("&strength=0.5")
    change = lambda x: np.abs(x - noisy).mean()  # noqa: E731
    assert change(half) == pytest.approx(change(full) / 2, rel=0.05)
    assert change(kept_grain) < 0.8 * change(full)
    assert np.array_equal(restored(""), full)  # the settings held for their own jobs only
