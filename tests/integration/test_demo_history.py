"""`queue-server demo-history` and `rebuild-stats`: a generated history is made of the rows live
operation writes, verifies, is the same for the same seed, never mixes with a real history, and
its projection is the one rebuilt from the ledger alone."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from queue_server.service import queue as queue_module
from queue_server.service.demo import HallSimulation
from queue_server.service.principal import Principal
from tests.cli.cli_support import fetch, output_lines, run, with_config
from tests.support.hall import queue_service_on, sample_config

END = date(2026, 12, 2)  # Wednesday: Monday to Wednesday
DAYS = 3
SEED = 11
EVERY_KIND = {
    "ticket_issued", "ticket_called", "ticket_recalled", "service_started", "ticket_finished",
    "ticket_missed", "ticket_voided", "ticket_restored", "ticket_transferred", "ticket_cancelled",
    "ticket_closed", "ticket_rated", "follow_up_opened", "follow_up_updated", "window_opened",
    "window_paused", "window_resumed", "window_closed",
}
PROJECTION = (
    "SELECT * FROM stat_visits ORDER BY ticket_id",
    "SELECT * FROM stat_sessions ORDER BY hall, window_no, opened_at",
)


def demo(db: str, *args: str, seed: int = SEED) -> tuple[int, str, str]:
    done = run(*with_config("demo-history", "--days", str(DAYS), "--seed", str(seed), "--end", END.isoformat(),
                            *args), db=db, timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def history(pg_dsn):
    """A migrated database holding a 3-day demo history of every sample hall (shared: read only)."""
    from tests.support import services

    with services.temporary_database(pg_dsn) as dsn:
        done = run(*with_config("migrate"), db=dsn)
        assert done.returncode == 0, done.stderr
        code, out, err = demo(dsn)
        assert code == 0, err
        yield dsn, out


def test_the_demo_history_verifies_and_holds_every_kind_of_event(history):
    db, out = history
    assert "demo history 2026-11-30..2026-12-02" in out and "refused" not in out
    done = run(*with_config("verify-ledger"), db=db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split(":")[0] for line in output_lines(done.stdout)] == [
        "OK hall gongshu", "OK hall hushu", "OK hall xiangfu", "OK staff ledger"]
    kinds = {r["kind"] for r in fetch(db, "SELECT DISTINCT kind FROM ledger")}
    assert EVERY_KIND <= kinds, EVERY_KIND - kinds
    for hall in ("gongshu", "hushu", "xiangfu"):
        head = fetch(db, "SELECT seq, head_hash, business_day FROM halls WHERE id = $1", hall)[0]
        last = fetch(db, "SELECT seq, hash FROM ledger WHERE hall = $1 ORDER BY seq DESC LIMIT 1", hall)[0]
        assert (head["seq"], bytes(head["head_hash"]), head["business_day"]) == (last["seq"], bytes(last["hash"]), END)


def test_tickets_ratings_and_follow_ups_are_consistent_and_well_formed(history):
    db, _ = history
    tickets = fetch(db, "SELECT id, holder_secret, status, business_day FROM tickets")
    assert len(tickets) > 500
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", t["id"]) for t in tickets)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", t["holder_secret"]) for t in tickets)
    assert len({t["holder_secret"] for t in tickets}) == len(tickets)
    # Tickets left at closing were closed by the next day's first command; the last day's stay live.
    assert {t["status"] for t in tickets if t["business_day"] < END} <= {
        "finished", "cancelled", "void", "closed"}
    rated = fetch(db, "SELECT count(*) AS n FROM ratings")[0]["n"]
    finished = fetch(db, "SELECT count(*) AS n FROM tickets WHERE status = 'finished'")[0]["n"]
    assert 0.5 < rated / finished < 0.7
    assert fetch(db, "SELECT count(*) AS n FROM ledger WHERE kind = 'ticket_rated'")[0]["n"] == rated
    follow_ups = fetch(db, "SELECT f.status, r.level FROM follow_ups f JOIN ratings r ON r.id = f.rating_id")
    assert follow_ups and all(f["level"] <= 2 for f in follow_ups)
    assert fetch(db, "SELECT count(*) AS n FROM ratings WHERE level <= 2")[0]["n"] == len(follow_ups)
    counters = fetch(db, "SELECT hall, business_day, service, last_seq FROM service_counters")
    issued = {(r["hall"], r["business_day"], r["prefix"]): r["n"] for r in fetch(
        db, "SELECT hall, business_day, prefix, max(seq) AS n FROM tickets GROUP BY 1, 2, 3")}
    assert {(c["hall"], c["business_day"], c["service"]): c["last_seq"] for c in counters} == issued


def test_the_same_seed_gives_the_same_ledger_and_another_seed_another(history):
    db, _ = history
    config = sample_config()

    def hashes(seed: int, hall: str) -> list[bytes]:
        sim = HallSimulation(config, config.halls[hall], seed, 1.0)
        for i in range(DAYS):
            sim.run_day(END - timedelta(days=DAYS - 1 - i))
        return [r.hash for r in sim.finish().ledger]

    for hall in ("gongshu", "xiangfu"):
        stored = [bytes(r["hash"]) for r in fetch(db, "SELECT hash FROM ledger WHERE hall = $1 ORDER BY seq", hall)]
        assert hashes(SEED, hall) == stored
    assert hashes(SEED + 1, "xiangfu") != hashes(SEED, "xiangfu")


def test_a_second_run_on_the_same_database_is_refused_and_changes_nothing(history):
    db, _ = history
    before = fetch(db, "SELECT count(*) AS n FROM ledger")[0]["n"]
    code, out, err = demo(db, "--hall", "xiangfu", seed=99)
    assert code == 1
    assert "xiangfu already has ledger rows" in err and "Traceback" not in err
    assert fetch(db, "SELECT count(*) AS n FROM ledger")[0]["n"] == before


def test_rebuild_stats_gives_back_the_projection_the_demo_built(history):
    db, _ = history
    before = [fetch(db, sql) for sql in PROJECTION]
    assert before[0] and before[1]
    done = run(*with_config("rebuild-stats"), db=db, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = output_lines(done.stdout)
    assert [line.split(":")[0] for line in lines] == ["hall gongshu", "hall hushu", "hall xiangfu"]
    assert "ledger rows read" in lines[0] and "visits" in lines[0] and "window sessions" in lines[0]
    assert [fetch(db, sql) for sql in PROJECTION] == before
    done = run(*with_config("rebuild-stats", "--hall", "xiangfu"), db=db)
    assert done.returncode == 0 and len(output_lines(done.stdout)) == 1


def test_unknown_halls_are_refused_with_exit_2(history):
    db, _ = history
    for command in (("rebuild-stats", "--hall", "nowhere"),
                    ("demo-history", "--days", "1", "--seed", "1", "--hall", "nowhere")):
        done = run(*with_config(*command), db=db)
        assert done.returncode == 2
        assert "unknown hall 'nowhere'" in done.stderr and "gongshu" in done.stderr


async def test_queue_service_builds_its_ledger_rows_with_the_shared_function(fresh_db, monkeypatch):
    built = []
    shared = queue_module.ledger_row

    def spy(*args, **kwargs):
        row = shared(*args, **kwargs)
        built.append(row)
        return row

    monkeypatch.setattr(queue_module, "ledger_row", spy)
    kiosk = Principal("device", "K01", "K01", "kiosk", "gongshu")
    async for svc in queue_service_on(fresh_db, ignore_hours=True):
        await svc.issue("gongshu", kiosk, service="A", priority=None, priority_reason=None, channel="kiosk", key=None)
        async with svc.pool.acquire() as conn:
            stored = await svc.store.ledger_rows(conn, "gongshu")
    assert len(built) == 1 and stored == built


def test_halls_generated_in_parallel_processes_are_the_same_history(fresh_db):
    done = run(*with_config("migrate"), db=fresh_db)
    assert done.returncode == 0, done.stderr
    done = run(*with_config("demo-history", "--days", "1", "--seed", str(SEED), "--end", END.isoformat(),
                            "--hall", "hushu", "--hall", "xiangfu", "--jobs", "2"), db=fresh_db, timeout=300)
    assert done.returncode == 0, done.stderr
    config = sample_config()
    for hall in ("hushu", "xiangfu"):
        sim = HallSimulation(config, config.halls[hall], SEED, 1.0)
        sim.run_day(END)
        expected = [r.hash for r in sim.finish().ledger]
        stored = [bytes(r["hash"]) for r in fetch(fresh_db, "SELECT hash FROM ledger WHERE hall = $1 ORDER BY seq", hall)]
        assert stored == expected and stored
    assert not fetch(fresh_db, "SELECT 1 FROM ledger WHERE hall = 'gongshu'")
