"""The configuration loader: the sample config.toml, and one exact line per kind of problem."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from queue_server.config import ConfigError, load_config

SAMPLE = Path(__file__).resolve().parents[2] / "config.toml"
GONGSHU_CODES = "A, B, C, D, E, F, G, H, J, K, L, M"

Data = dict[str, Any]
Mutation = Callable[[Data], None]


# --- A tiny TOML writer: enough for the shapes config.toml uses -----------------------------


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, date):
        return value.isoformat()  # a TOML local date
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _is_array_of_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dump_toml(data: Data, path: tuple[str, ...] = ()) -> str:
    lines = [
        f"{_toml_key(key)} = {_toml_value(value)}"
        for key, value in data.items()
        if not isinstance(value, dict) and not _is_array_of_tables(value)
    ]
    for key, value in data.items():
        header = ".".join((*path, _toml_key(key)))
        if isinstance(value, dict):
            lines += ["", f"[{header}]", dump_toml(value, (*path, _toml_key(key)))]
        elif _is_array_of_tables(value):
            for item in value:
                lines += ["", f"[[{header}]]", dump_toml(item, (*path, _toml_key(key)))]
    return "\n".join(lines)


def sample() -> Data:
    return tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


def gongshu(data: Data) -> Data:
    hall: Data = data["halls"]["gongshu"]
    return hall


@pytest.fixture
def problems_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """Apply the mutations to the sample, write it as ./config.toml, return the problems."""
    monkeypatch.chdir(tmp_path)

    def run(*mutations: Mutation) -> list[str]:
        data = sample()
        for mutate in mutations:
            mutate(data)
        Path("config.toml").write_text(dump_toml(data), encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config("config.toml", env={})
        assert str(caught.value) == "\n".join(caught.value.problems)
        return caught.value.problems

    return run


# --- The sample ---------------------------------------------------------------------------


def test_dump_toml_round_trips_the_sample() -> None:
    assert tomllib.loads(dump_toml(sample())) == sample()


def test_sample_config_loads_with_three_halls_one_per_level() -> None:
    config = load_config(SAMPLE, env={})

    assert {hall.id: hall.level for hall in config.halls.values()} == {
        "gongshu": "district",
        "hushu": "street",
        "xiangfu": "community",
    }
    assert config.halls["gongshu"].name == "拱墅区行政服务中心"
    assert str(config.timezone) == "Asia/Shanghai"
    assert config.business_day_starts == time(4, 0)


def test_sample_district_hall_has_areas_services_and_comprehensive_windows() -> None:
    hall = load_config(SAMPLE, env={}).halls["gongshu"]

    assert len(hall.areas) >= 4
    assert len(hall.services) >= 10
    assert len(hall.windows) >= 12
    comprehensive = [w for w in hall.windows.values() if w.comprehensive]
    assert len(comprehensive) >= 2
    assert all(len(w.services) >= 5 for w in comprehensive)
    assert {(s.warn_minutes, s.alarm_minutes) for s in hall.services.values()} == {(15, 30)}
    assert all(s.name_en for s in hall.services.values())
    assert hall.windows[4].services == ("C", "D")  # order kept: primary skill first
    assert hall.windows[1].name == "1 号窗口"


def test_sample_street_hall_has_about_four_mostly_comprehensive_windows() -> None:
    hall = load_config(SAMPLE, env={}).halls["hushu"]

    assert 3 <= len(hall.windows) <= 5
    assert sum(w.comprehensive for w in hall.windows.values()) > len(hall.windows) / 2
    assert 4 <= len(hall.services) <= 6
    assert {(s.warn_minutes, s.alarm_minutes) for s in hall.services.values()} == {(10, 20)}


def test_sample_community_station_has_all_round_windows_no_kiosk_and_silent_calling() -> None:
    hall = load_config(SAMPLE, env={}).halls["xiangfu"]

    assert 1 <= len(hall.windows) <= 2
    assert all(
        w.comprehensive and set(w.services) == set(hall.services) for w in hall.windows.values()
    )
    assert 3 <= len(hall.services) <= 4
    assert hall.has_kiosk is False
    assert hall.voice is False
    assert {(s.warn_minutes, s.alarm_minutes) for s in hall.services.values()} == {(10, 20)}
    assert 6 in hall.hours.weekdays


def test_sample_hours_have_lunch_inside_opening_hours() -> None:
    hours = load_config(SAMPLE, env={}).halls["gongshu"].hours

    assert (hours.open, hours.close) == (time(8, 30), time(17, 0))
    assert (hours.lunch_start, hours.lunch_end) == (time(12, 0), time(13, 30))
    assert hours.weekdays == (1, 2, 3, 4, 5)


def test_sample_priority_classes_cover_every_class_and_keep_normal_tickets_moving() -> None:
    classes = load_config(SAMPLE, env={}).halls["gongshu"].priority_classes

    assert set(classes) == {
        "military", "elderly", "disabled", "pregnant", "critical", "appointment", "green",
    }  # fmt: skip
    assert classes["military"].mode == "absolute"
    assert classes["military"].name == "军人依法优先"
    assert classes["green"].mode == "absolute" and classes["green"].reason_required
    assert classes["appointment"].mode == "interleaved" and classes["appointment"].every >= 1
    assert all(c.every >= 1 for c in classes.values() if c.mode == "interleaved")


def test_sample_civility_has_every_moment_and_every_taboo_phrase() -> None:
    civility = load_config(SAMPLE, env={}).civility

    assert set(civility.phrases) == {
        "greeting", "serving", "missing_material", "refusal", "next_step",
        "waited_long", "finished", "farewell", "basics", "hall",
    }  # fmt: skip
    assert "您好，请坐。" in civility.phrases["greeting"]
    assert civility.phrases["basics"] == ("您好", "请", "对不起", "谢谢", "再见")
    assert len(civility.taboo) == 21
    assert "不知道。" in civility.taboo
    assert "网络坏了，我有什么办法，等着。" in civility.taboo


def test_hall_call_policy_overrides_the_defaults_key_by_key() -> None:
    halls = load_config(SAMPLE, env={}).halls

    assert halls["gongshu"].call_policy.recall_min_seconds == 30
    assert halls["xiangfu"].call_policy.recall_min_seconds == 60
    assert halls["xiangfu"].call_policy.max_calls == 3


def test_hall_priority_classes_replace_the_default_list() -> None:
    halls = load_config(SAMPLE, env={}).halls

    assert halls["gongshu"].priority_classes["elderly"].mode == "interleaved"
    assert halls["xiangfu"].priority_classes["elderly"].mode == "absolute"


def test_an_empty_hall_priority_list_means_no_priority_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = sample()
    data["halls"]["hushu"]["priority_classes"] = []
    Path("config.toml").write_text(dump_toml(data), encoding="utf-8")

    assert load_config("config.toml", env={}).halls["hushu"].priority_classes == {}


def test_source_is_the_path_as_given_and_pgdata_follows_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hall.toml").write_text(SAMPLE.read_text(encoding="utf-8"), "utf-8")
    monkeypatch.chdir(tmp_path)

    config = load_config("etc/hall.toml", env={})

    assert config.source == "etc/hall.toml"
    assert config.pgdata == tmp_path / "etc" / "var" / "pgdata"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())

    assert "gongshu" in load_config(path, env={}).halls


# --- Environment overrides ------------------------------------------------------------------


def test_environment_overrides_the_database_and_redis_urls() -> None:
    config = load_config(
        SAMPLE,
        env={
            "QUEUE_DATABASE_URL": "postgresql://queue@db.example:5432/hall_queue",
            "QUEUE_REDIS_URL": "redis://cache.example:6379/1",
        },
    )

    assert config.database_url == "postgresql://queue@db.example:5432/hall_queue"
    assert config.redis_url == "redis://cache.example:6379/1"


def test_without_environment_the_urls_come_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = sample()
    data["database"]["url"] = "postgresql://queue@127.0.0.1/hall_queue"
    Path("config.toml").write_text(dump_toml(data), encoding="utf-8")

    config = load_config("config.toml", env={"QUEUE_DATABASE_URL": ""})  # empty counts as unset

    assert config.database_url == "postgresql://queue@127.0.0.1/hall_queue"
    assert config.redis_url is None


def test_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_REDIS_URL", "redis://127.0.0.1:6379/2")
    monkeypatch.delenv("QUEUE_DATABASE_URL", raising=False)

    assert load_config(SAMPLE).redis_url == "redis://127.0.0.1:6379/2"


def test_a_bad_environment_url_is_reported_without_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(SAMPLE, env={"QUEUE_DATABASE_URL": "mysql://root:hunter2@db/queue"})

    assert caught.value.problems == [
        f"{SAMPLE}: environment variable QUEUE_DATABASE_URL: expected a URL starting with"
        " postgresql:// or postgres://, got one starting with 'mysql://'"
    ]


# --- Reading the file -----------------------------------------------------------------------


def test_a_missing_file_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ConfigError) as caught:
        load_config("nope.toml", env={})

    assert caught.value.problems == [
        f"nope.toml: no such file (looked for {tmp_path / 'nope.toml'})"
    ]


def test_a_toml_syntax_error_is_reported_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_text('[server]\nhost = "127.0.0.1"\nport = \n', encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config("config.toml", env={})

    assert caught.value.problems == ["config.toml: line 3: Invalid value (column 8)"]


def test_a_gbk_encoded_file_is_reported_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_bytes('# 配置\n[server]\nhost = "大厅"\n'.encode("gbk"))

    with pytest.raises(ConfigError) as caught:
        load_config("config.toml", env={})

    assert caught.value.problems == [
        "config.toml: line 1: not UTF-8 text (byte 0xc5); save the file as UTF-8, not GBK"
    ]


# --- One exact line per kind of problem -----------------------------------------------------


def test_unknown_window_service_is_reported_with_its_path(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        gongshu(data)["windows"][3]["services"][1] = "Z"

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.windows[3].services[1]: unknown service 'Z'"
        f" (known: {GONGSHU_CODES})",
        # D was only offered by 4 号 and the comprehensive windows: still offered, no more lines.
    ]


def test_a_quota_that_is_not_a_positive_integer_is_reported_with_the_value(
    problems_of: Any,
) -> None:
    def text(data: Data) -> None:
        gongshu(data)["services"][0]["daily_quota"] = "abc"

    def zero(data: Data) -> None:
        gongshu(data)["services"][1]["daily_quota"] = 0

    def boolean(data: Data) -> None:
        gongshu(data)["services"][2]["daily_quota"] = True

    assert problems_of(text, zero, boolean) == [
        "config.toml: halls.gongshu.services[0].daily_quota: expected a positive integer, got 'abc'",
        "config.toml: halls.gongshu.services[1].daily_quota: expected a positive integer, got 0",
        "config.toml: halls.gongshu.services[2].daily_quota: expected a positive integer, got true",
    ]


def test_a_misspelt_key_is_reported_as_unknown_with_a_suggestion(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        service = gongshu(data)["services"][2]
        service["daliy_quota"] = service.pop("daily_quota")

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.services[2]: unknown key 'daliy_quota'"
        " (did you mean 'daily_quota'?)",
        "config.toml: halls.gongshu.services[2]: missing key 'daily_quota'",
    ]


def test_unknown_top_level_and_hall_keys_are_reported(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["screens"] = {"host": "10.0.0.9"}
        data["halls"]["hushu"]["kiosk"] = False

    assert problems_of(mutate) == [
        "config.toml: unknown key 'screens'",
        "config.toml: halls.hushu: unknown key 'kiosk' (did you mean 'has_kiosk'?)",
    ]


def test_missing_required_keys_are_reported_on_their_table(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        del data["halls"]["hushu"]["level"]
        del data["halls"]["hushu"]["hours"]
        del data["civility"]["farewell"]

    assert problems_of(mutate) == [
        "config.toml: civility: missing key 'farewell'",
        "config.toml: halls.hushu: missing key 'level'",
        "config.toml: halls.hushu: missing key 'hours'",
    ]


def test_a_section_of_the_wrong_type_is_reported(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["halls"]["xiangfu"]["windows"] = "1, 2"
        data["halls"]["xiangfu"]["hours"] = "08:30-17:00"

    assert problems_of(mutate) == [
        "config.toml: halls.xiangfu.hours: expected a table [halls.xiangfu.hours],"
        " got '08:30-17:00'",
        "config.toml: halls.xiangfu.windows: expected an array of tables"
        " [[halls.xiangfu.windows]], got '1, 2'",
    ]


def test_a_service_code_must_be_one_upper_case_letter(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        gongshu(data)["services"][11]["code"] = "mm"

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.services[11].code: expected one upper-case letter A-Z,"
        " got 'mm'",
        # The windows that list M now point at an unknown service.
        "config.toml: halls.gongshu.windows[0].services[1]: unknown service 'M'"
        " (known: A, B, C, D, E, F, G, H, J, K, L)",
        "config.toml: halls.gongshu.windows[1].services[2]: unknown service 'M'"
        " (known: A, B, C, D, E, F, G, H, J, K, L)",
        "config.toml: halls.gongshu.windows[2].services[2]: unknown service 'M'"
        " (known: A, B, C, D, E, F, G, H, J, K, L)",
        "config.toml: halls.gongshu.windows[13].services[3]: unknown service 'M'"
        " (known: A, B, C, D, E, F, G, H, J, K, L)",
        "config.toml: halls.gongshu.windows[14].services[5]: unknown service 'M'"
        " (known: A, B, C, D, E, F, G, H, J, K, L)",
        "config.toml: halls.gongshu.windows[15].services[4]: unknown service 'M'"
        " (known: A, B, C, D, E, F, G, H, J, K, L)",
    ]


def test_a_service_code_must_be_unique_within_its_hall(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        services = gongshu(data)["services"]
        services.append({**services[4], "code": "A"})

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.services[12].code: duplicate service code 'A'"
        " (also services[0])",
    ]


def test_the_same_service_code_in_two_halls_is_fine() -> None:
    halls = load_config(SAMPLE, env={}).halls

    assert halls["gongshu"].services["A"].name != halls["hushu"].services["A"].name


def test_a_window_number_must_be_positive_and_unique_within_its_hall(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        gongshu(data)["windows"][1]["number"] = 0
        gongshu(data)["windows"][5]["number"] = 5

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.windows[1].number: expected a positive integer, got 0",
        "config.toml: halls.gongshu.windows[5].number: duplicate window number 5 (also windows[4])",
    ]


def test_window_and_service_areas_must_exist(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        gongshu(data)["services"][0]["area"] = "commerce"
        gongshu(data)["windows"][0]["area"] = "商事登记区"

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.services[0].area: unknown area 'commerce'"
        " (known: business, social, estate, police, tax, general)",
        "config.toml: halls.gongshu.windows[0].area: unknown area '商事登记区'"
        " (known: business, social, estate, police, tax, general)",
    ]


def test_a_window_listing_a_service_twice_is_reported(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        gongshu(data)["windows"][6]["services"] = ["E", "F", "E"]

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.windows[6].services[2]: service 'E' is listed twice"
        " (also services[0])",
    ]


def test_a_service_offered_by_no_window_is_reported(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        for window in gongshu(data)["windows"]:
            window["services"] = [code for code in window["services"] if code != "K"] or ["J"]

    assert problems_of(mutate) == [
        "config.toml: halls.gongshu.services[9]: service 'K' is offered by no window",
    ]


def test_a_window_must_offer_at_least_one_service(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["halls"]["xiangfu"]["windows"][1]["services"] = []

    assert problems_of(mutate) == [
        "config.toml: halls.xiangfu.windows[1].services: expected a non-empty array of"
        " service codes, got []",
    ]


def test_the_warning_threshold_must_be_below_the_alarm(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["halls"]["hushu"]["services"][3]["warn_minutes"] = 20

    assert problems_of(mutate) == [
        "config.toml: halls.hushu.services[3]: warn_minutes (20) must be less than"
        " alarm_minutes (20)",
    ]


def test_times_must_be_written_hh_mm(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        gongshu(data)["hours"]["open"] = "8:30"
        data["time"]["business_day_starts"] = "24:00"

    assert problems_of(mutate) == [
        'config.toml: time.business_day_starts: expected a time "HH:MM" (00:00-23:59),'
        " got '24:00'",
        'config.toml: halls.gongshu.hours.open: expected a time "HH:MM" (00:00-23:59),'
        " got '8:30'",
    ]


def test_a_hall_must_open_before_it_closes(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["halls"]["hushu"]["hours"].update(open="17:00", close="08:30")

    assert problems_of(mutate) == [
        "config.toml: halls.hushu.hours: open (17:00) must be before close (08:30)",
    ]


def test_lunch_must_lie_within_opening_hours_and_end_after_it_starts(problems_of: Any) -> None:
    def outside(data: Data) -> None:
        data["halls"]["hushu"]["hours"]["lunch"] = ["08:00", "09:00"]

    def backwards(data: Data) -> None:
        data["halls"]["xiangfu"]["hours"]["lunch"] = ["13:30", "12:00"]

    def single(data: Data) -> None:
        gongshu(data)["hours"]["lunch"] = ["12:00"]

    assert problems_of(outside, backwards, single) == [
        'config.toml: halls.gongshu.hours.lunch: expected two times ["HH:MM", "HH:MM"],'
        " got ['12:00']",
        "config.toml: halls.hushu.hours.lunch: 08:00-09:00 must lie within the opening hours"
        " 08:30-17:00",
        "config.toml: halls.xiangfu.hours.lunch: must start before it ends, got 13:30-12:00",
    ]


def test_weekdays_must_be_iso_numbers_listed_once(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["halls"]["xiangfu"]["hours"]["weekdays"] = [0, 1, 2, 2, 8]

    assert problems_of(mutate) == [
        "config.toml: halls.xiangfu.hours.weekdays[0]: expected an ISO weekday 1-7"
        " (Monday = 1), got 0",
        "config.toml: halls.xiangfu.hours.weekdays[4]: expected an ISO weekday 1-7"
        " (Monday = 1), got 8",
        "config.toml: halls.xiangfu.hours.weekdays[3]: day 2 is listed twice",
    ]


def test_the_timezone_must_be_a_known_zone(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["time"]["timezone"] = "Asia/Beijing"

    assert problems_of(mutate) == [
        "config.toml: time.timezone: unknown time zone 'Asia/Beijing' (e.g. 'Asia/Shanghai')",
    ]


def test_a_priority_mode_must_be_absolute_or_interleaved(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["priority_classes"][3]["mode"] = "sometimes"

    assert problems_of(mutate) == [
        "config.toml: priority_classes[3].mode: expected one of 'absolute', 'interleaved',"
        " got 'sometimes'",
    ]


def test_an_interleaved_priority_class_needs_every_of_at_least_one(problems_of: Any) -> None:
    def zero(data: Data) -> None:
        data["priority_classes"][5]["every"] = 0

    def missing(data: Data) -> None:
        del data["priority_classes"][6]["every"]

    def on_absolute(data: Data) -> None:
        data["halls"]["xiangfu"]["priority_classes"][0]["every"] = 2

    assert problems_of(zero, missing, on_absolute) == [
        "config.toml: priority_classes[5].every: expected a positive integer, got 0",
        "config.toml: priority_classes[6]: missing key 'every' (an interleaved class needs it)",
        "config.toml: halls.xiangfu.priority_classes[0].every: applies only to mode"
        " 'interleaved'; this class is 'absolute'",
    ]


def test_a_priority_class_code_must_be_unique(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["priority_classes"][4]["code"] = "disabled"

    assert problems_of(mutate) == [
        "config.toml: priority_classes[4].code: duplicate priority class 'disabled'"
        " (also priority_classes[3])",
    ]


def test_a_hall_id_must_be_short_lower_case_ascii(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["halls"]["Gong Shu"] = data["halls"].pop("gongshu")

    assert problems_of(mutate) == [
        'config.toml: halls."Gong Shu": hall id must be a lower-case letter then up to 31'
        " lower-case letters, digits, '_' or '-', got 'Gong Shu'",
    ]


def test_level_and_dispatch_must_be_known_choices(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["halls"]["hushu"]["level"] = "city"
        data["halls"]["hushu"]["dispatch"] = "fifo"

    assert problems_of(mutate) == [
        "config.toml: halls.hushu.level: expected one of 'district', 'street', 'community',"
        " got 'city'",
        "config.toml: halls.hushu.dispatch: expected one of 'service_order', 'longest_wait',"
        " got 'fifo'",
    ]


def test_a_civility_phrase_may_not_be_a_taboo_phrase(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["civility"]["refusal"].append("不清楚，这不归我管。")

    assert problems_of(mutate) == [
        "config.toml: civility.refusal[1]: '不清楚，这不归我管。' is a taboo phrase",
    ]


def test_call_policy_values_are_checked_in_defaults_and_hall_overrides(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["call_policy"]["max_calls"] = 0
        data["halls"]["xiangfu"]["call_policy"]["recall_min_seconds"] = -5

    assert problems_of(mutate) == [
        "config.toml: call_policy.max_calls: expected a positive integer, got 0",
        "config.toml: halls.xiangfu.call_policy.recall_min_seconds: expected an integer 0 or"
        " more, got -5",
    ]


def test_server_port_and_urls_are_checked(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["server"]["port"] = 80800
        data["server"]["public_url"] = "queue.example"
        data["database"]["url"] = "postgresql://"
        data["redis"]["url"] = 6379

    assert problems_of(mutate) == [
        "config.toml: server.port: expected a port number 1-65535, got 80800",
        "config.toml: server.public_url: expected a URL starting with http:// or https://,"
        " got a value without '://'",
        "config.toml: database.url: expected a URL starting with postgresql:// or postgres://,"
        " got nothing after 'postgresql://'",
        "config.toml: redis.url: expected a URL string, got 6379",
    ]


def test_the_redis_channel_is_a_plain_name_and_defaults_to_hall_queue(problems_of: Any) -> None:
    assert load_config(SAMPLE, env={}).redis_channel == "hall-queue"

    def mutate(data: Data) -> None:
        data["redis"]["channel"] = "train ing:*"

    assert problems_of(mutate) == [
        "config.toml: redis.channel: expected a name of letters, digits, '.', '_' or '-', got 'train ing:*'",
    ]


def test_several_problems_are_all_reported_at_once(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["time"]["timezone"] = "Mars/Olympus"
        gongshu(data)["services"][0]["daily_quota"] = "abc"
        gongshu(data)["windows"][3]["services"][1] = "Z"
        data["halls"]["hushu"]["services"][0]["alarm_minutes"] = 5
        data["halls"]["xiangfu"]["hours"]["weekdays"] = [9]

    assert problems_of(mutate) == [
        "config.toml: time.timezone: unknown time zone 'Mars/Olympus' (e.g. 'Asia/Shanghai')",
        "config.toml: halls.gongshu.services[0].daily_quota: expected a positive integer,"
        " got 'abc'",
        "config.toml: halls.gongshu.windows[3].services[1]: unknown service 'Z'"
        f" (known: {GONGSHU_CODES})",
        "config.toml: halls.hushu.services[0]: warn_minutes (10) must be less than"
        " alarm_minutes (5)",
        "config.toml: halls.xiangfu.hours.weekdays[0]: expected an ISO weekday 1-7"
        " (Monday = 1), got 9",
    ]


# --- Defaults: written once, in the schema ------------------------------------------------


def test_a_file_with_only_civility_and_halls_takes_every_other_value_from_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = sample()
    minimal = {"civility": data["civility"], "halls": data["halls"]}
    for hall in minimal["halls"].values():
        hall.pop("call_policy", None)
        hall.pop("priority_classes", None)
        hall.pop("region", None)  # a hall may stand outside any [regions] tree
    Path("config.toml").write_text(dump_toml(minimal), encoding="utf-8")

    config = load_config("config.toml", env={})
    assert config.regions == {} and config.halls["gongshu"].region is None

    assert (config.host, config.port, config.public_url) == (
        "127.0.0.1", 8080, "http://127.0.0.1:8080",
    )  # fmt: skip
    assert str(config.timezone) == "Asia/Shanghai"
    assert config.business_day_starts == time(4, 0)
    assert config.database_url is None and config.redis_url is None
    assert config.pgdata == tmp_path / "var" / "pgdata"
    assert config.db_command_timeout == 5.0
    assert config.token_ttl_minutes == 720
    assert config.limits.login_per_minute == 60 and config.limits.header_timeout_seconds == 10.0
    assert config.ratings.window_minutes == 10 and len(config.ratings.labels) == 8
    assert config.printing.job_ttl_seconds == 120
    assert config.printing.for_printer("hushu", "P01").paper_mm == 80
    policy = config.halls["xiangfu"].call_policy
    assert (policy.max_calls, policy.recall_min_seconds, policy.restore_offset) == (3, 30, 2)
    assert policy.void_after_misses == 3
    assert config.halls["hushu"].priority_classes == {}


def test_the_domain_layout_types_carry_no_defaults_of_their_own() -> None:
    """What a hall gets for a key config.toml leaves out is written once: in config.py."""
    import dataclasses

    from queue_server.domain import layout

    types = (
        layout.Area, layout.Service, layout.Window, layout.PriorityClass,
        layout.CallPolicy, layout.Hours, layout.Hall, layout.Civility,
    )  # fmt: skip
    with_defaults = [
        f"{kind.__name__}.{field.name}"
        for kind in types
        for field in dataclasses.fields(kind)
        if field.default is not dataclasses.MISSING
        or field.default_factory is not dataclasses.MISSING
    ]
    assert with_defaults == []


def test_a_printer_table_overrides_the_printing_defaults_key_by_key() -> None:
    printing = load_config(SAMPLE, env={}).printing

    p01 = printing.for_printer("hushu", "P01")
    assert (p01.paper_mm, p01.chinese, p01.qr) == (58, "image", "native")
    assert printing.for_printer("gongshu", "P01") == printing.default
    assert printing.for_printer("hushu", None) == printing.default
    assert (printing.default.paper_mm, printing.default.chinese) == (80, "native")


def test_an_unknown_key_in_any_table_gets_a_suggestion(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["limits"]["login_per_minut"] = data["limits"].pop("login_per_minute")
        data["printing"]["printers"][0]["papermm"] = 58
        data["halls"]["xiangfu"]["hours"]["weekday"] = [1]

    assert problems_of(mutate) == [
        "config.toml: halls.xiangfu.hours: unknown key 'weekday' (did you mean 'weekdays'?)",
        "config.toml: printing.printers[0]: unknown key 'papermm' (did you mean 'paper_mm'?)",
        "config.toml: limits: unknown key 'login_per_minut' (did you mean 'login_per_minute'?)",
    ]


def test_a_printer_naming_an_unknown_hall_is_reported(problems_of: Any) -> None:
    def mutate(data: Data) -> None:
        data["printing"]["printers"][0]["hall"] = "hushuu"

    assert problems_of(mutate) == [
        "config.toml: printing.printers[0].hall: unknown hall 'hushuu'"
        " (known: gongshu, hushu, xiangfu)",
    ]


def test_a_wrong_printer_setting_is_reported_like_any_other_problem(problems_of: Any) -> None:
    # The hand-written loader stopped on an AssertionError here instead of reporting the line.
    def mutate(data: Data) -> None:
        data["printing"]["printers"][0]["paper_mm"] = 57
        data["printing"]["printers"][0]["qr"] = "png"

    assert problems_of(mutate) == [
        "config.toml: printing.printers[0].paper_mm: expected 58 or 80 (mm), got 57",
        "config.toml: printing.printers[0].qr: expected one of 'native', 'image', got 'png'",
    ]


# --- The region tree (three levels) -----------------------------------------------------------


def test_sample_regions_put_every_hall_under_the_gongshu_district() -> None:
    config = load_config(SAMPLE, env={})
    assert {r.id: (r.level, r.parent) for r in config.regions.values()} == {
        "gongshu": ("district", None), "hushu": ("street", "gongshu"), "xiangfu": ("street", "gongshu")}
    assert {h.id: h.region for h in config.halls.values()} == {
        "gongshu": "gongshu", "hushu": "hushu", "xiangfu": "xiangfu"}


def test_a_broken_region_tree_is_reported_line_by_line(problems_of: Callable[..., list[str]]) -> None:
    def mutate(data: Data) -> None:
        data["regions"]["hushu"]["parent"] = "nowhere"
        data["regions"]["xiangfu"]["parent"] = "hushu"  # a street under a street
        data["regions"]["gongshu"]["parent"] = "hushu"  # a district has none
        data["regions"]["extra"] = {"name": "某街道", "level": "street"}  # no district named
        data["regions"]["odd"] = {"name": "某镇", "level": "town", "parent": "gongshu"}
        data["halls"]["xiangfu"]["region"] = "xf"

    found = problems_of(mutate)
    assert "config.toml: regions.hushu.parent: unknown region 'nowhere' (districts: gongshu)" in found
    assert "config.toml: regions.xiangfu.parent: not a district 'hushu' (districts: gongshu)" in found
    assert "config.toml: regions.gongshu.parent: a district has no parent" in found
    assert any(line.startswith("config.toml: regions.extra: missing key 'parent'") for line in found)
    assert any(line.startswith("config.toml: regions.odd.level:") for line in found)
    assert any(line.startswith("config.toml: halls.xiangfu.region: unknown region 'xf'") for line in found)


def test_calendar_dates_must_be_real_dates_and_a_make_up_day_cannot_be_a_holiday(problems_of) -> None:
    def bad_dates(data: Data) -> None:
        data["calendar"] = {"holidays": ["2027-13-01", date(2027, 2, 10)], "workdays": [date(2027, 2, 10)]}

    found = problems_of(bad_dates)
    assert any("calendar.holidays[0]" in line and "a date like 2027-01-01" in line for line in found), found
    assert any("calendar.workdays[0]" in line and "also listed as a holiday" in line for line in found), found


def test_sample_calendar_skips_new_years_day_for_deadlines() -> None:
    config = load_config(SAMPLE, env={})
    days = config.work_calendar("gongshu")
    assert not days.is_working_day(date(2027, 1, 1)) and days.is_working_day(date(2026, 12, 31))
