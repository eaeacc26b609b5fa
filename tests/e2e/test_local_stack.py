"""The whole path over HTTP against the local stack: moto server, `chalice local` and the pump."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from tests.support.live import Live, new_event, token_for


def summary(live: Live, event_id: str, wave_id: str) -> dict[str, Any]:
    r = live.call("GET", f"/admin/events/{event_id}/summary?wave={wave_id}&by=stakeholder_group")
    assert r.status == 200, r.body
    return dict(r.json())


def test_health(live: Live) -> None:
    r = live.call("GET", "/health", auth=False)
    assert r.status == 200 and r.json() == {"status": "ok"}


def test_admin_api_needs_a_valid_token(live: Live) -> None:
    assert live.call("GET", "/admin/events", auth=False).status == 401
    r = live.call("GET", "/admin/events", headers={"Authorization": "Bearer " + live.token[:-3] + "abc"}, auth=False)
    assert r.status == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_event_to_summary_over_http(live: Live) -> None:
    before = len(live.emails())
    event_id, wave_id = new_event(live, "E2E workshop")
    assert live.call("GET", "/admin/questionnaires").json()["questionnaires"][0]["id"] == "satisfaction"
    assert live.call("POST", f"/admin/events/{event_id}/waves/{wave_id}/send").status == 202
    assert live.call("POST", f"/admin/events/{event_id}/waves/{wave_id}/send").status == 202
    emails = live.wait_for_emails(before + 4)[before:]
    time.sleep(5)  # two more pump rounds: a duplicate would show up by now
    assert len(live.emails()) == before + 4
    for message in emails:
        assert message["List-Unsubscribe-Post"].strip() == "List-Unsubscribe=One-Click"
        assert message.get_body(preferencelist=("html",)) is not None

    token = token_for(next(m for m in emails if "e2e.three" in str(m["To"])))
    page = live.call("GET", f"/s/{token}", auth=False)
    assert page.status == 200 and b"mutual learning" in page.body
    form = urllib.parse.urlencode(
        {
            "overall": "5",
            "mutual_learning": "5",
            "understanding": "4",
            "cooperation_measures": "4",
            "comments": "Very useful.",
        }
    ).encode()
    r = live.call("POST", f"/s/{token}", form, {"Content-Type": "application/x-www-form-urlencoded"}, auth=False)
    assert r.status == 303 and "/thanks" in r.headers["Location"]

    deadline = time.monotonic() + 30
    while True:
        funnel = summary(live, event_id, wave_id)["funnel"]
        if (funnel["delivered"] == 3 and funnel["bounced"] == 1) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert funnel["invited"] == 4
    assert funnel["delivered"] == 3 and funnel["bounced"] == 1
    assert funnel["completed"] == 1 and funnel["opened"] == 1
    assert funnel["response_rate"] == round(100 / 3, 1)


def test_the_deploys_http_smoke_probes_pass_against_a_running_api(live: Live) -> None:
    """make deploy's smoke check speaks HTTP to the stage URL (deploy/smoke.py HttpTransport); here it speaks to
    `chalice local`, the same app behind a real HTTP server, so the transport and the probes' expectations are
    tested end to end. (The rehearsal drives the same probes through the deployed zips.)"""
    from deploy.smoke import PROBES, HttpTransport, smoke

    http_probes = [
        p for p in PROBES if p.run.__name__ in ("_health", "_unknown_link", "_admin_refuses", "_sign_in_page")
    ]
    assert len(http_probes) == 4
    transport = HttpTransport(live.base, account=None, function_names={})  # type: ignore[arg-type]
    results = smoke(transport, http_probes)
    assert [problem for _, problem in results] == [None] * 4, results
