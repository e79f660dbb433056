"""print_job against the fake network printer: once per job, never marked when not printed."""

from __future__ import annotations

import pytest

from printer_client.client import InvalidJob, parse_job, print_job
from printer_client.jobs import PrintedJobs
from printer_client.status import PrinterStatus
from printer_client.transport import DummyPrinter, TcpPrinter
from ticket_layout.layout import PrinterProfile

from .escpos_decoder import Cut, Qr, decode, printed_lines

PROFILE = PrinterProfile(paper_mm=80)


def job(job_id: str = "job-1", **ticket_changes: object) -> dict:
    ticket = {
        "hall_name": "拱墅区行政服务中心",
        "service_name": "企业开办",
        "number": "A023",
        "ahead": 3,
        "estimated_wait_minutes": 12,
        "issued_at": "2026-11-30T09:01:02+08:00",
        "status_url": "https://queue.example.gov.cn/t/7f3c9a2e5b1d",
    }
    ticket.update(ticket_changes)
    return {"id": job_id, "ticket": ticket}


@pytest.fixture
def printed(tmp_path) -> PrintedJobs:
    return PrintedJobs(tmp_path / "printed.jsonl")


async def test_a_job_is_printed_on_the_printer(fake_printer, printed):
    printer = TcpPrinter("127.0.0.1", fake_printer.port)
    assert await print_job(printer, job(), printed, PROFILE) == "printed"
    [data] = await fake_printer.wait_for_jobs(1)
    elements = decode(data)
    texts = [line.text for line in printed_lines(elements)]
    assert (
        "拱墅区行政服务中心" in texts and "A023" in texts and "取号时间 2026-11-30 09:01" in texts
    )
    assert [e.payload for e in elements if isinstance(e, Qr)] == [job()["ticket"]["status_url"]]
    assert isinstance(elements[-1], Cut)
    assert printed.seen("job-1")


async def test_a_job_delivered_twice_is_printed_once(fake_printer, printed):
    printer = TcpPrinter("127.0.0.1", fake_printer.port)
    assert await print_job(printer, job(), printed, PROFILE) == "printed"
    assert await print_job(printer, job(), printed, PROFILE) == "printed"
    await fake_printer.wait_for_jobs(1)
    assert await print_job(printer, job("job-2"), printed, PROFILE) == "printed"
    jobs = await fake_printer.wait_for_jobs(2)
    assert len(jobs) == 2


async def test_a_job_delivered_again_after_a_restart_is_not_printed_again(fake_printer, tmp_path):
    printer = TcpPrinter("127.0.0.1", fake_printer.port)
    path = tmp_path / "printed.jsonl"
    assert await print_job(printer, job(), PrintedJobs(path), PROFILE) == "printed"
    await fake_printer.wait_for_jobs(1)
    assert await print_job(printer, job(), PrintedJobs(path), PROFILE) == "printed"
    assert len(fake_printer.jobs) == 1


async def test_an_offline_printer_fails_the_job_and_it_is_printed_when_it_returns(
    fake_printer, printed
):
    printer = TcpPrinter("127.0.0.1", fake_printer.port, timeout=1)
    await fake_printer.go_offline()
    result = await print_job(printer, job(), printed, PROFILE)
    assert result.startswith(f"failed: 打印机未连接: tcp://127.0.0.1:{fake_printer.port}: ")
    assert not printed.seen("job-1")
    await fake_printer.come_back()
    assert await print_job(printer, job(), printed, PROFILE) == "printed"
    assert len(await fake_printer.wait_for_jobs(1)) == 1


@pytest.mark.parametrize(
    ("state", "reason"), [("set_paper_out", "打印机缺纸"), ("set_cover_open", "打印机上盖未关好")]
)
async def test_a_printer_that_reports_a_problem_gets_no_bytes(fake_printer, printed, state, reason):
    getattr(fake_printer, state)()
    printer = TcpPrinter("127.0.0.1", fake_printer.port)
    assert await print_job(printer, job(), printed, PROFILE) == f"failed: {reason}"
    assert fake_printer.jobs == []
    assert not printed.seen("job-1")


async def test_paper_near_end_still_prints(fake_printer, printed):
    fake_printer.set_paper_near_end()
    printer = TcpPrinter("127.0.0.1", fake_printer.port)
    assert await print_job(printer, job(), printed, PROFILE) == "printed"


async def test_a_printer_that_cannot_report_status_is_printed_to(printed):
    printer = DummyPrinter(PrinterStatus.unknown())
    assert await print_job(printer, job(), printed, PROFILE) == "printed"
    assert len(printer.jobs) == 1


async def test_image_mode_tickets_print_too(printed):
    printer = DummyPrinter()
    profile = PrinterProfile(paper_mm=58, chinese="image", qr="image")
    assert await print_job(printer, job(), printed, profile) == "printed"
    decode(printer.data)


async def test_a_malformed_job_fails_without_touching_the_printer(printed):
    printer = DummyPrinter()
    result = await print_job(printer, job(ahead="three"), printed, PROFILE)
    assert result == "failed: 打印任务无效: job job-1: ticket.ahead must be int, got 'three'"
    assert printer.jobs == []


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        ({"ticket": {}}, "job.id must be a non-empty string"),
        ({"id": "j", "ticket": None}, "ticket must be an object"),
        (job(issued_at="yesterday"), "ticket.issued_at is not an ISO date-time"),
        (job(ahead=True), "ticket.ahead must be int, got True"),
        (job(estimated_wait_minutes=-5), "estimated_wait_minutes must be a whole number ≥ 0"),
        (job(window_hint=5), "window_hint must be a string"),
        (job(status_url=""), "status_url is empty"),
    ],
)
def test_parse_job_names_the_field_that_is_wrong(message, complaint):
    with pytest.raises(InvalidJob, match=complaint):
        parse_job(message)


def test_parse_job_keeps_the_issue_time_as_sent():
    job_id, content = parse_job(job(window_hint="请到二楼等候"))
    assert job_id == "job-1"
    assert content.issued_at.isoformat() == "2026-11-30T09:01:02+08:00"
    assert content.window_hint == "请到二楼等候"
