"""Typed application state keys (aiohttp AppKey)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..config import Config
from ..service.alerts import AlertService
from ..service.appointments import AppointmentService
from ..service.auth import Auth
from ..service.complaints import ComplaintService
from ..service.improvements import ImprovementService
from ..service.monitor import MonitorService
from ..service.pairing import PairingService
from ..service.printing import PrintService
from ..service.queue import QueueService
from ..service.ratings import RatingService
from ..service.review import ReviewService
from ..service.review_reports import ReviewReportService
from ..service.staff import StaffService
from ..service.surveys import SurveyService

CONFIG = web.AppKey("config", Config)
QUEUE = web.AppKey("queue", QueueService)
AUTH = web.AppKey("auth", Auth)
# Returns None when ready, else why not (e.g. the schema is out of date).
READY = web.AppKey("ready", Callable[[], Awaitable[str | None]])
# Returns None while the process can serve, else why not (the database unreachable too long).
HEALTH = web.AppKey("health", Callable[[], str | None])
PRINTS = web.AppKey("prints", PrintService)
RATINGS = web.AppKey("ratings", RatingService)
APPOINTMENTS = web.AppKey("appointments", AppointmentService)
REVIEW = web.AppKey("review", ReviewService)
REPORTS = web.AppKey("reports", ReviewReportService)
ALERTS = web.AppKey("alerts", AlertService)
MONITOR = web.AppKey("monitor", MonitorService)
IMPROVEMENTS = web.AppKey("improvements", ImprovementService)
COMPLAINTS = web.AppKey("complaints", ComplaintService)
PAIRING = web.AppKey("pairing", PairingService)
STAFF = web.AppKey("staff", StaffService)
SURVEYS = web.AppKey("surveys", SurveyService)
