"""A follow-up across two workshops in Chromium, against the local stack: the participant's form asks the
per-event question once per workshop attended, and the dashboard's programme page, the series wave's page and
its report; axe (WCAG 2.2 AA tags) finds nothing at 320, 768 and 1280 px, nothing scrolls sideways, and each is
screenshotted to test-artifacts/series-*.png."""

from __future__ import annotations

import time
from datetime import date, timedelta
from email import message_from_string
from email.policy import default as default_policy
from typing import Any

from tests.support.data import HEADER
from tests.support.live import Live, axe_violations, token_for
from tests.support.paths import ARTIFACTS

WIDTHS = (320, 768, 1280)


def check(page: Any, name: str) -> list[tuple[int, list[str]]]:
    """axe at each width, a screenshot at each, and no sideways scroll; the violations found, by width."""
    page.wait_for_load_state("load")
    found = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        violations = [v["id"] for v in axe_violations(page)]
        if violations:
            found.append((width, violations))
        page.screenshot(path=str(ARTIFACTS / f"series-{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert scroll <= 0, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1280, "height": 900})
    return found


def workshop(live: Live, title: str, ends: date, rows: list[str]) -> str:
    r = live.json(
        "POST",
        "/admin/events",
        {
            "title": title,
            "starts_on": (ends - timedelta(days=1)).isoformat(),
            "ends_on": ends.isoformat(),
            "timezone": "Europe/Zurich",
        },
    )
    assert r.status == 201, r.body
    event_id = str(r.json()["event_id"])
    r = live.call(
        "POST",
        f"/admin/events/{event_id}/participants",
        (HEADER + "".join(rows)).encode(),
        {"Content-Type": "text/csv"},
    )
    assert r.status == 200 and not r.json()["rejected"], r.body
    return event_id


def series_token(live: Live, address: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(live.outbox.glob("*.eml")):
            try:
                message = message_from_string(path.read_text(encoding="utf-8"), policy=default_policy)
                if address in str(message["To"] or ""):
                    return token_for(message)
            except (AssertionError, LookupError, ValueError):
                continue
        time.sleep(0.5)
    raise AssertionError("the series invitation did not arrive")


def test_a_follow_up_across_two_workshops_in_chromium(live: Live, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stamp = str(int(time.time()))
    both = f"series.both.{stamp}@example.org"
    ends = date.today() - timedelta(days=40)
    first = workshop(
        live,
        "Workshop on Migration Data",
        ends - timedelta(days=60),
        [
            f"{both},Ana Ruiz,Ministerio,government,CO,en,,yes\n",
            f"series.one.{stamp}@example.org,Paul Martin,Uni,academia,FR,fr,,no\n",
        ],
    )
    second = workshop(
        live,
        "Workshop on Labour Mobility",
        ends,
        [
            f"{both},Ana Ruiz,Ministerio,government,CO,en,,yes\n",
            f"series.two.{stamp}@example.org,Grace Okafor,CV,civil_society,NG,en,,no\n",
        ],
    )
    r = live.json(
        "POST",
        "/admin/series-waves",
        {
            "event_ids": [first, second],
            "questionnaire": "impact",
            "opens": {"after_event_days": 30, "local_time": "09:00"},
            "reminders_after_days": [7],
            "closes": {"after_open_days": 30},
        },
    )
    assert r.status == 201, r.body
    assert r.json()["recipients"] == 3
    wave_id = r.json()["wave_id"]
    assert live.json("POST", f"/admin/series-waves/{wave_id}/send").status == 202
    token = series_token(live, both)

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live.base}/s/{token}")
    assert page.locator(f'[name="content_relevant@{first}"]').count() == 5
    assert page.locator(f'[name="content_relevant@{second}"]').count() == 5
    assert check(page, "form") == []
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    admin_email, admin_password = live.stack.credentials["admin"]
    page.goto(live.base + "/dashboard")
    page.get_by_label("Email address").fill(admin_email)
    page.get_by_label("Password").fill(admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    page.goto(f"{live.base}/dashboard/programme?year={ends.year}")
    assert page.get_by_role("heading", name="New follow-up across events").is_visible()
    assert check(page, "programme") == []
    page.goto(f"{live.base}/dashboard/series-waves/{wave_id}")
    assert check(page, "wave") == []
    page.goto(f"{live.base}/dashboard/series-waves/{wave_id}/report?by=event")
    assert check(page, "report") == []
    context.close()
