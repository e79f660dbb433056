"""`queue-printer`: the kiosk's ticket printer client (the job loop is still to be written)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .layout import PrinterProfile
from .transport import URL_FORMS, parse_printer_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="queue-printer",
        description="Print the hall's paper tickets on an ESC/POS thermal printer.",
    )
    parser.add_argument(
        "--server", required=True, help="queue server base URL, e.g. wss://hall.example/"
    )
    parser.add_argument("--token", required=True, help="this printer device's token")
    parser.add_argument("--printer", required=True, help=f"where the printer is: {URL_FORMS}")
    parser.add_argument("--paper", type=int, choices=(58, 80), default=80, help="paper width in mm")
    parser.add_argument(
        "--chinese",
        choices=("native", "image"),
        default="native",
        help="print Chinese with the printer's GBK font (native) or as an image",
    )
    parser.add_argument(
        "--qr",
        choices=("native", "image"),
        default="native",
        help="print the QR code with the printer's GS ( k command (native) or as an image",
    )
    parser.add_argument("--font", help="CJK font file for image mode (default: WenQuanYi, found)")
    parser.add_argument(
        "--printed-jobs",
        default="var/printer/printed-jobs.jsonl",
        help="file remembering printed job ids, so a job delivered twice prints once",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        parse_printer_url(args.printer)
        PrinterProfile(paper_mm=args.paper, chinese=args.chinese, qr=args.qr, font_path=args.font)
    except ValueError as exc:
        parser.error(str(exc))
    print("queue-printer: the job loop is not written yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
