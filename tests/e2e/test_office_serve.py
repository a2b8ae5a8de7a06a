"""`central serve` opens the archive office's own listener: TLS with the court CA's server
certificate, no client certificate, login required, Secure cookies."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from juanzong.edge.tooling.demo import free_port, juanzong, start, stop

pytestmark = pytest.mark.e2e


def _home_with_office(tmp_path: Path) -> tuple[Path, int]:
    home = tmp_path / "central"
    juanzong("central", "init", "--home", str(home), "--host", "127.0.0.1", "--port", str(free_port()))
    office_port = free_port()
    config = home / "config.toml"
    config.write_text(
        "\n".join(
            f"office_port = {office_port}" if line.startswith("office_port =") else line for line in config.read_text("utf-8").splitlines()
        )
        + "\n",
        "utf-8",
    )
    subprocess.run(
        [
            sys.executable,
            "-P",
            "-m",
            "juanzong.shared.cli",
            "central",
            "user",
            "add",
            "--home",
            str(home),
            "--id",
            "wang",
            "--name",
            "王档案",
            "--role",
            "clerk",
        ],
        input="a-long-password-9\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return home, office_port


def test_office_listener_beside_sync(tmp_path: Path) -> None:
    home, office_port = _home_with_office(tmp_path)
    server = start(["central", "serve", "--home", str(home)], tmp_path / "central.log")
    ctx = ssl.create_default_context(cafile=str(home / "keys" / "ca.crt"))
    ctx.check_hostname = False  # the server certificate names the sync host; the office is reached by address here
    try:
        page = _get(f"https://127.0.0.1:{office_port}/login", ctx)
        assert "档案室登录" in page
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), _NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(f"https://127.0.0.1:{office_port}/", timeout=10)
        assert redirect.value.code == 303 and redirect.value.headers["location"].startswith("/login")
    finally:
        stop(server)


def test_the_office_listener_dies_with_a_killed_central_serve(tmp_path: Path) -> None:
    """kill -9 of `central serve` takes the office listener along: an orphan would keep the
    office port, and the next `central serve` could not open its office pages."""
    home, office_port = _home_with_office(tmp_path)
    server = start(["central", "serve", "--home", str(home)], tmp_path / "central.log")
    ctx = ssl.create_default_context(cafile=str(home / "keys" / "ca.crt"))
    ctx.check_hostname = False
    try:
        assert "档案室登录" in _get(f"https://127.0.0.1:{office_port}/login", ctx)
        (office,) = [c for c in psutil.Process(server.pid).children() if "serve-office" in c.cmdline()]
        server.kill()
        server.wait(timeout=30)
        assert _gone(office), "the office listener outlived central serve"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _gone(proc: psutil.Process) -> bool:
    deadline = time.monotonic() + 30  # a hang guard, not a speed bound
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _get(url: str, ctx: ssl.SSLContext) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
                return resp.read().decode("utf-8")
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
