"""A folder of small real photos, the server as a test client, and the server on a real port.

The API tests run the classical OpenCV fill (``baseline:telea``) and total-variation denoiser
(``baseline:tv``): real restorers behind ``ganrestore.load_restorer``, fast enough for the quick
run; the other tasks (upscaling) run their small bundled networks. The bundled inpaint and
denoise networks run in the tests marked ``slow``.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganrestore.data.io import write_image

HOST, PORT = "127.0.0.1", 8080
BASE_URL = f"http://{HOST}:{PORT}"
FAST_MODELS = {"inpaint": "baseline:telea", "denoise": "baseline:tv"}
#: Where the red "object" of astronaut.png is, ``(top, bottom, left, right)``.
OBJECT = (40, 64, 70, 100)


def photo_with_object() -> np.ndarray:
    """(120, 160, 3) uint8: an astronaut crop with a red rectangle at :data:`OBJECT` to remove."""
    pixels = np.ascontiguousarray(skimage.data.astronaut()[40:280:2, 100:420:2])
    top, bottom, left, right = OBJECT
    pixels[top:bottom, left:right] = (230, 20, 20)
    return pixels


def exif_jpeg() -> bytes:
    """A 64x80 JPEG whose EXIF names its camera ("ganrestore test camera")."""
    exif = Image.Exif()
    exif[0x0110] = "ganrestore test camera"
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.coffee()[100:164, 200:280]).save(
        buffer, format="JPEG", quality=95, exif=exif.tobytes()
    )
    return buffer.getvalue()


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def header_only_png(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims ``width`` x ``height`` (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + payload))
        return struct.pack(">I", len(payload)) + kind + payload + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """``in/``: astronaut.png (a red object on it), camera.jpg (EXIF), deep.png (16-bit),
    gray.png, holes.png (RGBA, a transparent square), cat.png with its sidecar cat_mask.png."""
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(photo_with_object()).save(folder / "astronaut.png")
    (folder / "camera.jpg").write_bytes(exif_jpeg())
    deep = skimage.data.astronaut()[:48, :64].astype(np.float32) / 255
    deep = deep + np.linspace(0, 1 / 255, 64, dtype=np.float32)[None, :, None] * 0.7
    write_image(folder / "deep.png", deep, bit_depth=16)
    Image.fromarray(skimage.data.camera()[100:150, 200:260]).save(folder / "gray.png")
    rgba = np.dstack([skimage.data.astronaut()[:50, :60], np.full((50, 60), 255, np.uint8)])
    rgba[10:20, 20:30, 3] = 0
    Image.fromarray(rgba).save(folder / "holes.png")
    cat = skimage.data.chelsea()[50:110:1, 100:180]
    Image.fromarray(cat).save(folder / "cat.png")
    mask = np.zeros(cat.shape[:2], np.uint8)
    mask[20:30, 30:50] = 255
    Image.fromarray(mask).save(folder / "cat_mask.png")
    return folder


@pytest.fixture(scope="session")
def fast_models():
    """Fast real restorers: the baselines for inpaint and denoise, the bundled models of the
    other tasks; loaded once for the session."""
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    from ganrestore.web.models import ModelCache

    return ModelCache(FAST_MODELS, device="cpu")


@pytest.fixture(scope="session")
def bundled_models():
    """The bundled network of every task, loaded once for the session."""
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    from ganrestore.web.models import ModelCache

    return ModelCache(device="cpu")


@pytest.fixture
def make_client() -> Iterator[Callable[..., object]]:
    """``make_client(models, input_dir=..., output_dir=..., ...)``: a TestClient of the app.

    Requests go to ``http://127.0.0.1:8080``, the server's own address.
    """
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    with warnings.catch_warnings():  # newer Starlette prefers httpx2, and still takes httpx
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from ganrestore.web.app import create_app
    from ganrestore.web.config import ServeConfig

    clients = []

    def make(models, **settings):
        app = create_app(ServeConfig(host=HOST, port=PORT, **settings), models)
        client = TestClient(app, base_url=BASE_URL)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def wait_for_job(client, job: dict, timeout: float = 120.0) -> dict:
    """Poll ``/api/jobs/ID`` until the job is done or failed."""
    deadline = time.monotonic() + timeout
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, f"job still {job['state']} after {timeout} s"
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


class RunningServer:
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread of this process."""

    def __init__(self, models, **settings) -> None:
        import uvicorn

        from ganrestore.web.app import create_app
        from ganrestore.web.config import ServeConfig
        from ganrestore.web.server import open_socket

        self.socket = open_socket(HOST, 0)
        self.port = self.socket.getsockname()[1]
        self.url = f"http://{HOST}:{self.port}/"
        app = create_app(ServeConfig(host=HOST, port=self.port, **settings), models)
        config = uvicorn.Config(app, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """``serve(models, input_dir=..., output_dir=...)``: the real server on a free port."""
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    servers = []

    def start(models, **settings) -> RunningServer:
        server = RunningServer(models, **settings).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def torchscript_denoiser(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled denoise model exported to TorchScript (``ganrestore export``)."""
    from ganrestore.export.exporter import export_model

    out = tmp_path_factory.mktemp("exported") / "denoise.pt"
    export_model("denoise", out, "torchscript")
    return out
