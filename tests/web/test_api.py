"""The server's API, as the page uses it: open, paint, restore, continue, download, save.

Restorations run the OpenCV fill (``baseline:telea``) and the total-variation denoiser
(``baseline:tv``) through ``ganrestore.load_restorer``, exactly as a bundled network would run,
and the bundled upscaling networks (small: fast enough here).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganrestore
from ganrestore.data.io import read_image
from ganrestore.devices import choose_precision
from ganrestore.errors import GanrestoreError
from ganrestore.tasks import MAX_GROW

from .conftest import FAST_MODELS, OBJECT, photo_with_object, png_bytes, wait_for_job


def object_mask(shape: tuple[int, int], margin: int = 3) -> np.ndarray:
    """(H, W) uint8, 255 over the red object of astronaut.png and ``margin`` pixels around it."""
    top, bottom, left, right = OBJECT
    mask = np.zeros(shape, np.uint8)
    mask[top - margin : bottom + margin, left - margin : right + margin] = 255
    return mask


def restore(
    client, photo: dict, task: str, mask: np.ndarray | None = None, version: int = 0, query=""
):
    """Run a job to its end (``query``: more of its parameters); returns the finished job."""
    url = f"/api/photos/{photo['id']}/jobs?task={task}&version={version}{query}"
    answer = client.post(url, content=b"" if mask is None else png_bytes(mask))
    assert answer.status_code == 202, answer.text
    job = wait_for_job(client, answer.json())
    assert job["state"] == "done", job
    return job


def download(client, photo: dict, version: int) -> bytes:
    answer = client.get(f"/api/photos/{photo['id']}/versions/{version}/file")
    assert answer.status_code == 200, answer.text
    return answer.content


def decoded(data: bytes, tmp_path: Path, name: str):
    path = tmp_path / name
    path.write_bytes(data)
    return read_image(path)


def test_the_page_and_its_scripts_are_served_without_any_other_site(
    make_client, fast_models
) -> None:
    from ganrestore.web.app import STATIC_DIR

    client = make_client(fast_models)
    page = client.get("/").text
    assert 'src="/static/app.js"' in page and "http" not in page
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""  # as GET, without the body
    files = sorted(path.name for path in STATIC_DIR.iterdir())
    assert {"index.html", "app.js", "style.css"} <= set(files)
    for name in files:
        text = client.get(f"/static/{name}").text
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, name


@pytest.mark.slow
def test_the_server_does_not_import_the_command_line() -> None:
    """Data flows data -> models -> engine -> inference -> web -> cli, never back."""
    code = (
        "import sys, ganrestore.web.app, ganrestore.web.server; "
        "print(sorted(m for m in sys.modules if m.startswith('ganrestore.cli')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_inputs_are_listed_and_a_found_mask_comes_with_its_photo(
    make_client, fast_models, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "cat.png").write_bytes(b"saved before")
    client = make_client(fast_models, input_dir=photos, output_dir=out)
    listing = client.get("/api/inputs").json()
    assert [(i["name"], i["saved"]) for i in listing["images"]] == [
        ("astronaut.png", False),
        ("camera.jpg", False),
        ("cat.png", True),
        ("deep.png", False),
        ("gray.png", False),
        ("holes.png", False),
    ]
    cat = client.post("/api/inputs/open", json={"name": "cat.png"}).json()
    assert (cat["width"], cat["height"], cat["mask"]) == (80, 60, True)
    assert cat["mask_source"] == "its mask file cat_mask.png"
    found = np.asarray(
        Image.open(io.BytesIO(client.get(f"/api/photos/{cat['id']}/mask.png").content))
    )
    assert np.array_equal(found, np.asarray(Image.open(photos / "cat_mask.png")))
    holes = client.post("/api/inputs/open", json={"name": "holes.png"}).json()
    assert holes["alpha"] and holes["mask_source"] == "its transparent pixels"
    mask = np.asarray(
        Image.open(io.BytesIO(client.get(f"/api/photos/{holes['id']}/mask.png").content))
    )
    assert mask[10:20, 20:30].all() and mask.sum() == 100 * 255
    plain = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
    assert (plain["channels"], plain["mask"]) == (1, False)
    assert client.get(f"/api/photos/{plain['id']}/mask.png").status_code == 404
    preview = Image.open(
        io.BytesIO(client.get(f"/api/photos/{plain['id']}/versions/0/preview.png").content)
    )
    assert (preview.size, preview.mode) == ((60, 50), "L")


def test_a_fill_changes_the_mask_only_and_equals_what_apply_writes(
    make_client, fast_models, photos: Path, tmp_path: Path
) -> None:
    from ganrestore.inference import ApplyOptions, run_folder

    client = make_client(fast_models, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    mask = object_mask((120, 160))
    job = restore(client, photo, "inpaint", mask)
    assert (job["version"], job["base"], job["task"]) == (1, 0, "inpaint")
    data = download(client, photo, 1)
    original = np.asarray(Image.open(photos / "astronaut.png"))
    result = np.asarray(Image.open(io.BytesIO(data)))
    assert np.array_equal(result[mask == 0], original[mask == 0])
    top, bottom, left, right = OBJECT
    red = (result[top:bottom, left:right, 0] > 200) & (result[top:bottom, left:right, 1] < 60)
    assert red.mean() < 0.05  # the red object is gone
    # `ganrestore apply` with the same model and mask file writes the very same bytes.
    single, masks, out = tmp_path / "single", tmp_path / "masks", tmp_path / "applied"
    single.mkdir(), masks.mkdir()
    (single / "astronaut.png").write_bytes((photos / "astronaut.png").read_bytes())
    Image.fromarray(mask).save(masks / "astronaut.png")
    summary = run_folder(fast_models.get("inpaint"), ApplyOptions(single, out, masks))
    assert summary.exit_code == 0
    assert (out / "astronaut.png").read_bytes() == data


def test_a_result_is_the_input_of_the_next_restoration(make_client, fast_models, photos) -> None:
    client = make_client(fast_models, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    first = object_mask((120, 160))
    restore(client, photo, "inpaint", first)
    second = np.zeros((120, 160), np.uint8)
    second[90:110, 10:40] = 255
    job = restore(client, photo, "inpaint", second, version=1)
    assert (job["base"], job["version"]) == (1, 2)
    one = np.asarray(Image.open(io.BytesIO(download(client, photo, 1))))
    two = np.asarray(Image.open(io.BytesIO(download(client, photo, 2))))
    assert np.array_equal(two[second == 0], one[second == 0])  # the first fill is kept
    assert not np.array_equal(two[second > 0], one[second > 0])
    # Going back (undo on the page) and restoring from an earlier version works too.
    job = restore(client, photo, "inpaint", second, version=0)
    assert (job["base"], job["version"]) == (0, 3)


def test_downloads_keep_format_exif_bit_depth_gray_and_alpha(
    make_client, fast_models, photos: Path, tmp_path: Path
) -> None:
    client = make_client(fast_models, input_dir=photos)
    camera = client.post("/api/inputs/open", json={"name": "camera.jpg"}).json()
    assert (camera["format"], camera["exif"]) == ("JPEG", True)
    restore(client, camera, "denoise")
    data = download(client, camera, 1)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.getexif()[0x0110] == "ganrestore test camera"
    answer = client.get(f"/api/photos/{camera['id']}/versions/1/file")
    assert answer.headers["content-type"] == "image/jpeg"
    assert 'filename="camera-restored.jpg"' in answer.headers["content-disposition"]

    deep = client.post("/api/inputs/open", json={"name": "deep.png"}).json()
    restore(client, deep, "denoise")
    source = read_image(photos / "deep.png")
    result = decoded(download(client, deep, 1), tmp_path, "deep.png")
    assert (result.bit_depth, result.format) == (16, "PNG") and source.bit_depth == 16
    levels = np.unique(np.rint(result.pixels * 65535) % 257)
    assert len(levels) > 1  # values between the 8-bit levels: not squeezed through 8 bits

    gray = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
    restore(client, gray, "denoise")
    assert decoded(download(client, gray, 1), tmp_path, "gray.png").is_grayscale

    holes = client.post("/api/inputs/open", json={"name": "holes.png"}).json()
    found = client.get(f"/api/photos/{holes['id']}/mask.png").content
    restore(client, holes, "inpaint", np.asarray(Image.open(io.BytesIO(found))))
    result = decoded(download(client, holes, 1), tmp_path, "holes.png")
    assert result.alpha is not None and (result.alpha == 1).all()  # the holes are filled


def test_save_writes_the_download_into_out_once_and_names_the_next_photo(
    make_client, fast_models, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixed"
    client = make_client(fast_models, input_dir=photos, output_dir=out)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    restore(client, photo, "inpaint", object_mask((120, 160)))
    answer = client.post(f"/api/photos/{photo['id']}/versions/1/save")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"saved": str(out / "astronaut.png"), "next": "camera.jpg"}
    assert (out / "astronaut.png").read_bytes() == download(client, photo, 1)
    saved = (out / "astronaut.png").read_bytes()
    again = client.post(f"/api/photos/{photo['id']}/versions/0/save")
    assert again.status_code == 409
    assert "exists and was not replaced" in again.json()["detail"]
    assert (out / "astronaut.png").read_bytes() == saved
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.png"]  # no temporary left
    listing = client.get("/api/inputs").json()["images"]
    assert [i["name"] for i in listing if i["saved"]] == ["astronaut.png"]
    last = client.post("/api/inputs/open", json={"name": "holes.png"}).json()
    assert client.post(f"/api/photos/{last['id']}/versions/0/save").json()["next"] is None


def test_an_upload_is_saved_under_a_safe_name_inside_out(
    make_client, fast_models, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixed"
    client = make_client(fast_models, output_dir=out)
    data = (photos / "astronaut.png").read_bytes()
    photo = client.post("/api/uploads?name=..%2F..%2Fmy%20photo%3F.png", content=data).json()
    assert photo["name"] == "my photo_.png" and not photo["listed"]
    answer = client.post(f"/api/photos/{photo['id']}/versions/0/save").json()
    assert answer == {"saved": str(out / "my photo_.png"), "next": None}
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == []
    assert client.get("/api/inputs").status_code == 404  # no --in: uploads only


def test_a_file_is_written_in_the_format_its_name_says_as_apply_writes_it(
    make_client, fast_models, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixed"
    client = make_client(fast_models, output_dir=out)
    jpeg = (photos / "camera.jpg").read_bytes()  # JPEG bytes under a .png name
    photo = client.post("/api/uploads?name=renamed.png", content=jpeg).json()
    assert photo["name"] == "renamed.png" and photo["format"] == "PNG"
    answer = client.get(f"/api/photos/{photo['id']}/versions/0/file")
    assert answer.headers["content-type"] == "image/png"
    assert client.post(f"/api/photos/{photo['id']}/versions/0/save").status_code == 200
    with Image.open(out / "renamed.png") as saved:
        assert saved.format == "PNG"


def test_without_out_saving_says_to_download(make_client, fast_models, photos: Path) -> None:
    client = make_client(fast_models, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
    answer = client.post(f"/api/photos/{photo['id']}/versions/0/save")
    assert answer.status_code == 400 and "download" in answer.json()["detail"]


def test_unknown_photos_versions_and_jobs_are_404_with_a_message(make_client, fast_models) -> None:
    client = make_client(fast_models)
    for url in ("/api/photos/nope/versions/0/preview.png", "/api/jobs/nope"):
        answer = client.get(url)
        assert answer.status_code == 404 and answer.json()["detail"]
    photo = client.post("/api/uploads?name=a.png", content=png_bytes(np.zeros((8, 8), np.uint8)))
    answer = client.get(f"/api/photos/{photo.json()['id']}/versions/5/file")
    assert answer.status_code == 404 and "version 5" in answer.json()["detail"]


def test_a_model_that_fails_fails_its_job_and_the_server_goes_on(make_client, photos) -> None:
    from ganrestore.web.models import ModelCache

    client = make_client(ModelCache({"inpaint": "no-such-model"}), input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    url = f"/api/photos/{photo['id']}/jobs?task=inpaint&version=0"
    job = wait_for_job(client, client.post(url, content=png_bytes(object_mask((120, 160)))).json())
    assert job["state"] == "failed" and "--model no-such-model" in job["message"]
    assert client.get("/api/config").status_code == 200
    reported = {task["name"]: task for task in client.get("/api/tasks").json()["tasks"]}
    assert "--model no-such-model" in reported["inpaint"]["error"]  # the page says why
    assert reported["denoise"]["error"] is None  # the other tasks still run


def test_unsafe_folders_are_refused_before_serving(photos: Path, tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    from ganrestore.web.app import create_app
    from ganrestore.web.config import ServeConfig

    for settings, message in (
        ({"input_dir": photos, "output_dir": photos / "fixed"}, "inside --in"),
        ({"input_dir": photos / "cat.png"}, "is a file, not a folder"),
        ({"input_dir": tmp_path / "missing"}, "is no folder"),
        ({"output_dir": photos / "cat.png"}, "exists and is not a folder"),
    ):
        with pytest.raises(GanrestoreError, match=message):
            create_app(ServeConfig(**settings))


def test_a_denoising_strength_or_noise_level_out_of_range_or_for_a_baseline_is_refused(
    make_client, fast_models, photos: Path
) -> None:
    client = make_client(fast_models, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    jobs = f"/api/photos/{photo['id']}/jobs?task=denoise&version=0"
    for query, message in (
        ("&strength=1.5", "strength must be from 0 to 1"),
        ("&noise_sigma=-3", "noise_sigma must be from 0 to 255"),
        ("&strength=nan", "strength must be from 0 to 1"),
        (f"&grow={MAX_GROW + 1}", f"grow must be from 0 to {MAX_GROW} pixels"),
    ):
        answer = client.post(jobs + query)
        assert answer.status_code == 400 and message in answer.json()["detail"], answer.text
    failed = wait_for_job(client, client.post(jobs + "&noise_sigma=5").json())
    assert failed["state"] == "failed" and "takes no noise level" in failed["message"]
    zero = wait_for_job(client, client.post(jobs + "&noise_sigma=0").json())  # 0 is a level too
    assert zero["state"] == "failed" and "takes no noise level" in zero["message"]
    assert restore(client, photo, "denoise")["version"] == 1  # the baseline itself still works
    done = wait_for_job(client, client.post(jobs + "&strength=1").json())  # all: the default
    assert done["state"] == "done", done


def test_a_file_system_error_on_save_is_a_message_naming_the_file_not_a_traceback(
    make_client, fast_models, photos: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "fixed"
    client = make_client(fast_models, input_dir=photos, output_dir=out)
    photo = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
    out.write_bytes(b"--out was replaced by a file after the server started")
    answer = client.post(f"/api/photos/{photo['id']}/versions/0/save")
    assert answer.status_code == 500, answer.text
    detail = answer.json()["detail"]
    assert f"cannot save {out / 'gray.png'}" in detail and "download the result" in detail
    assert "Traceback" not in caplog.text
    assert client.get("/api/config").status_code == 200  # still serving


def test_a_failed_restoration_names_the_bundled_model_not_where_it_is_installed() -> None:
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    from ganrestore.modelfile.source import bundled_path
    from ganrestore.web.models import without_install_paths

    installed = Path(ganrestore.__file__).resolve().parent
    raw = f"{bundled_path('denoise')} takes no mask; {installed / 'inference' / 'tiling.py'}"
    shown = without_install_paths(raw)
    assert shown == "the bundled denoise model takes no mask; ganrestore/inference/tiling.py"
    assert str(Path(sys.prefix)) not in without_install_paths(f"in {sys.prefix}/lib/torch/nn.py")


@pytest.mark.slow
def test_a_failed_job_of_a_bundled_model_shows_no_install_path(
    make_client, bundled_models, photos: Path
) -> None:
    client = make_client(bundled_models, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    url = f"/api/photos/{photo['id']}/jobs?task=inpaint&version=0"
    job = wait_for_job(client, client.post(url).json())  # no mask: it fails
    assert job["state"] == "failed"
    assert job["message"].startswith("the bundled inpaint model fills holes"), job["message"]
    assert str(Path(ganrestore.__file__).parent) not in job["message"]
    assert "/" not in job["message"]


def test_the_photo_says_whether_it_has_a_colour_profile(make_client, fast_models) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.fromarray(photo_with_object()).save(buffer, format="JPEG", icc_profile=profile)
    client = make_client(fast_models)
    tagged = client.post("/api/uploads?name=tagged.jpg", content=buffer.getvalue()).json()
    plain = client.post("/api/uploads?name=plain.png", content=png_bytes(photo_with_object()))
    assert (tagged["icc"], tagged["exif"]) == (True, False)
    assert plain.json()["icc"] is False


@pytest.mark.slow
def test_a_torchscript_model_runs_only_when_trusted(
    make_client, photos: Path, torchscript_denoiser: Path
) -> None:
    from ganrestore.web.models import ModelCache

    with pytest.raises(GanrestoreError, match="--trust-torchscript"):
        ModelCache({"denoise": str(torchscript_denoiser)}, device="cpu").get("denoise")
    trusted = ModelCache({"denoise": str(torchscript_denoiser)}, "cpu", trust_torchscript=True)
    client = make_client(trusted, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
    assert restore(client, photo, "denoise")["version"] == 1


# --- the tasks the page offers -------------------------------------------------------------------


def test_every_installed_task_is_reported_with_its_model_and_what_it_asks_for(
    make_client, fast_models, bundled_models
) -> None:
    from ganrestore.tasks import build_task, task_names

    fast = client_tasks(make_client(fast_models))
    assert sorted(fast) == sorted(task_names())
    assert list(fast)[:2] == ["inpaint", "denoise"]  # where apply routes masked, then other photos
    for name, task in fast.items():
        declared = build_task(name)
        assert task["scale"] == declared.scale and task["summary"], task
        assert ("mask" in task["controls"]) == declared.uses_mask, task
        assert set(task["controls"]) <= {*declared.controls, "noise_sigma"}, task
    # A classical baseline takes the mask its task needs, and none of the settings.
    assert fast["inpaint"]["controls"] == ["mask"] and fast["denoise"]["controls"] == []
    assert fast["inpaint"]["model"] == "baseline:telea"
    upscale = fast["upscale-x4"]  # not given: the bundled model
    assert upscale["controls"] == ["strength"] and upscale["error"] is None
    assert (upscale["model"], upscale["description"]) == (
        "upscale-x4",
        "the bundled upscale-x4 model",
    )
    # A network takes its task's settings, and the noise level when it is told one.
    bundled = client_tasks(make_client(bundled_models))
    assert bundled["inpaint"]["controls"] == ["mask", "grow"]
    assert bundled["denoise"]["controls"] == ["strength", "noise_sigma"]
    assert bundled["upscale-x2"]["controls"] == ["strength"]
    assert fast["inpaint"]["precision"] is None  # a classical method
    on_this_cpu = choose_precision(torch.device("cpu"))  # bf16 where the CPU computes it
    assert bundled["denoise"]["precision"] == on_this_cpu


def client_tasks(client) -> dict[str, dict]:
    answer = client.get("/api/tasks")
    assert answer.status_code == 200, answer.text
    return {task["name"]: task for task in answer.json()["tasks"]}


def test_a_task_installed_without_a_model_is_reported_and_refused_with_what_to_do(
    make_client, photos: Path
) -> None:
    from ganrestore.registry import TASKS
    from ganrestore.tasks.upscale import UpscaleTask
    from ganrestore.web.models import ModelCache

    with TASKS.isolated():
        TASKS.register("upscale-x3")(lambda: UpscaleTask(3))  # no bundled upscale-x3 weights
        client = make_client(ModelCache(FAST_MODELS, device="cpu"), input_dir=photos)
        reported = client_tasks(client)["upscale-x3"]
        assert reported["model"] is None and reported["scale"] == 3
        assert "restart ganrestore serve with --model" in reported["error"]
        photo = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
        answer = client.post(f"/api/photos/{photo['id']}/jobs?task=upscale-x3&version=0")
        assert answer.status_code == 400 and answer.json()["detail"] == reported["error"]


def test_an_upscale_makes_the_photo_four_times_larger_and_saves_it(
    make_client, fast_models, photos: Path, tmp_path: Path
) -> None:
    from ganrestore.inference import ApplyOptions, run_folder

    out = tmp_path / "fixed"
    client = make_client(fast_models, input_dir=photos, output_dir=out)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    job = restore(client, photo, "upscale-x4")
    assert (job["version"], job["width"], job["height"]) == (1, 640, 480)
    data = download(client, photo, 1)
    result = np.asarray(Image.open(io.BytesIO(data))).astype(np.float32) / 255
    assert result.shape == (480, 640, 3)
    bicubic = enlarged(photo_with_object(), 4)
    # the photo enlarged in place: near its bicubic upscale (the model's detail moves it about
    # 0.02), and nearer than the upscale moved by one input pixel (0.046 from it)
    distance = np.abs(result - bicubic).mean()
    assert distance < 0.035
    assert distance < np.abs(result[:, 4:] - bicubic[:, :-4]).mean()
    assert distance < np.abs(result[4:] - bicubic[:-4]).mean()
    preview = Image.open(
        io.BytesIO(client.get(f"/api/photos/{photo['id']}/versions/1/preview.png").content)
    )
    assert preview.size == (640, 480)
    before = Image.open(
        io.BytesIO(client.get(f"/api/photos/{photo['id']}/versions/0/preview.png").content)
    )
    assert before.size == (160, 120)  # the version it was made from keeps its size
    answer = client.post(f"/api/photos/{photo['id']}/versions/1/save")
    assert answer.status_code == 200, answer.text
    assert (out / "astronaut.png").read_bytes() == data
    # `ganrestore apply` with the same model writes the very same bytes.
    single, applied = tmp_path / "single", tmp_path / "applied"
    single.mkdir()
    (single / "astronaut.png").write_bytes((photos / "astronaut.png").read_bytes())
    summary = run_folder(fast_models.get("upscale-x4"), ApplyOptions(single, applied))
    assert summary.exit_code == 0
    assert (applied / "astronaut.png").read_bytes() == data


def enlarged(pixels: np.ndarray, scale: int) -> np.ndarray:
    """``(H, W[, C])`` uint8 -> its bicubic upscale ``(sH, sW, C)`` float in [0, 1]."""
    from ganrestore.tasks.upscale import bicubic_upscale

    image = torch.from_numpy(pixels.reshape(*pixels.shape[:2], -1).copy()).permute(2, 0, 1)
    return bicubic_upscale(image[None].float() / 255, scale)[0].permute(1, 2, 0).numpy()


def test_an_upscale_enlarges_the_alpha_too_and_takes_its_strength(
    make_client, fast_models, photos: Path
) -> None:
    client = make_client(fast_models, input_dir=photos)
    holes = client.post("/api/inputs/open", json={"name": "holes.png"}).json()  # 60x50 RGBA
    restore(client, holes, "upscale-x2")
    image = Image.open(io.BytesIO(download(client, holes, 1)))
    assert (image.size, image.mode) == ((120, 100), "RGBA")
    alpha = np.asarray(image)[..., 3]
    # The 10x10 transparent square, enlarged bilinearly as the colours are: its inside stays
    # transparent and its edge (half an input pixel) is a blend, as in the resampled colours.
    assert (alpha[21:39, 41:59] == 0).all() and (alpha == 0).sum() == 18 * 18
    assert (alpha[20, 41:59] == 64).all() and (alpha[:19] == 255).all()
    gray = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
    none = restore(client, gray, "upscale-x4", query="&strength=0")
    result = np.asarray(Image.open(io.BytesIO(download(client, gray, none["version"]))))
    assert result.shape == (200, 240)  # gray stays gray
    bicubic = enlarged(np.asarray(Image.open(photos / "gray.png")), 4)[..., 0]
    assert np.abs(result / 255 - bicubic).max() <= 1 / 255 + 1e-6  # strength 0: bicubic alone


def test_a_setting_the_task_or_its_model_does_not_take_fails_the_job_with_a_message(
    make_client, fast_models, photos: Path
) -> None:
    client = make_client(fast_models, input_dir=photos)
    photo = client.post("/api/inputs/open", json={"name": "gray.png"}).json()
    jobs = f"/api/photos/{photo['id']}/jobs?version=0&task="
    for query, message in (
        ("upscale-x4&noise_sigma=5", "the bundled upscale-x4 model takes no noise level"),
        ("upscale-x4&grow=3", "the bundled upscale-x4 model takes no grow"),
        ("inpaint&strength=0.5", "takes no strength"),
    ):
        mask = np.zeros((50, 60), np.uint8)
        mask[10:20, 10:20] = 255
        body = png_bytes(mask) if query.startswith("inpaint") else b""
        job = wait_for_job(client, client.post(jobs + query, content=body).json())
        assert job["state"] == "failed" and message in job["message"], job
