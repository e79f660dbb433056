"""Embedded PostgreSQL: a private server in one data directory, for `serve` without a database URL.

The server binaries come from the `pgserver` package (a relocatable PostgreSQL build shipped
as a wheel). Its own `PostgresServer` lifecycle is not used, for reasons that matter here:

- as root it runs `useradd` with a login shell and adds g+rx,o+rx to every parent directory
  of the data directory and of site-packages (including `/root`);
- it stops the server only when its `.handle_pids.json` holds exactly the current pid, so a
  process that was killed once leaves its pid there and the server is never stopped again;
- it trusts any live process whose pid is in `postmaster.pid`, so a pid reused after a
  reboot makes it "adopt" an unrelated process.

Here instead: one owner per data directory (an advisory lock on the directory, released by
the kernel when the owner dies), a stale `postmaster.pid` is removed or its orphaned server
stopped before starting, the server listens only on a Unix socket in a directory that only its
owner can enter (which is what makes trust authentication safe), and `stop()` runs at
interpreter exit, so also after Ctrl-C.

PostgreSQL refuses to run as root. Under root the server runs as the system user
`hallqueue-pg`, created on first use; the data directory is given to that user, and the
directories above it and above the binaries get the search bit for others (o+x, not the
read bit) where they lack it. Under any other user the server runs as that user.

Blocking by design: `start` runs before the event loop serves; `start_async` and
`stop_async` move the same work to a thread for callers already inside a loop.
"""

from __future__ import annotations

import asyncio
import atexit
import enum
import fcntl
import importlib.util
import logging
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

log = logging.getLogger(__name__)

SERVICE_USER = "hallqueue-pg"
ROLE = "postgres"  # the superuser role initdb creates; trust authentication, socket only
DEFAULT_DATABASE = "hall_queue"

# With no TCP listener the port only names the socket file (.s.PGSQL.5432); the socket
# directory is private to this server, so the number cannot collide with anything.
_PORT = 5432
_SOCKET_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes including the final NUL
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be prepared, started or stopped; the message says why."""


class DataDirectoryInUse(EmbeddedPostgresError):
    """Another process holds the data directory (its embedded server runs or is stopping)."""


def server_running(pgdata: Path) -> bool:
    """Whether the PostgreSQL server of `pgdata` (the one its postmaster.pid names) is alive."""
    pgdata = Path(pgdata).expanduser().resolve()
    pid = _postmaster_pid(pgdata)
    return pid is not None and _is_postmaster_of(pid, pgdata)


class _State(enum.Enum):
    IDLE = "idle"
    ACTIVE = "active"  # holds the data directory: the server is starting, running or stopping


@dataclass(frozen=True)
class _Account:
    """The operating-system account the server processes run as."""

    name: str
    uid: int
    gid: int

    @property
    def is_current(self) -> bool:
        return self.uid == os.geteuid()

    def subprocess_kwargs(self) -> dict[str, object]:
        if self.is_current:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


class EmbeddedPostgres:
    """A PostgreSQL server owned by this process, with its data in one directory.

    pg = EmbeddedPostgres()
    dsn = pg.start(Path("var/pgdata"))   # initdb on first use
    ...                                  # asyncpg.create_pool(dsn)
    pg.stop()                            # also runs at interpreter exit
    """

    def __init__(
        self,
        *,
        database: str = DEFAULT_DATABASE,
        durable: bool = True,
        start_timeout: float = 60.0,
    ) -> None:
        if not _DATABASE_NAME.fullmatch(database):
            raise ValueError(f"database name {database!r} is not a plain lower-case identifier")
        self.database = database
        # durable=False turns off fsync: for throw-away servers in tests, never for a hall.
        self.durable = durable
        self.start_timeout = start_timeout
        self._state = _State.IDLE
        self._pgdata: Path | None = None
        self._lock_fd: int | None = None
        self._account: _Account | None = None
        self._socket_dir: Path | None = None
        self._private_socket_dir = False
        self._dsn: str | None = None

    # -- public API -------------------------------------------------------------------------

    @property
    def dsn(self) -> str:
        if self._dsn is None:
            raise EmbeddedPostgresError("cannot give a DSN; embedded PostgreSQL is not running")
        return self._dsn

    @property
    def pgdata(self) -> Path | None:
        return self._pgdata

    def start(self, pgdata: Path) -> str:
        """Start the server on `pgdata` (created and initialised on first use); return its DSN."""
        if self._state is _State.ACTIVE:
            raise EmbeddedPostgresError(
                f"cannot start; embedded PostgreSQL is already running in {self._pgdata}"
            )
        pgdata = Path(pgdata).expanduser().resolve()
        bin_dir = _bin_dir()
        pgdata.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock_directory(pgdata)
        self._pgdata = pgdata
        self._state = _State.ACTIVE
        # Registered before anything is started: Ctrl-C during pg_ctl kills pg_ctl, but the
        # postmaster it forked runs in its own session and would otherwise outlive us.
        atexit.register(self.stop)
        try:
            self._account = _server_account()
            self._prepare(pgdata, bin_dir)
            if not (pgdata / "PG_VERSION").exists():
                self._initdb(bin_dir)
            self._clear_stale_server(bin_dir)
            self._socket_dir = self._choose_socket_dir()
            self._pg_ctl_start(bin_dir)
            self._ensure_database(bin_dir)
        except BaseException:
            self.stop()
            raise
        self._dsn = (
            f"postgresql://{ROLE}@/{self.database}"
            f"?host={quote(str(self._socket_dir), safe='/')}&port={_PORT}"
        )
        log.info("embedded PostgreSQL running in %s", pgdata)
        return self._dsn

    def stop(self) -> None:
        """Stop the server and release the data directory; does nothing when not running."""
        if self._state is _State.IDLE:
            return
        try:
            pgdata = self._pgdata
            if pgdata is not None and self._account is not None:
                pid = _postmaster_pid(pgdata)
                if pid is not None and _is_postmaster_of(pid, pgdata):
                    self._stop_server(_bin_dir(), pid)
        finally:
            if self._private_socket_dir and self._socket_dir is not None:
                shutil.rmtree(self._socket_dir, ignore_errors=True)
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing the descriptor releases the flock
            atexit.unregister(self.stop)
            self._state = _State.IDLE
            self._lock_fd = None
            self._socket_dir = None
            self._private_socket_dir = False
            self._dsn = None

    async def start_async(self, pgdata: Path) -> str:
        return await asyncio.to_thread(self.start, pgdata)

    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps ------------------------------------------------------------------------------

    def _prepare(self, pgdata: Path, bin_dir: Path) -> None:
        account = self._require_account()
        if not account.is_current:
            _grant_search(bin_dir, account)
            _grant_search(pgdata, account)
            _ensure_readable_by_others(bin_dir.parent)
            if pgdata.stat().st_uid != account.uid:
                _chown_tree(pgdata, account)
        pgdata.chmod(0o700)  # initdb and postgres insist on a private data directory

    def _initdb(self, bin_dir: Path) -> None:
        pgdata = self._require_pgdata()
        if any(pgdata.iterdir()):
            raise EmbeddedPostgresError(
                f"cannot initialise {pgdata}: the directory is not empty and holds no "
                "PostgreSQL data (no PG_VERSION); give an empty or a PostgreSQL data directory"
            )
        args = [
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            ROLE,
            "--auth=trust",
            "--encoding=UTF8",
            # C collation: identical on every machine, needs no generated locales.
            "--locale=C",
        ]
        if not self.durable:
            args.append("--no-sync")
        log.info("initialising a PostgreSQL data directory in %s", pgdata)
        self._run(args, what="initdb", timeout=180)

    def _clear_stale_server(self, bin_dir: Path) -> None:
        """Make sure no earlier server of this directory is running, and no stale pid file is left.

        We hold the directory lock, so any server found is an orphan of an owner that died
        without stopping it (SIGKILL, power loss of the process, not of the machine).
        """
        pgdata = self._require_pgdata()
        pid = _postmaster_pid(pgdata)
        if pid is None:
            (pgdata / "postmaster.pid").unlink(missing_ok=True)  # unreadable: stale
            return
        if _is_postmaster_of(pid, pgdata):
            log.warning(
                "stopping PostgreSQL (pid %d) left running in %s by an owner that exited "
                "without stopping it",
                pid,
                pgdata,
            )
            self._stop_server(bin_dir, pid)
        else:
            # After a reboot the pid may belong to another process; PostgreSQL would then
            # refuse to start ("lock file postmaster.pid already exists").
            log.info(
                "removing stale postmaster.pid from %s (pid %d is not its server)", pgdata, pid
            )
        (pgdata / "postmaster.pid").unlink(missing_ok=True)

    def _choose_socket_dir(self) -> Path:
        pgdata = self._require_pgdata()
        if len(str(pgdata / f".s.PGSQL.{_PORT}")) <= _SOCKET_PATH_MAX:
            self._private_socket_dir = False
            return pgdata  # mode 0700: only the server's account (and root) can connect
        socket_dir = Path(tempfile.mkdtemp(prefix="hq-pg-"))
        account = self._require_account()
        if not account.is_current:
            os.chown(socket_dir, account.uid, account.gid)
        self._private_socket_dir = True
        return socket_dir

    def _pg_ctl_start(self, bin_dir: Path) -> None:
        pgdata = self._require_pgdata()
        assert self._socket_dir is not None
        options = [
            "-c",
            "listen_addresses=",
            "-c",
            f"unix_socket_directories={self._socket_dir}",
            "-c",
            f"port={_PORT}",
            # A hall server runs for years: rotate the log weekly instead of growing one file.
            "-c",
            "logging_collector=on",
            "-c",
            "log_directory=log",
            "-c",
            "log_filename=postgresql-%a.log",
            "-c",
            "log_truncate_on_rotation=on",
            "-c",
            "log_rotation_age=1d",
            "-c",
            "log_rotation_size=0",
        ]
        if not self.durable:
            options += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        args = [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(pgdata),
            "-w",
            "-t",
            str(int(self.start_timeout)),
            "-l",
            str(pgdata / "startup.log"),
            # pg_ctl hands -o to /bin/sh, hence shell quoting.
            "-o",
            shlex.join(options),
        ]
        try:
            self._run(args, what="pg_ctl start", timeout=self.start_timeout + 15)
        except EmbeddedPostgresError as error:
            raise EmbeddedPostgresError(f"{error}\n{_server_log_tail(pgdata)}") from None

    def _ensure_database(self, bin_dir: Path) -> None:
        assert self._socket_dir is not None
        connection = ["-h", str(self._socket_dir), "-p", str(_PORT), "-U", ROLE]
        exists = self._run(
            [
                str(bin_dir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                *connection,
                "-d",
                "postgres",
                "-c",
                f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'",
            ],
            what="psql",
            timeout=30,
            as_server=False,
        )
        if exists.strip() != "1":
            self._run(
                [str(bin_dir / "createdb"), *connection, self.database],
                what="createdb",
                timeout=30,
                as_server=False,
            )

    def _stop_server(self, bin_dir: Path, pid: int) -> None:
        pgdata = self._require_pgdata()
        try:
            self._run(
                [
                    str(bin_dir / "pg_ctl"),
                    "stop",
                    "-D",
                    str(pgdata),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "30",
                ],
                what="pg_ctl stop",
                timeout=45,
            )
        except EmbeddedPostgresError as error:
            log.warning("%s; sending SIGQUIT to PostgreSQL (pid %d) instead", error, pid)
            if not _signal_and_wait(pid, signal.SIGQUIT, 10.0):
                _signal_and_wait(pid, signal.SIGKILL, 10.0)

    # -- helpers ----------------------------------------------------------------------------

    def _run(self, args: list[str], *, what: str, timeout: float, as_server: bool = True) -> str:
        pgdata = self._require_pgdata()
        extra = self._require_account().subprocess_kwargs() if as_server else {}
        try:
            result = subprocess.run(
                args,
                # A cwd the server account can enter: pg_ctl and initdb look it up.
                cwd=pgdata,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                **extra,  # type: ignore[arg-type]  # user/group/extra_groups when root
            )
        except subprocess.TimeoutExpired:
            raise EmbeddedPostgresError(
                f"{what} for {pgdata} did not finish within {timeout:.0f} s"
            ) from None
        except OSError as error:
            raise EmbeddedPostgresError(f"cannot run {what} for {pgdata}: {error}") from None
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise EmbeddedPostgresError(
                f"{what} for {pgdata} failed with exit code {result.returncode}: {output}"
            )
        return result.stdout

    def _require_pgdata(self) -> Path:
        assert self._pgdata is not None
        return self._pgdata

    def _require_account(self) -> _Account:
        assert self._account is not None
        return self._account


def _bin_dir() -> Path:
    # find_spec locates the package without importing it: pgserver's import creates
    # lock objects and scans its bin directory, none of which we use.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "cannot start embedded PostgreSQL: the pgserver package is not installed; "
            "install it or configure a database URL"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").is_file():
        raise EmbeddedPostgresError(
            f"cannot start embedded PostgreSQL: no server binary in {bin_dir}"
        )
    return bin_dir


def _server_account() -> _Account:
    import pwd

    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        result = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        try:  # looked up again, not trusted to the exit code: a concurrent useradd may have won
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise EmbeddedPostgresError(
                "PostgreSQL refuses to run as root and the system user "
                f"{SERVICE_USER!r} to run it could not be created: "
                f"{(result.stderr or result.stdout).strip()}; run as another user "
                "or configure a database URL"
            ) from None
        log.info("created system user %s to run the embedded PostgreSQL", SERVICE_USER)
    return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _lock_directory(pgdata: Path) -> int:
    fd = os.open(pgdata, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirectoryInUse(
            f"cannot start; data directory {pgdata} is in use by another embedded PostgreSQL "
            "(another queue-server process?)"
        ) from None
    return fd


def _grant_search(path: Path, account: _Account) -> None:
    """Let `account` walk down to `path`: add o+x (search, not listing) where it is missing."""
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.warning("adding o+x to %s so that user %s can reach %s", parent, account.name, path)
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _ensure_readable_by_others(pginstall: Path) -> None:
    """The server account must read and run the bundled build; fix it if installed with umask 077."""
    if (pginstall / "bin" / "postgres").stat().st_mode & stat.S_IXOTH:
        return
    log.warning("making %s readable by other users for the PostgreSQL server account", pginstall)
    for root, dirs, files in os.walk(pginstall):
        for name in dirs:
            path = Path(root, name)
            path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o005)
        for name in files:
            path = Path(root, name)
            mode = stat.S_IMODE(path.stat().st_mode)
            path.chmod(mode | 0o004 | (0o001 if mode & stat.S_IXUSR else 0))
    pginstall.chmod(stat.S_IMODE(pginstall.stat().st_mode) | 0o005)


def _chown_tree(path: Path, account: _Account) -> None:
    os.chown(path, account.uid, account.gid)
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(Path(root, name), account.uid, account.gid, follow_symlinks=False)


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        first_line = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first_line)
    except (OSError, ValueError):
        return None


def _is_postmaster_of(pid: int, pgdata: Path) -> bool:
    import psutil  # a dependency of pgserver

    try:
        cmdline = psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        # AccessDenied: another user's process, so not a server we (or root for us) started.
        return False
    return bool(cmdline) and Path(cmdline[0]).name == "postgres" and str(pgdata) in cmdline


def _signal_and_wait(pid: int, sig: signal.Signals, timeout: float) -> bool:
    """Send `sig` and wait for the process to go; True when it is gone."""
    import psutil

    try:
        process = psutil.Process(pid)
        process.send_signal(sig)
        process.wait(timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return False
    return True


def _server_log_tail(pgdata: Path, lines: int = 30) -> str:
    logs = [
        pgdata / "startup.log",
        *sorted((pgdata / "log").glob("postgresql-*.log"), key=lambda p: p.stat().st_mtime),
    ]
    for path in reversed(logs):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if text.strip():
            tail = "\n".join(text.splitlines()[-lines:])
            return f"last lines of {path}:\n{tail}"
    return f"no server log in {pgdata}"


def running_dsn(pgdata: Path, database: str = DEFAULT_DATABASE) -> str | None:
    """The DSN of an embedded server another process already runs on `pgdata`, or None.

    Lets `queue-server staff add` (or a second `serve`) use the server that the first
    `queue-server serve` started, instead of failing on the directory lock. The owner
    stays the only process that starts and stops it.
    """
    pgdata = Path(pgdata).expanduser().resolve()
    pid = _postmaster_pid(pgdata)
    if pid is None or not _is_postmaster_of(pid, pgdata):
        return None
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        port, socket_dir = int(lines[3]), lines[4].strip()
    except (OSError, IndexError, ValueError):
        return None
    if not socket_dir:
        return None
    return f"postgresql://{ROLE}@/{database}?host={quote(socket_dir, safe='/')}&port={port}"
