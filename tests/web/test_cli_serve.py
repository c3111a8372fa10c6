"""`ganrestore serve` as a user starts it: address, warnings, clear errors, no traceback."""

from __future__ import annotations

import json
import os
import re
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
    for option in ("--in", "--out", "--model", "--port", "--host", "--max-pixels", "--token"):
        assert option in text
    assert 'pip install "ganrestore[web]"' in text and "127.0.0.1" in text
    assert "--memory-mb" in text and "half of this machine's memory" in text
    assert "--trust-torchscript" in text and "?token=" in text


def test_without_the_web_extra_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # what `import fastapi` meets uninstalled
    result = invoke("--in", REPO_ROOT / "examples" / "broken")
    assert result.exit_code == 2
    assert 'pip install -e ".[web]"' in result.output
    assert 'pip install "ganrestore[web]"' in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("port", ["65536", "99999", "-1"])
def test_a_port_outside_0_to_65535_is_refused_naming_the_option(port: str) -> None:
    result = invoke("--in", REPO_ROOT / "examples" / "broken", "--port", port)
    assert result.exit_code == 2 and "--port" in result.output, result.output
    assert "Traceback" not in result.output and "OverflowError" not in result.output


def test_unsafe_folders_and_unknown_models_are_one_error_line(photos: Path, tmp_path: Path) -> None:
    pytest.importorskip("fastapi", reason='the web extra is missing: pip install -e ".[web]"')
    for args, message in (
        (("--in", photos, "--out", photos / "fixed"), "inside --in"),
        (("--in", photos / "cat.png"), "is a file, not a folder"),
        (("--in", photos, "--model", tmp_path / "nowhere"), "no such file or folder"),
        (("--host", "0.0.0.0", "--token", "secret"), "--token must be 16 to 256"),
        (("--host", ""), "--host is empty: give an address, such as 127.0.0.1"),
    ):
        result = invoke(*args, "--port", "0")
        assert result.exit_code == 2, result.output
        assert result.output.startswith("Error: ") and message in result.output
        assert "Traceback" not in result.output


def start(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ganrestore", "serve", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {})) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_another_host_than_loopback_needs_the_token_it_prints(photos: Path) -> None:
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    port = free_port()  # served on every interface
    process = start("--in", photos, "--host", "0.0.0.0", "--port", str(port))
    try:
        url = address_of(process)
        page, _, token = url.partition("?token=")
        assert page == f"http://127.0.0.1:{port}/" and re.fullmatch("[0-9a-f]{48}", token), url
        assert status_of(f"{page}api/config") == 401
        assert status_of(f"{page}api/config?token={token}") == 200
        assert status_of(f"{page}api/config", {"Authorization": f"token {token}"}) == 200
        assert status_of(f"{page}api/config?token={'0' * 48}") == 401
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert "Warning: --host 0.0.0.0" in stderr and "network you trust" in stderr
    assert "token" in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_a_token_from_the_environment_is_asked_for_on_loopback_too(photos: Path) -> None:
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    token = "a-token-of-my-own-1234"
    process = start("--in", photos, "--port", "0", env={"GANRESTORE_SERVE_TOKEN": token})
    try:
        url = address_of(process)
        assert url.endswith(f"/?token={token}")
        page = url.partition("?")[0]
        assert status_of(f"{page}api/inputs") == 401
        assert status_of(f"{page}api/inputs?token={token}") == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)


@pytest.mark.slow
def test_a_client_that_goes_away_mid_request_leaves_no_traceback(photos: Path) -> None:
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    process = start("--in", photos, "--port", "0")
    try:
        url = address_of(process)
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        request = urllib.request.Request(
            f"{url}api/inputs/open",
            data=json.dumps({"name": "cat.png"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            jobs = f"/api/photos/{json.load(answer)['id']}/jobs?task=inpaint&version=0"
        for head, length, body in (
            ("POST /api/uploads?name=a.png", 1_000_000, b"\x89PNG\r\n\x1a\n" + b"\0" * 5000),
            (f"POST {jobs}", 1_000_000, b"\x89PNG\r\n\x1a\n"),  # a mask
            ("POST /api/inputs/open", 1000, b'{"name": "cat'),
        ):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
                headers = f"{head} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                client.sendall(f"{headers}Content-Length: {length}\r\n\r\n".encode() + body)
                time.sleep(0.5)  # the server is reading the body when the client goes
        time.sleep(1)
        assert status_of(f"{url}api/inputs") == 200  # still serving
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr and len(stderr.splitlines()) <= 2, stderr


def _no_file_over_4_kb() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # as a full disk fails a write


@pytest.mark.slow
def test_a_disk_that_refuses_the_file_on_save_is_a_message_not_a_traceback(
    photos: Path, tmp_path: Path
) -> None:
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    out = tmp_path / "fixed"
    process = subprocess.Popen(
        [sys.executable, "-m", "ganrestore", "serve", "--in", photos, "--out", out, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        preexec_fn=_no_file_over_4_kb,
    )
    try:
        url = address_of(process)
        request = urllib.request.Request(
            f"{url}api/inputs/open",
            data=json.dumps({"name": "astronaut.png"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            photo = json.load(answer)
        save = f"{url}api/photos/{photo['id']}/versions/0/save"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(save, method="POST"), timeout=30)
        assert refused.value.code == 507
        detail = json.load(refused.value)["detail"]
        assert f"cannot save {out / 'astronaut.png'}" in detail and "make room" in detail
        assert list(out.iterdir()) == []  # no temporary left
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr


@pytest.mark.slow
def test_a_torchscript_model_is_served_only_with_trust_torchscript(
    photos: Path, torchscript_denoiser: Path
) -> None:
    pytest.importorskip("uvicorn", reason='the web extra is missing: pip install -e ".[web]"')
    command = [sys.executable, "-m", "ganrestore", "serve", "--port", "0"]
    refused = subprocess.run(  # a process: without the check it would serve, not return
        [*command, "--model", torchscript_denoiser],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert refused.returncode == 2 and "--trust-torchscript" in refused.stderr
    assert "Traceback" not in refused.stderr
    process = start(
        "--in", photos, "--model", torchscript_denoiser, "--trust-torchscript", "--port", "0"
    )
    try:
        url = address_of(process)
        with urllib.request.urlopen(f"{url}api/tasks", timeout=60) as answer:
            reported = {task["name"]: task for task in json.load(answer)["tasks"]}
        assert reported["denoise"]["model"] == str(torchscript_denoiser)
        assert reported["denoise"]["error"] is None
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr
