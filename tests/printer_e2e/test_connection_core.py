"""The printer client's decisions, driven with plain calls: no loop, no socket."""

from __future__ import annotations

import pytest

from printer_client.connection import (
    JobBook,
    ProfileChoice,
    StatusReporter,
    backoff_delay,
    printer_socket_url,
    printer_state,
    profile_for,
)
from printer_client.status import PrinterStatus
from ticket_layout.layout import PrinterProfile


@pytest.mark.parametrize(
    ("server", "url"),
    [
        ("http://10.0.0.2:8080", "ws://10.0.0.2:8080/ws/v1/printer"),
        ("https://hall.example/", "wss://hall.example/ws/v1/printer"),
        ("https://hall.example/queue/", "wss://hall.example/queue/ws/v1/printer"),
        ("wss://hall.example", "wss://hall.example/ws/v1/printer"),
        ("10.0.0.2:8080", "ws://10.0.0.2:8080/ws/v1/printer"),
    ],
)
def test_the_printer_channel_url_follows_the_server_url(server, url):
    assert printer_socket_url(server) == url


def test_a_server_url_that_is_not_http_or_websocket_is_refused():
    with pytest.raises(ValueError, match="is not http"):
        printer_socket_url("ftp://hall.example")


def test_a_job_sent_again_while_it_is_still_here_is_not_queued_twice():
    book = JobBook()
    assert book.offer("pj_1") is True
    assert book.offer("pj_1") is False
    book.done("pj_1")
    assert book.offer("pj_1") is True, "once done, a re-sent job is answered again"


def test_the_first_state_of_each_connection_is_sent_then_only_changes():
    reporter = StatusReporter()
    ready = printer_state(PrinterStatus(online=True))
    assert reporter.report(ready) == ready
    assert reporter.report(ready) is None
    out = printer_state(PrinterStatus(online=False, paper_out=True))
    assert reporter.report(out) == out
    reporter.connected()
    assert reporter.report(out) == out


def test_the_reported_state_says_why_the_printer_cannot_print():
    state = printer_state(PrinterStatus(online=False, paper_out=True))
    assert (state.paper_out, state.ready, state.detail) == (True, False, "打印机缺纸")
    hung = printer_state(PrinterStatus.unreachable("打印机未应答状态查询: tcp://p:9100"))
    assert hung.online is False and hung.detail == "打印机未应答状态查询: tcp://p:9100"
    silent = printer_state(PrinterStatus.unknown())
    assert silent.ready, "a printer that cannot answer (a file, a one-way cable) is assumed ready"


def test_the_command_line_profile_wins_over_the_servers_and_the_servers_over_defaults():
    server = {"paper_mm": 58, "chinese": "image", "qr": "native"}
    assert profile_for(server, ProfileChoice()) == PrinterProfile(58, "image", "native")
    assert profile_for(server, ProfileChoice(paper_mm=80, qr="image")) == PrinterProfile(80, "image", "image")
    assert profile_for(None, ProfileChoice()) == PrinterProfile()


def test_a_profile_the_printer_cannot_use_is_an_error_naming_it():
    with pytest.raises(ValueError, match="58 or 80"):
        profile_for({"paper_mm": 76}, ProfileChoice())


def test_backoff_grows_to_its_ceiling_with_jitter():
    assert 0.4 <= backoff_delay(0) <= 0.6
    assert 24 <= backoff_delay(20) <= 36
    assert backoff_delay(3, first=0.05, maximum=0.3) <= 0.36
