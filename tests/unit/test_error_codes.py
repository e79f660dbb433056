"""Issue 9: every error code raised is in the one registry, and the OpenAPI document lists them."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from queue_server.domain.errors import CODES, InvalidInput, Refused
from queue_server.web.openapi import build

ROOT = Path(__file__).resolve().parents[2] / "queue_server"
_CATEGORIES = sorted({code.split(".")[0] for code in CODES})
# A code literal: a dotted string literal of one of the registry's categories, wherever it is
# written (an error's first argument, a guard's code argument, a refusal code returned by the
# domain, a code the web names for aiohttp's own answers).
_LITERAL = re.compile(r'"((?:' + "|".join(_CATEGORIES) + r')\.[a-z_]+)"')


_FILE_TYPES = {"html", "js", "css", "json", "toml", "py"}  # "hall.html" names a page, not a code


def _codes_in_source() -> set[str]:
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if path.name != "errors.py":
            found |= {c for c in _LITERAL.findall(path.read_text()) if c.split(".")[1] not in _FILE_TYPES}
    return found


def test_every_code_raised_in_the_source_is_in_the_registry():
    raised = _codes_in_source()
    assert len(raised) > 60, raised  # the scan finds the raising sites
    assert raised - set(CODES) == set()


def test_every_registry_code_is_raised_somewhere_and_listed_in_the_openapi_problem_schema():
    assert set(CODES) - _codes_in_source() == set(), "codes nobody raises"
    spec = build()
    schema = spec["components"]["responses"]["Problem"]["content"]["application/problem+json"]["schema"]
    assert schema["properties"]["code"]["enum"] == sorted(CODES)


def test_codes_are_dotted_and_details_are_chinese():
    for code, template in CODES.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", code), code
        assert re.search(r"[\u4e00-\u9fff]", template), (code, template)
        # every placeholder is a plain name (no attribute or index access into parameters)
        for _, name, _, _ in string.Formatter().parse(template):
            assert name is None or name.isidentifier(), (code, name)


def test_an_unknown_code_cannot_be_raised():
    with pytest.raises(KeyError):
        Refused("window.no_such_code")


def test_the_detail_is_formatted_from_the_template_and_the_parameters_travel_along():
    error = InvalidInput("input.too_long", field="reason", length=70, limit=60)
    assert error.code == "input.too_long"
    assert error.detail == "reason 共 70 个字，最多 60 个字"
    assert error.extra == {"length": 70, "limit": 60}
