"""The import route takes the files registration systems and Excel hand over (issue 14): each one imports
every row and the answer says what was detected; oversized and foreign files get 413 and 415."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.domain.registration import XLSX_TYPE
from tests.support.data import HEADER
from tests.support.registration_files import (
    FRENCH_HEADER,
    FRENCH_ROWS,
    HUMAN_HEADER,
    HUMAN_ROWS,
    text_file,
    workbook,
)


@pytest.fixture
def api(client: Any, tokens: dict[str, str]) -> Any:
    bearer = {"Authorization": f"Bearer {tokens['admin']}"}
    body = {"title": "Formats", "starts_on": "2026-11-02", "ends_on": "2026-11-03", "timezone": "Europe/Zurich"}
    created = client.http.post(
        "/admin/events", headers={**bearer, "Content-Type": "application/json"}, body=json.dumps(body)
    )
    event_id = json.loads(created.body)["event_id"]

    def post(raw: bytes, content_type: str, query: str = "") -> tuple[int, dict[str, Any]]:
        response = client.http.post(
            f"/admin/events/{event_id}/participants{query}",
            headers={**bearer, "Content-Type": content_type},
            body=raw,
        )
        return response.status_code, json.loads(response.body)

    post.event_id = event_id  # type: ignore[attr-defined]
    return post


def test_a_windows_1252_semicolon_file_imports_every_row_and_the_answer_says_what_was_detected(api):
    status, answer = api(text_file(FRENCH_HEADER, FRENCH_ROWS, encoding="cp1252", delimiter=";"), "text/csv")
    assert status == 200, answer
    assert (answer["imported"], answer["rejected"]) == (3, [])
    detected = answer["detected"]
    assert (detected["format"], detected["encoding"], detected["separator"]) == ("text", "Windows-1252", "semicolon")
    assert detected["columns"]["email"] == "Courriel" and detected["columns"]["country"] == "Pays"


def test_utf16_tab_text_imports_every_row(api):
    raw = text_file(HUMAN_HEADER, HUMAN_ROWS, encoding="utf-16-le", delimiter="\t", bom=True)
    status, answer = api(raw, "text/tab-separated-values")
    assert status == 200 and (answer["imported"], answer["rejected"]) == (4, []), answer
    assert answer["detected"]["encoding"] == "UTF-16 LE" and answer["detected"]["separator"] == "tab"


def test_an_xlsx_imports_every_row_and_names_its_sheet(api, client, tokens):
    status, answer = api(workbook(HUMAN_HEADER, HUMAN_ROWS, extra_sheets=1), XLSX_TYPE)
    assert status == 200 and (answer["imported"], answer["rejected"]) == (4, []), answer
    assert answer["detected"]["sheet"] == "Registrations"
    listed = client.http.get(
        f"/admin/events/{api.event_id}/participants", headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    assert len(json.loads(listed.body)["participants"]) == 4


def test_the_contract_header_keeps_working_unchanged(api):
    body = HEADER + "ada@example.org,Ada,Org,academia,GB,en,Europe/London,yes\nbad,Bo,Org,media,SN,fr,,no\n"
    status, answer = api(body.encode(), "text/csv")
    assert status == 200
    assert (answer["imported"], answer["updated"]) == (1, 0)
    assert answer["rejected"] == [{"row": 3, "column": "email", "reason": "invalid email address"}]


def test_an_explicit_column_mapping_is_taken_from_the_query(api):
    raw = text_file(
        ["Contact", "Who", "Kind", "Where", "Speaks"], [["ada@example.org", "Ada", "media", "CH", "en"]],
        encoding="utf-8", delimiter=",",
    )  # fmt: skip
    columns = {
        "email": "Contact",
        "full_name": "Who",
        "stakeholder_group": "Kind",
        "country": "Where",
        "language": "Speaks",
    }
    status, answer = api(raw, "text/csv", "?columns=" + quote(json.dumps(columns)))
    assert status == 200 and answer["imported"] == 1, answer
    status, answer = api(raw, "text/csv")
    assert status == 400 and answer["error"]["details"]["missing"] == [
        "email",
        "full_name",
        "stakeholder_group",
        "country",
        "language",
    ]


def test_over_ten_megabytes_is_413(api):
    status, answer = api(b"a" * (10 * 1024 * 1024 + 1), "text/csv")
    assert status == 413 and answer["error"]["code"] == "too_large"


def test_a_file_that_is_neither_text_nor_a_workbook_is_415(api):
    status, answer = api(b"%PDF-1.7\n" + bytes(range(256)) * 4, "application/octet-stream")
    assert status == 415 and answer["error"]["code"] == "unsupported_media_type", answer
