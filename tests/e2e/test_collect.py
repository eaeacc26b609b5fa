"""Answers collected at the event, in real Chromium against the local stack: the sheet of personal QR cards is
printed (print media), one code is read back from the rendered page with a QR decoder (zxing-cpp), its link
opened and answered, and the answer is counted under "personal QR". axe-core at 320, 768 and 1280 px, and a
screenshot at each, on the pages a person sees."""

from __future__ import annotations

import io
import urllib.parse
from typing import Any

from tests.support.live import Live, axe_violations, new_event
from tests.support.paths import ARTIFACTS

WIDTHS = (320, 768, 1280)


def decoded(png: bytes) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def audit(page: Any, name: str) -> None:
    """axe-clean and no sideways scroll at every width, with a screenshot at each."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert axe_violations(page) == [], (name, width)
        page.screenshot(path=str(ARTIFACTS / f"collect-{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert scroll <= 0, f"{name} scrolls sideways at {width} px"


def test_a_printed_qr_card_reads_back_to_its_link_and_answers_as_personal_qr(live: Live, browser: Any) -> None:
    event_id, wave_id = new_event(live, "Cards workshop")
    ARTIFACTS.mkdir(exist_ok=True)
    staff = browser.new_context(extra_http_headers={"Authorization": f"Bearer {live.token}"})
    page = staff.new_page()
    page.goto(f"{live.base}/admin/events/{event_id}/waves/{wave_id}/cards")
    assert page.locator("li.card").count() == 4
    audit(page, "cards")

    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    cards = page.locator("li.card")
    for i in range(cards.count()):
        assert cards.nth(i).evaluate("e => getComputedStyle(e).breakInside") == "avoid"
    assert page.locator(".intro").evaluate("e => getComputedStyle(e).display") == "none"
    printed = page.screenshot(path=str(ARTIFACTS / "collect-cards-print.png"), full_page=True)
    page.pdf(format="A4", path=str(ARTIFACTS / "collect-cards.pdf"))
    # One card, as it prints: its code must read back to the link written under it.
    card = cards.filter(has_text="Grace Okafor")
    shot = card.screenshot(path=str(ARTIFACTS / "collect-card-one.png"))
    written = card.locator(".link").inner_text().strip()
    assert decoded(shot) == [written]
    assert len(decoded(printed)) == 4  # every code on the printed sheet reads
    staff.close()

    person = browser.new_context(viewport={"width": 390, "height": 844})
    form = person.new_page()
    link = urllib.parse.urlsplit(written)
    form.goto(f"{live.base}{link.path}")
    form.locator("#q-overall").get_by_label("5 – Excellent").check()
    form.locator('input[name="mutual_learning"][value="5"]').check()
    form.locator('input[name="understanding"][value="4"]').check()
    form.locator('input[name="cooperation_measures"][value="4"]').check()
    form.get_by_role("button").click()
    form.wait_for_url("**/thanks**")
    person.close()

    summary = live.json("GET", f"/admin/events/{event_id}/summary?wave={wave_id}&by=mode").json()
    assert summary["funnel"]["by_mode"]["qr"] == 1 and summary["funnel"]["by_mode"]["email"] == 0
    report = browser.new_context(extra_http_headers={"Authorization": f"Bearer {live.token}"})
    shown = report.new_page()
    shown.goto(f"{live.base}/admin/events/{event_id}/report?wave={wave_id}&by=mode")
    row = shown.locator('tr[data-mode="qr"]')
    assert row.locator("th").inner_text().strip() == "Personal QR"
    assert row.locator("td").inner_text().strip() == "1"
    report.close()


def test_the_slide_qr_code_reads_back_to_the_open_link_which_takes_one_answer_per_browser(
    live: Live, browser: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    event_id, wave_id = new_event(live, "Slide workshop")
    now = datetime.now(UTC)
    made = live.json(
        "POST",
        f"/admin/events/{event_id}/waves/{wave_id}/open-link",
        {"opens_at": (now - timedelta(minutes=1)).isoformat(), "closes_at": (now + timedelta(hours=1)).isoformat()},
    )
    assert made.status == 201, made.body
    link = made.json()
    ARTIFACTS.mkdir(exist_ok=True)
    screen = browser.new_context()
    slide = screen.new_page()
    slide.goto(f"{live.base}{urllib.parse.urlsplit(link['slide_url']).path}")
    audit(slide, "slide")
    slide.set_viewport_size({"width": 1280, "height": 720})  # a projector
    assert decoded(slide.screenshot(path=str(ARTIFACTS / "collect-slide-projector.png"))) == [link["url"]]
    screen.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    form = phone.new_page()
    path = urllib.parse.urlsplit(link["url"]).path
    for overall in ("5 – Excellent", "1 – Very poor"):
        form.goto(f"{live.base}{path}")
        if overall.startswith("5"):
            audit(form, "open-form")
            form.set_viewport_size({"width": 390, "height": 844})
        form.get_by_label("Academia").check()
        form.locator("#q-overall").get_by_label(overall).check()
        form.locator('input[name="mutual_learning"][value="5"]').check()
        form.locator('input[name="understanding"][value="4"]').check()
        form.locator('input[name="cooperation_measures"][value="4"]').check()
        form.get_by_role("button").click()
        form.wait_for_load_state("load")
    assert axe_violations(form) == []
    form.screenshot(path=str(ARTIFACTS / "collect-open-already.png"))
    phone.close()
    summary = live.json("GET", f"/admin/events/{event_id}/summary?wave={wave_id}&by=mode").json()
    assert summary["funnel"]["by_mode"]["open"] == 1 and summary["funnel"]["completed"] == 0

    closed = live.json(
        "POST",
        f"/admin/events/{event_id}/waves/{wave_id}/open-link",
        {"opens_at": (now + timedelta(hours=2)).isoformat(), "closes_at": (now + timedelta(hours=3)).isoformat()},
    ).json()
    gone = live.call("GET", urllib.parse.urlsplit(closed["url"]).path, auth=False)
    assert gone.status == 410 and b"<html" in gone.body


def test_the_dashboard_wave_prints_qr_cards_and_makes_an_open_link_for_a_slide(live: Live, browser: Any) -> None:
    event_id, wave_id = new_event(live, "Dashboard collect workshop")
    email, password = live.stack.credentials["admin"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live.base + "/dashboard")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    page.goto(f"{live.base}/dashboard/events/{event_id}#wave-{wave_id}")
    wave = page.locator(f"#wave-{wave_id}")
    assert wave.get_by_role("link", name="Print QR cards").count() == 1
    wave.screenshot(path=str(ARTIFACTS / "collect-dashboard-wave.png"))
    audit(page, "dashboard-event")
    page.set_viewport_size({"width": 1280, "height": 900})
    wave.get_by_role("button", name="Open link for a slide").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="Open link for a slide").count() == 1
    audit(page, "dashboard-open-link")
    slide = page.locator("a", has_text="/slide").first.get_attribute("href")
    assert slide is not None and "/o/" in slide
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator(f"#wave-{wave_id}").count()
    context.close()
