"""The service's TicketLayout port (service/ports.py) on the shared `ticket_layout` package:
the preview is drawn by the very code the printer client prints with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ticket_layout.layout import PrinterProfile, TicketContent, render_preview_png


class PrinterTicketLayout:
    def preview_png(self, content: dict[str, Any], paper_mm: int) -> bytes:
        ticket = TicketContent(
            hall_name=content["hall_name"], service_name=content["service_name"],
            number=content["number"], ahead=content["ahead"],
            estimated_wait_minutes=content["estimated_wait_minutes"],
            issued_at=datetime.fromisoformat(content["issued_at"]), status_url=content["status_url"],
        )
        return render_preview_png(ticket, PrinterProfile(paper_mm, "image", "image"))
