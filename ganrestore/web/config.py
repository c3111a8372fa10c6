"""What ``ganrestore serve`` serves: folders, address, token and limits, checked before it
starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ganrestore.errors import GanrestoreError
from ganrestore.inference.folder import DEFAULT_MAX_PIXELS, ApplyOptions, check_folders
from ganrestore.web.budget import default_budget
from ganrestore.web.security import is_loopback

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
#: Largest upload (photo or mask) in bytes: a 12 MP 16-bit TIFF is about 72 MB uncompressed.
DEFAULT_MAX_UPLOAD_BYTES = 200_000_000
#: JPEG and WebP quality of downloads and saved files, as ``ganrestore apply`` writes them.
QUALITY = 95
#: A token: 16 to 256 letters, digits or ``-._~`` (it travels in addresses, cookies, headers).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._~-]{16,256}")


@dataclass(frozen=True)
class ServeConfig:
    """What the server was asked to serve.

    Attributes:
        input_dir: ``--in``: a folder whose images the page lists; only read. None: uploads only.
        output_dir: ``--out``: where the page saves results (never replacing a file). None:
            results are downloaded only.
        host: the address to listen on (``127.0.0.1``: this machine only).
        port: the port to listen on (0: any free port).
        max_pixels: images with more pixels (width x height, read from the file header before
            decoding) are refused; 0: no limit.
        max_upload_bytes: larger uploads are refused while they arrive.
        memory_budget_bytes: the memory the open photos and the requests in progress may use
            together (:mod:`.budget`; ``--memory-mb``).
        token: the secret every request must carry (``--token``); None: none is asked, which
            only a loopback ``host`` allows.
    """

    input_dir: Path | None = None
    output_dir: Path | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    memory_budget_bytes: int = field(default_factory=default_budget)
    token: str | None = field(default=None, repr=False)


def check_config(config: ServeConfig) -> None:
    """Refuse folders that could lose a file, as ``ganrestore apply`` does, and a server open to
    the network without a token.

    ``--in`` must be a folder; ``--out`` may not be ``--in``, lie inside it or be a file; a
    ``host`` other than a loopback address needs a ``token``.

    Raises:
        GanrestoreError: the message names the option and what to do.
    """
    if not config.host.strip():
        raise GanrestoreError(
            "--host is empty: give an address, such as 127.0.0.1 (this machine only, the "
            "default) or 0.0.0.0 (every network this machine is on)"
        )
    source, target = config.input_dir, config.output_dir
    if source is not None and not source.is_dir():
        what = "is a file, not a folder" if source.is_file() else "is no folder"
        raise GanrestoreError(f"--in {source} {what}: pass the folder of the photos to edit")
    if target is not None and target.exists() and not target.is_dir():
        raise GanrestoreError(f"--out {target} exists and is not a folder")
    if source is not None and target is not None:
        check_folders(ApplyOptions(source, target))
    if config.max_pixels < 0 or config.max_upload_bytes <= 0:
        raise GanrestoreError("--max-pixels must be 0 or more and --max-upload-mb above 0")
    if config.memory_budget_bytes <= 0:
        raise GanrestoreError("--memory-mb must be above 0")
    if config.token is not None and not TOKEN_PATTERN.fullmatch(config.token):
        raise GanrestoreError(
            "--token must be 16 to 256 letters, digits or -._~ (it is a password: leave it out "
            "and ganrestore serve makes one)"
        )
    if config.token is None and not is_loopback(config.host):
        raise GanrestoreError(
            f"--host {config.host} opens the page to the network: it needs a token (--token, "
            "or let ganrestore serve make one)"
        )
