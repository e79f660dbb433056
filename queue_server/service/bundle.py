"""The services of one server process, built by the composition root (queue_server.main)
and handed to the web app, which owns nothing but its routes.

The bundle owns the background work of the services (the per-hall workers inside the queue
service, the anchoring at day close): `close()` stops and awaits all of it, and the
composition root calls it before it closes the relay and the database pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..config import Config
from .alerts import AlertService
from .appointments import AppointmentService
from .auth import Auth
from .complaints import ComplaintService
from .improvements import ImprovementService
from .lifetimes import cancel_and_wait
from .monitor import MonitorService
from .pairing import PairingService
from .printing import PrintService
from .queue import QueueService
from .ratings import RatingService
from .review import ReviewService
from .review_reports import ReviewReportService
from .staff import StaffService
from .surveys import SurveyService


class DatabaseHealth(Protocol):
    """What /healthz and the database probe need of the pool."""

    def unavailable_for(self) -> float:
        """Seconds since the database last failed without a success since; 0 when it works."""
        ...

    async def probe(self) -> str | None:
        """None when the database answers now, else why not."""
        ...


@dataclass
class Services:
    config: Config
    queue: QueueService
    auth: Auth
    prints: PrintService
    ratings: RatingService
    appointments: AppointmentService
    review: ReviewService
    reports: ReviewReportService
    alerts: AlertService
    monitor: MonitorService
    improvements: ImprovementService
    complaints: ComplaintService
    pairing: PairingService
    staff: StaffService
    surveys: SurveyService
    database: DatabaseHealth
    #: None when the server may serve; else why not (e.g. the schema is out of date).
    ready: Callable[[], Awaitable[str | None]]
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def run(self, work: Awaitable[None], name: str) -> None:
        """Run `work` in the background until the bundle closes."""
        self._tasks.append(asyncio.ensure_future(work))
        self._tasks[-1].set_name(name)

    async def close(self) -> None:
        """Stop the background work and the hall workers, and wait for them (before the
        pool closes: nothing is left using a connection)."""
        try:
            while self._tasks:
                await cancel_and_wait(self._tasks.pop())
        finally:
            await self.queue.close()
