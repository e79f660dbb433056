"""Printer messages of `queue.v1`: print jobs to a kiosk's printer, results and states back.

server → printer  {"type": "print_job", "job": {"id", "ticket": {...}, "profile": {...}}}
printer → server  {"type": "job_result", "id": "…", "result": "printed" | "failed", "error": "…"}
                  {"type": "printer_status", "status": {"online", "paper_near_end",
                   "paper_out", "cover_open", "detail"}}
                  {"type": "ping"}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from .messages import MAX_FRAME_BYTES, Ping, ProtocolError

STATUS_FLAGS = ("online", "paper_near_end", "paper_out", "cover_open")


@dataclass(frozen=True, slots=True)
class PrintJob:
    job: dict[str, Any]


@dataclass(frozen=True, slots=True)
class JobResult:
    id: str
    printed: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PrinterState:
    online: bool
    paper_near_end: bool = False
    paper_out: bool = False
    cover_open: bool = False
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"online": self.online, "paper_near_end": self.paper_near_end,
                "paper_out": self.paper_out, "cover_open": self.cover_open, "detail": self.detail}

    @property
    def ready(self) -> bool:
        return self.online and not self.paper_out and not self.cover_open


PrinterMessage = PrintJob | JobResult | PrinterState | Ping


def encode_printer(message: PrinterMessage) -> str:
    match message:
        case PrintJob(job):
            body: dict[str, Any] = {"type": "print_job", "job": job}
        case JobResult(id=job_id, printed=printed, error=error):
            body = {"type": "job_result", "id": job_id, "result": "printed" if printed else "failed"}
            if error:
                body["error"] = error
        case PrinterState():
            body = {"type": "printer_status", "status": message.as_json()}
        case Ping():
            body = {"type": "ping"}
        case _:
            raise TypeError(f"cannot encode {type(message).__name__} as a printer message")
    return orjson.dumps(body).decode()


def decode_printer(data: bytes | str) -> PrinterMessage:
    """Parse a printer-channel frame; raises only ProtocolError."""
    try:
        if not isinstance(data, bytes | bytearray | str):
            raise ProtocolError(f"frame must be bytes or str, not {type(data).__name__}")
        if len(data) > MAX_FRAME_BYTES:
            raise ProtocolError("frame is too large")
        body = orjson.loads(data)  # checks UTF-8, refuses NaN and nesting past 1024
    except ProtocolError:
        raise
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise ProtocolError(f"frame is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError("frame must be a JSON object")
    kind = body.get("type")
    if kind == "ping":
        return Ping()
    if kind == "print_job":
        job = body.get("job")
        if not isinstance(job, dict) or not isinstance(job.get("id"), str):
            raise ProtocolError("print_job needs a job object with a string id")
        return PrintJob(job)
    if kind == "job_result":
        job_id, result, error = body.get("id"), body.get("result"), body.get("error")
        if not isinstance(job_id, str) or not job_id or len(job_id) > 100:
            raise ProtocolError("job_result needs a string id")
        if result not in ("printed", "failed"):
            raise ProtocolError(f"job_result.result must be 'printed' or 'failed', got {result!r}")
        if error is not None and not isinstance(error, str):
            raise ProtocolError("job_result.error must be a string")
        return JobResult(job_id, result == "printed", (error or None) and error[:300])
    if kind == "printer_status":
        status = body.get("status")
        if not isinstance(status, dict):
            raise ProtocolError("printer_status needs a status object")
        flags = {}
        for name in STATUS_FLAGS:
            value = status.get(name, False if name != "online" else None)
            if not isinstance(value, bool):
                raise ProtocolError(f"printer_status.status.{name} must be true or false")
            flags[name] = value
        detail = status.get("detail")
        if detail is not None and not isinstance(detail, str):
            raise ProtocolError("printer_status.status.detail must be a string")
        return PrinterState(**flags, detail=(detail or None) and detail[:200])
    raise ProtocolError(f"unknown printer message type {kind!r}")
