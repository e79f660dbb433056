"""`queue-printer`: the kiosk's ticket printer client, connected to the queue server."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from queue_server import logsafe
from queue_server.protocol import pairing
from ticket_layout.layout import PrinterProfile

from .connection import PrinterClient, PrinterRefused, ProfileChoice, printer_socket_url
from .jobs import PrintedJobs
from .transport import (
    DEFAULT_TIMEOUT,
    URL_FORMS,
    PrinterSetupError,
    open_printer,
    parse_printer_url,
)

log = logging.getLogger("queue-printer")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="queue-printer",
        description="Print the hall's paper tickets on an ESC/POS thermal printer.",
    )
    parser.add_argument(
        "--server", required=True, help="queue server base URL, e.g. https://hall.example/"
    )
    parser.add_argument(
        "--token", default=os.environ.get("QUEUE_PRINTER_TOKEN"),
        help="this printer device's token (default: $QUEUE_PRINTER_TOKEN, which, unlike an "
        "argument, other users cannot see in the process list)",
    )
    parser.add_argument(
        "--token-file", type=Path,
        help="read the token from this file (written by --pair, readable by its owner only)",
    )
    parser.add_argument(
        "--pair", action="store_true",
        help="pair this printer: print a 6-digit code, wait until a manager enters it on "
        "/manage/devices (with the kiosk it serves), save the token to --token-file, then run",
    )
    parser.add_argument("--printer", required=True, help=f"where the printer is: {URL_FORMS}")
    parser.add_argument(
        "--paper", type=int, choices=(58, 80),
        help="paper width in mm (default: the server's setting for this printer, else 80)",
    )
    parser.add_argument(
        "--chinese", choices=("native", "image"),
        help="print Chinese with the printer's GBK font (native) or as an image "
        "(default: the server's setting, else native)",
    )
    parser.add_argument(
        "--qr", choices=("native", "image"),
        help="print the QR code with the printer's GS ( k command (native) or as an image "
        "(default: the server's setting, else native)",
    )
    parser.add_argument("--font", help="CJK font file for image mode (default: WenQuanYi, found)")
    parser.add_argument(
        "--state-dir", type=Path,
        help="where the record of printed jobs is kept (default: $XDG_STATE_HOME/hall-queue "
        "or ~/.local/state/hall-queue)",
    )
    parser.add_argument(
        "--printed-jobs", type=Path,
        help="the file remembering printed job ids, so a job delivered twice prints once "
        "(default: printed-<token digest>.txt in the state directory)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT,
        help=f"seconds before a silent printer counts as offline (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--status-interval", type=float, default=5.0,
        help="seconds between printer status queries (default: 5)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every job and frame")
    return parser


def default_state_dir(env: os._Environ[str] | dict[str, str] = os.environ) -> Path:
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "hall-queue"


def printed_jobs_path(state_dir: Path, token: str) -> Path:
    """One record per printer device, named by a digest so the token is not written to disk."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:12]
    return state_dir / f"printed-{digest}.txt"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        target = parse_printer_url(args.printer)
        printer_socket_url(args.server)
        PrinterProfile(paper_mm=args.paper or 80, chinese=args.chinese or "native",
                       qr=args.qr or "native", font_path=args.font)
    except ValueError as exc:
        parser.error(str(exc))
    if args.pair:
        if args.token_file is None:
            parser.error("--pair needs --token-file (where the token it receives is kept)")
        try:
            paired = pairing.pair(args.server, "printer")
        except pairing.PairingFailed as exc:
            print(f"queue-printer: {exc}", file=sys.stderr)
            return 1
        pairing.save_token(args.token_file, paired["token"])
        device = paired["device"]
        print(f"paired as printer {device['name']} of kiosk {device['kiosk']} in hall {device['hall']}; "
              f"token saved to {args.token_file}", flush=True)
        args.token = paired["token"]
    elif not args.token and args.token_file is not None:
        args.token = pairing.read_token(args.token_file)
    if not args.token:
        parser.error("the printer's token is required: --pair, --token-file, --token, or QUEUE_PRINTER_TOKEN")
    if args.timeout <= 0 or args.status_interval <= 0:
        parser.error("--timeout and --status-interval must be positive")
    # force: python-escpos calls logging.basicConfig() when it is imported.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True,
    )
    # The token must not reach a log, not even at -v (websockets logs request headers then).
    logsafe.install(secrets=[args.token])
    if not args.verbose:
        logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        printer = open_printer(target, timeout=args.timeout)
    except PrinterSetupError as exc:
        print(f"queue-printer: {exc}", file=sys.stderr)
        return 1
    path = args.printed_jobs or printed_jobs_path(args.state_dir or default_state_dir(), args.token)
    try:
        printed = PrintedJobs(path)
    except OSError as exc:
        print(f"queue-printer: cannot keep the record of printed jobs in {path}: {exc}",
              file=sys.stderr)
        return 1
    client = PrinterClient(
        args.server, args.token, printer, printed,
        choice=ProfileChoice(args.paper, args.chinese, args.qr, args.font),
        status_interval=args.status_interval,
    )
    log.info("printing on %s for %s; printed jobs recorded in %s", printer.url, client.url, path)
    try:
        asyncio.run(_serve(client))
    except PrinterRefused as exc:
        print(f"queue-printer: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        log.info("stopped")
    return 0


async def _serve(client: PrinterClient) -> None:
    """Run until SIGTERM or SIGINT, which cancel the client (its printing stops with it)."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    await client.run()


if __name__ == "__main__":
    sys.exit(main())
