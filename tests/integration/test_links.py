"""Links that work wherever the API lives: through the API Gateway stage URL (``/api`` on the execute-api
host), at the root of a custom domain, and under a custom domain's base-path mapping.

Every page is fetched through ``Gateway`` (tests/support/gateway.py), which sends the events API
Gateway sends and refuses, as API Gateway does, anything outside the way in. On each page, every href,
form action, script or image source and every redirect Location must resolve, in the browser's terms,
to a route and method the API has, *inside the prefix the browser used*. ``EF_PUBLIC_BASE_URL`` is
deliberately another way in (a custom domain configured while someone still opens the execute-api URL,
and the other way round), so the pages must follow the request, not the setting. Emails are absolute
and follow ``EF_PUBLIC_BASE_URL``.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from email import message_from_string
from email.policy import default as default_policy
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest

from devstack import identity
from tests.support.api import auth, sent_wave
from tests.support.cognito import add_newcomer
from tests.support.data import CSV, EVENT_FORM, WAVE_FORM, big_list
from tests.support.gateway import BASE_PATH_MAPPING, DOMAIN_ROOT, STAGE_URL, Gateway, Way
from tests.support.visitor import Visitor, page_text

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ANSWERS = {"overall": "4", "mutual_learning": "5", "understanding": "4", "cooperation_measures": "3", "comments": "ok"}
# Each way in, and an EF_PUBLIC_BASE_URL that is another way in to the same deployment.
WAYS = {
    STAGE_URL.name: (STAGE_URL, DOMAIN_ROOT.base_url),
    DOMAIN_ROOT.name: (DOMAIN_ROOT, STAGE_URL.base_url),
    BASE_PATH_MAPPING.name: (BASE_PATH_MAPPING, STAGE_URL.base_url),
}


# What a page makes the browser ask for ------------------------------------------------------------------


@dataclass
class Form:
    method: str
    action: str  # absolute, as the browser resolves it
    fields: dict[str, str] = field(default_factory=dict)  # hidden inputs


@dataclass
class Page:
    url: str  # absolute
    status: int
    links: list[str]  # absolute GET targets: <a href>, <link href>, <script src>, <img src>
    forms: list[Form]

    def form(self, action_path_end: str) -> Form:
        found = [f for f in self.forms if urlsplit(f.action).path.endswith(action_path_end)]
        assert len(found) == 1, f"{len(found)} forms for …{action_path_end} on {self.url}"
        return found[0]


class _Targets(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.gets: list[str] = []
        self.forms: list[tuple[str, str | None, dict[str, str]]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = {}
            self.forms.append((a.get("method", "get").upper(), a.get("action"), self._open))
        if tag == "input" and self._open is not None and a.get("type") == "hidden" and a.get("name"):
            self._open[a["name"]] = a.get("value", "")
        for name in ("href", "src", "srcset", "poster", "background"):
            if name in a:
                self.gets.append(a[name])
        if "formaction" in a:
            self.forms.append(("POST", a["formaction"], self._open or {}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def read_page(gateway: Gateway, response: Any, url: str) -> Page:
    """The page, with every URL it makes the browser use resolved against its own URL."""
    url = gateway.absolute(url, "/")
    assert response.headers.get("Content-Type", "").startswith("text/html"), (url, response.status_code)
    text = response.body.decode("utf-8")
    parser = _Targets()
    parser.feed(text)
    # CSS can fetch too (url(...)); only fragment references (an SVG pattern) and data: URIs are inline.
    styles = [u for u in re.findall(r"url\(\s*['\"]?([^)'\"]+)", text) if not u.startswith(("#", "data:"))]
    # A fragment (the skip link, an error summary's links) moves within the page and asks for nothing; an
    # otpauth: link (the authenticator setup key) opens an app on the phone and asks the web for nothing.
    links = [gateway.absolute(u, url) for u in parser.gets + styles if not u.startswith(("data:", "#", "otpauth:"))]
    forms = [Form(m, gateway.absolute(action if action is not None else "", url), f) for m, action, f in parser.forms]
    return Page(url=url, status=response.status_code, links=links, forms=forms)


def check_page(gateway: Gateway, response: Any, url: str) -> Page:
    """Every link, script, image and form of the page stays inside the way in, on a route the API has."""
    page = read_page(gateway, response, url)
    outside = [u for u in page.links if not gateway.accepts("GET", u)]
    outside += [f"{f.method} {f.action}" for f in page.forms if not gateway.accepts(f.method, f.action)]
    assert not outside, f"{page.url} ({gateway.way.name}) leads outside {gateway.way.base_url}: {outside}"
    return page


def check_redirect(gateway: Gateway, response: Any, url: str) -> str:
    """The 303's Location, resolved as the browser does; it must stay inside the way in."""
    assert response.status_code == 303, (url, response.status_code)
    target = gateway.absolute(response.headers["Location"], gateway.absolute(url, "/"))
    assert gateway.accepts("GET", target), f"{url} redirects outside {gateway.way.base_url}: {target}"
    return target


def inside(gateway: Gateway, path: str) -> str:
    return gateway.way.base_url + path


# Fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(params=list(WAYS), ids=list(WAYS))
def gateway(request: pytest.FixtureRequest, stack: Any, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    from app import app

    way, public = WAYS[request.param]
    monkeypatch.setenv("EF_PUBLIC_BASE_URL", public)
    return Gateway(app, way)


def survey_tokens(stack: Any) -> list[str]:
    found = []
    for message in stack.ses_messages():
        parsed = message_from_string(message.raw_data, policy=default_policy)
        text = parsed.get_body(preferencelist=("plain",)).get_content()
        match = re.search(r"/s/([A-Za-z0-9_-]{43})", text)
        assert match
        found.append(match.group(1))
    return found


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


# Participants' pages ----------------------------------------------------------------------------------


def test_the_survey_answer_and_thank_you_pages_stay_inside_the_way_in(client, tokens, stack, gateway):
    sent_wave(client, tokens["admin"], stack)
    token = survey_tokens(stack)[0]

    url = inside(gateway, f"/s/{token}")
    form = check_page(gateway, gateway.get(url), url)
    assert form.status == 200
    for other_language in [u for u in form.links if "lang=" in u]:
        assert check_page(gateway, gateway.get(other_language), other_language).status == 200

    # Invalid answers: the form again, from the URL the browser posted to.
    answer = form.form(f"/s/{token}")
    assert answer.method == "POST"
    invalid = gateway.post(answer.action, headers=FORM, body=form_body({**answer.fields, "overall": "9"}))
    assert invalid.status_code == 422
    again = check_page(gateway, invalid, answer.action)

    # A valid answer: 303 to the thank-you page, inside the way in.
    answer = again.form(f"/s/{token}")
    stored = gateway.post(answer.action, headers=FORM, body=form_body({**answer.fields, **ANSWERS}))
    thanks_url = check_redirect(gateway, stored, answer.action)
    thanks = check_page(gateway, gateway.get(thanks_url), thanks_url)
    assert thanks.status == 200
    (review,) = thanks.links

    # Coming back to edit: the stored answers, and the same form action.
    editing = check_page(gateway, gateway.get(review), review)
    assert editing.status == 200 and "_p" in editing.form(f"/s/{token}").fields
    edit = editing.form(f"/s/{token}")
    edited = gateway.post(edit.action, headers=FORM, body=form_body({**edit.fields, **ANSWERS, "overall": "5"}))
    check_redirect(gateway, edited, edit.action)


def test_unsubscribe_and_the_error_pages_stay_inside_the_way_in(client, tokens, stack, gateway):
    sent_wave(client, tokens["admin"], stack)
    token = survey_tokens(stack)[1]

    url = inside(gateway, f"/u/{token}")
    ask = check_page(gateway, gateway.get(url), url)
    assert ask.status == 200
    stop = ask.form(f"/u/{token}")
    assert stop.method == "POST"
    done = gateway.post(stop.action, headers=FORM, body=form_body(stop.fields))
    assert done.status_code == 200
    check_page(gateway, done, stop.action)

    opted_out = inside(gateway, f"/s/{token}")
    assert check_page(gateway, gateway.get(opted_out), opted_out).status == 410
    unknown = inside(gateway, "/s/" + "x" * 43)
    assert check_page(gateway, gateway.get(unknown), unknown).status == 404
    assert check_page(gateway, gateway.get(unknown + "/thanks"), unknown + "/thanks").status == 404
    plain = gateway.post(opted_out, headers={"Content-Type": "text/plain"}, body=b"overall=4")
    assert check_page(gateway, plain, opted_out).status == 415
    large = gateway.post(opted_out, headers=FORM, body=b"comments=" + b"x" * 100_000)
    assert check_page(gateway, large, opted_out).status == 413


# Emails -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("way", [STAGE_URL, DOMAIN_ROOT], ids=lambda w: w.name)
def test_invitations_and_reminders_link_to_the_public_base_url(client, tokens, stack, monkeypatch, way: Way):
    from app import app

    monkeypatch.setenv("EF_PUBLIC_BASE_URL", way.base_url)
    admin = tokens["admin"]
    event_id, wave_id = sent_wave(client, admin, stack)
    reminded = client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/remind", headers=auth(admin))
    assert reminded.status_code in (200, 202), reminded.body
    stack.deliver()
    messages = stack.ses_messages()
    assert len(messages) == 8  # four invitations, four reminders
    assert len({message_from_string(m.raw_data, policy=default_policy)["Subject"] for m in messages}) >= 2

    gateway = Gateway(app, way)
    surveys, unsubscribes = [], []
    for message in messages:
        parsed = message_from_string(message.raw_data, policy=default_policy)
        html = parsed.get_body(preferencelist=("html",)).get_content()
        text = parsed.get_body(preferencelist=("plain",)).get_content()
        parser = _Targets()
        parser.feed(html)
        links = parser.gets + re.findall(r"https?://\S+", text)
        header = parsed["List-Unsubscribe"].strip()
        assert header.startswith("<") and header.endswith(">")
        assert len(links) == 4  # the survey and the unsubscribe link, in both parts
        for link in [*links, header[1:-1]]:
            assert link.startswith(way.base_url + "/"), link
            assert gateway.accepts("GET", link), link
        assert gateway.accepts("POST", header[1:-1])
        surveys.append(links[0])
        unsubscribes.append(header[1:-1])
    for link in surveys:
        assert gateway.get(link).status_code == 200
    for link in unsubscribes:  # RFC 8058: the mail client posts to the header's URL
        assert gateway.post(link, headers=FORM, body=b"List-Unsubscribe=One-Click").status_code == 200


# The dashboard ----------------------------------------------------------------------------------------


def sign_in_through(gateway: Gateway, visitor: Visitor, email: str, password: str, start: str = "/dashboard") -> Any:
    url = inside(gateway, start)
    first = visitor.get(url)
    if first.status_code == 303:  # a page that needs a session sends the visitor to sign in
        url = check_redirect(gateway, first, url)
        first = visitor.get(url)
    sign_in_page = check_page(gateway, first, url)
    form = sign_in_page.form("/dashboard/sign-in")
    return form, visitor.post(form.action, {**form.fields, "email": email, "password": password})


def test_sign_in_sign_out_and_their_redirects_stay_inside_the_way_in(client, users, stack, gateway):
    visitor = Visitor(gateway)
    email, password = users["admin"]

    # Signed out, a dashboard page redirects to the sign-in form, which comes back to it.
    wanted = inside(gateway, "/dashboard/events/new")
    refused = visitor.get(wanted)
    assert check_redirect(gateway, refused, wanted) == inside(gateway, "/dashboard?next=%2Fdashboard%2Fevents%2Fnew")
    form, signed_in = sign_in_through(gateway, visitor, email, password, "/dashboard/events/new")
    assert check_redirect(gateway, signed_in, form.action) == wanted
    new_event = check_page(gateway, visitor.get(wanted), wanted)
    assert new_event.status == 200

    # A wrong password: the form again.
    _, wrong = sign_in_through(gateway, Visitor(gateway), email, "Wrong-password-123!")
    assert check_page(gateway, wrong, form.action).status == 401

    # Signing out: back to the sign-in page, inside the way in.
    out = new_event.form("/dashboard/sign-out")
    signed_out = visitor.post(out.action, out.fields)
    home = check_redirect(gateway, signed_out, out.action)
    assert home == inside(gateway, "/dashboard?signed_out=1")
    assert "You have signed out." in page_text(check_and_get(gateway, visitor, home))

    # A form posted without a session, and one with a broken CSRF token.
    create = new_event.form("/dashboard/events")
    unsigned = visitor.post(create.action, {**create.fields, **EVENT_FORM})
    assert check_page(gateway, unsigned, create.action).status == 401
    _, again = sign_in_through(gateway, visitor, email, password)
    forged = visitor.post(create.action, {**EVENT_FORM, "csrf": "x" * 43})
    assert check_page(gateway, forged, create.action).status == 403
    assert again.status_code == 303


def check_and_get(gateway: Gateway, visitor: Visitor, url: str) -> Any:
    response = visitor.get(url)
    check_page(gateway, response, url)
    return response


def test_the_second_sign_in_step_stays_inside_the_way_in(client, stack, gateway):
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    email, temporary = add_newcomer(idp, stack.outputs["UserPoolId"], "newcomer@example.org", "admin")

    visitor = Visitor(gateway)
    form, step = sign_in_through(gateway, visitor, email, temporary)
    challenge = check_page(gateway, step, form.action)
    assert challenge.status == 200
    answer = challenge.form("/dashboard/sign-in/challenge")
    chosen = identity.new_password()
    mismatch = visitor.post(answer.action, {**answer.fields, "new_password": chosen, "confirm_password": "x"})
    assert check_page(gateway, mismatch, answer.action).status == 422
    answer = read_page(gateway, mismatch, answer.action).form("/dashboard/sign-in/challenge")
    setup = visitor.post(answer.action, {**answer.fields, "new_password": chosen, "confirm_password": chosen})
    assert check_page(gateway, setup, answer.action).status == 200  # pairing an authenticator app
    answer = read_page(gateway, setup, answer.action).form("/dashboard/sign-in/challenge")
    done = visitor.post(answer.action, {**answer.fields, "code": "123456"})  # moto: any code
    assert check_redirect(gateway, done, answer.action) == inside(gateway, "/dashboard")


def crawl(gateway: Gateway, visitor: Visitor, start: str, public: str, limit: int = 80) -> dict[str, int]:
    """Every dashboard page reachable by links from ``start``, each checked; the email previews' links
    are the email's own, under EF_PUBLIC_BASE_URL. Returns the status of each page fetched."""
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < limit:
        url = queue.popleft().split("#")[0]
        if url in seen:
            continue
        response = visitor.get(url)
        seen[url] = response.status_code
        if not response.headers.get("Content-Type", "").startswith("text/html"):
            continue
        if urlsplit(url).path.endswith("/preview/email"):
            email = read_page(gateway, response, url)
            assert email.links and all(u.startswith(public + "/") for u in email.links), email.links
            continue
        page = check_page(gateway, response, url)
        queue.extend(u for u in page.links if "/dashboard" in urlsplit(u).path and u.split("#")[0] not in seen)
    return seen


def test_every_dashboard_page_stays_inside_the_way_in(client, users, stack, gateway, monkeypatch):
    from chalicelib import container

    visitor = Visitor(gateway)
    _, signed_in = sign_in_through(gateway, visitor, *users["admin"])
    home = check_redirect(gateway, signed_in, inside(gateway, "/dashboard/sign-in"))

    # Create an event, upload its list, create a wave, send it and remind: each step's form and redirect.
    events = check_page(gateway, visitor.get(home), home)
    new_url = next(u for u in events.links if u.endswith("/dashboard/events/new"))
    new_event = check_page(gateway, visitor.get(new_url), new_url)
    create = new_event.form("/dashboard/events")
    invalid = visitor.post(create.action, {**create.fields, **EVENT_FORM, "title": ""})
    assert check_page(gateway, invalid, create.action).status == 422
    created = visitor.post(create.action, {**create.fields, **EVENT_FORM})
    event_url = check_redirect(gateway, created, create.action)
    event_id = re.search(r"/dashboard/events/(ev_[0-9a-f]+)", event_url).group(1)  # type: ignore[union-attr]
    event = check_page(gateway, visitor.get(event_url), event_url)

    upload = event.form(f"/dashboard/events/{event_id}/participants")
    imported = visitor.upload(upload.action, upload.fields, "list.csv", CSV.encode())
    assert check_page(gateway, imported, upload.action).status == 200

    event = check_page(gateway, visitor.get(event_url), event_url)
    wave = event.form(f"/dashboard/events/{event_id}/waves")
    created_wave = visitor.post(wave.action, {**wave.fields, **WAVE_FORM})
    event_url = check_redirect(gateway, created_wave, wave.action)
    event = check_page(gateway, visitor.get(event_url), event_url)
    wave_id = re.search(r"#wave-(wv_\w+)", event_url).group(1)  # type: ignore[union-attr]

    send = event.form(f"/dashboard/events/{event_id}/waves/{wave_id}/send")
    sending_url = check_redirect(gateway, visitor.post(send.action, send.fields), send.action)
    sending = check_page(gateway, visitor.get(sending_url), sending_url)
    scripts = [u for u in sending.links if u.endswith(".js")]
    assert scripts, "the sending page follows the sender with status.js"
    for script in scripts:
        served = visitor.get(script)
        assert served.status_code == 200
        # The script fetches the page it runs on, whatever the prefix.
        assert b"fetch(window.location.href" in served.body
    stack.deliver()
    event = check_page(gateway, visitor.get(event_url), event_url)  # "Send reminders" once the wave has gone out
    remind = event.form(f"/dashboard/events/{event_id}/waves/{wave_id}/remind")
    reminding = check_redirect(gateway, visitor.post(remind.action, remind.fields), remind.action)
    check_page(gateway, visitor.get(reminding), reminding)

    # A long list imports in the background: the status page and its script.
    monkeypatch.setenv("EF_IMPORT_INLINE_ROWS", "5")
    event = check_page(gateway, visitor.get(event_url), event_url)
    upload = event.form(f"/dashboard/events/{event_id}/participants")
    started = visitor.upload(upload.action, upload.fields, "long.csv", big_list(30).encode())
    status_url = check_redirect(gateway, started, upload.action)
    status = check_page(gateway, visitor.get(status_url), status_url)
    assert any(u.endswith("/status.js") for u in status.links)

    # Editing the event: the form, its refusal and its redirect.
    edit_url = next(u for u in event.links if u.endswith(f"/dashboard/events/{event_id}/edit"))
    edit = check_page(gateway, visitor.get(edit_url), edit_url).form(f"/dashboard/events/{event_id}/edit")
    refused = visitor.post(edit.action, {**edit.fields, **EVENT_FORM, "starts_on": "not a date"})
    assert check_page(gateway, refused, edit.action).status == 422
    saved = visitor.post(edit.action, {**edit.fields, **EVENT_FORM, "title": "Dialogue on Migration, renamed"})
    check_redirect(gateway, saved, edit.action)

    # Everything a link reaches: events, the event page and its paging, previews (email and form), the
    # report and its exports, the programme, the scripts.
    public = container.settings().public_base_url
    seen = crawl(gateway, visitor, home, public)
    paths = {urlsplit(u).path.removeprefix(gateway.way.prefix) for u in seen}
    assert {
        "/dashboard",
        "/dashboard/events/new",
        "/dashboard/programme",
        f"/dashboard/events/{event_id}",
        f"/dashboard/events/{event_id}/edit",
        f"/dashboard/events/{event_id}/report",
        f"/dashboard/events/{event_id}/export.csv",
        f"/dashboard/events/{event_id}/waves/{wave_id}/preview",
        f"/dashboard/events/{event_id}/waves/{wave_id}/preview/email",
        f"/dashboard/events/{event_id}/waves/{wave_id}/preview/form",
        "/dashboard/static/copy.js",
    } <= paths, sorted(paths)
    assert all(code == 200 for code in seen.values()), {u: c for u, c in seen.items() if c != 200}

    # The forms on the pages reached by GET (the report's wave picker, the programme's filters).
    report_url = inside(gateway, f"/dashboard/events/{event_id}/report")
    picker = check_page(gateway, visitor.get(report_url), report_url).form(f"/dashboard/events/{event_id}/report")
    picked = picker.action + "?" + urlencode({"wave": wave_id, "by": "region"})
    check_page(gateway, visitor.get(picked), picked)

    # Error pages: an unknown event, and a viewer refused an admin page.
    missing = inside(gateway, "/dashboard/events/ev_00000000")
    assert check_page(gateway, visitor.get(missing), missing).status == 404
    viewer = Visitor(gateway)
    _, viewer_in = sign_in_through(gateway, viewer, *users["viewer"])
    assert viewer_in.status_code == 303
    forbidden = inside(gateway, f"/dashboard/events/{event_id}")
    assert check_page(gateway, viewer.get(forbidden), forbidden).status == 403
    viewer_seen = crawl(gateway, viewer, inside(gateway, "/dashboard"), public)
    assert inside(gateway, f"/dashboard/events/{event_id}/report") in viewer_seen
