"""A local server that other sites cannot use: Host and Origin checks, names, links, limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ganrestore.web.errors import Conflict, Forbidden, NotFound
from ganrestore.web.folders import InputFolder, OutputFolder, check_name, upload_name
from ganrestore.web.security import HostPolicy, is_loopback, refusal

from .conftest import FAST_MODELS, header_only_png, photo_with_object, png_bytes

# --- Host and Origin, as pure rules ------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080", "LOCALHOST:8080"]
)
def test_a_loopback_server_answers_its_own_names(host: str) -> None:
    assert HostPolicy("127.0.0.1", 8080).accepts(host)


@pytest.mark.parametrize(
    "host",
    ["evil.example:8080", "127.0.0.1:9999", "127.0.0.1", "", "192.168.1.20:8080", "evil:8080"],
)
def test_a_loopback_server_refuses_other_hosts(host: str) -> None:
    """DNS rebinding puts the attacker's name in Host; another port is another server."""
    assert not HostPolicy("127.0.0.1", 8080).accepts(host)


def test_a_server_on_every_interface_takes_addresses_but_no_foreign_names() -> None:
    policy = HostPolicy("0.0.0.0", 8080)
    assert policy.accepts("192.168.1.20:8080") and policy.accepts("[fe80::1]:8080")
    assert not policy.accepts("192.168.1.20:8081")
    assert not policy.accepts("rebound.evil.example:8080")


def test_loopback_hosts_are_told_from_others() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


def test_origin_and_fetch_site_must_be_the_server_itself() -> None:
    policy = HostPolicy("127.0.0.1", 8080)
    own = {"host": "127.0.0.1:8080"}
    assert refusal(policy, "POST", {**own, "origin": "http://127.0.0.1:8080"}) is None
    assert refusal(policy, "GET", own) is None  # a script or curl, no browser involved
    for origin in (
        "https://evil.example",
        "null",
        "http://127.0.0.1:9999",
        "http://localhost:8080",
    ):
        reason = refusal(policy, "POST", {**own, "origin": origin})
        assert reason is not None and origin in reason
    cross = {**own, "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors"}
    assert "cross-site request is refused" in refusal(policy, "GET", cross)
    # A link to the page from elsewhere still opens it (a navigation reads nothing for the site).
    assert refusal(policy, "GET", {**cross, "sec-fetch-mode": "navigate"}) is None
    assert refusal(policy, "POST", {**cross, "sec-fetch-mode": "navigate"}) is not None


# --- names and folders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "../secret.png",
        "/etc/passwd",
        "a/b.png",
        "a\\b.png",
        "..",
        ".",
        "",
        ".hidden.png",
        "x\0.png",
        "写真" * 50 + ".png",  # 104 characters, 304 bytes: more than a file system takes
    ],
)
def test_only_plain_file_names_are_accepted(name: str) -> None:
    with pytest.raises(Forbidden):
        check_name(name)


@pytest.mark.parametrize(
    ("raw", "file_format", "expected"),
    [
        ("holiday.jpg", "JPEG", "holiday.jpg"),
        ("../../etc/cron.d/evil.png", "PNG", "evil.png"),
        ("C:\\Users\\me\\scan.TIF", "TIFF", "scan.TIF"),
        (".bashrc", "PNG", "bashrc.png"),
        ("photo", "WEBP", "photo.webp"),
        ("a<b>|c?.png", "PNG", "a_b__c_.png"),
        ("", "BMP", "upload.bmp"),
    ],
)
def test_upload_names_become_plain_names_with_an_image_suffix(
    raw: str, file_format: str, expected: str
) -> None:
    assert upload_name(raw, file_format) == expected


def test_a_long_cjk_upload_name_is_cut_to_whole_characters_the_file_system_takes() -> None:
    name = upload_name("写真" * 90 + ".png", "PNG")
    assert name.endswith(".png") and len(name.encode()) <= 255
    assert check_name(name) == name and name.startswith("写真写真")


def test_inputs_are_the_listed_images_only(photos: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(photo_with_object()))
    os.symlink(secret, photos / "link.png")  # leads out of --in
    (photos / ".hidden.png").write_bytes(png_bytes(photo_with_object()))
    (photos / "notes.txt").write_text("not an image")
    folder = InputFolder(photos)
    names = folder.names()
    assert names == ["astronaut.png", "camera.jpg", "cat.png", "deep.png", "gray.png", "holes.png"]
    assert folder.path("cat.png") == photos / "cat.png"
    with pytest.raises(Forbidden, match="leads out of --in"):
        folder.path("link.png")
    for name in ("../secret.png", str(secret), ".hidden.png"):
        with pytest.raises(Forbidden):
            folder.path(name)
    for name in ("notes.txt", "cat_mask.png", "missing.png"):
        with pytest.raises(NotFound, match="pick one from the list"):
            folder.path(name)
    assert folder.mask_file(photos / "cat.png") == photos / "cat_mask.png"
    assert folder.next_name("cat.png") == "deep.png" and folder.next_name("holes.png") is None


def test_outputs_never_replace_a_file_nor_follow_a_link(tmp_path: Path) -> None:
    out = tmp_path / "out"
    folder = OutputFolder(out)
    assert folder.save("a.png", b"first") == out / "a.png"
    with pytest.raises(Conflict, match="exists and was not replaced"):
        folder.save("a.png", b"second")
    assert (out / "a.png").read_bytes() == b"first"
    outside = tmp_path / "outside.png"
    os.symlink(outside, out / "b.png")  # a dangling link to a file outside --out
    with pytest.raises(Forbidden, match="link"):
        folder.save("b.png", b"data")
    assert not outside.exists()
    with pytest.raises(Forbidden):
        folder.save("../c.png", b"data")
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]  # no temporary left


# --- through the app ---------------------------------------------------------------------------


def test_requests_for_another_host_or_from_another_site_get_403(
    make_client, fast_models, photos: Path
) -> None:
    client = make_client(fast_models, input_dir=photos)
    answer = client.get("/api/inputs", headers={"host": "rebound.evil.example:8080"})
    assert answer.status_code == 403
    assert "not this server's" in answer.json()["detail"]
    answer = client.post(
        "/api/inputs/open",
        json={"name": "cat.png"},
        headers={"origin": "https://evil.example"},
    )
    assert answer.status_code == 403 and "evil.example" in answer.json()["detail"]
    answer = client.get("/", headers={"origin": "http://127.0.0.1:8080"})
    assert answer.status_code == 200 and "<canvas" in answer.text
    headers = answer.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert client.get("/api/inputs").status_code == 200  # still serving


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("../secret.png", 403),
        ("/etc/passwd", 403),
        ("..", 403),
        ("sub/../cat.png", 403),
        ("cat_mask.png", 404),
        ("link.png", 403),
        ("missing.png", 404),
    ],
)
def test_no_file_outside_the_listing_is_read(
    make_client, fast_models, photos: Path, tmp_path: Path, name: str, status: int
) -> None:
    (tmp_path / "secret.png").write_bytes(png_bytes(photo_with_object()))
    os.symlink(tmp_path / "secret.png", photos / "link.png")
    client = make_client(fast_models, input_dir=photos)
    answer = client.post("/api/inputs/open", json={"name": name})
    assert answer.status_code == status, answer.text
    assert isinstance(answer.json()["detail"], str) and answer.json()["detail"]


def test_static_files_cannot_reach_out_of_their_folder(make_client, fast_models) -> None:
    client = make_client(fast_models)
    assert client.get("/static/app.js").status_code == 200
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fconfig.py"):
        assert client.get(path).status_code == 404


def test_hostile_uploads_get_a_clear_4xx_and_the_server_goes_on(
    make_client, fast_models, tmp_path: Path
) -> None:
    from ganrestore.data.io import pillow_pixel_limit

    client = make_client(fast_models, max_upload_bytes=50_000, max_pixels=1_000_000)
    good = png_bytes(photo_with_object())
    cases = {
        "garbage": (b"\x00\x01 this is no image at all" * 10, 422, "cannot read it as an image"),
        "empty": (b"", 422, "empty"),
        "truncated": (good[: len(good) // 2], 422, "cannot read it as an image"),
        "too many bytes": (b"\x89PNG" + b"\0" * 60_000, 413, "upload limit of 0.05 MB"),
        "pixel bomb": (header_only_png(20_000, 20_000), 413, "above the limit of 1 megapixels"),
        "gif": (b"GIF89a" + b"\0" * 100, 422, "cannot read it as an image"),
    }
    for label, (data, status, message) in cases.items():
        with pillow_pixel_limit(None):  # as `ganrestore serve` runs: only our check counts
            answer = client.post("/api/uploads?name=x.png", content=data)
        assert answer.status_code == status, label
        assert message in answer.json()["detail"], (label, answer.json())
    # Above Pillow's own bomb limit too (when the process keeps it), the limit named is ours.
    answer = client.post("/api/uploads?name=x.png", content=header_only_png(40_000, 40_000))
    assert answer.status_code == 413 and "--max-pixels" in answer.json()["detail"]
    # A body sent without Content-Length is cut off at the limit as well.
    chunks = (b"\0" * 10_000 for _ in range(10))
    answer = client.post("/api/uploads?name=x.png", content=chunks)
    assert answer.status_code == 413
    answer = client.post("/api/uploads?name=fine.png", content=good)
    assert answer.status_code == 200 and answer.json()["width"] == 160


def test_hostile_masks_are_refused(make_client, fast_models) -> None:
    client = make_client(fast_models)
    photo = client.post("/api/uploads?name=a.png", content=png_bytes(photo_with_object())).json()
    jobs = f"/api/photos/{photo['id']}/jobs?task=inpaint&version=0"
    small = png_bytes(photo_with_object()[:10, :10])
    answer = client.post(jobs, content=small)
    assert (
        answer.status_code == 400
        and "the mask is 10x10 but the photo is 160x120" in (answer.json()["detail"])
    )
    answer = client.post(jobs, content=b"not a png")
    assert answer.status_code == 422
    answer = client.post(jobs, content=header_only_png(160, 120 * 10_000))
    assert answer.status_code in (400, 413)
    black = png_bytes(photo_with_object() * 0)
    answer = client.post(jobs, content=black)
    assert answer.status_code == 400 and "the mask is empty" in answer.json()["detail"]
    for query in ("task=colorize&version=0", "task=inpaint&version=7", "task=inpaint&version=x"):
        answer = client.post(f"/api/photos/{photo['id']}/jobs?{query}", content=small)
        assert answer.status_code in (400, 404) and isinstance(answer.json()["detail"], str)
    tasks = client.get("/api/tasks").json()["tasks"]
    assert FAST_MODELS["inpaint"] in [task["model"] for task in tasks]


# --- the token ---------------------------------------------------------------------------------

TOKEN = "correct-horse-battery-staple"


def test_with_a_token_every_request_needs_it_and_the_printed_address_sets_a_cookie(
    make_client, fast_models, photos: Path
) -> None:
    client = make_client(fast_models, input_dir=photos, token=TOKEN)
    for url in ("/", "/static/app.js", "/api/inputs", f"/api/inputs?token={TOKEN[:-1]}x"):
        answer = client.get(url)
        assert answer.status_code == 401, url
    assert "needs its token" in client.get("/api/inputs").json()["detail"]
    assert "wrong token" in client.get("/api/inputs?token=nope").json()["detail"]
    refused = client.post("/api/inputs/open", json={"name": "cat.png"})
    assert refused.status_code == 401

    opened = client.get(f"/?token={TOKEN}", follow_redirects=False)  # the printed address
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"ganrestore-token-8080={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/")  # the browser comes back with the cookie
    assert page.status_code == 200 and "<canvas" in page.text
    assert client.post("/api/inputs/open", json={"name": "cat.png"}).status_code == 200

    client.cookies.clear()  # a script without the browser's cookie
    assert client.get("/api/inputs").status_code == 401
    assert client.get("/api/inputs", headers={"authorization": f"token {TOKEN}"}).is_success
    assert client.get(f"/api/inputs?token={TOKEN}").is_success
    assert client.get("/api/inputs", headers={"host": "evil.example:8080"}).status_code == 403


def test_a_server_open_to_the_network_needs_a_token_and_a_strong_one(photos: Path) -> None:
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    from ganrestore.errors import GanrestoreError
    from ganrestore.web.app import create_app
    from ganrestore.web.config import ServeConfig

    with pytest.raises(GanrestoreError, match=r"--host 0\.0\.0\.0 opens the page to the network"):
        create_app(ServeConfig(input_dir=photos, host="0.0.0.0"))
    for token in ("short", "has spaces in it, sixteen+", "ü" * 20):
        with pytest.raises(GanrestoreError, match="--token must be 16 to 256"):
            create_app(ServeConfig(input_dir=photos, host="0.0.0.0", token=token))
