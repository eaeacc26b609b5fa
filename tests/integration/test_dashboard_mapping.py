"""The dashboard's mapping step (issue 14): an upload shows what was detected and how each column is read,
"Import" imports with the chosen mapping, the event remembers it, and the rejected rows come back as a CSV."""

from __future__ import annotations

import re
from urllib.parse import unquote

import boto3

from chalicelib import container
from tests.support.registration_files import FRENCH_HEADER, FRENCH_ROWS, HUMAN_HEADER, HUMAN_ROWS, text_file, workbook
from tests.support.visitor import create_event, csrf_for, page_text


def upload_only(admin, event_id, name, raw):
    token = csrf_for(admin.get(f"/dashboard/events/{event_id}"), f"/dashboard/events/{event_id}/participants")
    return admin.upload(f"/dashboard/events/{event_id}/participants", {"csrf": token}, name, raw, confirm=False)


def selected(text: str) -> list[str]:
    return re.findall(r'<option value="([^"]*)" selected>', text)


def test_a_windows_1252_list_shows_its_mapping_then_imports_every_row(client, admin, stack):
    event_id = create_event(admin)
    raw = text_file(FRENCH_HEADER, FRENCH_ROWS, encoding="cp1252", delimiter=";")
    shown = upload_only(admin, event_id, "inscrits.csv", raw)
    text = page_text(shown)
    assert shown.status_code == 200, text
    assert "Detected format: Text, Windows-1252, separated by semicolons; 8 columns." in text
    assert "<td>Amélie</td>" in text and "3 rows below the header" in text
    assert selected(text) == [
        "email", "first_name", "last_name", "organisation", "stakeholder_group", "country", "language", "sponsored",
    ]  # fmt: skip
    # Nothing readable is kept between the steps: the store holds ciphertext only.
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=container.settings().table("imports"))
    kept = b"".join(i["data"]["B"] for i in items["Items"] if "data" in i)
    assert kept and b"example.org" not in kept and "Amélie".encode("cp1252") not in kept
    done = admin.confirm_mapping(shown)
    result = page_text(done)
    assert done.status_code == 200 and "3 imported, 0 updated or unchanged, 0 rejected" in result, result
    assert "Read as: text, Windows-1252, separated by semicolons." in result
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=container.settings().table("imports"))
    assert [i["import_id"]["S"] for i in items["Items"]] == ["#mapping"]  # the upload is gone
    # The same file again: the upload is already imported, so the old form is refused kindly.
    again = admin.confirm_mapping(shown)
    assert again.status_code == 400 and "upload it again" in page_text(again)


def test_the_event_remembers_the_mapping_for_its_next_upload(client, admin, stack):
    event_id = create_event(admin)
    header = ["Contact", "Who", "Kind", "Where", "Speaks"]
    raw = text_file(header, [["ada@example.org", "Ada", "media", "CH", "en"]], encoding="utf-8", delimiter=",")
    shown = upload_only(admin, event_id, "list.csv", raw)
    assert selected(page_text(shown)) == ["", "", "", "", ""]
    refused = admin.confirm_mapping(shown, {"col-0": "email"})
    assert refused.status_code == 400
    assert "Choose a column for full name, stakeholder group, country, language." in page_text(refused)
    chosen = {
        "col-0": "email",
        "col-1": "full_name",
        "col-2": "stakeholder_group",
        "col-3": "country",
        "col-4": "language",
    }
    twice = admin.confirm_mapping(refused, {**chosen, "col-1": "email"})
    assert twice.status_code == 400 and "Email is chosen for two columns" in page_text(twice)
    done = admin.confirm_mapping(twice, chosen)
    assert "1 imported" in page_text(done), page_text(done)
    next_time = upload_only(admin, event_id, "list.csv", raw)
    assert selected(page_text(next_time)) == ["email", "full_name", "stakeholder_group", "country", "language"]


def test_an_xlsx_imports_through_the_dashboard_and_rejected_rows_download_as_csv(client, admin, stack):
    event_id = create_event(admin)
    rows = [*HUMAN_ROWS, ["not-an-email", "Zed", "Org", "media", "CH", "en", "", "no"]]
    raw = workbook(HUMAN_HEADER, rows, extra_sheets=1)
    shown = upload_only(admin, event_id, "list.xlsx", raw)
    assert "Detected format: Excel workbook, sheet “Registrations” (of 2 sheets)" in page_text(shown)
    done = page_text(admin.confirm_mapping(shown))
    assert "4 imported, 0 updated or unchanged, 1 rejected" in done
    link = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)" download="rejected-rows.csv"', done)
    assert link, done
    rejected = unquote(link.group(1))
    assert rejected.splitlines()[0].startswith('\ufeff"Email","Full Name"')
    assert '"not-an-email","Zed"' in rejected and '"6","Email","invalid email address"' in rejected


def test_a_file_that_is_not_a_list_is_a_friendly_page(client, admin, stack):
    event_id = create_event(admin)
    refused = upload_only(admin, event_id, "scan.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4)
    assert refused.status_code == 415 and "a PDF cannot be read: save the list as .xlsx or CSV" in page_text(refused)


def test_the_event_page_offers_the_blank_templates(client, admin, stack):
    event_id = create_event(admin)
    text = page_text(admin.get(f"/dashboard/events/{event_id}"))
    csv_link = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)" download="registration-list.csv"', text)
    assert csv_link and unquote(csv_link.group(1)).startswith('\ufeff"email","full_name","organisation"')
    assert 'download="registration-list.xlsx"' in text
