"""The queue-printer command line: its arguments and where it keeps its record."""

from __future__ import annotations

from pathlib import Path

import pytest

from printer_client.cli import default_state_dir, main, printed_jobs_path

ARGS = ["--server", "wss://hall.example/", "--token", "t0k3n", "--printer", "tcp://10.0.0.9:9100"]


def test_the_record_of_printed_jobs_is_per_token_and_does_not_contain_the_token():
    one = printed_jobs_path(Path("/state"), "t0k3n")
    assert one.parent == Path("/state") and one.name.startswith("printed-")
    assert "t0k3n" not in str(one)
    assert printed_jobs_path(Path("/state"), "other") != one


def test_the_state_directory_follows_xdg_state_home():
    assert default_state_dir({"XDG_STATE_HOME": "/var/lib/kiosk"}) == Path("/var/lib/kiosk/hall-queue")
    assert default_state_dir({}).parts[-3:] == (".local", "state", "hall-queue")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (["--printer", "10.0.0.9:9100"], "has no scheme"),
        (["--paper", "76"], "invalid choice: 76"),
        (["--chinese", "bitmap"], "invalid choice: 'bitmap'"),
        (["--server", "ftp://hall.example/"], "is not http(s)://"),
    ],
)
def test_bad_arguments_stop_with_the_reason(capsys, change, complaint):
    with pytest.raises(SystemExit) as stop:
        main([*ARGS, *change])
    assert stop.value.code == 2
    assert complaint in capsys.readouterr().err


def test_server_token_and_printer_are_required(capsys, monkeypatch):
    monkeypatch.delenv("QUEUE_PRINTER_TOKEN", raising=False)
    with pytest.raises(SystemExit):
        main(["--server", "wss://hall.example/"])
    assert "--printer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["--server", "wss://hall.example/", "--printer", "tcp://10.0.0.9:9100"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--token" in err and "QUEUE_PRINTER_TOKEN" in err


def test_the_token_may_come_from_the_environment_where_ps_cannot_show_it(monkeypatch):
    from printer_client.cli import build_parser
    monkeypatch.setenv("QUEUE_PRINTER_TOKEN", "from-env")
    args = build_parser().parse_args(["--server", "wss://hall.example/", "--printer", "tcp://10.0.0.9:9100"])
    assert args.token == "from-env"
    args = build_parser().parse_args(ARGS)
    assert args.token == "t0k3n"  # an explicit argument still wins
