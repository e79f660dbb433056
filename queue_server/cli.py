"""`queue-server`: serve, migrate, check-config, staff, device, verify-ledger, anchor, anchor-key,
rebuild-stats, demo-history, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, ConfigError, load_config
from .domain.errors import QueueError

if TYPE_CHECKING:
    from .adapters.store import GuardedPool
    from .service.staff import StaffService

DEFAULT_CONFIG = "config.toml"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="queue-server", description="政务服务大厅排队叫号服务 hall-queue")
    sub = p.add_subparsers(dest="command")

    def with_config(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--config", default=os.environ.get("QUEUE_CONFIG", DEFAULT_CONFIG),
                        help="configuration file (default: config.toml)")
        return sp

    serve = with_config(sub.add_parser("serve", help="run the server (the default)"))
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--ignore-hours", action="store_true",
                       help="issue tickets outside business hours (training, demos)")
    with_config(sub.add_parser("migrate", help="apply pending database migrations"))
    check = sub.add_parser("check-config", help="check a configuration file; exit 2 on problems")
    check.add_argument("path", nargs="?", default=os.environ.get("QUEUE_CONFIG", DEFAULT_CONFIG))

    staff = sub.add_parser("staff", help="staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = with_config(staff_sub.add_parser("add", help="add a staff account"))
    add.add_argument("--hall", help="the hall (omit only for an admin of every hall)")
    add.add_argument("--id", required=True, help="staff number (工号)")
    add.add_argument("--name", required=True)
    add.add_argument("--role", default="staff", choices=["admin", "manager", "staff"])
    add.add_argument("--photo-url")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from standard input (one line)")
    lst = with_config(staff_sub.add_parser("list", help="list staff accounts"))
    lst.add_argument("--hall")

    device = sub.add_parser("device", help="kiosks, screens, printers, rating tablets")
    device_sub = device.add_subparsers(dest="device_command", required=True)
    dadd = with_config(device_sub.add_parser("add", help="register a device; prints its token once"))
    dadd.add_argument("--hall", required=True)
    dadd.add_argument("--role", required=True, choices=["kiosk", "display", "printer", "evaluator"])
    dadd.add_argument("--name", required=True)
    dadd.add_argument("--window", type=int, help="the window an evaluator is bound to")
    dadd.add_argument("--kiosk", help="the kiosk a printer is bound to")
    dlist = with_config(device_sub.add_parser("list"))
    dlist.add_argument("--hall")
    drev = with_config(device_sub.add_parser("revoke"))
    drev.add_argument("--hall", required=True)
    drev.add_argument("--name", required=True)

    verify = with_config(sub.add_parser("verify-ledger", help="recompute the ledger hash chains"))
    verify.add_argument("--hall")
    verify.add_argument("--anchors", metavar="FILE",
                        help="also check the ledger against this anchor log (JSON lines)")
    verify.add_argument("--public-key", metavar="FILE",
                        help="the anchors' public key (default: derived from the configured key file)")
    anchor = with_config(sub.add_parser(
        "anchor", help="sign every hall's ledger head and append it to the anchor log"))
    anchor.add_argument("--hall")
    anchor.add_argument("--key", metavar="FILE", help="the signing key (default: [anchors] key_file)")
    anchor.add_argument("--log", metavar="FILE", help="the anchor log (default: [anchors] log_file)")
    anchor_key = with_config(sub.add_parser(
        "anchor-key", help="the anchor signing key: created when missing; --public prints its public key"))
    anchor_key.add_argument("--key", metavar="FILE", help="the key file (default: [anchors] key_file)")
    anchor_key.add_argument("--public", action="store_true", help="print the public key (PEM)")
    rebuild = with_config(sub.add_parser(
        "rebuild-stats", help="rebuild the performance-review projection from the ledger alone"))
    rebuild.add_argument("--hall", action="append", help="only this hall (repeatable; default: every hall)")
    complaints = sub.add_parser("complaints", help="complaints (投诉)")
    complaints_sub = complaints.add_subparsers(dest="complaints_command", required=True)
    with_config(complaints_sub.add_parser(
        "erase-contacts", help="erase the contact phone of complaints closed longer than "
                               "[complaints] contact_retention_days ago (their steps stay)"))
    demo = with_config(sub.add_parser(
        "demo-history", help="fill a database without history with realistic generated history"))
    demo.add_argument("--days", type=int, required=True, help="calendar days of history, ending at --end")
    demo.add_argument("--seed", type=int, required=True, help="the same seed gives the same history")
    demo.add_argument("--end", type=date.fromisoformat, help="the last day, YYYY-MM-DD (default: yesterday)")
    demo.add_argument("--volume", type=float, default=1.0,
                      help="citizens (and daily quotas) times this factor; windows keep pace (default 1.0)")
    demo.add_argument("--hall", action="append", help="only this hall (repeatable; default: every hall)")
    bak = with_config(sub.add_parser(
        "backup", help="write the database, the anchor log and its key to one file (pg_dump custom format)"))
    bak.add_argument("--out", required=True, help="the backup file to write (never overwritten)")
    res = with_config(sub.add_parser(
        "restore", help="restore a backup into an empty database, then verify every hall's ledger"))
    res.add_argument("--from", dest="source", required=True, help="the backup file to read")
    demo.add_argument("--jobs", type=int, default=1,
                      help="halls generated at once, each in its own process (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("QUEUE_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # While the database is away asyncpg retries its pool's minimum of connections and logs a
    # traceback each time; the server's own probe says it once, in one line (and when it is back).
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
    # Screens' websocket URLs carry ?token=…: no log line (the access log included) shows one.
    from . import logsafe

    logsafe.install()
    command = args.command or "serve"
    if command == "check-config":
        return _check_config(args.path)
    if args.command is None:
        args = _parser().parse_args(["serve", *(argv if argv is not None else sys.argv[1:])])
    config = _load_or_exit(args.config)
    if config is None:
        return 2
    if command in ("rebuild-stats", "demo-history"):
        unknown = [h for h in args.hall or [] if h not in config.halls]
        if unknown:
            print(f"queue-server {command}: unknown hall {unknown[0]!r} (halls: {', '.join(config.halls)})",
                  file=sys.stderr)
            return 2
        if command == "demo-history" and (args.days < 1 or args.volume <= 0):
            print(f"queue-server {command}: --days must be at least 1 and --volume above 0", file=sys.stderr)
            return 2
    try:
        if command == "serve":
            from .main import serve

            return serve(config, host=args.host, port=args.port, ignore_hours=args.ignore_hours)
        if command == "anchor-key":
            return _anchor_key(args, config)
        if command in ("backup", "restore"):
            return asyncio.run(_backup_or_restore(command, args, config))
        return asyncio.run(_run_admin(command, args, config))
    except QueueError as exc:
        print(f"queue-server {command}: {exc.detail}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # embedded PostgreSQL and schema problems: one clear line
        print(f"queue-server {command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _check_config(path: str) -> int:
    config = _load_or_exit(path)
    if config is None:
        return 2
    halls = ", ".join(f"{h.id} ({len(h.services)} services, {len(h.windows)} windows)" for h in config.halls.values())
    print(f"{path}: OK — {halls}")
    return 0


def _load_or_exit(path: str) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return None


@contextlib.asynccontextmanager
async def _pool(dsn: str) -> AsyncIterator[GuardedPool]:
    from .adapters import store
    from .main import MIGRATION_TIMEOUT

    pool = await store.create_pool(dsn, min_size=1, max_size=2, command_timeout=MIGRATION_TIMEOUT)
    try:
        yield pool
    finally:
        await pool.close()


async def _run_admin(command: str, args: argparse.Namespace, config: Config) -> int:
    from .adapters import migrate, store
    from .main import auth_service, database_url, migrate_database

    with database_url(config) as dsn:
        async with _pool(dsn) as pool:
            async with pool.acquire() as conn:
                if command == "migrate":
                    applied = await migrate_database(conn, config)
                    for m in applied:
                        print(f"applied {m.version:04d}_{m.name}")
                    print("schema is up to date" if not applied else f"{len(applied)} migration(s) applied")
                    return 0
                behind = await migrate.pending(conn)
                if behind:
                    print("the database schema is out of date; run `queue-server migrate` first", file=sys.stderr)
                    return 1
                await store.ensure_halls(conn, config.halls.values())
            auth = auth_service(pool, ttl_minutes=config.token_ttl_minutes)
            if command == "staff":
                return await _staff(args, config, auth)
            if command == "device":
                return await _device(args, config, auth)
            if command == "verify-ledger":
                return await _verify(args, config, pool)
            if command == "anchor":
                return await _anchor(args, config, pool)
            if command == "rebuild-stats":
                return await _rebuild_stats(args, config, pool)
            if command == "complaints":
                return await _complaints(args, config, pool)
            if command == "demo-history":
                return await _demo_history(args, config, pool, dsn)
    return 2


async def _backup_or_restore(command: str, args: argparse.Namespace, config: Config) -> int:
    from .adapters import backup, migrate
    from .main import database_url, verify_hall

    with database_url(config) as dsn:
        if command == "backup":
            out = Path(args.out)
            manifest = await backup.backup(dsn, out, anchor_log=config.anchor_log, anchor_key=config.anchor_key)
            print(f"backup written to {out}: {backup.describe(manifest)}")
            if backup.KEY in manifest["files"]:
                print(f"{out} holds the anchoring key: keep it as safe as the key itself")
            return 0
        restored = await backup.restore(dsn, Path(args.source), anchor_log=config.anchor_log,
                                        anchor_key=config.anchor_key)
        print(f"restored {args.source} ({restored.manifest['created_at']}): {backup.describe(restored.manifest)}")
        for path in restored.anchors_written:
            print(f"wrote {path}")
        async with _pool(dsn) as pool:
            async with pool.acquire() as conn:
                behind = await migrate.pending(conn)
            bad = 0
            for hall in restored.counts["ledger"]:
                result = await verify_hall(pool, hall)
                print(result.line)
                bad += not result.ok
        if behind:
            print(f"the backup's schema is older than this server's: run `queue-server migrate` "
                  f"({len(behind)} migration(s) to apply)")
        return 1 if bad else 0


def _require_hall(config: Config, hall: str | None) -> None:
    if hall is not None and hall not in config.halls:
        raise SystemExit(f"unknown hall {hall!r} (halls: {', '.join(config.halls)})")


async def _staff(args: argparse.Namespace, config: Config, auth: object) -> int:
    from .adapters import accounts
    from .service.auth import Auth

    assert isinstance(auth, Auth)
    _require_hall(config, args.hall)
    if args.staff_command == "add":
        password = sys.stdin.readline().rstrip("\r\n")
        await auth.add_staff(staff_id=args.id, hall=args.hall, name=args.name, role=args.role,
                             password=password, photo_url=args.photo_url)
        await _staff_service(config, auth).record("staff_added", "cli", args.id, {
            "name": args.name, "role": args.role, "hall": args.hall, "region": None})
        print(f"added {args.role} {args.id} {args.name}" + (f" in hall {args.hall}" if args.hall else " (every hall)"))
        return 0
    async with auth.pool.acquire() as conn:
        for s in await accounts.list_staff(conn, args.hall):
            print(f"{s.id}\t{s.name}\t{s.role}\t{s.hall or '*'}\t{'active' if s.active else 'inactive'}")
    return 0


def _staff_service(config: Config, auth: object) -> StaffService:
    """The staff service on the CLI's pool, for ledgering what the CLI changes."""
    from datetime import UTC, datetime

    from .adapters.staff_admin import PostgresStaffStore
    from .service.auth import Auth
    from .service.staff import StaffService

    assert isinstance(auth, Auth)
    return StaffService(config, auth.pool, auth, PostgresStaffStore(), lambda: datetime.now(UTC))


async def _device(args: argparse.Namespace, config: Config, auth: object) -> int:
    from .adapters import accounts
    from .service.auth import Auth

    assert isinstance(auth, Auth)
    _require_hall(config, args.hall)
    if args.device_command == "add":
        hall = config.halls[args.hall]
        if args.window is not None and args.window not in hall.windows:
            raise SystemExit(f"hall {args.hall} has no window {args.window}")
        token = await auth.add_device(hall=args.hall, role=args.role, name=args.name,
                                      window=args.window, kiosk=args.kiosk)
        print(f"registered {args.role} {args.name} in hall {args.hall}; its token (shown once):")
        print(token)
        return 0
    if args.device_command == "revoke":
        await auth.revoke_device(args.hall, args.name)
        print(f"revoked {args.name} in hall {args.hall}")
        return 0
    async with auth.pool.acquire() as conn:
        for d in await accounts.list_devices(conn, args.hall):
            state = "revoked" if d.revoked_at else "active"
            extra = f" window {d.window}" if d.window else (f" kiosk {d.kiosk}" if d.kiosk else "")
            print(f"{d.hall}\t{d.name}\t{d.role}{extra}\t{state}")
    return 0


async def _verify(args: argparse.Namespace, config: Config, pool: GuardedPool) -> int:
    from .main import check_anchor_log, verify_hall
    from .service.verify import AnchorCheck

    _require_hall(config, args.hall)
    halls = [args.hall] if args.hall else list(config.halls)
    bad = 0
    anchors: dict[str, list[AnchorCheck]] = {}
    if args.anchors:
        from .adapters import anchors as anchor_files

        public = anchor_files.load_public_key(Path(args.public_key or config.anchor_key))
        anchors, problems = check_anchor_log(anchor_files.read_log(Path(args.anchors)), public, halls)
        for line in problems:
            print(line)
        bad += len(problems)
    for hall in halls:
        result = await verify_hall(pool, hall, anchors.get(hall))
        print(result.line)
        bad += not result.ok
    if not args.hall:  # the staff ledger (migration 0015) belongs to no hall: checked with all of them
        from .adapters import staff_admin
        from .domain.staff_ledger import first_break

        async with pool.acquire() as conn:
            rows = await staff_admin.ledger(conn)
        problem = first_break(rows)
        print(f"OK staff ledger: {len(rows)} rows, chain intact" if problem is None else f"FAIL {problem}")
        bad += problem is not None
    return 1 if bad else 0


async def _anchor(args: argparse.Namespace, config: Config, pool: GuardedPool) -> int:
    from datetime import UTC, datetime

    from .adapters import anchors as anchor_files
    from .main import anchorer as make_anchorer

    _require_hall(config, args.hall)
    halls = [args.hall] if args.hall else list(config.halls)
    key = anchor_files.load_or_create_key(Path(args.key or config.anchor_key))
    anchorer = make_anchorer(key, Path(args.log or config.anchor_log))
    done = await anchorer.anchor(pool, halls, now=datetime.now(UTC), reason="on-demand")
    for signed in done:
        a = signed.anchor
        print(f"anchored hall {a.hall} at seq {a.seq} (hash {a.head_hash.hex()[:16]}…) in {anchorer.log_path}")
    return 0


async def _complaints(args: argparse.Namespace, config: Config, pool: GuardedPool) -> int:
    """erase-contacts: each erasure through the hall's pipeline, so that it is in the ledger."""
    from .adapters.complaints import PostgresComplaintStore
    from .main import queue_service
    from .service.complaints import ComplaintService

    queue = queue_service(config, pool)
    try:
        erased = await ComplaintService(config, pool, queue, PostgresComplaintStore()).erase_contacts()
    finally:
        await queue.close()
    for hall, count in erased.items():
        print(f"hall {hall}: {count} complaint contact(s) erased")
    return 0


async def _rebuild_stats(args: argparse.Namespace, config: Config, pool: GuardedPool) -> int:
    import time

    from .adapters.history import rebuild_counted

    for hall in args.hall or list(config.halls):
        started = time.monotonic()
        async with pool.acquire() as conn, conn.transaction():
            read, visits, sessions = await rebuild_counted(conn, hall, config.timezone, config.business_day_starts)
        print(f"hall {hall}: {read} ledger rows read, {visits} visits and {sessions} window sessions written "
              f"in {time.monotonic() - started:.1f} s")
    return 0


async def _demo_history(args: argparse.Namespace, config: Config, pool: GuardedPool, dsn: str) -> int:
    import time
    from datetime import datetime, timedelta

    from .adapters.history import PostgresHistoryStore
    from .service.demo import HistoryRefused, ensure_fresh, generate

    end = args.end or (datetime.now(config.timezone).date() - timedelta(days=1))
    halls = args.hall or list(config.halls)
    started = time.monotonic()
    try:
        await ensure_fresh(pool, PostgresHistoryStore(), halls)
        if args.jobs > 1 and len(halls) > 1:
            import concurrent.futures
            import multiprocessing

            # The biggest halls first: they bound the run.
            halls = sorted(halls, key=lambda h: -len(config.halls[h].windows))
            with concurrent.futures.ProcessPoolExecutor(
                    max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as workers:
                runs = [workers.submit(_demo_hall, config, dsn, hall, args.days, end, args.seed,
                                       args.volume) for hall in halls]
                done = [s for run in runs for s in run.result()]
        else:
            done = await generate(pool, PostgresHistoryStore(), config, halls, days=args.days, end=end,
                                  seed=args.seed, volume=args.volume, progress=print, check=False)
    except HistoryRefused as exc:
        print(f"queue-server demo-history: {exc}", file=sys.stderr)
        return 1
    for s in done:
        print(f"hall {s.hall}: {s.tickets} tickets, {s.ledger_rows} ledger rows, {s.ratings} ratings, "
              f"{s.follow_ups} follow-ups, {s.visits} visits, {s.sessions} window sessions in {s.seconds:.1f} s"
              + (f"; refused commands: {s.refusals}" if s.refusals else ""))
    first = end - timedelta(days=args.days - 1)
    print(f"demo history {first}..{end} (seed {args.seed}, volume {args.volume:g}): "
          f"{sum(s.tickets for s in done)} tickets, {sum(s.ledger_rows for s in done)} ledger rows "
          f"in {time.monotonic() - started:.1f} s")
    return 0


def _demo_hall(config: Config, dsn: str, hall: str, days: int, end: date, seed: int, volume: float) -> list:
    """One hall's demo history in a worker process (demo-history --jobs); the configuration is
    the parent's (pickled), never read again."""
    from .adapters.history import PostgresHistoryStore
    from .service.demo import generate

    async def run() -> list:
        async with _pool(dsn) as pool:
            return await generate(pool, PostgresHistoryStore(), config, [hall], days=days, end=end, seed=seed,
                                  volume=volume, progress=print, check=False)

    return asyncio.run(run())


def _anchor_key(args: argparse.Namespace, config: Config) -> int:
    from .adapters import anchors as anchor_files

    path = Path(args.key or config.anchor_key)
    key = anchor_files.load_or_create_key(path)
    if args.public:
        print(anchor_files.public_pem(key), end="")
    else:
        print(f"{path}: {anchor_files.key_id(key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
