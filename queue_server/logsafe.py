"""Log lines never carry a token: every line the root handlers write is redacted.

Tokens travel as `Authorization: Bearer …` and, for browsers' websockets, as `?token=…` in
the URL; a ticket holder's secret is a path segment (/t/…, /api/v1/tickets/…). They reach
logs through request lines (the access log) and library debug output (websockets logs every
request header and frame at DEBUG). Redacting the formatted line covers the
message, its arguments and any traceback alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***"
#: A record attribute: the message is made only of values that cannot hold a secret (the
#: request log line: a route pattern, a checked request id), so it is not scanned.
#: Its arguments and any traceback would still be: such a record has neither.
SAFE = "hallqueue_safe"
_PATTERNS = (
    # ?token=… / &access_token=… in a URL or request line; a pairing device's ?secret=…
    # (GET /api/v1/pairing/wait), from which its token is made
    re.compile(r"(?i)([?&;](?:(?:access_)?token|secret)=)[^&\s\"'#]+"),
    # Authorization: Bearer … (a header, a repr of headers, an error message)
    re.compile(r"(?i)(\bbearer\s+)[^\s\"',)\]}]+"),
    # a ticket holder's secret: the phone page /t/…, the citizen's API /api/v1/tickets/…,
    # in request lines and in the print jobs' status_url that -v shows in frames
    re.compile(r"(/t/|/api/v1/tickets/)[^/?#\s\"'\\]+"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with token query parameters, bearer credentials and each of `secrets` masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(rf"\g<1>{MASK}", text)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts the whole line (message, arguments, traceback)."""

    def __init__(self, inner: logging.Formatter | None = None, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        if getattr(record, SAFE, False) and not record.args and record.exc_info is None and not record.stack_info:
            return line
        return redact(line, self.secrets)


def install(secrets: Iterable[str] = ()) -> None:
    """Redact what every handler of the root logger writes (call after logging.basicConfig)."""
    known = tuple(secrets)
    for handler in logging.getLogger().handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            current.secrets = tuple({*current.secrets, *(s for s in known if s)})
            continue
        handler.setFormatter(RedactingFormatter(current, known))
