"""Backup and restore (`queue-server backup` / `restore`).

A backup is one tar file holding
  database.dump   pg_dump's custom format of the whole database (schema, ledger, everything),
  anchors.jsonl   the anchor log (the ledger's signed heads, kept outside the database),
  anchor-key.pem  the anchoring key (so a restored server keeps signing with the same key),
  manifest.json   the format, when, the schema version, each file's SHA-256 and size, and the
                  counts a restore must find again: tickets, ratings, each hall's ledger length
                  and head hash.
The file is written under a temporary name and renamed when complete: a backup that exists is
whole. A restore checks every checksum before it touches anything, restores only into an empty
database, in one transaction (all or nothing), and then compares the counts with the manifest.
The tar members are read by their known names only; nothing in the archive names a path.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

FORMAT = "hall-queue-backup/1"
MANIFEST = "manifest.json"
DUMP = "database.dump"
LOG = "anchors.jsonl"
KEY = "anchor-key.pem"
MEMBERS = (DUMP, LOG, KEY, MANIFEST)
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    counts: dict[str, Any]
    anchors_written: list[str]


def pg_tool(name: str, server_major: int) -> str:
    """pg_dump / pg_restore of the server's major version, else the nearest newer one: the
    embedded server's own (pgserver ships them) or the system's."""
    candidates = []
    try:
        import pgserver

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:  # pragma: no cover - pgserver is a dependency
        pass
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    seen, usable = [], []
    for path in candidates:
        if not path.exists():
            continue
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False).stdout
        m = _VERSION.search(out)
        seen.append(f"{path} ({out.strip() or '?'})")
        if m and int(m.group(1)) >= server_major:
            usable.append((int(m.group(1)), str(path)))
    if usable:  # the server's own version when there is one, else the nearest newer
        return min(usable)[1]
    raise BackupError(
        f"找不到与数据库版本 {server_major} 相符的 {name} / no {name} of PostgreSQL {server_major} or newer "
        f"(found: {', '.join(seen) or 'none'}); install postgresql-client-{server_major}")


async def counts(conn: asyncpg.Connection) -> dict[str, Any]:
    """What a restore must find again: tickets, ratings, and each hall's ledger length and head."""
    ledger = await conn.fetch(
        "SELECT l.hall, l.seq, encode(l.hash, 'hex') AS head, c.n FROM ledger l"
        " JOIN (SELECT hall, max(seq) AS seq, count(*) AS n FROM ledger GROUP BY hall) c"
        "   ON c.hall = l.hall AND c.seq = l.seq ORDER BY l.hall")
    return {
        "tickets": await conn.fetchval("SELECT count(*) FROM tickets"),
        "ratings": await conn.fetchval("SELECT count(*) FROM ratings"),
        "ledger": {r["hall"]: {"rows": r["n"], "seq": r["seq"], "head": r["head"]} for r in ledger},
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def _server_major(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SHOW server_version_num")) // 10000


async def _run(args: list[str], what: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        text = (err or out).decode("utf-8", "replace").strip().splitlines()
        raise BackupError(f"{what} failed (exit {proc.returncode}): {' | '.join(text[-5:])}")


def _check_out(out: Path) -> None:
    if out.exists():
        raise BackupError(f"备份文件已存在 / {out} exists; choose another name (a backup never overwrites)")
    out.parent.mkdir(parents=True, exist_ok=True)


async def backup(dsn: str, out: Path, *, anchor_log: Path | None, anchor_key: Path | None) -> dict[str, Any]:
    """Write the backup tar to `out` (refused if it exists); the manifest it holds."""
    _check_out(out)
    conn = await asyncpg.connect(dsn)
    try:
        major = await _server_major(conn)
        # the counts and the dump see the same data: pg_dump runs in the snapshot exported here
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            found = await counts(conn)
            schema_version = await conn.fetchval("SELECT max(version) FROM schema_migrations")
            with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as tmp:
                work = Path(tmp)
                await _run([pg_tool("pg_dump", major), "--format=custom", f"--snapshot={snapshot}",
                            f"--file={work / DUMP}", f"--dbname={dsn}"], "pg_dump")
                files: dict[str, Path] = {DUMP: work / DUMP}
                for name, source in ((LOG, anchor_log), (KEY, anchor_key)):
                    if source is not None and source.exists():
                        shutil.copyfile(source, work / name)
                        files[name] = work / name
                manifest = {
                    "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "postgresql": major, "schema_version": schema_version,
                    "files": {name: {"sha256": _sha256(p), "bytes": p.stat().st_size} for name, p in files.items()},
                    "counts": found,
                }
                (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
                partial = work / "backup.tar"
                with tarfile.open(partial, "w") as tar:
                    for name in (MANIFEST, *files):
                        tar.add(work / name, arcname=name, recursive=False)
                os.chmod(partial, 0o600)  # it holds the anchoring key
                os.replace(partial, out)
    finally:
        await conn.close()
    return manifest


def read_backup(path: Path, into: Path) -> dict[str, Any]:
    """Extract the known members of the backup into `into` and check them against the manifest."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件 / no backup file {path}")
    try:
        with tarfile.open(path, "r:") as tar:
            names = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in names:
                raise BackupError(f"{path} 不是 hall-queue 备份 / is not a hall-queue backup (no {MANIFEST})")
            for name in MEMBERS:
                member = names.get(name)
                if member is None:
                    continue
                if not member.isfile():
                    raise BackupError(f"{path}: {name} is not a regular file")
                source = tar.extractfile(member)
                assert source is not None
                with source, (into / name).open("wb") as target:
                    shutil.copyfileobj(source, target)
    except (tarfile.TarError, EOFError) as exc:
        raise BackupError(f"备份文件已损坏 / {path} is damaged: {exc}") from None
    try:
        manifest = json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path}: the manifest is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown backup format {manifest.get('format') if isinstance(manifest, dict) else '?'}")
    for name, meta in manifest.get("files", {}).items():
        if name not in MEMBERS or not (into / name).exists():
            raise BackupError(f"备份文件不完整 / {path} lacks {name}")
        if _sha256(into / name) != meta.get("sha256"):
            raise BackupError(f"备份文件已损坏 / {path}: {name} does not match its checksum; nothing was restored")
    if DUMP not in manifest.get("files", {}):
        raise BackupError(f"{path}: the backup holds no database dump")
    return manifest


async def restore(dsn: str, path: Path, *, anchor_log: Path | None, anchor_key: Path | None) -> Restored:
    """Restore the backup at `path` into the empty database of `dsn`, put the anchor log and key
    where the configuration says (never over a different file), and compare the counts."""
    with tempfile.TemporaryDirectory(prefix="hall-queue-restore-") as tmp:
        work = Path(tmp)
        manifest = read_backup(path, work)
        conn = await asyncpg.connect(dsn)
        try:
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
            if tables:
                raise BackupError(
                    f"目标数据库不是空的（{tables} 张表）/ the database is not empty ({tables} tables); restore "
                    "into a new database (createdb …, then point [database] url at it)")
            major = await _server_major(conn)
            # the role the server runs as is cluster-wide: the dump grants to it, so it must exist
            await conn.execute("""DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hall_queue_app') THEN
                    CREATE ROLE hall_queue_app NOLOGIN; END IF;
                EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$""")
        finally:
            await conn.close()
        await _run([pg_tool("pg_restore", major), "--exit-on-error", "--single-transaction", "--no-owner",
                    f"--dbname={dsn}", str(work / DUMP)], "pg_restore")
        conn = await asyncpg.connect(dsn)
        try:
            found = await counts(conn)
        finally:
            await conn.close()
        written = _place_anchor_files(work, manifest, ((LOG, anchor_log), (KEY, anchor_key)))
    if found != manifest["counts"]:
        raise BackupError(f"恢复后的数据与备份清单不符 / restored counts {found} differ from the manifest's "
                          f"{manifest['counts']}")
    return Restored(manifest, found, written)


def _place_anchor_files(work: Path, manifest: dict[str, Any],
                        targets: tuple[tuple[str, Path | None], ...]) -> list[str]:
    """Put the backup's anchor log and key where the configuration says: written when missing
    (the key with mode 0600), left alone when the same, refused when a different file is there."""
    written = []
    for name, target in targets:
        if target is None or name not in manifest["files"]:
            continue
        data = (work / name).read_bytes()
        if target.exists():
            if target.read_bytes() != data:
                raise BackupError(
                    f"数据库已恢复，但 {target} 已存在且与备份不同 / the database was restored but {target} "
                    f"exists and differs from the backup's {name}; it was left alone — compare and replace it by hand")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(data)
        written.append(str(target))
    return written


def describe(manifest: dict[str, Any]) -> str:
    c = manifest["counts"]
    halls = ", ".join(f"{h} {v['rows']} rows" for h, v in c["ledger"].items()) or "no ledger rows"
    size = sum(f["bytes"] for f in manifest["files"].values())
    return (f"{c['tickets']} tickets, {c['ratings']} ratings; ledger: {halls}; schema {manifest['schema_version']}; "
            f"{size / 1e6:.1f} MB")

