"""The district deployment of deploy/: Debian's nginx, with deploy/nginx/hall-queue-proxy.conf
as it is installed, in front of two real `queue-server serve` processes sharing one PostgreSQL
database and one Redis relay. A call made through nginx to one process reaches a screen
attached through nginx to the other; request ids pass through; /metrics is not reachable
through nginx; the shipped site file is valid nginx with the timeouts websockets need."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from queue_server.protocol import Snapshot
from tests.e2e.e2e_support import ROOT, SAMPLE_CONFIG, Api, Screen, add_device_cli, add_staff_cli
from tests.support import services
from tests.support.hall import prepare_database, sample_config
from tests.support.servers import ServerProcess, free_port
from tests.support.services import RedisServer

NGINX = "/usr/sbin/nginx"
DEPLOY = ROOT / "deploy" / "nginx"
PROXY_SNIPPET = DEPLOY / "hall-queue-proxy.conf"
SITE = DEPLOY / "hall-queue.conf"
UPSTREAM = "http://hall_queue;"


def _temp_paths(tmp: Path) -> str:
    """Everything nginx writes, in `tmp` (it runs as the test's user, not root)."""
    return "\n".join(f"{name}_temp_path {tmp / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))


def _main_config(tmp: Path, http_block: str) -> str:
    return f"""
worker_processes 1;
pid {tmp / "nginx.pid"};
error_log {tmp / "error.log"} info;
daemon off;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    {_temp_paths(tmp)}
    log_format upstreams '$request_method $uri $status upstream=$upstream_addr rid=$upstream_http_x_request_id';
    access_log {tmp / "access.log"} upstreams;
{http_block}
}}
"""


def _pinned_snippet(tmp: Path, upstream: str) -> Path:
    """deploy's locations, proxying to `upstream` instead of the whole group."""
    text = PROXY_SNIPPET.read_text()
    passes = text.count(UPSTREAM)
    assert passes >= 5 and passes == text.count("proxy_pass"), "every location proxies to hall_queue"
    path = tmp / f"proxy-{upstream}.conf"
    path.write_text(text.replace(UPSTREAM, f"http://{upstream};"))
    return path


def _hall_affinity() -> tuple[str, str]:
    """The shipped site's map of a request to its hall, and its upstream's hash on it."""
    site = SITE.read_text()
    found = re.search(r"^map \$uri \$hall_queue_hall \{.*?^\}", site, re.S | re.M)
    hashed = re.search(r"^\s*(hash \$hall_queue_hall consistent;)", site, re.M)
    assert found and hashed, "the site routes each hall to one process"
    return found.group(0), hashed.group(1)


@dataclass
class Nginx:
    proc: subprocess.Popen[bytes]
    tmp: Path

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.tmp / "error.log", self.tmp / "out.log")
                       if p.exists())[-3000:]

    def access(self) -> list[str]:
        path = self.tmp / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_nginx(tmp: Path, config: str, ports: list[int]) -> Nginx:
    (tmp / "nginx.conf").write_text(config)
    with open(tmp / "out.log", "ab") as out:
        proc = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")],
                                stdout=out, stderr=subprocess.STDOUT)
    nginx = Nginx(proc, tmp)
    deadline = time.monotonic() + 10
    waiting = list(ports)
    while waiting:
        if proc.poll() is not None or time.monotonic() > deadline:
            nginx.stop()
            raise RuntimeError(f"nginx did not start:\n{nginx.log()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", waiting[0])) == 0:
                waiting.pop(0)
                continue
        time.sleep(0.05)
    return nginx


@dataclass
class Front:
    a: ServerProcess
    b: ServerProcess
    via_a: str  # nginx, proxying to process A only
    via_b: str  # nginx, proxying to process B only
    via_both: str  # nginx with the upstream of both, as in production
    nginx: Nginx
    display: str
    kiosk: str


@contextlib.contextmanager
def nginx_front(pg_dsn: str, tmp: Path) -> Iterator[Front]:
    config_path = tmp / "config.toml"
    text = SAMPLE_CONFIG.read_text()
    assert '# trusted_proxies = ["127.0.0.1"]' in text
    config_path.write_text(text.replace('# trusted_proxies = ["127.0.0.1"]', 'trusted_proxies = ["127.0.0.1"]'))
    with services.temporary_database(pg_dsn) as dsn:
        services.run_async(prepare_database(dsn, sample_config()))
        redis = RedisServer()
        redis.start()
        servers = [ServerProcess(config_path, database_url=dsn, redis_url=redis.url, log_dir=tmp) for _ in range(2)]
        nginx: Nginx | None = None
        try:
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                accounts = [
                    pool.submit(add_staff_cli, dsn, "1001", "张三"),
                    pool.submit(add_device_cli, dsn, "D01", "display"),
                    pool.submit(add_device_cli, dsn, "K01", "kiosk"),
                ]
                started = [pool.submit(server.start) for server in servers]
                _, display, kiosk = (f.result() for f in accounts)
                for f in started:
                    f.result()
            a, b = servers
            ports = [free_port() for _ in range(3)]
            snippet_a, snippet_b = _pinned_snippet(tmp, "hall_queue_a"), _pinned_snippet(tmp, "hall_queue_b")
            hall_map, hall_hash = _hall_affinity()
            http_block = f"""
    {hall_map}
    upstream hall_queue_a {{ server 127.0.0.1:{a.port}; }}
    upstream hall_queue_b {{ server 127.0.0.1:{b.port}; }}
    upstream hall_queue {{ {hall_hash} server 127.0.0.1:{a.port}; server 127.0.0.1:{b.port}; keepalive 8; }}
    server {{ listen 127.0.0.1:{ports[0]}; include {snippet_a}; }}
    server {{ listen 127.0.0.1:{ports[1]}; include {snippet_b}; }}
    server {{ listen 127.0.0.1:{ports[2]}; include {PROXY_SNIPPET}; }}
"""
            nginx = start_nginx(tmp, _main_config(tmp, http_block), ports)
            yield Front(a, b, *(f"http://127.0.0.1:{p}" for p in ports), nginx, display, kiosk)  # type: ignore[call-arg]
        finally:
            if nginx is not None:
                nginx.stop()
            with concurrent.futures.ThreadPoolExecutor(2) as pool:  # each takes its shutdown time
                for stopped in [pool.submit(server.stop) for server in servers]:
                    stopped.result()
            redis.close()


@pytest.fixture
def front(pg_dsn: str, tmp_path: Path) -> Iterator[Front]:
    with nginx_front(pg_dsn, tmp_path) as f:
        yield f


async def _post(http: aiohttp.ClientSession, url: str, token: str, request_id: str) -> tuple[int, dict, str]:
    async with http.post(url, json={}, headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id}) as r:
        return r.status, await r.json(), r.headers.get("X-Request-Id", "")


async def test_a_call_through_nginx_to_one_process_reaches_a_screen_attached_through_nginx_to_the_other(
        front: Front, http: aiohttp.ClientSession) -> None:
    loop = asyncio.get_running_loop()
    api_a = Api(http, front.via_a)
    clerk = await api_a.login("1001")
    screen = await Screen.connect(http, front.via_b, front.display)  # the websocket upgrade, through nginx
    try:
        await screen.until(lambda s: s.board.seq is not None, 5)
        assert isinstance(screen.heard[0].message, Snapshot)
        await api_a.issue("A", front.kiosk)
        await api_a.act(1, "open", clerk)

        status, answer, echoed = await _post(http, f"{front.via_a}/api/v1/halls/gongshu/windows/1/call-next",
                                             clerk, "nginx-call-1")
        answered = loop.time()
        assert status == 200 and answer["ticket"]["number"] == "A001", answer
        heard = await screen.until(lambda s: bool(s.events("ticket_called")), 2.0)
        assert heard - answered < 1.0
        called = screen.events("ticket_called")[0].message.event
        assert called["ticket"]["number"] == "A001" and called["window"]["number"] == 1

        # The request id went through nginx to process A (its JSON log line) and came back;
        # process B never saw the call: it reached B's screen through the Redis relay.
        assert echoed == "nginx-call-1"
        assert '"request_id": "nginx-call-1"' in front.a.log() or '"request_id":"nginx-call-1"' in front.a.log()
        assert "nginx-call-1" not in front.b.log()
        calls = [line for line in front.nginx.access() if "call-next" in line]
        assert calls == [f"POST /api/v1/halls/gongshu/windows/1/call-next 200 upstream=127.0.0.1:{front.a.port} "
                         "rid=nginx-call-1"], front.nginx.access()
    finally:
        await screen.close()

    # The production upstream spreads requests without a hall over both processes, and sends
    # each hall's requests to one of them (hall affinity).
    for _ in range(4):
        async with http.get(f"{front.via_both}/healthz") as r:
            assert r.status == 200

    def upstreams(path: str) -> list[str]:
        return [m.group(1) for line in front.nginx.access() if f" {path} " in line
                for m in [re.search(r"upstream=(\S+)", line)] if m]

    async def logged(path: str, count: int) -> list[str]:
        """The upstreams of `path`, once nginx has logged `count` of them (it writes a
        request's line after its answer has gone out)."""
        for _ in range(100):
            used = upstreams(path)
            if len(used) >= count:
                return used
            await asyncio.sleep(0.05)
        return upstreams(path)

    assert set(await logged("/healthz", 4)) == {f"127.0.0.1:{front.a.port}", f"127.0.0.1:{front.b.port}"}, \
        front.nginx.access()
    for hall in ("gongshu", "hushu"):
        for _ in range(6):
            async with http.get(f"{front.via_both}/api/v1/halls/{hall}/queue") as r:
                assert r.status == 200, await r.text()
        used = await logged(f"/api/v1/halls/{hall}/queue", 6)
        assert len(used) == 6 and len(set(used)) == 1, front.nginx.access()

    # /metrics: the process answers this machine directly; nginx refuses it, and the server
    # itself would not count a forwarded request as local.
    async with http.get(f"{front.a.url}/metrics") as r:
        assert r.status == 200 and "hallqueue_" in await r.text()
    for base in (front.via_a, front.via_both):
        async with http.get(f"{base}/metrics") as r:
            assert r.status == 403 and "hallqueue_" not in await r.text()
    async with http.get(f"{front.a.url}/metrics", headers={"X-Forwarded-For": "127.0.0.1"}) as r:
        assert r.status == 403

    # Static files get caching headers; a body over 64 KiB stops at nginx.
    async with http.get(f"{front.via_both}/display/static/hall.js") as r:
        assert r.status == 200 and r.headers["Cache-Control"] == "public, max-age=600"
    async with http.post(f"{front.via_a}/api/v1/halls/gongshu/tickets", data=b"x" * (65 * 1024),
                         headers={"Content-Type": "application/json"}) as r:
        assert r.status == 413

    # A hall's process stops: nginx sends that hall's requests to the other one.
    first = upstreams("/api/v1/halls/gongshu/queue")[0]
    down, other = (front.a, front.b) if first.endswith(f":{front.a.port}") else (front.b, front.a)
    down.stop()
    async with http.get(f"{front.via_both}/api/v1/halls/gongshu/queue") as r:
        assert r.status == 200, await r.text()
    await logged("/api/v1/halls/gongshu/queue", 7)
    last = [line for line in front.nginx.access() if " /api/v1/halls/gongshu/queue " in line][-1]
    assert f"127.0.0.1:{other.port}" in last.split("upstream=", 1)[1], front.nginx.access()


def _directives(block: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", block, re.M)


def _location(text: str, pattern: str) -> str:
    match = re.search(r"location\s+" + re.escape(pattern) + r"\s*\{(.*?)\n\}", text, re.S)
    assert match, f"no location {pattern}"
    return match.group(1)


def _seconds(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([smh]?)", value.strip()).groups()  # type: ignore[union-attr]
    return int(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "queue.example.gov.cn")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "fullchain.pem", tmp / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_the_shipped_site_is_valid_nginx_with_tls_a_redirect_and_long_websocket_timeouts(tmp_path: Path) -> None:
    snippet = PROXY_SNIPPET.read_text()
    websockets = _location(snippet, "/ws/")
    assert _seconds(_directives(websockets, "proxy_read_timeout")[0]) >= 3600  # nginx's default is 60 s
    assert _seconds(_directives(websockets, "proxy_send_timeout")[0]) >= 3600
    assert "Upgrade $http_upgrade" in websockets and 'Connection "upgrade"' in websockets
    # A location that sets headers inherits none: the websocket one must set them all again.
    for header in ("Host", "X-Forwarded-For", "X-Request-Id"):
        assert f"proxy_set_header {header} " in websockets, header
    live = _location(snippet, "~ ^/t/[^/]+/live$")
    assert _seconds(_directives(live, "proxy_read_timeout")[0]) >= 3600 and "proxy_buffering off" in live
    pairing = _location(snippet, "= /api/v1/pairing/wait")
    assert _seconds(_directives(pairing, "proxy_read_timeout")[0]) > 30  # the server's longest wait
    assert re.search(r"location = /metrics \{\s*deny all;\s*\}", snippet)
    assert _directives(snippet, "client_max_body_size") == ["64k"]
    static = re.search(r"location ~ (\S+) \{\n(.*?)\n\}", snippet[snippet.index("/static/") - 40:], re.S)
    assert static and "public, max-age=600" in static.group(2)
    # Every static prefix the server registers gets the caching headers (a new page's too).
    registered = {m for path in (ROOT / "queue_server" / "web").glob("*.py")
                  for m in re.findall(r'add_static\("(/[a-z]+/static/)"', path.read_text())}
    assert len(registered) >= 7
    for prefix in registered:
        assert re.match(static.group(1), prefix + "app.js"), prefix
    for dynamic in ("/display/time-zone.js", "/vendor/echarts/echarts.min.js", "/display/hall/gongshu"):
        assert not re.match(static.group(1), dynamic), dynamic

    site = SITE.read_text()
    assert len(_directives(re.search(r"upstream hall_queue \{(.*?)\}", site, re.S).group(1), "server")) >= 2  # type: ignore[union-attr]
    assert "return 301 https://$host$request_uri" in site
    assert "/etc/ssl/hall-queue/fullchain.pem" in site and "/etc/ssl/hall-queue/privkey.pem" in site
    # `nginx -t` on the site as shipped, with only the machine-specific paths put in tmp.
    cert, key = _self_signed(tmp_path)
    rendered = (site.replace("/etc/ssl/hall-queue/fullchain.pem", str(cert))
                .replace("/etc/ssl/hall-queue/privkey.pem", str(key))
                .replace("/etc/nginx/snippets/hall-queue-proxy.conf", str(PROXY_SNIPPET))
                .replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(rendered)
    (tmp_path / "nginx.conf").write_text(_main_config(tmp_path, f"    include {tmp_path / 'site.conf'};"))
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                              "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=20)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
    assert shutil.which(NGINX)


def _unit(name: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_systemd_template_runs_one_hardened_process_per_port_as_the_app_role() -> None:
    unit = _unit("hall-queue@.service")
    assert unit["User"] == ["hall-queue"] and unit["Restart"] == ["on-failure"]
    assert unit["EnvironmentFile"] == ["/etc/hall-queue/serve.env"]
    exec_start = unit["ExecStart"][0].split()
    assert exec_start[1] == "serve" and exec_start[exec_start.index("--port") + 1] == "%i"
    assert exec_start[exec_start.index("--host") + 1] == "127.0.0.1"
    for option in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "RestrictAddressFamilies"):
        assert option in unit, option
    assert unit["CapabilityBoundingSet"] == [""]
    # The serving processes get the app role only; the owner's DSN is in admin.env.
    serve_env = _unit("serve.env.example")
    for key in ("QUEUE_DATABASE_URL", "QUEUE_APP_DATABASE_URL"):
        assert serve_env[key][0].startswith("postgresql://hall_queue_app:"), key
    assert _unit("admin.env.example")["QUEUE_DATABASE_URL"][0].startswith("postgresql://hall_queue_owner:")
    backup = _unit("hall-queue-backup.service")
    assert "queue-server backup" in backup["ExecStart"][0] and backup["EnvironmentFile"] == ["/etc/hall-queue/admin.env"]
    # nginx's upstream names the ports the README starts instances on.
    readme = (ROOT / "deploy" / "README.md").read_text()
    upstream_ports = set(re.findall(r"server 127\.0\.0\.1:(\d+)", SITE.read_text()))
    assert upstream_ports and upstream_ports <= set(re.findall(r"hall-queue@(\d+)", readme))
