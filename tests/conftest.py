"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import skimage.data

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """(40, 56, 3) uint8 crop of the coffee cup."""
    return np.ascontiguousarray(skimage.data.coffee()[150:190, 200:256])


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    """(44, 36) uint8 gray crop of the cameraman."""
    return np.ascontiguousarray(skimage.data.camera()[100:144, 220:256])


def write_distribution(
    root: Path,
    name: str,
    entry_points: dict[str, dict[str, str]],
    modules: dict[str, str],
    version: str = "1.0",
) -> Path:
    """Write an installed-looking distribution (``*.dist-info`` + modules) under ``root``.

    This is what ``pip install`` leaves in site-packages, so ``importlib.metadata`` finds its
    entry points exactly as it finds a real third-party package's.
    """
    root.mkdir(parents=True, exist_ok=True)
    dist_info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    sections = []
    for group, entries in entry_points.items():
        lines = "\n".join(f"{key} = {value}" for key, value in entries.items())
        sections.append(f"[{group}]\n{lines}\n")
    (dist_info / "entry_points.txt").write_text("\n".join(sections))
    for module, source in modules.items():
        path = root / f"{module.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root


@pytest.fixture
def make_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Path]]:
    """Create a distribution in its own folder and put that folder on ``sys.path``.

    Its modules are forgotten (``sys.modules``) after the test, so that another test's
    distribution may reuse a module name with other contents.
    """
    names: list[str] = []

    def make(
        name: str,
        entry_points: dict[str, dict[str, str]],
        modules: dict[str, str],
        on_sys_path: bool = True,
    ) -> Path:
        root = write_distribution(tmp_path / name, name, entry_points, modules)
        names.extend(module.split(".")[0] for module in modules)
        if on_sys_path:
            monkeypatch.syspath_prepend(str(root))
        return root

    yield make
    for loaded in list(sys.modules):
        if loaded.split(".")[0] in names:
            del sys.modules[loaded]


@contextmanager
def permissions(path: Path, mode: int) -> Iterator[Path]:
    """``path`` with the permission bits ``mode`` (0o500: read-only folder; 0: no access)
    inside the block, and as it was after it."""
    before = path.stat().st_mode & 0o777
    path.chmod(mode)
    try:
        yield path
    finally:
        path.chmod(before)


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What a CLI process printed, stdout then stderr, on one line with single spaces."""
    return " ".join((result.stdout + result.stderr).split())


def _run_cli(
    *args: str, extra_path: list[Path] | None = None, cwd: Path | None = None, as_user: bool = False
):
    """Run ``python -m ganrestore ARGS`` in a real subprocess; returns CompletedProcess.

    ``as_user``: file permissions hold for it as for a user. Root reads and writes any file
    whatever its permissions, so under root the process runs without that power (``setpriv``
    drops it); the test is skipped where root has no ``setpriv``.
    """
    command = [sys.executable, "-m", "ganrestore", *args]
    if as_user and os.name == "posix" and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv, which would drop root's file access")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    env = dict(os.environ)
    paths = [str(p) for p in extra_path or []]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["COLUMNS"] = "200"
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or REPO_ROOT,
        timeout=600,
    )


@pytest.fixture
def ctrl_c_interrupts() -> Iterator[None]:
    """Ctrl-C interrupts this process and the CLI processes it starts, as in a terminal. A suite
    started in the background (``pytest &`` in a script) begins with SIGINT ignored, and every
    process it starts inherits that and rightly keeps ignoring it; the tests of Ctrl-C are
    about processes that do not."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli("plugins", "list", extra_path=[dir])`` runs the real CLI in a subprocess
    (``as_user=True``: with file permissions enforced, also under root)."""
    return _run_cli


EXAMPLE_PLUGIN = REPO_ROOT / "examples" / "ganrestore-plugin-example"


@pytest.fixture(scope="session")
def example_plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example third-party package (``example_cnn``, the ``deblur`` task), pip-installed
    into a folder of its own; put it on ``PYTHONPATH`` (``run_cli(..., extra_path=[it])``)."""
    # pip builds in the folder it is given (build/, *.egg-info): give it a copy, not the example.
    root = tmp_path_factory.mktemp("example-plugin")
    source = root / "source"
    leftovers = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    shutil.copytree(EXAMPLE_PLUGIN, source, ignore=leftovers)
    site = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return site
