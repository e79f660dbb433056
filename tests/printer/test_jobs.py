"""PrintedJobs: the on-disk memory that makes a job delivered twice print once."""

from __future__ import annotations

import json

import pytest

from printer_client.jobs import PrintedJobs


def test_a_marked_job_is_seen(tmp_path):
    printed = PrintedJobs(tmp_path / "printed.jsonl")
    assert not printed.seen("job-1")
    printed.mark("job-1")
    assert printed.seen("job-1")
    assert not printed.seen("job-2")


def test_printed_jobs_survive_a_restart(tmp_path):
    path = tmp_path / "state" / "printed.jsonl"  # the directory is created on first use
    first = PrintedJobs(path)
    first.mark("job-1")
    first.mark("工单-2")
    reopened = PrintedJobs(path)
    assert reopened.seen("job-1") and reopened.seen("工单-2")
    assert len(reopened) == 2


def test_marking_a_job_twice_stores_it_once(tmp_path):
    path = tmp_path / "printed.jsonl"
    printed = PrintedJobs(path)
    printed.mark("job-1")
    printed.mark("job-1")
    assert path.read_text(encoding="utf-8").splitlines() == ['"job-1"']


def test_only_the_newest_ids_are_kept(tmp_path):
    path = tmp_path / "printed.jsonl"
    printed = PrintedJobs(path, limit=3)
    for n in range(10):
        printed.mark(f"job-{n}")
    assert [printed.seen(f"job-{n}") for n in range(10)] == [False] * 7 + [True] * 3
    # The file is compacted once it passes twice the limit, so it stays bounded too.
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 6
    reopened = PrintedJobs(path, limit=3)
    assert [reopened.seen(f"job-{n}") for n in range(10)] == [False] * 7 + [True] * 3


def test_a_line_cut_short_by_a_crash_is_dropped_and_repaired(tmp_path):
    path = tmp_path / "printed.jsonl"
    path.write_text('"job-1"\n"job-2"\n"job-', encoding="utf-8")
    printed = PrintedJobs(path)
    assert printed.seen("job-1") and printed.seen("job-2")
    printed.mark("job-3")
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [
        "job-1",
        "job-2",
        "job-3",
    ]
    assert PrintedJobs(path).seen("job-3")


def test_a_damaged_line_is_skipped_not_fatal(tmp_path, caplog):
    path = tmp_path / "printed.jsonl"
    path.write_text('"job-1"\n{not json\n42\n"job-2"\n', encoding="utf-8")
    printed = PrintedJobs(path)
    assert printed.seen("job-1") and printed.seen("job-2") and len(printed) == 2
    assert "line 2 is not a job id" in caplog.text


def test_a_job_id_must_be_a_non_empty_string(tmp_path):
    printed = PrintedJobs(tmp_path / "printed.jsonl")
    with pytest.raises(ValueError, match="non-empty string"):
        printed.mark("")
