"""Configuration of the server's database role and of the ledger anchors' files."""

from __future__ import annotations

from pathlib import Path

import pytest

from queue_server.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def _copy_sample(tmp_path: Path, replace: tuple[str, str] | None = None) -> Path:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    if replace is not None:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    path = tmp_path / "conf" / "config.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    return path


def test_anchor_files_default_beside_the_data_relative_to_the_config_file(tmp_path):
    config = load_config(_copy_sample(tmp_path), env={})
    assert config.anchor_key == tmp_path / "conf" / "var" / "anchor-key.pem"
    assert config.anchor_log == tmp_path / "conf" / "var" / "anchors.jsonl"
    assert config.app_database_url is None


def test_app_url_comes_from_the_file_and_the_environment_overrides_it(tmp_path):
    path = _copy_sample(
        tmp_path, ("[database]\n", '[database]\napp_url = "postgresql://hall_queue_app@db/hq"\n')
    )
    assert load_config(path, env={}).app_database_url == "postgresql://hall_queue_app@db/hq"
    env = {"QUEUE_APP_DATABASE_URL": "postgresql://other@db/hq"}
    assert load_config(path, env=env).app_database_url == "postgresql://other@db/hq"


def test_a_bad_app_url_and_an_unknown_anchors_key_are_reported(tmp_path):
    path = _copy_sample(tmp_path, ("[anchors]\n", '[anchors]\nkey = "k.pem"\n'))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"QUEUE_APP_DATABASE_URL": "mysql://x"})
    text = "\n".join(caught.value.problems)
    assert "QUEUE_APP_DATABASE_URL" in text and "anchors: unknown key 'key'" in text
