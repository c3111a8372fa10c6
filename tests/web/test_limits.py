"""What the server holds stays bounded: the memory budget, request bodies, names in messages.

The budget (``--memory-mb``) covers the open photos and the work in progress; requests beyond it
close the least recently used photos, then get 429 (wait) or, when they could never fit, 413.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import weakref
from pathlib import Path

import numpy as np
import pytest

from ganrestore.web.errors import Busy, TooLarge

from .conftest import header_only_png, photo_with_object, png_bytes, wait_for_job

REPO_ROOT = Path(__file__).resolve().parents[2]
MB = 1_000_000


def a_photo(seed: int, shape: tuple[int, int] = (120, 160)):
    from ganrestore.data.metadata import ImageMetadata
    from ganrestore.web.photos import Photo, new_id

    photo = Photo(new_id(), f"p{seed}.png", None, "PNG", 8, ImageMetadata())
    pixels = np.random.default_rng(seed).random((*shape, 3), np.float32)
    photo.add(pixels, None)
    return photo


# --- the budget, as a rule -----------------------------------------------------------------------


def test_a_reservation_that_does_not_fit_beside_others_is_refused_with_429_until_released() -> None:
    from ganrestore.web.budget import MemoryBudget

    budget = MemoryBudget(10 * MB)
    first = budget.reserve(6 * MB, "opening 'a.png' (4000x3000)")
    with pytest.raises(Busy) as refused:
        budget.reserve(5 * MB, "opening 'b.png' (3000x2000)")
    message = str(refused.value)
    assert refused.value.status == 429
    for fragment in ("opening 'b.png' (3000x2000)", "5 MB", "10 MB (--memory-mb)", "wait"):
        assert fragment in message, message
    first.release()
    first.release()  # twice is harmless
    with budget.reserve(5 * MB, "opening 'b.png'"):
        assert budget.in_use() == 5 * MB
    assert budget.in_use() == 0
    with pytest.raises(TooLarge, match=r"more than the server's budget of 10 MB.*--memory-mb"):
        budget.reserve(11 * MB, "restoring 'huge.png' (20000x10000)")


def test_the_least_recently_used_photos_are_closed_to_make_room_but_not_pinned_ones() -> None:
    from ganrestore.web.budget import MemoryBudget
    from ganrestore.web.errors import NotFound
    from ganrestore.web.photos import PhotoStore

    store = PhotoStore()
    one, two, three = (store.add(a_photo(seed)) for seed in (1, 2, 3))
    size = one.nbytes  # 120 x 160 x 3 bytes
    assert size == 57_600 and store.held_bytes() == 3 * size
    budget = MemoryBudget(4 * size, store)
    store.get(one.id)  # used again: two is now the least recently used
    with budget.reserve(size, "a preview", photo_id=three.id):
        pass
    assert store.held_bytes() == 3 * size  # it fitted: nothing closed
    with budget.reserve(2 * size, "opening 'c.png'"):
        with pytest.raises(NotFound, match="no longer open"):
            store.get(two.id)
        assert store.get(one.id) is one and store.get(three.id) is three
        assert budget.in_use() <= budget.limit
    restoring = budget.reserve(2 * size, "restoring 'p1.png'", photo_id=one.id)
    # three goes; one is pinned by the restoration, so the next request has to wait.
    with pytest.raises(Busy):
        budget.reserve(2 * size, "opening 'd.png'")
    assert store.get(one.id) is one
    restoring.release()
    with budget.reserve(2 * size, "opening 'd.png'"):
        assert budget.in_use() <= budget.limit


# --- the budget, through the app --------------------------------------------------------------


def test_a_photo_or_restoration_larger_than_the_whole_budget_is_refused_with_what_to_do(
    make_client, fast_models, photos: Path
) -> None:
    # 120 x 160 pixels: decoding reserves 1.2 MB, a restoration about 80 MB.
    client = make_client(fast_models, input_dir=photos, memory_budget_bytes=20 * MB)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    answer = client.post(f"/api/photos/{photo['id']}/jobs?task=denoise&version=0")
    assert answer.status_code == 413, answer.text
    detail = answer.json()["detail"]
    assert "restoring 'astronaut.png' (160x120)" in detail and "--memory-mb" in detail
    small = make_client(fast_models, input_dir=photos, memory_budget_bytes=MB)
    answer = small.post("/api/inputs/open", json={"name": "astronaut.png"})
    assert answer.status_code == 413 and "opening 'astronaut.png'" in answer.json()["detail"]
    assert small.get("/api/config").json()["memory_budget_bytes"] == MB


def test_an_upscale_reserves_for_its_output_and_is_held_to_max_pixels_by_it(
    make_client, fast_models, photos: Path
) -> None:
    from ganrestore.web.budget import job_cost

    # 120 x 160 pixels in, 480 x 640 out: a x4 upscale costs what restoring 480 x 640 does.
    assert job_cost(160 * 120, 4) == job_cost(640 * 480) > 3 * job_cost(160 * 120)
    budget = job_cost(640 * 480) - 1
    client = make_client(fast_models, input_dir=photos, memory_budget_bytes=budget)
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    jobs = f"/api/photos/{photo['id']}/jobs?version=0&task="
    answer = client.post(jobs + "upscale-x4")
    assert answer.status_code == 413, answer.text
    assert "restoring 'astronaut.png' (160x120) into 640x480" in answer.json()["detail"]
    assert wait_for_job(client, client.post(jobs + "denoise").json())["state"] == "done"
    # --max-pixels holds for the result too, as in `ganrestore apply`.
    limited = make_client(fast_models, input_dir=photos, max_pixels=100_000)
    photo = limited.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    answer = limited.post(f"/api/photos/{photo['id']}/jobs?version=0&task=upscale-x4")
    assert answer.status_code == 413, answer.text
    detail = answer.json()["detail"]
    assert "its x4 result, 640x480" in detail and "--max-pixels" in detail, detail
    job = limited.post(f"/api/photos/{photo['id']}/jobs?version=0&task=upscale-x2").json()
    assert wait_for_job(limited, job)["state"] == "done"  # 320 x 240: within the limit


def test_opening_more_photos_than_the_budget_holds_closes_the_oldest(
    make_client, fast_models, photos: Path
) -> None:
    # Decoding astronaut.png reserves 1.23 MB; each open photo holds 57.6 KB: two do not fit.
    client = make_client(fast_models, input_dir=photos, memory_budget_bytes=1_250_000)
    server = client.app.state.server
    first = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    second = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    assert client.get(f"/api/photos/{second['id']}/versions/0/preview.png").status_code == 200
    answer = client.get(f"/api/photos/{first['id']}/versions/0/preview.png")
    assert answer.status_code == 404 and "open it again" in answer.json()["detail"]
    assert server.budget.in_use() <= server.budget.limit


def test_a_finished_restoration_keeps_neither_memory_nor_its_photo(
    make_client, fast_models, photos: Path
) -> None:
    client = make_client(fast_models, input_dir=photos)
    server = client.app.state.server
    photo = client.post("/api/inputs/open", json={"name": "astronaut.png"}).json()
    job = client.post(f"/api/photos/{photo['id']}/jobs?task=denoise&version=0").json()
    assert wait_for_job(client, job)["state"] == "done"
    for _ in range(200):  # the worker gives the memory back right after the job
        if server.budget.reserved == 0:
            break
        threading.Event().wait(0.02)
    assert server.budget.reserved == 0
    closed = weakref.ref(server.photos.get(photo["id"]))
    for name in ("camera.jpg", "cat.png", "deep.png", "gray.png"):  # 4 more: it is closed
        assert client.post("/api/inputs/open", json={"name": name}).status_code == 200
    gc.collect()
    assert closed() is None  # its versions are freed, not kept by the finished job
    assert client.get(f"/api/jobs/{job['id']}").json()["photo"] == photo["id"]


@pytest.mark.slow
def test_parallel_large_uploads_stay_within_the_memory_budget(tmp_path: Path) -> None:
    """Six 6 MP uploads at once: decoding each takes about 220 MB; the budget lets one run."""
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    noise = np.random.default_rng(0).integers(0, 256, (2000, 3000, 3), dtype=np.uint8)
    data = png_bytes(noise)
    process = subprocess.Popen(
        [sys.executable, "-m", "ganrestore", "serve", "--port", "0", "--memory-mb", "500"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"},
    )
    try:
        line = ""
        while "open http" not in line:
            assert process.poll() is None, process.stderr.read()
            line = process.stdout.readline()
        url = line.split("open ", 1)[1].split(" ", 1)[0]
        resident = _memory(process.pid, "VmRSS")
        answers: list[tuple[int, str]] = []

        def upload(index: int) -> None:
            request = urllib.request.Request(
                f"{url}api/uploads?name=big{index}.png", data=data, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as answer:
                    answers.append((answer.status, ""))
            except urllib.error.HTTPError as error:
                answers.append((error.code, error.read().decode()))

        threads = [threading.Thread(target=upload, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peak = _memory(process.pid, "VmHWM")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {200, 429} and 200 in statuses, answers
    for status, detail in answers:
        if status == 429:
            assert "500 MB (--memory-mb)" in detail and "wait for them" in detail, detail
    assert peak - resident < 500 * MB, (peak - resident) / MB
    assert "Traceback" not in stderr


def _memory(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` memory field in bytes (VmRSS now, VmHWM the peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for process {pid}")


# --- bodies and names ---------------------------------------------------------------------------


def test_a_json_body_above_64_kb_is_refused_before_it_is_read_whole(
    make_client, fast_models, photos: Path
) -> None:
    client = make_client(fast_models, input_dir=photos)
    huge = b'{"name": "' + b"a/" * 10_000_000 + b'"}'  # 20 MB
    answer = client.post(
        "/api/inputs/open", content=huge, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413 and len(answer.content) < 500
    assert "64 KB" in answer.json()["detail"]
    chunks = (b" " * 10_000 for _ in range(10))  # no Content-Length: counted as it arrives
    answer = client.post(
        "/api/inputs/open", content=chunks, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    answer = client.post("/api/inputs/open", json={"name": "cat.png"})
    assert answer.status_code == 200 and answer.json()["mask"]


def test_a_huge_name_is_not_echoed_back(make_client, fast_models, photos: Path) -> None:
    client = make_client(fast_models, input_dir=photos)
    name = "a/" * 25_000 + "x.png"  # 50 KB: within the body limit, a path, refused
    answer = client.post("/api/inputs/open", json={"name": name})
    assert answer.status_code == 403, answer.text[:200]
    detail = answer.json()["detail"]
    assert len(detail) < 300 and "(50005 characters)" in detail and "is a path" in detail
    upload = client.post(f"/api/uploads?name={'b' * 20_000}.png", content=b"no image here")
    assert upload.status_code == 422 and len(upload.json()["detail"]) < 400
    assert "(20004 characters)" in upload.json()["detail"]


# --- every decode holds to --max-pixels -------------------------------------------------------


def test_a_sidecar_mask_above_max_pixels_is_not_decoded(
    make_client, fast_models, photos: Path
) -> None:
    # cat.png is 80x60 (4800 pixels); its sidecar claims 20000 x 10000 (200 megapixels).
    (photos / "cat_mask.png").write_bytes(header_only_png(20_000, 10_000))
    client = make_client(fast_models, input_dir=photos, max_pixels=1_000_000)
    answer = client.post("/api/inputs/open", json={"name": "cat.png"})
    assert answer.status_code == 413, answer.text
    detail = answer.json()["detail"]
    assert "its mask file cat_mask.png" in detail and "--max-pixels" in detail
    assert "200.0 megapixels" in detail


def test_a_painted_mask_is_held_to_max_pixels(make_client, fast_models) -> None:
    client = make_client(fast_models, max_pixels=10_000)
    photo = png_bytes(photo_with_object()[:50, :60])  # 3000 pixels
    opened = client.post("/api/uploads?name=a.png", content=photo).json()
    jobs = f"/api/photos/{opened['id']}/jobs?task=inpaint&version=0"
    answer = client.post(jobs, content=header_only_png(200, 100))
    assert answer.status_code == 413 and "--max-pixels" in answer.json()["detail"]
    mask = np.zeros((50, 60), np.uint8)
    mask[10:20, 10:20] = 255
    done = wait_for_job(client, client.post(jobs, content=png_bytes(mask)).json())
    assert done["state"] == "done", done
