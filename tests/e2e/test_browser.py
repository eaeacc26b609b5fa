"""A participant in real Chromium: opens the emailed link from the outbox, answers, sees the thank-you page.
axe-core checks the form against WCAG 2.2 AA."""

from __future__ import annotations

from typing import Any

from tests.support.live import Live, axe_violations, new_event, token_for
from tests.support.paths import ARTIFACTS


def test_participant_answers_from_the_emailed_link(live: Live, browser: Any) -> None:
    before = len(live.emails())
    event_id, wave_id = new_event(live, "Browser workshop")
    assert live.call("POST", f"/admin/events/{event_id}/waves/{wave_id}/send").status == 202
    emails = live.wait_for_emails(before + 4)[before:]
    message = next(m for m in emails if "e2e.two" in str(m["To"]))  # the French participant
    url = live.base + f"/s/{token_for(message)}"

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / "survey-fr-mobile.png"), full_page=True)

    # Submit with a required answer missing: the form comes back with the error beside the question.
    page.locator("#q-overall").get_by_label("5 – Excellent").check()
    page.locator('input[name="mutual_learning"][value="5"]').check()
    page.locator("textarea[name=comments]").fill("Très utile, merci.")
    page.get_by_role("button").click()
    assert page.locator("#error-summary").is_visible()
    assert page.locator("#e-understanding").is_visible()
    assert page.locator("textarea[name=comments]").input_value() == "Très utile, merci."
    assert axe_violations(page) == []

    page.locator('input[name="understanding"][value="4"]').check()
    page.locator('input[name="cooperation_measures"][value="4"]').check()
    page.get_by_role("button").click()
    page.wait_for_url("**/thanks**")
    assert page.locator("h1").inner_text().strip() != ""
    page.screenshot(path=str(ARTIFACTS / "thanks-fr-mobile.png"))
    context.close()
