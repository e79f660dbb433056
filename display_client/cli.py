"""`queue-display`: a hall or window screen in a terminal."""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
from datetime import datetime
from pathlib import Path

from display_client.connection import ScreenRefused, follow
from display_client.render import CLEAR, render_hall, render_window, since_text
from display_client.speech import Speaker
from display_client.state import Announce, Board
from queue_server.protocol import pairing


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="queue-display",
                                     description="Show a hall's queue in a terminal.")
    parser.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8080")
    parser.add_argument("--hall", help="hall id, e.g. gongshu (with --pair: the hall it is paired to)")
    parser.add_argument("--token", help="the hall's display token")
    parser.add_argument("--token-file", type=Path,
                        help="read the token from this file (written by --pair, readable by its owner only)")
    parser.add_argument("--pair", action="store_true",
                        help="pair this screen: print a 6-digit code, wait until a manager enters it on "
                        "/manage/devices, save the token to --token-file, then run")
    parser.add_argument("--window", type=int, help="show one window instead of the hall")
    parser.add_argument("--area", help="show only this area's services and windows")
    parser.add_argument("--speak", action="store_true",
                        help="announce calls with espeak-ng -v cmn (if installed)")
    parser.add_argument("--no-colour", action="store_true", help="plain text, no ANSI colour")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    speaker = Speaker() if args.speak else None
    if speaker is not None and not speaker.available():
        print("espeak-ng is not installed: calls will not be spoken", file=sys.stderr)
    colour = not args.no_colour and sys.stdout.isatty()

    started = datetime.now()
    last_contact: list[datetime] = []  # when a frame last came

    def show(board: Board, online: bool) -> None:
        columns = min(shutil.get_terminal_size((80, 24)).columns, 120)
        now = datetime.now()
        if online:
            last_contact[:] = [now]
        since = "" if online else since_text(last_contact[0] if last_contact else None, started, now)
        if args.window is not None:
            text = render_window(board, args.window, columns=columns, colour=colour,
                                 online=online, since=since)
        else:
            text = render_hall(board, columns=columns, colour=colour, online=online, since=since)
        sys.stdout.write((CLEAR if colour else "\n") + text + "\n")
        sys.stdout.flush()

    def announce(action: Announce) -> None:
        if speaker is not None:
            speaker.say(action.text)

    try:
        await follow(args.server, args.hall, args.token, window=args.window, area=args.area,
                     on_board=show, on_announce=announce)
    finally:
        if speaker is not None:
            await speaker.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pair:
        if args.token_file is None:
            print("queue-display: --pair needs --token-file (where the token it receives is kept)", file=sys.stderr)
            return 2
        try:
            paired = pairing.pair(args.server, "display_client")
        except pairing.PairingFailed as exc:
            print(f"queue-display: {exc}", file=sys.stderr)
            return 1
        pairing.save_token(args.token_file, paired["token"])
        device = paired["device"]
        print(f"paired as screen {device['name']} in hall {device['hall']}; token saved to {args.token_file}",
              flush=True)
        args.token, args.hall = paired["token"], device["hall"]
        if args.window is None and device.get("window") is not None:
            args.window = device["window"]
    elif not args.token and args.token_file is not None:
        args.token = pairing.read_token(args.token_file)
    if not args.token or not args.hall:
        print("queue-display: --hall and a token are required: --pair, --token-file or --token", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    try:
        asyncio.run(run(args))
    except ScreenRefused as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
