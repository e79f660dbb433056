"""Kiosk printing: print jobs delivered to the kiosk's printer until it reports them printed."""

from __future__ import annotations

import asyncio
import logging
import time as monotime
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..config import Config
from ..domain import clock as hall_clock
from ..domain.errors import Forbidden, NotFound, Refused, Unavailable
from ..domain.hall import HallState
from ..domain.model import STATUS_ZH, Actor, Event, TicketNumber, TicketStatus
from ..protocol.printing import PrinterState
from . import views
from .ports import Connection, Database, PrintStore, TicketLayout
from .principal import Principal
from .queue import Outcome, QueueService, new_job_id
from .writes import PrintJobInsert

log = logging.getLogger(__name__)

PRINTER_CACHE_SECONDS = 10.0
EXPIRE_BATCH = 200  # jobs expired (and ledgered) per hall transaction
PRINT_MONITOR = Actor("system", "printing", "打印监控", "system")
# The job's state in words, for the kiosk and staff.
STATUS_TEXT = {"pending": "待打印", "printed": "已打印", "expired": "已过期", "cancelled": "已取消"}


class PrintService:
    def __init__(
        self, config: Config, pool: Database, queue: QueueService, clock: Callable[[], datetime], *,
        jobs: PrintStore, layout: TicketLayout,
    ) -> None:
        self.config = config
        self.pool = pool
        self.jobs = jobs
        self.layout = layout
        self.queue = queue
        self.clock = clock
        self._printers: dict[tuple[str, str], tuple[float, str | None]] = {}

    async def printer_for_kiosk(self, hall: str, kiosk: str) -> str | None:
        """The printer registered for a kiosk (cached a few seconds; issuing asks every time)."""
        hit = self._printers.get((hall, kiosk))
        if hit is not None and hit[0] > monotime.monotonic():
            return hit[1]
        async with self.pool.acquire() as conn:
            name = await self.jobs.printer_of_kiosk(conn, hall, kiosk)
        self._printers[(hall, kiosk)] = (monotime.monotonic() + PRINTER_CACHE_SECONDS, name)
        return name

    def profile(self, hall: str, printer: str) -> dict[str, Any]:
        p = self.config.printing.for_printer(hall, printer)
        return {"paper_mm": p.paper_mm, "chinese": p.chinese, "qr": p.qr}

    @property
    def ttl(self) -> timedelta:
        return timedelta(seconds=self.config.printing.job_ttl_seconds)

    async def pending(self, printer: Principal) -> list[dict[str, Any]]:
        """The printer's jobs to print now, oldest first, as sent on the wire: not older than
        the TTL and their ticket still waiting (checked on every send, not only at expiry)."""
        assert printer.hall is not None and printer.kiosk is not None
        now = self.clock()
        async with self.pool.acquire() as conn:
            rows = await self.jobs.printable_jobs(conn, printer.hall, printer.kiosk, now - self.ttl, now)
            if rows:
                await self.jobs.mark_delivered(conn, [r["id"] for r in rows], now)
        profile = self.profile(printer.hall, printer.id)
        return [{"id": r["id"], "ticket": r["content"], "profile": profile, "attempts": r["attempts"]} for r in rows]

    async def result(self, printer: Principal, job_id: str, printed: bool, error: str | None) -> str | None:
        assert printer.hall is not None and printer.kiosk is not None
        async with self.pool.acquire() as conn:
            return await self.jobs.record_result(
                conn, printer.hall, printer.kiosk, job_id, printed, error, self.clock())

    async def status(self, printer: Principal, state: PrinterState) -> None:
        """Store the printer's state; a change is an event of the hall (kiosk page, managers)."""
        assert printer.hall is not None
        now = self.clock()
        new = state.as_json()
        async with self.pool.acquire() as conn:
            stored = await self.jobs.device_statuses(conn, printer.hall)
        previous = next((d["status"] for d in stored if d["name"] == printer.id), None)
        if previous is None or {k: previous.get(k) for k in new if k != "detail"} != {
            k: v for k, v in new.items() if k != "detail"
        }:
            # The ledger first: whoever sees the new state (the kiosk view) finds its event too.
            # One printer's states arrive one after another on its socket, so none overtakes.
            await self.queue.record(printer.hall, printer.actor, "printer_status_changed",
                                    {"printer": printer.id, "kiosk": printer.kiosk, "status": new})
        async with self.pool.acquire() as conn:
            await self.jobs.save_device_status(
                conn, printer.hall, printer.id, "printer", printer.kiosk, new, now)

    async def job(self, job_id: str, principal: Principal) -> dict[str, Any]:
        """A job's state for its kiosk, its printer and the hall's staff; never the ticket's
        printed content (its QR link belongs to the ticket holder and goes to the printer only)."""
        async with self.pool.acquire() as conn:
            row = await self.jobs.job(conn, job_id)
        if row is None or not principal.may_enter(row["hall"]):
            raise NotFound("print_job.unknown", job=job_id)
        own_device = principal.kind == "device" and (
            (principal.role == "kiosk" and principal.id == row["kiosk"])
            or (principal.role == "printer" and principal.kiosk == row["kiosk"]))
        staff = principal.kind == "staff" and principal.role in ("staff", "manager", "admin")
        if not (own_device or staff):
            raise Forbidden("auth.print_job_other_kiosk", who=f"{principal.role} {principal.id}",
                            kiosk=row["kiosk"])
        return {
            "id": row["id"], "kiosk": row["kiosk"], "status": row["status"],
            "status_text": STATUS_TEXT.get(row["status"], row["status"]), "attempts": row["attempts"],
            "error": row["error"], "created_at": views.iso(row["created_at"], self.config.timezone),
            "finished_at": views.iso(row["finished_at"], self.config.timezone),
            "reprint_of": row["reprint_of"],
        }

    async def reprint(
        self, hall: str, number: str, kiosk: str, principal: Principal, key: str | None = None,
    ) -> dict[str, Any]:
        """Staff print a ticket again (e.g. the paper jammed) on a kiosk's printer; with an
        Idempotency-Key a second press (or a retry) answers the first job, printing once."""
        self.queue.hall(hall)
        parsed = TicketNumber.parse(number)
        if await self.printer_for_kiosk(hall, kiosk) is None:
            raise NotFound("printer.unknown", hall=hall, kiosk=kiosk)
        async with self.pool.acquire() as conn:
            ticket = await self.queue.store.ticket_by_number(conn, hall, self.queue.today(), parsed)
        if ticket is None:
            raise NotFound("ticket.unknown", hall=hall, number=str(parsed))
        status = await self.queue.ticket_status(ticket.id, holder=True)  # the paper carries the link
        if status["status"] != "waiting":
            # A job prints only while its ticket waits (the printer is never sent another).
            raise Refused("ticket.not_waiting_to_print", ticket=str(parsed), state=status["status"],
                          state_zh=STATUS_ZH[TicketStatus(status["status"])])

        def apply(state: HallState, now: datetime) -> Outcome:
            job_id = new_job_id()
            event = Event("ticket_reprinted", None, None, {"number": str(parsed), "kiosk": kiosk, "job": job_id})
            return Outcome({"id": job_id, "status": "pending", "kiosk": kiosk, "number": str(parsed)},
                           [(event, None)], created=True,
                           writes=[PrintJobInsert(job_id, hall, kiosk, ticket.id, views.print_content(status), now)])

        fingerprint = f"reprint|{principal.id}|{parsed}|{kiosk}"
        return (await self.queue.execute(hall, apply, principal.actor, key=key, fingerprint=fingerprint)).body

    async def expire_stale(self) -> int:
        """Pending jobs older than the TTL expire: each becomes one ledger event of its hall,
        in the hall's command pipeline, so two sweeps (two processes) expire a job once."""
        before = self.clock() - self.ttl
        async with self.pool.acquire() as conn:
            halls = await self.jobs.halls_with_stale_jobs(conn, before)
        expired = 0
        for hall in halls:
            if hall not in self.config.halls:
                continue
            while True:
                count = await self._expire_in_hall(hall)
                expired += count
                if count < EXPIRE_BATCH:
                    break
        return expired

    async def _expire_in_hall(self, hall: str) -> int:
        found: list[dict[str, Any]] = []

        async def prepare(conn: Connection, now: datetime) -> None:
            # Under the hall's lock and in the batch's transaction: a second sweep (this
            # process or another) finds these jobs expired already; a rollback undoes both.
            found[:] = await self.jobs.expire_jobs(conn, hall, now - self.ttl, now, EXPIRE_BATCH)

        def apply(state: HallState, now: datetime) -> Outcome:
            events = [
                (Event("print_job_expired", None, None, {
                    "job": job["id"], "kiosk": job["kiosk"], "number": job["number"],
                    "attempts": job["attempts"], "error": job["error"],
                    "ttl_seconds": self.config.printing.job_ttl_seconds,
                 }), state.tickets.get(job["ticket_id"]))
                for job in found
            ]
            return Outcome({"expired": len(found)}, events)

        body = (await self.queue.execute(hall, apply, PRINT_MONITOR, prepare=prepare)).body
        return int(body["expired"])

    async def run_expiry(self, interval: float = 10.0) -> None:
        while True:
            try:
                await self.expire_stale()
            except asyncio.CancelledError:
                raise
            except Unavailable as exc:  # the database is away: one line, try again next round
                log.warning("cannot expire stale print jobs: %s", exc)
            except Exception:
                log.warning("cannot expire stale print jobs", exc_info=True)
            await asyncio.sleep(interval)

    async def kiosk_view(self, hall_id: str, principal: Principal) -> dict[str, Any]:
        """What a kiosk shows before anyone taps: services, hours, and its printer's state."""
        hall = self.queue.hall(hall_id)
        principal.require_role(hall_id, "kiosk", "staff", "manager", "admin")
        now = self.clock()
        refusal = None if self.queue.ignore_hours else hall_clock.issuing_refusal(now, self.config.timezone, hall.hours)
        snapshot = await self.queue.snapshot(hall_id)
        kiosk = principal.id if principal.role == "kiosk" else None
        printer = None
        if kiosk is not None:
            name = await self.printer_for_kiosk(hall_id, kiosk)
            if name is not None:
                state = next((p for p in snapshot.get("printers", []) if p["name"] == name), None)
                printer = {"name": name, "status": state["status"] if state else None,
                           "updated_at": state["updated_at"] if state else None}
        return {
            "hall": hall_id, "name": hall.name, "kiosk": kiosk, "hours": hall.hours.describe(),
            "open": refusal is None, "closed_reason": refusal,
            "areas": snapshot["areas"], "services": snapshot["services"],
            "priority_classes": [
                {"code": c.code, "name": c.name} for c in hall.priority_classes.values() if not c.reason_required
            ],
            "printer": printer, "seq": snapshot["seq"],
        }

    async def preview_png(self, secret: str, paper_mm: int | None = None) -> bytes:
        """The holder's paper ticket as a PNG: it shows the holder's link, so the secret is the key."""
        status = await self.queue.holder_status(secret)
        paper = paper_mm or self.config.printing.default.paper_mm
        return await asyncio.to_thread(self.layout.preview_png, views.print_content(status), paper)


def require_printer(principal: Principal) -> None:
    if principal.kind != "device" or principal.role != "printer" or not principal.kiosk:
        raise Forbidden("auth.not_printer", who=f"{principal.kind} {principal.id}")
