"""`ganrestore serve` as a user starts it: address, warnings, clear errors, no traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganrestore.cli.app import app

REPO_ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str | Path, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        app, ["serve", *map(str, args)], env={"COLUMNS": "200", **(env or {})}
    )


def test_help_names_the_options_and_the_extra() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in ("--in", "--out", "--model", "--port", "--host", "--max-pixels"):
        assert option in text
    assert 'pip install "ganrestore[web]"' in text and "127.0.0.1" in text


def test_without_the_web_extra_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # what `import fastapi` meets uninstalled
    result = invoke("--in", REPO_ROOT / "examples" / "broken")
    assert result.exit_code == 2
    assert 'pip install -e ".[web]"' in result.output
    assert 'pip install "ganrestore[web]"' in result.output
    assert "Traceback" not in result.output


def test_unsafe_folders_and_unknown_models_are_one_error_line(photos: Path, tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    for args, message in (
        (("--in", photos, "--out", photos / "fixed"), "inside --in"),
        (("--in", photos / "cat.png"), "is a file, not a folder"),
        (("--in", photos, "--model", tmp_path / "nowhere"), "no such file or folder"),
    ):
        result = invoke(*args, "--port", "0")
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error: ") and message in result.output
        assert "Traceback" not in result.output


def start(*args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ganrestore", "serve", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )


def address_of(process: subprocess.Popen[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    line = ""
    while "open http" not in line:
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        line = process.stdout.readline()
    return line.split("open ", 1)[1].split(" ", 1)[0]


@pytest.mark.slow
def test_serve_prints_its_address_answers_there_only_and_stops_on_ctrl_c(
    photos: Path, tmp_path: Path
) -> None:
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    process = start("--in", photos, "--out", tmp_path / "fixed", "--port", "0")
    try:
        url = address_of(process)
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}api/inputs", timeout=10) as answer:
            names = [image["name"] for image in json.load(answer)["images"]]
        assert names[0] == "astronaut.png"
        request = urllib.request.Request(f"{url}api/inputs", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        busy = subprocess.run(
            [sys.executable, "-m", "ganrestore", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            timeout=120,
        )
        assert busy.returncode == 2 and "another program listens on it" in busy.stderr
        assert "Traceback" not in busy.stderr
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_another_host_than_loopback_is_served_with_a_warning(photos: Path) -> None:
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    with socket.socket() as probe:  # a free port, then served on every interface
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = start("--in", photos, "--host", "0.0.0.0", "--port", str(port))
    try:
        url = address_of(process)
        assert url == f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(f"{url}api/config", timeout=10) as answer:
            assert answer.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert "Warning: --host 0.0.0.0" in stderr and "network you trust" in stderr
