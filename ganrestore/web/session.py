"""What the routes of ``ganrestore serve`` share: folders, open photos, memory, models, jobs.

Opening a photo, from ``--in`` or an upload, reads it as ``ganrestore apply`` does (header
checked against ``--max-pixels`` and its memory reserved first) and finds the mask that comes
with it: its sidecar ``NAME_mask.*`` (checked the same way) or its transparent pixels
(``docs/apply.md``, Masks). Uploads pass through a private temporary folder that is removed as
soon as they are decoded.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ganrestore.data.io import DecodedImage, format_for_name
from ganrestore.inference.masks import mask_from_alpha
from ganrestore.web.budget import MemoryBudget
from ganrestore.web.config import ServeConfig
from ganrestore.web.errors import NotFound, quoted
from ganrestore.web.folders import InputFolder, OutputFolder, upload_name
from ganrestore.web.jobs import JobRunner
from ganrestore.web.models import ModelCache
from ganrestore.web.photos import Photo, PhotoStore, new_id
from ganrestore.web.uploads import decoded_photo, read_sidecar


class Server:
    """What the routes share: folders, open photos, the memory budget, models and jobs."""

    def __init__(self, config: ServeConfig, models: ModelCache) -> None:
        self.config = config
        self.inputs = None if config.input_dir is None else InputFolder(config.input_dir)
        self.outputs = None if config.output_dir is None else OutputFolder(config.output_dir)
        self.models = models
        self.photos = PhotoStore()
        self.budget = MemoryBudget(config.memory_budget_bytes, self.photos)
        self.jobs = JobRunner(models)

    def open_input(self, name: str) -> Photo:
        if self.inputs is None:
            raise NotFound("no --in folder was given: upload a photo instead")
        path = self.inputs.path(name)
        limit = self.config.max_pixels
        with decoded_photo(path, quoted(name), limit, self.budget) as decoded:
            holes, source = None, ""
            mask_file = self.inputs.mask_file(path)
            if mask_file is not None:
                size = (decoded.height, decoded.width)
                holes = read_sidecar(mask_file, size, limit, self.budget).holes
                source = f"its mask file {mask_file.name}"
            return self.photos.add(self._photo(decoded, name, path, holes, source))

    def open_upload(self, path: Path, name: str) -> Photo:
        with decoded_photo(path, quoted(name), self.config.max_pixels, self.budget) as decoded:
            safe_name = upload_name(name, decoded.format)
            return self.photos.add(self._photo(decoded, safe_name, None))

    @staticmethod
    def _photo(
        decoded: DecodedImage,
        name: str,
        source: Path | None,
        holes: np.ndarray | None = None,
        mask_source: str = "",
    ) -> Photo:
        if holes is None:
            loaded = mask_from_alpha(decoded.alpha)
            if loaded is not None:
                holes, mask_source = loaded.holes, "its transparent pixels"
        file_format = format_for_name(name) or decoded.format  # by its name, as apply writes
        photo = Photo(new_id(), name, source, file_format, decoded.bit_depth, decoded.metadata)
        photo.holes, photo.mask_source = holes, mask_source
        photo.add(decoded.pixels, decoded.alpha)
        return photo


@contextmanager
def temporary_file(name: str) -> Iterator[Path]:
    """A path in a new private folder, removed with everything in it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="ganrestore-serve-"))
    try:
        yield folder / name
    finally:
        shutil.rmtree(folder, ignore_errors=True)
