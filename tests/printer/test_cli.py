"""The queue-printer command line (the job loop itself comes later)."""

from __future__ import annotations

import pytest

from printer_client.cli import main

ARGS = ["--server", "wss://hall.example/", "--token", "t0k3n", "--printer", "tcp://10.0.0.9:9100"]


def test_the_documented_arguments_are_accepted_and_the_missing_loop_is_admitted(capsys):
    assert main(ARGS) == 2
    assert "job loop is not written yet" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (["--printer", "10.0.0.9:9100"], "has no scheme"),
        (["--paper", "76"], "invalid choice: 76"),
        (["--chinese", "bitmap"], "invalid choice: 'bitmap'"),
    ],
)
def test_bad_arguments_stop_with_the_reason(capsys, change, complaint):
    with pytest.raises(SystemExit) as stop:
        main([*ARGS, *change])
    assert stop.value.code == 2
    assert complaint in capsys.readouterr().err


def test_server_token_and_printer_are_required(capsys):
    with pytest.raises(SystemExit):
        main(["--server", "wss://hall.example/"])
    assert "--token" in capsys.readouterr().err
