"""The dashboard in Debian's Chromium against the local stack (moto server, chalice local, the pump).

An admin signs in, creates an event, uploads the list a French Excel writes (Windows-1252, semicolons,
French column names and labels) with good and bad rows, checks the mapping step, sees the rejections and
downloads them, creates a
satisfaction wave and sends it; participants answer through links from the outbox; the admin sees the
funnel move and opens the report with its SVG chart; a viewer sees the report and is refused an import.
axe-core (WCAG 2.2 AA tags) runs on every page visited at 320, 768 and 1280 px, each is screenshotted, and none
may scroll sideways. The report is also shared as a read-only link, opened without signing in, printed to an A4
PDF, and revoked.
"""

from __future__ import annotations

import io
import re
import time
import urllib.parse
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.data import HEADER
from tests.support.live import Live, axe_violations, token_for
from tests.support.paths import ARTIFACTS

WIDTHS = (320, 768, 1280)
TAG = "dash" + str(int(time.time()))
GOOD = [
    ("ana", "Ana Ruiz", "Ministerio", "government", "CO", "es"),
    ("paul", "Paul Martin", "Université", "academia", "FR", "fr"),
    ("grace", "Grace Okafor", "Civil Voices", "civil_society", "NG", "en"),
    ("li", "Li Wei", "Tsinghua University", "academia", "CN", "en"),
    ("omar", "Omar Haddad", "Ministry of Labour", "government", "JO", "en"),
    ("sofia", "Sofia Rossi", "Daily Planet", "media", "IT", "en"),
]
CSV = HEADER + "".join(
    f"{key}.{TAG}@example.org,{name},{org},{group},{country},{lang},,no\n"
    for key, name, org, group, country, lang in GOOD
)
CSV += "not-an-email,Bad Row,Nowhere,government,FR,en,,no\n"
CSV += f"bad.country.{TAG}@example.org,Bad Country,Nowhere,government,XX,en,,no\n"
# The same people as a French Excel saves them as "CSV": Windows-1252, semicolons, a first and a last name,
# labels and country names in French, Excel's quoting (a quoted field holding the separator).
FRENCH = {"government": "Gouvernement", "academia": "Milieu universitaire", "civil_society": "Société civile",
          "media": "Médias"}  # fmt: skip
COUNTRIES_FR = {"CO": "Colombie", "FR": "France", "NG": "Nigéria", "CN": "Chine", "JO": "Jordanie", "IT": "Italie"}
LANGUAGES_FR = {"es": "Espagnol", "fr": "Français", "en": "Anglais"}
EXCEL_FR = (
    "Courriel;Prénom;Nom;Organisme;Catégorie;Pays;Langue;Fuseau horaire;Sponsorisé\r\n"
    + "".join(
        f'{key}.{TAG}@example.org;{name.split()[0]};{name.split()[1]};"{org}; siège";{FRENCH[group]};'
        f"{COUNTRIES_FR[country]};{LANGUAGES_FR[lang]};;Non\r\n"
        for key, name, org, group, country, lang in GOOD
    )
    + "not-an-email;Bad;Row;Nowhere;Gouvernement;France;Anglais;;Non\r\n"
    + f"bad.country.{TAG}@example.org;Bad;Country;Nowhere;Gouvernement;Atlantide;Anglais;;Non\r\n"
).encode("cp1252")


class Audit:
    """axe at each width and a screenshot at each, for every page visited; the table is printed at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, str]] = []
        self.console: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("console", lambda m: self.console.append(m.text) if m.type in ("error", "warning") else None)

    def check(self, page: Any, name: str, widths: tuple[int, ...] = WIDTHS) -> None:
        page.wait_for_load_state("load")
        path = urllib.parse.urlsplit(page.url).path
        for width in widths:
            page.set_viewport_size({"width": width, "height": 900})
            violations = axe_violations(page)
            self.rows.append((name, path, width, ", ".join(v["id"] for v in violations) or ""))
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{width}.png"), full_page=True)
            scroll = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert scroll <= 0, f"{name} scrolls sideways at {width} px"
        page.set_viewport_size({"width": 1280, "height": 900})

    def table(self) -> str:
        lines = ["| page | path | width | axe violations |", "|---|---|---|---|"]
        for name, path, width, found in self.rows:
            shown = re.sub(r"/r/[A-Za-z0-9_-]{43}", "/r/<token>", re.sub(r"(ev|wv)_[0-9a-f]{12}", r"\1_…", path))
            lines.append(f"| {name} | {shown} | {width} | {found or '0'} |")
        return "\n".join(lines)

    def failures(self) -> list[tuple[str, str, int, str]]:
        return [row for row in self.rows if row[3]]


def print_report(page: Any, name: str, title: str) -> None:
    """The report as Chromium prints it to A4: a few pages, each headed by the event and numbered, no chart or
    figure split across two pages (computed break-inside, and each figure's first label and its caption on the
    same page of the PDF), no navigation, the sentences first."""
    from pypdf import PdfReader

    page.emulate_media(media="print")
    try:
        charts = page.locator("svg.chart")
        assert charts.count() >= 2
        for i in range(charts.count()):
            assert charts.nth(i).evaluate("e => getComputedStyle(e).breakInside") == "avoid"
        assert page.locator("header.top").evaluate("e => getComputedStyle(e).display") == "none"
        assert page.locator(".report-body h2").first.inner_text() == "Ready-to-use sentences"
        pdf = page.pdf(format="A4", print_background=True, path=str(ARTIFACTS / f"{name}.pdf"))
    finally:
        page.emulate_media(media="screen")
    texts = [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]
    assert 2 <= len(texts) <= 12, f"{name} prints on {len(texts)} A4 pages"
    for number, text in enumerate(texts, 1):
        assert text.startswith(title), (number, text[:120])  # the running head
        assert f"Page {number} of {len(texts)}" in text
    assert "Ready-to-use sentences" in texts[0] and "Event feedback dashboard" not in " ".join(texts)

    def first_page(words: str) -> int:
        return next(i for i, text in enumerate(texts) if words in text)

    for label, caption in (
        ("The workshop furthered mutual learning", "Each bar is 100 % of those who answered"),
        ("Overall, how", "Poor ratings left of the line"),  # "satisfied" prints with a ligature
    ):
        assert first_page(label) == first_page(caption), f"{name}: the chart of {label!r} is split"


def sign_in(page: Any, live: Live, email: str, password: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def funnel(page: Any, wave_id: str) -> dict[str, str]:
    cells = page.locator(f"#wave-{wave_id} dl.funnel dd")
    return {
        str(cells.nth(i).get_attribute("data-stage")): cells.nth(i).inner_text().strip() for i in range(cells.count())
    }


def answer_over_http(live: Live, token: str) -> None:
    form = urllib.parse.urlencode(
        {"overall": "4", "mutual_learning": "5", "understanding": "4", "cooperation_measures": "3", "comments": ""}
    ).encode()
    r = live.call("POST", f"/s/{token}", form, {"Content-Type": "application/x-www-form-urlencoded"}, auth=False)
    assert r.status == 303, r.body


def test_dashboard_admin_and_viewer_in_chromium(live: Live, browser: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    audit = Audit()
    admin_email, admin_password = live.stack.credentials["admin"]
    viewer_email, viewer_password = live.stack.credentials["viewer"]
    before = len(live.emails())

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    audit.watch(page)

    # Sign-in: first a wrong password, then the right one.
    page.goto(live.base + "/dashboard")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    audit.check(page, "sign-in")
    sign_in(page, live, admin_email, "Not-the-password-1!")
    expect(page.get_by_text("The email address or password is not right.")).to_be_visible()
    audit.check(page, "sign-in-error")
    sign_in(page, live, admin_email, admin_password)
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "ef_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]  # http://127.0.0.1
    audit.check(page, "events")

    # Create an event.
    page.get_by_role("link", name="New event").click()
    audit.check(page, "new-event")
    ends = date.today() - timedelta(days=1)
    page.get_by_label("Title").fill(f"Dashboard workshop {TAG}")
    page.get_by_label("First day").fill((ends - timedelta(days=1)).isoformat())
    page.get_by_label("Last day").fill(ends.isoformat())
    page.get_by_label("Time zone of the venue").fill("Europe/Zurich")
    page.get_by_label("Venue (optional)").fill("Geneva")
    page.get_by_role("button", name="Create the event").click()
    page.wait_for_url(re.compile(r"/dashboard/events/ev_[0-9a-f]+\?notice=event-created"))
    event_id = re.search(r"/events/(ev_[0-9a-f]+)", page.url).group(1)
    expect(page.get_by_text("The event was created.")).to_be_visible()
    audit.check(page, "event-new")

    # Upload the registration list: six good rows and two bad ones, as a French Excel writes it.
    page.set_input_files("#csv", files=[{"name": "inscrits.csv", "mimeType": "text/csv", "buffer": EXCEL_FR}])
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    expect(page.locator("#detected-format")).to_contain_text("Windows-1252, separated by semicolons")
    expect(page.get_by_role("cell", name="Société civile")).to_be_visible()
    assert page.get_by_label("Column “Courriel”").input_value() == "email"
    assert page.get_by_label("Column “Prénom”").input_value() == "first_name"
    assert page.get_by_label("Column “Nom”").input_value() == "last_name"
    assert page.get_by_label("Column “Sponsorisé”").input_value() == "sponsored"
    audit.check(page, "import-mapping", widths=(320, 768, 1280))
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    status = page.get_by_role("status").first.inner_text()
    assert "6 imported" in status and "2 rejected" in status, status
    rejected = page.locator("#rejected-caption").locator("xpath=..").locator("tbody tr").all_inner_texts()
    assert len(rejected) == 2
    assert rejected[0].startswith("8") and "email" in rejected[0]
    assert rejected[1].startswith("9") and "country" in rejected[1]
    audit.check(page, "import-result", widths=(320, 768, 1280))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    assert download.value.suggested_filename == "rejected-rows.csv"
    fixed = download.value.path().read_text(encoding="utf-8-sig")
    assert fixed.startswith('"Courriel","Prénom","Nom"') and '"not-an-email","Bad","Row"' in fixed

    # Create a satisfaction wave with the default rules.
    page.get_by_role("link", name="Back to the event").click()
    page.get_by_label("Questionnaire").select_option("satisfaction")
    page.get_by_label("Days after the event", exact=True).fill("30")  # nothing due before "Send now"
    page.get_by_role("button", name="Create the wave").click()
    page.wait_for_url(re.compile(r"notice=wave-created#wave-wv_[0-9a-f]+"))
    wave_id = re.search(r"#wave-(wv_[0-9a-f]+)", page.url).group(1)
    expect(page.get_by_text("The wave was created.")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Grace Okafor")).to_be_visible()
    audit.check(page, "event-with-wave")

    # Preview its email and its form, in French.
    page.locator(f'#wave-{wave_id} a[hreflang="fr"][href*="/preview"]').click()
    expect(page.get_by_role("heading", name=re.compile("in Français"))).to_be_visible()
    assert "Alex Example" in page.locator("pre.email").first.inner_text()
    audit.check(page, "preview-fr")
    page.get_by_role("link", name="Open the form as participants see it").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    audit.check(page, "preview-form-fr")
    page.go_back()
    page.get_by_role("link", name="Back to the event").click()

    # Send it now: the result page shows what was queued.
    page.get_by_role("button", name=re.compile("^Send now")).click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="Sending started")).to_be_visible()
    assert "6 emails queued for sending now" in page.get_by_role("status").first.inner_text()
    assert re.search(r"/waves/wv_[0-9a-f]+/sending\?action=send", page.url)  # post, redirect, get
    # The page follows the sender by itself (status.js) until every email has gone to the mail service.
    page.wait_for_selector('#sending-page[data-state="done"]', timeout=60_000)
    assert "all of them have gone to the mail service" in page.get_by_role("status").first.inner_text()
    assert page.locator('[data-live="invited"]').inner_text() == "6"
    audit.check(page, "send-result")

    # The outbox holds the six emails; participants answer through their links.
    emails = [m for m in live.wait_for_emails(before + 6)[before:] if TAG in str(m["To"])]
    assert len(emails) == 6
    tokens = {re.search(r"([a-z]+)\." + TAG, str(m["To"])).group(1): token_for(m) for m in emails}
    participant = browser.new_context(viewport={"width": 768, "height": 900})
    form = participant.new_page()
    form.goto(f"{live.base}/s/{tokens['grace']}")
    form.locator('input[name="overall"][value="5"]').check()
    for question in ("mutual_learning", "understanding", "cooperation_measures"):
        form.locator(f'input[name="{question}"][value="5"]').check()
    form.get_by_role("button").click()
    form.wait_for_url("**/thanks**")
    participant.close()
    for key in ("ana", "paul", "li", "omar"):
        answer_over_http(live, tokens[key])

    # The funnel updates: six delivered (SES events through the pump), five completed.
    page.get_by_role("link", name="See the funnel on the event page").click()
    deadline = time.monotonic() + 60
    while True:
        counts = funnel(page, wave_id)
        if (counts["delivered"] == "6" and counts["completed"] == "5") or time.monotonic() > deadline:
            break
        time.sleep(1)
        page.reload()
    assert counts["invited"] == "6" and counts["delivered"] == "6", counts
    assert counts["completed"] == "5" and counts["opened"] == "1", counts  # four answered without opening the form
    assert counts["rate"] == "83.3 %", counts
    audit.check(page, "event-funnel")

    # The report: its SVG chart, both exports, and the sentences to copy.
    page.locator(f"#wave-{wave_id}").get_by_role("link", name=re.compile("^Report")).click()
    page.wait_for_load_state("load")
    assert page.locator(".report svg").count() >= 1
    copy = page.get_by_role("button", name="Copy the English sentences")
    assert copy.is_visible(), "the copy script did not run under the page's CSP"
    assert "per cent" in page.get_by_label("Sentences in English").input_value()
    copy.click()
    page.wait_for_function("document.getElementById('copied-en').textContent.length > 0")
    audit.check(page, "report")
    for kind in ("aggregates", "responses"):
        with page.expect_download() as download:
            page.get_by_role("link", name=f"{kind} (CSV)").click()
        # Named after the event and the wave, as people read them, in ASCII.
        assert re.fullmatch(
            rf"dashboard-workshop-{TAG}-workshop-satisfaction-survey-\d{{1,2}}-[a-z]+-\d{{4}}-{kind}\.csv",
            download.value.suggested_filename,
        ), download.value.suggested_filename
    print_report(page, "dashboard-report", f"Dashboard workshop {TAG}")

    # A read-only link: made on the report page, opened without signing in, free text left out, then revoked.
    page.get_by_role("button", name=re.compile("^Make a read-only link")).click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("heading", name="Read-only link made")).to_be_visible()
    audit.check(page, "share-created")
    url = page.get_by_label("The link").input_value()
    assert "/r/" in url
    stranger = browser.new_context(viewport={"width": 1280, "height": 900})
    shared = stranger.new_page()
    audit.watch(shared)
    response = shared.goto(url)
    assert response.status == 200 and response.headers["x-robots-tag"] == "noindex, nofollow"
    assert shared.locator('meta[name="robots"]').get_attribute("content") == "noindex, nofollow"
    assert shared.locator("svg.chart").count() >= 2
    assert shared.get_by_role("heading", name="Comments").count() == 0
    audit.check(shared, "shared-report")
    page.goto(f"{live.base}/dashboard/events/{event_id}/report?wave={wave_id}")
    page.locator("#h-share").scroll_into_view_if_needed()
    audit.check(page, "report-with-link")
    page.get_by_role("button", name=re.compile("^Revoke")).click()
    page.wait_for_load_state("load")
    expect(page.get_by_text("The shared link was revoked")).to_be_visible()
    assert shared.goto(url).status == 404
    stranger.close()

    page.get_by_role("link", name="Programme").click()
    page.get_by_label("Year", exact=True).select_option(
        str(ends.year - 1 if ends.month == 1 and ends.day < 3 else ends.year)
    )
    page.get_by_label("Indicator").select_option("mutual_learning")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name=f"Dashboard workshop {TAG}")).to_be_visible()
    audit.check(page, "programme")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/dashboard\?signed_out=1$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    audit.check(page, "signed-out")
    context.close()

    # A viewer: sees the events and the report, and is refused the event page and an import.
    viewer = browser.new_context(viewport={"width": 1280, "height": 900})
    vpage = viewer.new_page()
    audit.watch(vpage)
    vpage.goto(f"{live.base}/dashboard/events/{event_id}/report")  # asks to sign in, then comes back here
    sign_in(vpage, live, viewer_email, viewer_password)
    assert vpage.url.endswith(f"/dashboard/events/{event_id}/report")
    assert vpage.locator(".report svg").count() >= 1
    audit.check(vpage, "viewer-report")
    vpage.get_by_role("link", name="Events").click()
    expect(vpage.get_by_role("rowheader", name=f"Dashboard workshop {TAG}")).to_be_visible()
    assert vpage.get_by_role("link", name="New event").count() == 0
    audit.check(vpage, "viewer-events")
    vpage.goto(f"{live.base}/dashboard/events/{event_id}")
    expect(vpage.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(vpage.get_by_text("needs the admin role")).to_be_visible()
    audit.check(vpage, "viewer-refused")
    refused = vpage.request.post(
        f"{live.base}/dashboard/events/{event_id}/participants",
        multipart={
            "csrf": "none",
            "csv": {"name": "more.csv", "mimeType": "text/csv", "buffer": CSV.encode()},
        },
        max_redirects=0,
    )
    assert refused.status == 403, refused.status
    assert "needs the admin role" in refused.text()
    viewer.close()

    csp_errors = [m for m in audit.console if "Content Security Policy" in m]
    assert not csp_errors, csp_errors
    (ARTIFACTS / "dashboard-axe.md").write_text(audit.table() + "\n", encoding="utf-8")
    with capsys.disabled():
        print("\n\nDashboard pages and axe-core results (WCAG 2.2 AA tags):\n" + audit.table() + "\n")
    assert not audit.failures(), audit.failures()


def test_a_long_list_imports_in_the_background_and_the_event_can_be_edited(live: Live, browser: Any) -> None:
    """2,000 rows: the upload answers at once with a running status page; its script follows the import
    to the end without a reload. Then the event's edit form. axe on each page at both widths."""
    ARTIFACTS.mkdir(exist_ok=True)
    audit = Audit()
    admin_email, admin_password = live.stack.credentials["admin"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    audit.watch(page)
    page.goto(live.base + "/dashboard")
    sign_in(page, live, admin_email, admin_password)
    page.get_by_role("link", name="New event").click()
    ends = date.today() + timedelta(days=30)
    page.get_by_label("Title").fill(f"Big list {TAG}")
    page.get_by_label("First day").fill((ends - timedelta(days=2)).isoformat())
    page.get_by_label("Last day").fill(ends.isoformat())
    page.get_by_label("Time zone of the venue").fill("Europe/Zurich")
    page.get_by_role("button", name="Create the event").click()
    page.wait_for_url(re.compile(r"/dashboard/events/ev_[0-9a-f]+\?notice=event-created"))
    event_id = re.search(r"/events/(ev_[0-9a-f]+)", page.url).group(1)

    rows = "".join(
        f"big{n:05d}.{TAG}@example.org,Big Person {n:05d},Org {n % 50},academia,{('FR', 'SN', 'MX')[n % 3]},en,,no\n"
        for n in range(2000)
    )
    big = HEADER + rows + "not-an-email,Bad Row,Nowhere,government,FR,en,,no\n"  # the contract's header
    page.set_input_files("#csv", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": big.encode()}])
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_load_state("load")
    assert page.get_by_label("Column “email”").input_value() == "email"
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(re.compile(rf"/dashboard/events/{event_id}/imports/im_"))
    expect(page.get_by_role("heading", name="Import running")).to_be_visible()
    assert "2000 participants to write" in page.get_by_role("status").first.inner_text()
    assert page.get_by_label("Progress").count() == 1
    page.evaluate("window.stillTheSamePage = true")
    audit.check(page, "import-running")
    page.wait_for_selector('#import-page[data-state="done"]', timeout=120_000)
    assert page.evaluate("window.stillTheSamePage === true"), "the page was reloaded instead of updated"
    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    status = page.get_by_role("status").first.inner_text()
    assert "2000 imported" in status and "1 rejected" in status, status
    audit.check(page, "import-finished")

    page.get_by_role("link", name="Back to the event").click()
    page.get_by_role("link", name="Edit the event").click()
    audit.check(page, "edit-event")
    page.get_by_label("Venue (optional)").fill("Palais des Nations")
    page.get_by_role("button", name="Save the changes").click()
    page.wait_for_url(re.compile(r"notice=event-updated"))
    expect(page.get_by_text("The event was saved.")).to_be_visible()
    expect(page.get_by_text("Palais des Nations").first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/dashboard\?signed_out=1$"))
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    context.close()

    # A colleague's first sign-in with the temporary password an administrator gave them.
    from devstack import identity

    newcomer, temporary, chosen = f"newcomer.{TAG}@example.org", identity.new_password(), identity.new_password()
    live.stack.idp.admin_create_user(
        UserPoolId=live.stack.outputs["UserPoolId"],
        Username=newcomer,
        TemporaryPassword=temporary,
        UserAttributes=[{"Name": "email", "Value": newcomer}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    live.stack.idp.admin_add_user_to_group(
        UserPoolId=live.stack.outputs["UserPoolId"], Username=newcomer, GroupName="viewer"
    )
    fresh = browser.new_context(viewport={"width": 1280, "height": 900})
    first = fresh.new_page()
    audit.watch(first)
    first.goto(live.base + "/dashboard")
    sign_in(first, live, newcomer, temporary)
    expect(first.get_by_role("heading", name="Choose a new password")).to_be_visible()
    audit.check(first, "new-password")
    first.get_by_label("New password", exact=True).fill(chosen)
    first.get_by_label("The new password again").fill(chosen + "?")
    first.get_by_role("button", name="Save the password and sign in").click()
    expect(first.get_by_text("The two passwords are not the same.")).to_be_visible()
    audit.check(first, "new-password-error")
    first.get_by_label("New password", exact=True).fill(chosen)
    first.get_by_label("The new password again").fill(chosen)
    first.get_by_role("button", name="Save the password and sign in").click()
    # Every account pairs an authenticator app (the pool's MFA is ON) before its first session starts.
    expect(first.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(first.locator("#setup-key")).not_to_be_empty()
    audit.check(first, "authenticator-setup")
    for width in (320, 768, 1280):
        first.set_viewport_size({"width": width, "height": 900})
        first.screenshot(path=str(ARTIFACTS / f"dashboard-authenticator-setup-{width}.png"), full_page=True)
    first.get_by_label("Code from the app").fill("123 456")  # moto accepts any code unless TOTP checks are on
    first.get_by_role("button", name="Pair the app and sign in").click()
    first.wait_for_load_state("load")
    expect(first.get_by_role("heading", name="Events")).to_be_visible()
    fresh.close()

    csp_errors = [m for m in audit.console if "Content Security Policy" in m]
    assert not csp_errors, csp_errors
    (ARTIFACTS / "dashboard-axe-import.md").write_text(audit.table() + "\n", encoding="utf-8")
    assert not audit.failures(), audit.failures()
