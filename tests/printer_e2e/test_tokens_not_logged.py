"""A printer's token never appears in a log: not in `queue-printer -v` (which logs every
request header and frame) and not in the server's access log, where websocket URLs carry
`?token=…`."""

from __future__ import annotations

import asyncio
import logging
import sys

import aiohttp
import pytest

from queue_server import logsafe
from tests.e2e.e2e_support import SAMPLE_CONFIG, cli
from tests.printer.fake_printer import FakePrinter
from tests.support.hall import prepare_database, sample_config
from tests.support.servers import ServerProcess

from .harness import eventually, kiosk_hall, print_job, server_url


@pytest.fixture
async def fake():
    printer = FakePrinter()
    await printer.start()
    try:
        yield printer
    finally:
        await printer.go_offline()


async def test_queue_printer_verbose_log_never_shows_its_token(fresh_db, fake, tmp_path):
    async with kiosk_hall(fresh_db) as hall:
        token = hall.tokens["P01"]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "printer_client.cli", "-v", "--server", server_url(hall),
            "--token", token, "--printer", fake.url, "--state-dir", str(tmp_path),
            "--status-interval", "0.3", stderr=asyncio.subprocess.PIPE)
        try:
            ticket = await hall.issue("A", by="K01")
            await eventually(lambda: _printed(hall, ticket["print_job"]["id"]), within=15,
                             what="queue-printer printing the ticket")
        finally:
            proc.terminate()
            _, stderr = await proc.communicate()
    log = stderr.decode()
    assert "Authorization: Bearer ***" in log, "-v logs the request headers, with the token masked"
    assert "job_result" in log, "-v logs the frames"
    assert token not in log
    assert ticket["holder_secret"] not in log, "nor the ticket holder's link (its QR code)"


async def _printed(hall, job_id):
    return (await print_job(hall, job_id))["status"] == "printed"


async def test_the_server_access_log_never_shows_a_token_from_a_websocket_url(fresh_db, tmp_path):
    await prepare_database(fresh_db, sample_config())
    cli(fresh_db, "device", "add", "--hall", "gongshu", "--role", "kiosk", "--name", "K01")
    out = cli(fresh_db, "device", "add", "--hall", "gongshu", "--role", "printer", "--name", "P01",
              "--kiosk", "K01")
    token = out.strip().splitlines()[-1].strip()
    server = ServerProcess(SAMPLE_CONFIG, database_url=fresh_db, log_dir=tmp_path,
                           env={"QUEUE_ACCESS_LOG": "1", "QUEUE_LOG_LEVEL": "DEBUG"})
    with server:
        async with aiohttp.ClientSession() as http:
            ws_base = server.url.replace("http://", "ws://", 1)
            async with http.ws_connect(f"{ws_base}/ws/v1/printer?token={token}", protocols=("queue.v1",)) as ws:
                await ws.send_json({"type": "ping"})
                assert (await ws.receive_json(timeout=10))["type"] == "pong"
            async with http.get(f"{server.url}/api/v1/halls/gongshu/kiosk?token={token}&x=1") as resp:
                assert resp.status == 401  # a query token is no credential for the API
    log = server.log_path.read_text(errors="replace")
    assert "/ws/v1/printer?token=***" in log, "the access log has the request line, token masked"
    assert token not in log


def test_redaction_masks_query_tokens_bearer_credentials_and_named_secrets():
    line = 'GET /ws/v1/halls/x?after=3&token=abc.DEF_1 "Authorization: Bearer s3cr-et" key=k-123'
    assert logsafe.redact(line, ["k-123"]) == (
        'GET /ws/v1/halls/x?after=3&token=*** "Authorization: Bearer ***" key=***')
    frame = '{"status_url":"http://h/t/Ab_9-x","x":"/api/v1/tickets/Zz1/qr.svg?paper=58"}'
    assert logsafe.redact(frame) == '{"status_url":"http://h/t/***","x":"/api/v1/tickets/***/qr.svg?paper=58"}'
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "url %s", ("/p?token=zzz",), None)
    assert logsafe.RedactingFormatter(logging.Formatter("%(message)s")).format(record) == "url /p?token=***"


def test_a_record_marked_safe_is_passed_unscanned_unless_it_carries_arguments_or_a_traceback():
    fmt = logsafe.RedactingFormatter(logging.Formatter("%(message)s"))
    plain = logging.LogRecord("x", logging.INFO, __file__, 1, '{"route":"/t/{secret}?token=1"}', None, None)
    setattr(plain, logsafe.SAFE, True)
    assert fmt.format(plain) == '{"route":"/t/{secret}?token=1"}', "a safe line is written as it is"
    with_args = logging.LogRecord("x", logging.INFO, __file__, 1, "url %s", ("/p?token=zzz",), None)
    setattr(with_args, logsafe.SAFE, True)
    assert fmt.format(with_args) == "url /p?token=***"
    try:
        raise ValueError("Bearer s3cr-et")
    except ValueError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    setattr(failed, logsafe.SAFE, True)
    assert "s3cr-et" not in fmt.format(failed) and "Bearer ***" in fmt.format(failed)
