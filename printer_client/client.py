"""One print job from the server: parse it, check the printer, print once, remember it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ticket_layout.bitmap import FontNotFound
from ticket_layout.layout import DEFAULT_FOOTER, PrinterProfile, TicketContent, render_ticket

from .jobs import PrintedJobs
from .transport import Printer, PrinterError

log = logging.getLogger(__name__)

PRINTED = "printed"


class InvalidJob(ValueError):
    """A job message that does not describe a ticket."""


def _field(ticket: Mapping[str, Any], name: str, kind: type) -> Any:
    value = ticket.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InvalidJob(f"ticket.{name} must be {kind.__name__}, got {value!r}")
    return value


def parse_job(job: Mapping[str, Any]) -> tuple[str, TicketContent]:
    """The job's id and ticket, or InvalidJob naming the field that is wrong."""
    if not isinstance(job, Mapping):
        raise InvalidJob(f"job must be an object, got {type(job).__name__}")
    job_id = job.get("id")
    if not isinstance(job_id, str) or not job_id:
        raise InvalidJob(f"job.id must be a non-empty string, got {job_id!r}")
    try:
        content = _ticket(job.get("ticket"))
    except ValueError as exc:
        raise InvalidJob(f"job {job_id}: {exc}") from None
    return job_id, content


def _ticket(ticket: object) -> TicketContent:
    if not isinstance(ticket, Mapping):
        raise InvalidJob(f"ticket must be an object, got {ticket!r}")
    issued_at_text = _field(ticket, "issued_at", str)
    try:
        issued_at = datetime.fromisoformat(issued_at_text)
    except ValueError as exc:
        raise InvalidJob(f"ticket.issued_at is not an ISO date-time: {exc}") from None
    window_hint = ticket.get("window_hint")
    if window_hint is not None and not isinstance(window_hint, str):
        raise InvalidJob(f"ticket.window_hint must be a string, got {window_hint!r}")
    footer = ticket.get("footer", DEFAULT_FOOTER)
    if not isinstance(footer, str):
        raise InvalidJob(f"ticket.footer must be a string, got {footer!r}")
    return TicketContent(
        hall_name=_field(ticket, "hall_name", str),
        service_name=_field(ticket, "service_name", str),
        number=_field(ticket, "number", str),
        ahead=_field(ticket, "ahead", int),
        estimated_wait_minutes=_field(ticket, "estimated_wait_minutes", int),
        issued_at=issued_at,
        status_url=_field(ticket, "status_url", str),
        footer=footer,
        window_hint=window_hint,
    )


async def print_job(
    printer: Printer, job: Mapping[str, Any], printed: PrintedJobs, profile: PrinterProfile
) -> str:
    """Print `job` unless it was printed before; "printed" or "failed: <reason>".

    A job already printed answers "printed" again without paper, so the server can resend
    freely. A job is remembered only after the printer took all its bytes: a crash in
    between prints the ticket twice rather than not at all. Run one job at a time per printer.
    """
    try:
        job_id, content = parse_job(job)
    except InvalidJob as exc:
        return f"failed: 打印任务无效: {exc}"
    if printed.seen(job_id):
        log.info("job %s was printed before; not printing it again", job_id)
        return PRINTED
    status = await printer.status()
    if status.problem:
        return f"failed: {status.problem}"
    if status.warning:
        log.warning("%s: %s", printer.url, status.warning)
    try:
        # Image-mode tickets take tens of milliseconds of Pillow work: keep it off the loop.
        data = await asyncio.to_thread(render_ticket, content, profile)
    except (FontNotFound, ValueError) as exc:
        return f"failed: 无法排版票据: {exc}"
    try:
        await printer.send(data)
    except PrinterError as exc:
        return f"failed: {exc}"
    try:
        await asyncio.to_thread(printed.mark, job_id)
    except OSError:
        # The ticket is on paper; failing to remember it risks a second copy, not a lost one.
        log.exception("job %s printed but not recorded in %s", job_id, printed.path)
    return PRINTED
