"""Behind nginx (`[server] trusted_proxies`): every connection comes from 127.0.0.1, so the
server takes the client's address from X-Forwarded-For — from a trusted proxy only. Rate
limits and sign-in throttling then count each real client, a client that is not a proxy
cannot choose its address with the header, and /metrics never counts a proxied request as
one from this machine."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from queue_server.config import ConfigError, Limits, load_config
from queue_server.web.proxies import client_address
from tests.api.checks import expect_problem, ok
from tests.e2e.e2e_support import SAMPLE_CONFIG
from tests.support.hall import sample_config

LOOPBACK = (ipaddress.ip_network("127.0.0.1"),)
LOGIN = "/api/v1/auth/login"


def _behind_proxy(**limits: float) -> object:
    return dataclasses.replace(sample_config(), limits=Limits(**limits), trusted_proxies=LOOPBACK)


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def test_the_client_address_is_read_from_the_right_and_only_from_trusted_peers():
    proxies = (ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8"))
    # nginx appended the address it was reached from; what the client wrote to the left of
    # it is not believed.
    assert client_address("127.0.0.1", ["1.1.1.1, 203.0.113.7"], proxies) == "203.0.113.7"
    # Two proxies (a load balancer in 10/8, then nginx): the first untrusted from the right.
    assert client_address("127.0.0.1", ["203.0.113.7, 10.1.2.3"], proxies) == "203.0.113.7"
    assert client_address("127.0.0.1", ["203.0.113.7", "10.1.2.3"], proxies) == "203.0.113.7"
    # A peer that is not a proxy is the client, whatever it says.
    assert client_address("198.51.100.9", ["127.0.0.1"], proxies) == "198.51.100.9"
    assert client_address("198.51.100.9", ["203.0.113.7"], ()) == "198.51.100.9"
    # No header, or nothing but garbage: the proxy itself.
    assert client_address("127.0.0.1", [], proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", ["unknown, <script>"], proxies) == "127.0.0.1"
    # Garbage stops the walk at the last good address; ports and brackets are dropped.
    assert client_address("127.0.0.1", ["203.0.113.1, junk, 10.9.9.9"], proxies) == "10.9.9.9"
    assert client_address("127.0.0.1", ["[2001:db8::5]:4431"], proxies) == "2001:db8::5"
    assert client_address("127.0.0.1", ["203.0.113.7:5000"], proxies) == "203.0.113.7"
    assert client_address("::ffff:127.0.0.1", ["203.0.113.7"], proxies) == "203.0.113.7"


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path):
    text = SAMPLE_CONFIG.read_text()
    good = tmp_path / "good.toml"
    good.write_text(text.replace("port = 8080\n", 'port = 8080\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8", "::1"]\n', 1))
    assert [str(n) for n in load_config(good).trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    assert load_config(SAMPLE_CONFIG).trusted_proxies == (), "trusting nobody is the default"
    for value, says in (
        ('["localhost"]', "trusted_proxies[0]: expected an IP address or network"),
        ('["10.0.0.1/8"]', "got '10.0.0.1/8'"),  # host bits set: a typo, not a network
        ('"127.0.0.1"', "trusted_proxies: expected an array of IP addresses or networks"),
    ):
        bad = tmp_path / "bad.toml"
        bad.write_text(text.replace("port = 8080\n", f"port = 8080\ntrusted_proxies = {value}\n", 1))
        with pytest.raises(ConfigError) as raised:
            load_config(bad)
        assert says in str(raised.value), str(raised.value)
        assert "server.trusted_proxies" in str(raised.value)


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate_limit(make_hall):
    hall = await make_hall(config=_behind_proxy(ticket_status_per_minute=3))
    ticket = await hall.issue("A")
    path = f"/api/v1/tickets/{ticket['holder_secret']}"
    for _ in range(3):
        await ok(await hall.client.get(path, headers=_from("203.0.113.1")))
    await expect_problem(await hall.client.get(path, headers=_from("203.0.113.1")), 429)
    # Another citizen behind the same nginx is not held up by the first.
    await ok(await hall.client.get(path, headers=_from("203.0.113.2")))
    # A client cannot dodge its limit by writing its own X-Forwarded-For: nginx appends the
    # address it saw, and that rightmost entry is the one believed.
    await expect_problem(await hall.client.get(path, headers=_from("198.51.100.1, 203.0.113.1")), 429)


async def test_without_trusted_proxies_a_forged_header_does_not_escape_the_limit(make_hall):
    config = dataclasses.replace(sample_config(), limits=Limits(ticket_status_per_minute=3))
    hall = await make_hall(config=config)
    ticket = await hall.issue("A")
    path = f"/api/v1/tickets/{ticket['holder_secret']}"
    for i in range(3):
        await ok(await hall.client.get(path, headers=_from(f"203.0.113.{i}")))
    await expect_problem(await hall.client.get(path, headers=_from("203.0.113.99")), 429)


async def test_sign_in_throttling_slows_the_guessing_client_not_the_others_behind_the_proxy(make_hall):
    hall = await make_hall(config=_behind_proxy(login_failure_delay_seconds=0.05, login_failures_per_address=5))
    for i in range(5):
        resp = await hall.client.post(LOGIN, json={"staff_id": f"x{i}", "password": "wrong-pass"},
                                      headers=_from("203.0.113.66"))
        await expect_problem(resp, 401)
    slowed = await hall.client.post(LOGIN, json={"staff_id": "x9", "password": "wrong-pass"},
                                    headers=_from("203.0.113.66"))
    await expect_problem(slowed, 429)
    # A clerk at another address behind the same nginx: a typo is an ordinary 401, and the
    # right password signs in.
    await expect_problem(await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "typo-pass"},
                                                headers=_from("203.0.113.10")), 401)
    await ok(await hall.client.post(LOGIN, json={"staff_id": "1001", "password": "secret-pass-1"},
                                    headers=_from("203.0.113.10")))


async def test_metrics_answer_this_machine_but_never_a_request_a_proxy_passed_on(make_hall):
    hall = await make_hall(config=_behind_proxy())
    direct = await hall.client.get("/metrics")
    assert direct.status == 200, await direct.text()
    assert "hallqueue_" in await direct.text()
    # nginx on this machine connects from 127.0.0.1; what it passes on is someone else's.
    for headers in (_from("203.0.113.5"), _from("127.0.0.1"), {"X-Real-IP": "127.0.0.1"},
                    {"Forwarded": "for=127.0.0.1"}):
        proxied = await hall.client.get("/metrics", headers=headers)
        assert proxied.status == 403, headers
        assert "hallqueue_" not in await proxied.text()
