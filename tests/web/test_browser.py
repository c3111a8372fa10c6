"""The page in a real browser: Chromium from the system, driven by Playwright, against the real
server on a free port. A user opens a photo, paints over an object, fills it, compares, undoes,
downloads and saves; picks a task from those the server reports, upscales; uploads by button and
by drag and drop; keys and mouse; other sites.

Skipped when Playwright or Chromium is missing (``apt-get install -y chromium``; the tests use
that binary, not ``playwright install``).
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import re
import shutil
import threading
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from ganrestore.tasks import MAX_GROW

from .conftest import OBJECT, photo_with_object, png_bytes

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAINTED = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) painted += data[i] > 127;
  return painted;
}"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason='Playwright is missing: pip install -e ".[test]"'
    )
    if CHROMIUM is None:
        pytest.skip("Chromium is missing: apt-get install -y chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh tab, 1280x800; scripts errors on the page fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == []


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def open_listed(page, name: str) -> None:
    page.click(f"#inputs button[data-name='{name}']")
    expect(page.locator("#photo-info")).to_contain_text(name)
    expect(page.locator("body")).to_have_attribute("data-state", "ready")


def pick(page, task: str) -> None:
    """Pick ``task`` in the page's list of tasks (built from what the server reports)."""
    page.check(f"#tasks input[name='task'][value='{task}']")


def run_task(page, task: str) -> None:
    pick(page, task)
    page.click("#run")


def wait_for_version(page, version: int, timeout: float = 120_000) -> None:
    """Wait for a restoration to show ``version``; fail with the page's message if it fails."""
    page.wait_for_selector(f"#after[data-version='{version}'], #message.error", timeout=timeout)
    assert page.locator("#message.error").count() == 0, page.locator("#message").inner_text()
    expect(page.locator("#after")).to_have_attribute("data-version", str(version))


def stroke(page, points: list[tuple[float, float]]) -> None:
    """Drag the mouse through ``points``, in pixels of the photo."""
    box = page.locator("#mask").bounding_box()
    scale = box["width"] / page.locator("#mask").evaluate("canvas => canvas.width")
    screen = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in points]
    page.mouse.move(*screen[0])
    page.mouse.down()
    for point in screen[1:]:
        page.mouse.move(*point, steps=8)
    page.mouse.up()


def brush_width(page) -> float:
    """The brush's width in pixels of the photo at the current zoom."""
    box = page.locator("#mask").bounding_box()
    scale = box["width"] / page.locator("#mask").evaluate("canvas => canvas.width")
    return float(page.locator("#size").input_value()) / scale


def painted(page) -> int:
    return page.locator("#mask").evaluate(PAINTED)


def distance_to_segment(shape, start, end) -> np.ndarray:
    """(H, W) distance of each pixel centre to the segment ``start``-``end`` (x, y)."""
    rows, columns = np.mgrid[: shape[0], : shape[1]] + 0.5
    (x0, y0), (x1, y1) = start, end
    along = np.clip(
        ((columns - x0) * (x1 - x0) + (rows - y0) * (y1 - y0)) / ((x1 - x0) ** 2 + (y1 - y0) ** 2),
        0,
        1,
    )
    return np.hypot(columns - (x0 + along * (x1 - x0)), rows - (y0 + along * (y1 - y0)))


def test_a_user_removes_an_object_compares_undoes_downloads_and_saves(
    page, serve, bundled_models, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixed"
    server = serve(bundled_models, input_dir=photos, output_dir=out)
    page.goto(server.url)
    open_listed(page, "astronaut.png")
    pick(page, "inpaint")
    assert page.locator("#grow").get_attribute("max") == str(MAX_GROW)  # the server's range
    page.fill("#grow", "0")  # fill exactly the painted pixels
    page.locator("#viewport").focus()
    while float(page.locator("#size").input_value()) < 140:
        page.keyboard.press("]")
    width = brush_width(page)
    start, end = (62.0, 52.0), (108.0, 52.0)  # across the red object, wider than it
    stroke(page, [start, (85.0, 52.0), end])
    assert painted(page) > 0

    page.click("#run")
    wait_for_version(page, 1)
    expect(page.locator("#message")).to_contain_text("inpaint done")
    assert painted(page) == 0  # the result is the new input, with a fresh mask
    expect(page.locator("#compare")).to_be_enabled()
    expect(page.locator("#compare")).to_have_value("50")
    expect(page.locator("#before")).to_be_visible()
    page.focus("#compare")
    page.keyboard.press("Home")
    expect(page.locator("#before")).to_be_hidden()

    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "astronaut-restored.png"
    data = Path(download.value.path()).read_bytes()
    result = np.asarray(Image.open(download.value.path()))
    original = photo_with_object()
    distance = distance_to_segment(original.shape[:2], start, end)
    outside = distance > width / 2 + 1.5
    assert np.array_equal(result[outside], original[outside])
    top, bottom, left, right = OBJECT
    assert (distance[top:bottom, left:right] < width / 2 - 1.5).all()
    filled = result[top:bottom, left:right].astype(int)
    assert ((filled[..., 0] > 200) & (filled[..., 1] < 60)).mean() < 0.05  # no red left

    page.keyboard.press("Control+z")
    expect(page.locator("#after")).to_have_attribute("data-version", "0")
    assert painted(page) > 0  # the mask comes back with the photo it was painted on
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("#after")).to_have_attribute("data-version", "1")
    assert painted(page) == 0

    page.click("#save")
    expect(page.locator("#message")).to_contain_text(f"Saved {out / 'astronaut.png'}")
    assert (out / "astronaut.png").read_bytes() == data
    listed = page.locator("#inputs button[data-name='astronaut.png']")
    expect(listed).to_have_class(re.compile(r"\bsaved\b"))
    # The saved photo stays open (more work may follow); the next one is offered, not opened.
    expect(page.locator("#photo-info")).to_contain_text("astronaut.png")
    expect(page.locator("#after")).to_have_attribute("data-version", "1")
    expect(page.locator("#next")).to_have_text("Next photo: camera.jpg")
    page.click("#next")
    expect(page.locator("#photo-info")).to_contain_text("camera.jpg")
    expect(page.locator("#next")).to_be_hidden()

    open_listed(page, "astronaut.png")
    page.click("#save")
    expect(page.locator("#message")).to_contain_text("exists and was not replaced")
    expect(page.locator("#message")).to_have_class("error")
    assert (out / "astronaut.png").read_bytes() == data


def test_the_page_lists_the_servers_tasks_and_shows_an_upscale_four_times_larger(
    page, serve, fast_models, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixed"
    server = serve(fast_models, input_dir=photos, output_dir=out)
    with urllib.request.urlopen(f"{server.url}api/tasks", timeout=60) as answer:
        reported = json.load(answer)["tasks"]
    page.goto(server.url)
    listed = page.locator("#tasks input[name='task']")
    expect(listed).to_have_count(len(reported))
    assert listed.evaluate_all("radios => radios.map(r => r.value)") == [
        task["name"] for task in reported
    ]
    open_listed(page, "astronaut.png")
    stroke(page, [(20, 60), (140, 60)])
    drawn = painted(page)
    # Each task shows what it asks for: the classical fill a mask alone, the network's upscale
    # its strength and no mask (the painted one stays, said so).
    pick(page, "inpaint")
    for control in ("#grow", "#strength", "#noise-sigma", "#mask-note"):
        expect(page.locator(control)).to_be_hidden()
    pick(page, "upscale-x4")
    expect(page.locator("#strength")).to_be_visible()
    expect(page.locator("#grow")).to_be_hidden()
    expect(page.locator("#mask-note")).to_contain_text("Not used by upscale-x4")
    expect(page.locator("#task-note")).to_contain_text("the bundled upscale-x4 model")
    upscaler = next(task for task in reported if task["name"] == "upscale-x4")
    formats = {"fp32": "model.", "bf16": "model, run in bfloat16.", "fp16": "run in float16."}
    expect(page.locator("#task-note")).to_contain_text(formats[upscaler["precision"]])

    page.click("#run")
    wait_for_version(page, 1)
    expect(page.locator("#message")).to_contain_text("upscale-x4 done")
    expect(page.locator("#message")).to_contain_text("now 640×480")
    size = "image => [image.naturalWidth, image.naturalHeight]"
    assert page.locator("#after").evaluate(size) == [640, 480]
    assert page.locator("#before").evaluate(size) == [160, 120]
    expect(page.locator("#before")).to_be_visible()  # compared half and half
    after, before = (page.locator(f"#{name}").bounding_box() for name in ("after", "before"))
    assert before == after  # the photo before is shown at the result's size
    assert page.locator("#mask").evaluate("canvas => [canvas.width, canvas.height]") == [640, 480]
    assert painted(page) == 0  # a mask of the small photo does not fit the large one

    page.locator("#viewport").focus()
    page.keyboard.press("Control+z")  # the small photo and its mask come back
    expect(page.locator("#after")).to_have_attribute("data-version", "0")
    assert page.locator("#mask").evaluate("canvas => canvas.width") == 160
    assert painted(page) == drawn
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("#after")).to_have_attribute("data-version", "1")
    assert page.locator("#mask").evaluate("canvas => canvas.width") == 640

    page.click("#save")
    expect(page.locator("#message")).to_contain_text(f"Saved {out / 'astronaut.png'}")
    with Image.open(out / "astronaut.png") as saved:
        assert saved.size == (640, 480)


def test_photos_open_by_button_and_by_drop_and_bad_files_get_a_message(
    page, serve, fast_models, photos: Path
) -> None:
    server = serve(fast_models, max_upload_bytes=40_000)
    page.goto(server.url)
    expect(page.locator("body")).to_have_attribute("data-state", "empty")
    page.set_input_files("#file", photos / "gray.png")
    expect(page.locator("#photo-info")).to_contain_text("gray.png: 60×50, PNG 8-bit, gray")

    encoded = base64.b64encode((photos / "camera.jpg").read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([data, name]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: 'image/jpeg' }));
            return transfer;
        }""",
        [encoded, "camera.jpg"],
    )
    page.dispatch_event("#viewport", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#viewport", "drop", {"dataTransfer": transfer})
    expect(page.locator("#photo-info")).to_contain_text("camera.jpg: 80×64, JPEG 8-bit")
    expect(page.locator("#photo-info")).to_contain_text("EXIF kept")

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = io.BytesIO()
    with Image.open(photos / "camera.jpg") as camera:
        camera.save(tagged, format="JPEG", exif=camera.getexif(), icc_profile=profile)
    upload = {"name": "tagged.jpg", "mimeType": "image/jpeg", "buffer": tagged.getvalue()}
    page.set_input_files("#file", files=[upload])
    expect(page.locator("#photo-info")).to_contain_text("EXIF and ICC colour profile kept")
    page.set_input_files("#file", photos / "camera.jpg")
    expect(page.locator("#photo-info")).to_contain_text("camera.jpg: 80×64, JPEG 8-bit")

    garbage = {"name": "broken.png", "mimeType": "image/png", "buffer": b"\x89PNG garbage" * 50}
    page.set_input_files("#file", files=[garbage])
    expect(page.locator("#message")).to_contain_text("cannot read it as an image")
    expect(page.locator("#message")).to_have_class("error")
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    big = {"name": "big.png", "mimeType": "image/png", "buffer": png_bytes(noise)}
    page.set_input_files("#file", files=[big])
    expect(page.locator("#message")).to_contain_text("above the upload limit")
    expect(page.locator("#photo-info")).to_contain_text("camera.jpg")  # still open

    run_task(page, "denoise")
    wait_for_version(page, 1)
    expect(page.locator("#message")).to_contain_text("denoise done")


def test_brush_eraser_size_undo_redo_zoom_pan_and_denoise_by_keys_and_mouse(
    page, serve, fast_models, photos: Path
) -> None:
    server = serve(fast_models, input_dir=photos)
    page.goto(server.url)
    open_listed(page, "astronaut.png")
    page.locator("#viewport").focus()
    page.keyboard.press("]")
    expect(page.locator("#size-value")).to_have_text("46")
    page.keyboard.press("[")
    expect(page.locator("#size-value")).to_have_text("39")

    stroke(page, [(20, 60), (140, 60)])
    brushed = painted(page)
    page.keyboard.press("e")
    expect(page.locator("input[value='eraser']")).to_be_checked()
    stroke(page, [(80, 20), (80, 100)])
    erased = painted(page)
    assert 0 < erased < brushed
    page.keyboard.press("Control+z")
    assert painted(page) == brushed
    page.keyboard.press("Control+Shift+z")
    assert painted(page) == erased
    page.click("#clear")
    assert painted(page) == 0
    run_task(page, "inpaint")
    expect(page.locator("#message")).to_contain_text("Paint over what to remove first")
    page.keyboard.press("Control+z")
    assert painted(page) == erased
    page.keyboard.press("b")
    expect(page.locator("input[value='brush']")).to_be_checked()

    fitted = page.locator("#zoom-value").inner_text()
    box = page.locator("#viewport").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    expect(page.locator("#zoom-value")).not_to_have_text(fitted)
    assert int(page.locator("#zoom-value").inner_text().split()[0]) > int(fitted.split()[0])
    before = page.locator("#stage").evaluate("stage => stage.style.transform")
    page.keyboard.down(" ")
    page.mouse.down()
    page.mouse.move(box["x"] + 100, box["y"] + 100, steps=5)
    page.mouse.up()
    page.keyboard.up(" ")
    assert page.locator("#stage").evaluate("stage => stage.style.transform") != before
    assert painted(page) == erased  # panning paints nothing
    page.keyboard.press("0")
    expect(page.locator("#zoom-value")).to_have_text(fitted)

    run_task(page, "denoise")  # takes no mask: the one painted stays for a fill to come
    wait_for_version(page, 1)
    assert painted(page) == erased
    page.keyboard.press("Control+z")
    expect(page.locator("#after")).to_have_attribute("data-version", "0")
    assert painted(page) == erased


RECORD_STATUS = """() => {
  window.statusLines = [];
  const record = () => {
    const box = document.getElementById('progress-box');
    window.statusLines.push({
      busy: document.body.dataset.state === 'busy',
      message: document.getElementById('message').textContent,
      progress: box.hidden ? '' : document.getElementById('progress-text').textContent,
    });
  };
  const watch = { childList: true, characterData: true, subtree: true, attributes: true };
  const observer = new MutationObserver(record);
  for (const id of ['message', 'progress-box']) {
    observer.observe(document.getElementById(id), watch);
  }
  observer.observe(document.body, { attributes: true });
}"""


def test_a_restoration_says_what_it_does_in_one_place_once(
    page, serve, fast_models, photos: Path
) -> None:
    server = serve(fast_models, input_dir=photos)
    page.goto(server.url)
    open_listed(page, "astronaut.png")
    stroke(page, [(20, 60), (140, 60)])
    page.evaluate(RECORD_STATUS)
    run_task(page, "inpaint")
    wait_for_version(page, 1)
    lines = page.evaluate("() => window.statusLines")
    busy = [line for line in lines if line["busy"]]
    assert busy, lines
    for line in busy:  # the progress line says it; the message line does not repeat it
        assert "Running" not in line["message"], line
        assert (line["message"] + line["progress"]).count("Running inpaint") <= 1, line
    assert any(line["progress"].startswith("Running inpaint") for line in busy), busy
    expect(page.locator("#message")).to_contain_text("inpaint done in")


def test_the_denoising_strength_and_noise_level_on_the_page(
    page, serve, bundled_models, photos: Path
) -> None:
    server = serve(bundled_models, input_dir=photos)
    page.goto(server.url)
    open_listed(page, "astronaut.png")
    original = np.asarray(Image.open(photos / "astronaut.png")).astype(int)

    def downloaded() -> np.ndarray:
        with page.expect_download() as download:
            page.click("#download")
        return np.asarray(Image.open(download.value.path())).astype(int)

    pick(page, "denoise")
    page.locator("#strength").fill("0")
    expect(page.locator("#strength-value")).to_have_text("0 %")
    page.click("#run")
    wait_for_version(page, 1)
    assert np.array_equal(downloaded(), original)  # strength 0: the photo as it was

    page.locator("#strength").fill("100")
    page.fill("#noise-sigma", "40")  # told of strong noise: smooths harder than measured
    page.click("#run")
    wait_for_version(page, 2)
    smoothed = downloaded()
    page.fill("#noise-sigma", "")  # auto again
    page.locator("#viewport").focus()
    page.keyboard.press("Control+z")  # from version 1, which is the photo
    expect(page.locator("#after")).to_have_attribute("data-version", "1")
    page.click("#run")
    wait_for_version(page, 3)
    measured = downloaded()
    change = lambda x: np.abs(x - original).mean()  # noqa: E731
    assert change(measured) < change(smoothed)


class _OtherSite(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass


def test_a_page_of_another_site_cannot_use_the_server(
    page, serve, fast_models, photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixed"
    server = serve(fast_models, input_dir=photos, output_dir=out)
    request = urllib.request.Request(
        f"{server.url}api/inputs/open",
        data=json.dumps({"name": "gray.png"}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        photo = json.load(answer)
    save = f"{server.url}api/photos/{photo['id']}/versions/0/save"
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(
        f'<form id="f" method="post" action="{save}"></form>', encoding="utf-8"
    )
    handler = lambda *args: _OtherSite(*args, directory=str(site))  # noqa: E731
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{other.server_address[1]}/index.html")
        status = page.evaluate(
            """async (url) => {
                try { return (await fetch(url, { method: 'POST' })).status; }
                catch (error) { return 'blocked'; }
            }""",
            save,
        )
        assert status == "blocked"  # no CORS: the other site reads nothing...
        page.evaluate(  # sent, though its answer is hidden from the page
            "(url) => fetch(url, { method: 'POST', mode: 'no-cors' }).catch(() => null)", save
        )
        with page.expect_navigation():
            page.evaluate("() => document.getElementById('f').submit()")
        assert "only the ganrestore page itself" in page.content()
    finally:
        other.shutdown()
    assert not out.exists() or list(out.iterdir()) == []  # ...and the server wrote nothing


TOKEN = "correct-horse-battery-staple"


def test_with_a_token_the_printed_address_opens_a_page_that_works(
    page, serve, fast_models, photos: Path
) -> None:
    server = serve(fast_models, input_dir=photos, token=TOKEN)
    answer = page.goto(server.url)
    assert answer.status == 401 and "needs its token" in page.content()
    page.goto(f"{server.url}?token={TOKEN}")
    assert page.url == server.url  # the token left the address bar for a cookie
    open_listed(page, "astronaut.png")  # the page's own requests carry it
    loaded = page.locator("#after").evaluate("image => image.complete && image.naturalWidth")
    assert loaded == 160
    run_task(page, "denoise")
    wait_for_version(page, 1)
