"""Paper forms in Chromium against the local stack: the admin prints a participant's paper form (print media,
A4), reads its reference code, keys the answers in on the data-entry page by that code, and sees the answer
counted under "paper"; an anonymous form too. axe runs on the printed form and the entry page at 320, 768
and 1280 px, each screenshotted, and neither scrolls sideways."""

from __future__ import annotations

import re
from typing import Any

from tests.support.live import Live, axe_violations, new_event
from tests.support.paths import ARTIFACTS

WIDTHS = (320, 768, 1280)


def audit(page: Any, name: str) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        violations = axe_violations(page)
        problems += [f"{name}@{width}: {v['id']}" for v in violations]
        if page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"):
            problems.append(f"{name}@{width}: scrolls sideways")
        page.screenshot(path=str(ARTIFACTS / f"paper-{name}-{width}.png"), full_page=True)
    return problems


def test_a_paper_form_is_printed_keyed_in_by_its_code_and_counted_as_paper(live: Live, browser: Any) -> None:
    event_id, wave_id = new_event(live, "Paper Forms Workshop")
    email, password = live.stack.credentials["admin"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(live.base + "/dashboard")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    problems: list[str] = []

    # The event page offers the paper forms; the French personal forms carry Paul Martin's code.
    page.goto(f"{live.base}/dashboard/events/{event_id}")
    page.get_by_role("link", name=re.compile("^Français \\(personal paper forms")).click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "fr"
    card = page.locator("article.form").filter(has_text="Paul Martin")
    code = card.locator(".ref strong").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-.", code), code
    problems += audit(page, "print-screen")
    page.emulate_media(media="print")
    problems += audit(page, "print-media")
    pdf = page.pdf(format="A4", print_background=True)
    (ARTIFACTS / "paper-forms.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")

    # Key it in: find the form by its code (typed as a person might), tick the boxes, save.
    page.goto(f"{live.base}/dashboard/events/{event_id}")
    page.get_by_role("link", name=re.compile("^Enter a paper form")).click()
    page.wait_for_load_state("load")
    problems += audit(page, "entry-find")
    page.get_by_label("Reference code on the form").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Find by code").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="Paul Martin").is_visible()
    assert page.get_by_label("Language of the paper form").input_value() == "fr"
    problems += audit(page, "entry-form")
    for number, value in ((1, "4 – Good"), (2, "Strongly agree"), (3, "Agree"), (4, "Agree")):
        page.get_by_role("group", name=re.compile(f"^{number}\\. ")).get_by_label(value, exact=True).check()
    page.get_by_label(re.compile("^9\\. ")).fill("Très utile")
    page.get_by_role("button", name="Save this paper form").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("status").filter(has_text="Saved.").is_visible()
    problems += audit(page, "entry-saved")

    # An anonymous form, with a value left blank on paper.
    page.get_by_role("link", name="Enter it as an anonymous form").click()
    page.wait_for_load_state("load")
    page.get_by_role("group", name=re.compile("^1\\. ")).get_by_label("5 – Excellent", exact=True).check()
    page.get_by_role("button", name="Save this paper form").click()
    page.wait_for_load_state("load")
    assert "Paper forms entered so far in this wave: 2" in page.locator("main").inner_text()

    summary = live.json("GET", f"/admin/events/{event_id}/summary?wave={wave_id}&by=mode").json()
    assert summary["funnel"]["by_mode"]["paper"] == 2
    assert summary["funnel"]["completed"] == 1  # Paul Martin; the anonymous form counts apart
    overall = next(q for q in summary["questions"] if q["id"] == "overall")
    assert overall["n"] == 2
    context.close()
    assert not problems, "\n".join(problems)
