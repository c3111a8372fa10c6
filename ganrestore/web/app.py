"""The HTTP routes of ``ganrestore serve``: the page, its photos, restorations and files.

``create_app(config)`` returns the FastAPI app; :mod:`.server` serves it. Every refusal is a
JSON ``{"detail": message}`` with a 4xx status (5xx when the disk fails a save), and the page
shows the message. Every route that decodes or encodes pixels reserves its memory first
(:mod:`.budget`): ``429`` when the budget is in use; bodies are bounded (:mod:`.bodies`).

Routes (all JSON unless said):

* ``GET /`` the page, ``GET /static/...`` its scripts and styles;
* ``GET /api/config`` folders, limits and the range of each job setting;
* ``GET /api/tasks`` every installed task: its model and what the page asks for it
  (:meth:`.models.ModelCache.report`; the models are loaded on the first call);
* ``GET /api/inputs`` the images of ``--in``; ``POST /api/inputs/open`` ``{"name": ...}`` opens one;
* ``POST /api/uploads?name=NAME`` the file itself as the body: opens an upload;
* ``GET /api/photos/{id}/versions/{n}/preview.png`` an 8-bit PNG to show;
  ``GET /api/photos/{id}/mask.png`` the mask found with the photo (white = hole);
* ``POST /api/photos/{id}/jobs?task=NAME&version=N`` queues a restoration, with what its task
  asks for (:mod:`.controls`): a PNG mask as the body (``mask``), ``grow=G`` pixels,
  ``strength=0..1``, ``noise_sigma=0..255``; ``GET /api/jobs/{job}`` its progress;
* ``GET /api/photos/{id}/versions/{n}/file`` the download, in the photo's format;
  ``POST /api/photos/{id}/versions/{n}/save`` writes it into ``--out``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ganrestore.data.atomic import remove_stale_temporaries
from ganrestore.data.io import IMAGE_SUFFIXES
from ganrestore.data.pixel_limit import over_limit
from ganrestore.errors import GanrestoreError
from ganrestore.web.bodies import BoundedBodies
from ganrestore.web.budget import (
    ENCODE_BYTES_PER_PIXEL,
    MASK_PNG_BYTES_PER_PIXEL,
    PREVIEW_BYTES_PER_PIXEL,
    MemoryBudget,
    Reservation,
    job_cost,
)
from ganrestore.web.config import QUALITY, ServeConfig, check_config
from ganrestore.web.controls import SETTING_RANGES, JobSettings
from ganrestore.web.errors import NotFound, RequestError, TooLarge, quoted
from ganrestore.web.models import ModelCache
from ganrestore.web.photos import Photo, file_bytes, mask_png, preview_png
from ganrestore.web.security import HostPolicy, LocalOnly
from ganrestore.web.session import Server, temporary_file
from ganrestore.web.uploads import read_holes, receive, too_many_bytes

STATIC_DIR = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
}
#: Versions never change, so the browser may keep their previews.
_IMMUTABLE = {"cache-control": "private, max-age=31536000, immutable"}
#: The routes that take a file as their body, streamed by :func:`_received`.
_STREAMED = re.compile(r"/api/uploads|/api/photos/[^/]+/jobs")
T = TypeVar("T")


class OpenRequest(BaseModel):
    name: str


def _streamed(method: str, path: str) -> bool:
    return method == "POST" and _STREAMED.fullmatch(path) is not None


async def _received(request: Request, server: Server, name: str, handle: Callable[[Path], T]) -> T:
    """Stream the request body into a private file and run ``handle(path)`` on a thread.

    The bytes on their way count against the memory budget (the declared length, or the
    upload limit when none is declared).

    Raises:
        TooLarge: above ``--max-upload-mb``; Busy: the budget is in use; RequestError: the
            client went away before the end of the body.
    """
    limit = server.config.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_many_bytes(limit)
    expected = int(declared) if declared is not None and declared.isdigit() else limit
    with server.budget.reserve(expected, "receiving a file"), temporary_file(name) as path:
        try:
            await receive(request.stream(), path, limit)
        except ClientDisconnect:  # nobody is left to read an answer
            raise RequestError("the browser went away before the end of the file") from None
        return await run_in_threadpool(handle, path)


def _encoding(
    budget: MemoryBudget, photo: Photo, size: tuple[int, ...], bytes_per_pixel: int, what: str
) -> Reservation:
    """The reservation of encoding an image of ``photo`` of ``size`` ``(H, W, ...)`` (its
    versions may differ in size) at ``bytes_per_pixel``; the photo stays open until it is
    released."""
    height, width = size[:2]
    cost = bytes_per_pixel * height * width
    return budget.reserve(cost, f"{what} of {quoted(photo.name)} ({width}x{height})", photo.id)


def create_app(config: ServeConfig, models: ModelCache | None = None) -> FastAPI:
    """The app serving the page for ``config``.

    Args:
        config: folders, address and limits (``config.port`` must be the real port: requests
            for another are refused).
        models: the models to run (default: the bundled ones, loaded on first use).

    Raises:
        GanrestoreError: unsafe or missing folders (see :func:`.config.check_config`).
    """
    check_config(config)
    server = Server(config, models or ModelCache())
    if config.output_dir is not None:
        remove_stale_temporaries(config.output_dir, suffixes=IMAGE_SUFFIXES)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        server.jobs.close()

    app = FastAPI(
        title="ganrestore serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.server = server
    app.add_middleware(BoundedBodies, streamed=_streamed)
    app.add_middleware(LocalOnly, policy=HostPolicy(config.host, config.port), token=config.token)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_error_handlers(app)
    _add_routes(app, server)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, exc.status)

    @app.exception_handler(GanrestoreError)
    async def user_error(request: Request, exc: GanrestoreError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        return JSONResponse({"detail": f"bad request: {problems}"}, 400)


def _add_routes(app: FastAPI, server: Server) -> None:
    config = server.config

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def page() -> HTMLResponse:  # HEAD too: link checkers and `curl -I` ask with it
        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    @app.get("/api/config")
    def settings() -> dict[str, object]:
        return {
            "input": None if config.input_dir is None else str(config.input_dir),
            "output": None if config.output_dir is None else str(config.output_dir),
            "max_upload_bytes": config.max_upload_bytes,
            "max_pixels": config.max_pixels,
            "memory_budget_bytes": config.memory_budget_bytes,
            "setting_ranges": {
                name: [low, high] for name, (low, high, _) in SETTING_RANGES.items()
            },
        }

    @app.get("/api/tasks")
    def tasks() -> dict[str, object]:  # a thread of its own: the first call loads the models
        return {"tasks": server.models.report()}

    @app.get("/api/inputs")
    def inputs() -> dict[str, object]:
        if server.inputs is None:
            raise NotFound("no --in folder was given: upload a photo instead")
        outputs = server.outputs
        images = [
            {"name": name, "saved": outputs is not None and outputs.exists(name)}
            for name in server.inputs.names()
        ]
        return {"folder": str(config.input_dir), "images": images}

    @app.post("/api/inputs/open")
    def open_input(request: OpenRequest) -> dict[str, object]:
        return server.open_input(request.name).describe()

    @app.post("/api/uploads")
    async def upload(request: Request, name: str = "upload") -> dict[str, object]:
        suffix = Path(name).suffix.lower()
        stored = f"upload{suffix if suffix in IMAGE_SUFFIXES else ''}"
        photo = await _received(request, server, stored, lambda p: server.open_upload(p, name))
        return photo.describe()

    @app.get("/api/photos/{photo_id}/versions/{number}/preview.png")
    def preview(photo_id: str, number: int) -> Response:
        photo = server.photos.get(photo_id)
        version = photo.version(number)
        with _encoding(
            server.budget, photo, version.pixels.shape, PREVIEW_BYTES_PER_PIXEL, "a preview"
        ):
            data = preview_png(version)
        return Response(data, media_type="image/png", headers=_IMMUTABLE)

    @app.get("/api/photos/{photo_id}/mask.png")
    def found_mask(photo_id: str) -> Response:
        photo = server.photos.get(photo_id)
        if photo.holes is None:
            raise NotFound(f"{quoted(photo.name)} came without a mask")
        with _encoding(
            server.budget, photo, photo.holes.shape, MASK_PNG_BYTES_PER_PIXEL, "the mask"
        ):
            data = mask_png(photo.holes)
        return Response(data, media_type="image/png", headers=_IMMUTABLE)

    @app.post("/api/photos/{photo_id}/jobs", status_code=202)
    async def start_job(
        request: Request,
        photo_id: str,
        task: str,
        version: int,
        grow: int | None = None,
        strength: float | None = None,
        noise_sigma: float | None = None,
    ) -> dict[str, object]:
        photo = server.photos.get(photo_id)
        base = photo.version(version)
        scale = server.models.task(task).scale
        settings = JobSettings(grow, strength, noise_sigma)
        out_of_range = settings.out_of_range()
        if out_of_range is not None:
            raise RequestError(out_of_range)
        height, width = base.pixels.shape[:2]
        too_large = over_limit(height, width, config.max_pixels, scale)
        if too_large is not None:
            raise TooLarge(
                f"{task} of {quoted(photo.name)} ({width}x{height}): {too_large} (--max-pixels)"
            )
        what = f"restoring {quoted(photo.name)} ({width}x{height})"
        if scale != 1:
            what += f" into {width * scale}x{height * scale}"
        reservation = server.budget.reserve(job_cost(height * width, scale), what, photo.id)
        try:
            holes = None
            if request.headers.get("content-length", "0") != "0":  # a mask (white = hole)
                budget, limit = server.budget, config.max_pixels
                handle = lambda path: read_holes(path, (height, width), limit, budget)  # noqa: E731
                holes = await _received(request, server, "mask.png", handle)
                if not holes.any():
                    raise RequestError("the mask is empty: paint over what to remove first")
        except BaseException:
            reservation.release()
            raise
        return server.jobs.submit(photo, base, task, holes, settings, reservation).describe()

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> JSONResponse:
        described = server.jobs.get(job_id).describe()
        return JSONResponse(described, headers={"cache-control": "no-store"})

    @app.get("/api/photos/{photo_id}/versions/{number}/file")
    def download(photo_id: str, number: int) -> Response:
        photo = server.photos.get(photo_id)
        version = photo.version(number)
        with _encoding(
            server.budget, photo, version.pixels.shape, ENCODE_BYTES_PER_PIXEL, "the file"
        ):
            data = file_bytes(photo, version, QUALITY)
        stem, suffix = Path(photo.name).stem, Path(photo.name).suffix
        disposition = _attachment(f"{stem}-restored{suffix}")
        headers = {"content-disposition": disposition, "cache-control": "no-store"}
        return Response(data, media_type=MEDIA_TYPES[photo.format], headers=headers)

    @app.post("/api/photos/{photo_id}/versions/{number}/save")
    def save(photo_id: str, number: int) -> dict[str, object]:
        if server.outputs is None:
            raise RequestError("no --out folder was given: download the result instead")
        photo = server.photos.get(photo_id)
        version = photo.version(number)
        target = server.outputs.target(photo.name)  # refused before encoding
        with _encoding(
            server.budget, photo, version.pixels.shape, ENCODE_BYTES_PER_PIXEL, "the file"
        ):
            data = file_bytes(photo, version, QUALITY)
        path = server.outputs.save(target.name, data)
        following = None
        if photo.source is not None and server.inputs is not None:
            following = server.inputs.next_name(photo.name)
        return {"saved": str(path), "next": following}


def _attachment(name: str) -> str:
    """A ``Content-Disposition`` naming ``name`` (non-ASCII names per RFC 6266)."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
