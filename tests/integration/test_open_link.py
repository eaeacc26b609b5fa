"""The open link of a closing slide: its QR code decodes to the link; anonymous answers, one per browser,
slowed per address; 410 outside its window; counted apart from the one-per-person answers."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import container
from chalicelib.domain import openlinks
from tests.support.api import auth, body, import_csv, make_event, make_wave

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ANSWERS = b"overall=5&mutual_learning=5&understanding=4&cooperation_measures=4&_group=academia"


def text(r) -> str:
    return r.body.decode() if isinstance(r.body, bytes) else str(r.body)


def open_link(client, tokens, *, opens: timedelta = timedelta(minutes=-5), closes: timedelta = timedelta(hours=1)):
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    import_csv(client, admin, event_id)
    wave_id = make_wave(client, admin, event_id)
    now = datetime.now(UTC)
    r = client.http.post(
        f"/admin/events/{event_id}/waves/{wave_id}/open-link",
        headers=auth(admin),
        body=json.dumps({"opens_at": (now + opens).isoformat(), "closes_at": (now + closes).isoformat()}),
    )
    assert r.status_code == 201, r.body
    made = body(r)
    path = "/o/" + made["url"].rsplit("/", 1)[1]
    return event_id, wave_id, made, path


def cookie_of(r) -> str:
    line = r.headers.get("Set-Cookie") or r.headers.get("set-cookie") or ""
    return line.split(";", 1)[0]


def test_the_slide_qr_code_decodes_to_the_open_link(client, tokens):
    zxingcpp = pytest.importorskip("zxingcpp")
    import segno
    from PIL import Image

    _, _, made, path = open_link(client, tokens)
    assert set(made) >= {"url", "qr_url"}
    svg = client.http.get(path + "/qr.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"] == "image/svg+xml"
    slide = client.http.get(path + "/slide")
    assert slide.status_code == 200 and made["url"].split("://", 1)[1] in text(slide)
    # The SVG drawn is segno's for the link: the same matrix, rasterised, reads back to the URL.
    png = io.BytesIO()
    segno.make(made["url"], error="q", micro=False, boost_error=True).save(png, kind="png", scale=6)
    assert text(svg).count("<path") == 1
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))] == [made["url"]]


def test_two_answers_from_one_browser_store_one_and_count_apart(client, tokens):
    event_id, wave_id, _, path = open_link(client, tokens)
    form = client.http.get(path)
    assert form.status_code == 200 and 'name="_group"' in text(form)
    first = client.http.post(path, headers=FORM, body=ANSWERS)
    assert first.status_code == 200, first.body
    cookie = cookie_of(first)
    assert cookie.startswith("ef_browser=")
    again = client.http.post(path, headers={**FORM, "Cookie": cookie}, body=ANSWERS.replace(b"overall=5", b"overall=1"))
    assert again.status_code == 200 and "already" in text(again)
    # A forged cookie is a new browser, not the same one.
    other = client.http.post(path, headers={**FORM, "Cookie": "ef_browser=abc.def"}, body=ANSWERS)
    assert other.status_code == 200
    responses = list(container.store().list_responses(wave_id))
    assert len(responses) == 2 and all(r.mode == "open" for r in responses)
    assert {r.answers["overall"] for r in responses} == {"5"}
    s = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(tokens["admin"])))
    assert s["funnel"]["by_mode"]["open"] == 2 and s["funnel"]["completed"] == 0
    q = next(x for x in s["questions"] if x["id"] == "overall")
    assert q["n"] == 2
    by_mode = body(
        client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}&by=mode", headers=auth(tokens["admin"]))
    )
    assert by_mode["funnel"]["by_mode"]["open"] == 2
    report = client.http.get(f"/admin/events/{event_id}/report?wave={wave_id}", headers=auth(tokens["admin"]))
    assert "not one per person" in text(report)
    recount = body(client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(tokens["admin"])))
    assert recount["ok"], recount
    # A bad answer is refused exactly as in the personal form.
    bad = client.http.post(path, headers=FORM, body=b"overall=9")
    assert bad.status_code == 422


def test_outside_its_window_the_open_link_answers_410(client, tokens):
    _, wave_id, _, path = open_link(client, tokens, opens=timedelta(hours=1), closes=timedelta(hours=2))
    assert client.http.get(path).status_code == 410
    r = client.http.post(path, headers=FORM, body=ANSWERS)
    assert r.status_code == 410 and "<html" in text(r)
    assert list(container.store().list_responses(wave_id)) == []
    assert client.http.get("/o/" + "x" * 43).status_code == 404
    # The slide still shows, saying it is not open now.
    assert "not open now" in text(client.http.get(path + "/slide"))


def test_a_flood_from_one_address_is_slowed_and_never_stored_twice(client, tokens, monkeypatch):
    monkeypatch.setattr(openlinks, "RATE_LIMIT", 3)
    _, wave_id, _, path = open_link(client, tokens)
    statuses = [client.http.post(path, headers=FORM, body=ANSWERS).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 503, 503]
    assert len(list(container.store().list_responses(wave_id))) == 3


def test_bad_open_link_bodies_are_refused_as_json(client, tokens):
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    wave_id = make_wave(client, admin, event_id)
    url = f"/admin/events/{event_id}/waves/{wave_id}/open-link"
    bad = (
        {},
        {"opens_at": "soon", "closes_at": "later"},
        {"opens_at": "2030-01-01T10:00", "closes_at": "2030-01-01T11:00"},
        {"opens_at": "2030-01-01T11:00Z", "closes_at": "2030-01-01T10:00Z"},
    )
    for payload in bad:
        r = client.http.post(url, headers=auth(admin), body=json.dumps(payload))
        assert r.status_code == 400 and "error" in body(r), payload
    assert client.http.post(url, headers=auth(tokens["viewer"]), body="{}").status_code == 403


def test_the_dashboard_makes_an_open_link_for_a_slide(client, tokens, admin):
    from tests.support.visitor import csrf_for, page_text

    event_id = make_event(client, tokens["admin"])
    wave_id = make_wave(client, tokens["admin"], event_id)
    page = admin.get(f"/dashboard/events/{event_id}")
    action = f"/dashboard/events/{event_id}/waves/{wave_id}/open-link"
    assert "Open link for a slide" in page_text(page)
    r = admin.post(action, {"csrf": csrf_for(page, action), "starts_in": "0", "minutes": "60"})
    assert r.status_code == 200, page_text(r)
    shown = page_text(r)
    url = next(part for part in shown.split('"') if "/o/" in part and part.endswith("/slide"))
    slide = client.http.get("/o/" + url.split("/o/", 1)[1])
    assert slide.status_code == 200
    refused = admin.post(action, {"csrf": csrf_for(page, action), "starts_in": "0", "minutes": "x"})
    assert refused.status_code == 400
