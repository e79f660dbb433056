"""`queue-server serve` stopping and starting as an operator does it: Ctrl-C with clients
connected, a port already taken, a second server on the same embedded data directory, and
the embedded PostgreSQL dying under the server."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psutil
import pytest

from queue_server.protocol import SUBPROTOCOL
from tests.cli.cli_support import (
    COMMAND,
    CONFIG,
    ROOT,
    cli_env,
    fetch,
    output_lines,
    run,
    with_config,
)
from tests.cli.test_cli_serve import Served
from tests.support.services import free_port

#: What Ctrl-C may take with clients connected (required: 5 s; the margin is for a loaded
#: test machine).
STOP_BOUND = 8.0
_PRINTER = ROOT / ".venv" / "bin" / "queue-printer"


def _device(db: str, role: str, name: str, *extra: str) -> str:
    done = run(*with_config("device", "add", "--hall", "gongshu", "--role", role, "--name", name, *extra), db=db)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def _wait(check, *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {within} s"
        time.sleep(0.2)


async def _screen(base: str, token: str) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(f"{base.replace('http', 'ws')}/ws/v1/halls/gongshu?token={token}",
                                  protocols=(SUBPROTOCOL,))
    first = await ws.receive_json(timeout=10)
    assert first["type"] == "snapshot"
    return session, ws


def test_ctrl_c_stops_within_seconds_with_a_printer_and_a_screen_connected(migrated_db, tmp_path):
    printer_token = _device(migrated_db, "printer", "P01", "--kiosk", "K01")
    display_token = _device(migrated_db, "display", "D01")
    served = Served(migrated_db, tmp_path, "ctrl-c")
    printer: subprocess.Popen[bytes] | None = None
    try:
        served.wait_healthy()
        nowhere = free_port()  # the thermal printer is off: the client still holds its socket
        printer = subprocess.Popen(
            [str(_PRINTER) if _PRINTER.exists() else "queue-printer", "--server", served.base,
             "--token", printer_token, "--printer", f"tcp://127.0.0.1:{nowhere}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env(), cwd=tmp_path,
        )
        _wait(lambda: bool(fetch(migrated_db, "SELECT 1 FROM device_status WHERE name = 'P01'")),
              within=20, what="the printer client connecting")

        async def with_screen() -> tuple[float, int | None, object]:
            session, ws = await _screen(served.base, display_token)
            try:
                started = time.monotonic()
                served.proc.send_signal(signal.SIGINT)
                closing = await ws.receive(timeout=STOP_BOUND)
                code = ws.close_code
                await asyncio.to_thread(served.proc.wait, STOP_BOUND + 5)
                return time.monotonic() - started, code, closing
            finally:
                await session.close()

        seconds, close_code, closing = asyncio.run(with_screen())
    finally:
        if printer is not None:
            printer.terminate()
            printer.wait(10)
        served.stop()
    print(f"Ctrl-C with a printer client and a screen connected: serve exited in {seconds:.2f} s")
    assert seconds < STOP_BOUND, f"serve took {seconds:.1f} s to stop after Ctrl-C"
    assert close_code == 1001, (close_code, closing)
    assert served.proc.returncode in (0, 130), served.stderr()
    assert "Traceback" not in served.stderr()


def test_a_port_in_use_is_one_clear_line_and_exit_2(migrated_db, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*COMMAND, *with_config("serve", "--port", str(port))], capture_output=True, text=True,
            env=cli_env(migrated_db), cwd=tmp_path, timeout=60, check=False,
        )
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = output_lines(done.stderr)
    assert len(lines) == 1, done.stderr
    assert str(port) in lines[0] and "端口" in lines[0] and "in use" in lines[0]
    assert "Traceback" not in done.stderr
    assert "serving on" not in done.stdout


@pytest.fixture
def pgdata() -> Iterator[Path]:
    """An embedded data directory outside pytest's tmp_path: under root the server's account
    must reach it, and every pytest session that starts on the machine (another developer's
    run) takes o+x off /tmp/pytest-of-root again, which cut the server off its files mid-test."""
    workdir = Path(tempfile.mkdtemp(prefix="hq-test-pg-"))
    yield workdir / "pgdata"
    shutil.rmtree(workdir, ignore_errors=True)


def _embedded_config(tmp_path: Path, pgdata: Path) -> Path:
    """The sample configuration with its embedded data directory in `pgdata`."""
    text = CONFIG.read_text(encoding="utf-8")
    assert 'pgdata = "./var/pgdata"' in text
    config = tmp_path / "config.toml"
    config.write_text(text.replace('pgdata = "./var/pgdata"', f'pgdata = "{pgdata}"'),
                      encoding="utf-8")
    return config


class EmbeddedServed:
    """`serve` with no database URL: it starts and owns an embedded PostgreSQL."""

    def __init__(self, config: Path, tmp: Path, name: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out = tmp / f"{name}.out"
        self.err = tmp / f"{name}.err"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [*COMMAND, "serve", "--config", str(config), "--port", str(self.port)],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=cli_env(), cwd=tmp,
            )

    def healthz(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8")


def _postmaster(pgdata: Path) -> psutil.Process:
    return psutil.Process(int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0]))


def test_one_owner_of_an_embedded_data_directory_and_an_owner_whose_database_died_exits(tmp_path, pgdata):
    config = _embedded_config(tmp_path, pgdata)
    first = EmbeddedServed(config, tmp_path, "first")
    try:
        _wait(lambda: first.healthz() == 200 or first.proc.poll() is not None, within=120,
              what="the first server answering /healthz")
        assert first.proc.poll() is None, first.stderr()

        second = subprocess.run(
            [*COMMAND, "serve", "--config", str(config), "--port", str(free_port())],
            capture_output=True, text=True, env=cli_env(), cwd=tmp_path, timeout=60, check=False,
        )
        assert second.returncode != 0, second.stdout
        lines = output_lines(second.stderr)
        assert len(lines) == 1, second.stderr
        assert str(pgdata) in lines[0] and "another queue-server" in lines[0], lines
        assert "serving on" not in second.stdout
        assert first.healthz() == 200, "the second server must not disturb the first"

        # The embedded PostgreSQL the first server owns dies: the server exits (non-zero, one
        # clear line) rather than answering 503 forever while /healthz says ok.
        postmaster = _postmaster(pgdata)
        server_processes = postmaster.children()  # checkpointer, walwriter, … exit after it
        postmaster.kill()
        first.proc.wait(30)
        assert first.proc.returncode not in (0, None), first.stderr()
        assert "embedded PostgreSQL" in first.stderr() and "Traceback" not in first.stderr()
    finally:
        first.stop()
    # Gone for good (reaped), and so are its children, which stay attached to the old shared
    # memory until they notice: PostgreSQL refuses to start while that block is in use.
    postmaster.wait(30)
    _, still_running = psutil.wait_procs(server_processes, timeout=30)
    assert not still_running, still_running
    # The directory is free again: a new server becomes its owner.
    third = EmbeddedServed(config, tmp_path, "third")
    try:
        _wait(lambda: third.healthz() == 200 or third.proc.poll() is not None, within=120,
              what="a new owner answering /healthz")
        assert third.proc.poll() is None, third.stderr()
        with urllib.request.urlopen(f"{third.base}/readyz", timeout=10) as resp:
            assert json.loads(resp.read()) == {"status": "ready"}
        # Ctrl-C of a server that owns its embedded PostgreSQL: stopping it is included.
        started = time.monotonic()
        third.proc.send_signal(signal.SIGINT)
        third.proc.wait(STOP_BOUND + 5)
        seconds = time.monotonic() - started
    finally:
        third.stop()
    print(f"Ctrl-C of serve with its embedded PostgreSQL: exited in {seconds:.2f} s")
    assert seconds < STOP_BOUND, f"serve took {seconds:.1f} s to stop after Ctrl-C"
    assert "Traceback" not in third.stderr()
