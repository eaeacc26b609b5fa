"""The dashboard in-process: sign-in against moto's Cognito, the session cookie, CSRF, roles and the admin flow.
The browser's share (cookies, forms, CSRF) is tests/support/visitor.py; the signed-in fixtures are in conftest."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import boto3

from chalicelib import container
from chalicelib.api.session import SESSION_COOKIE, csrf_token, seal
from chalicelib.jobs.handlers import send_records
from devstack import identity
from tests.support.data import CSV_SHORT, WAVE_FORM
from tests.support.visitor import Visitor, create_event, csrf_for, page_text, sign_in

# Sign-in ----------------------------------------------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_session_cookie_and_sign_out_clears_it(client, users, cognito_calls):
    visitor = Visitor(client)
    first = visitor.get("/dashboard")
    assert first.status_code == 200
    assert "Sign in" in page_text(first) and 'type="password"' in page_text(first)
    assert first.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")

    r = sign_in(visitor, *users["admin"])
    assert r.status_code == 303 and r.headers["Location"] == "/dashboard"
    assert cognito_calls == ["initiate_auth"]
    line = visitor.cookie_line(SESSION_COOKIE)
    attributes = {a.strip() for a in line.split(";")[1:]}
    assert {"HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"} <= attributes
    assert "Secure" in attributes  # EF_PUBLIC_BASE_URL is http://testserver here, not 127.0.0.1 or localhost

    events = visitor.get("/dashboard")
    assert events.status_code == 200
    assert "<h1>Events</h1>" in page_text(events) and "Signed in as admin" in page_text(events)

    out = visitor.post("/dashboard/sign-out", {"csrf": csrf_for(events, "/dashboard/sign-out")})
    assert out.status_code == 303
    assert visitor.cookie_line(SESSION_COOKIE).startswith(f"{SESSION_COOKIE}=;")
    assert "Max-Age=0" in visitor.cookie_line(SESSION_COOKIE)
    again = visitor.get("/dashboard?signed_out=1")
    assert "You have signed out." in page_text(again) and 'type="password"' in page_text(again)


def test_session_cookie_is_not_secure_on_a_loopback_base_url(client, users, monkeypatch):
    monkeypatch.setenv("EF_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    visitor = Visitor(client)
    assert sign_in(visitor, *users["viewer"]).status_code == 303
    assert "Secure" not in visitor.cookie_line(SESSION_COOKIE)


def test_a_wrong_password_is_refused_without_a_session(client, users):
    visitor = Visitor(client)
    email, _ = users["admin"]
    r = sign_in(visitor, email, "Wrong-password-123!")
    assert r.status_code == 401
    assert "The email address or password is not right." in page_text(r)
    assert SESSION_COOKIE not in visitor.jar
    assert visitor.get("/dashboard/events/new").status_code == 303  # still signed out


def test_an_unknown_address_gets_the_same_answer(client):
    r = sign_in(Visitor(client), "nobody@example.org", "Whatever-123!")
    assert r.status_code == 401
    assert "The email address or password is not right." in page_text(r)


def test_five_failures_lock_the_address_out_without_asking_cognito(client, users, cognito_calls, monkeypatch):
    visitor = Visitor(client)
    email, password = users["admin"]
    for _ in range(5):
        assert sign_in(visitor, email, "Wrong-password-123!").status_code == 401
    assert len(cognito_calls) == 5

    locked = sign_in(visitor, email.upper(), password)  # the right password, and the address in capitals
    assert locked.status_code == 429
    assert "Try again in 15 minutes." in page_text(locked)
    assert int(locked.headers["Retry-After"]) > 14 * 60
    assert len(cognito_calls) == 5, "the sixth attempt must not reach Cognito"
    assert SESSION_COOKIE not in visitor.jar

    # The counter is keyed by a hash: the table never holds the address.
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    items = ddb.scan(TableName=container.settings().table("auth_attempts"))["Items"]
    assert len(items) == 2  # per address and network, and per address (tests/integration/test_signin_lockout.py)
    assert "example.org" not in str(items).lower()
    assert [int(i["failures"]["N"]) for i in items] == [5, 5]

    # Another address is not affected.
    other, other_password = users["viewer"]
    assert sign_in(Visitor(client), other, other_password).status_code == 303

    # Once the window is over, the address may try again, and success clears the counter.
    later = datetime.now(UTC) + timedelta(minutes=16)
    monkeypatch.setattr(container, "now", lambda: later)
    assert sign_in(visitor, email, password).status_code == 303
    assert ddb.scan(TableName=container.settings().table("auth_attempts"))["Items"] == []


def test_the_sign_in_form_needs_its_csrf_token(client, users, cognito_calls):
    visitor = Visitor(client)
    email, password = users["admin"]
    visitor.get("/dashboard")
    r = visitor.post("/dashboard/sign-in", {"email": email, "password": password})
    assert r.status_code == 403 and "Form expired" in page_text(r)
    r = visitor.post("/dashboard/sign-in", {"csrf": "x" * 43, "email": email, "password": password})
    assert r.status_code == 403
    # A token from another browser's sign-in form (another nonce) does not fit this browser's cookie.
    elsewhere = Visitor(client)
    token = csrf_for(elsewhere.get("/dashboard"), "/dashboard/sign-in")
    assert visitor.post("/dashboard/sign-in", {"csrf": token, "email": email, "password": password}).status_code == 403
    assert cognito_calls == []


# Sessions ---------------------------------------------------------------------------------------------


def test_a_forged_cookie_is_refused(client, admin):
    good = admin.jar[SESSION_COOKIE]
    forged = Visitor(client)
    forged.jar[SESSION_COOKIE] = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")  # MAC broken
    r = forged.get("/dashboard/events/new")
    assert r.status_code == 303
    assert r.headers["Location"].startswith("/dashboard?next=%2Fdashboard%2Fevents%2Fnew")
    assert "Max-Age=0" in forged.cookie_line(SESSION_COOKIE)  # and the bad cookie is cleared

    # A well-formed MAC over a token Cognito never issued: the token check refuses it.
    header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
    claims = "eyJzdWIiOiJ4IiwiY29nbml0bzpncm91cHMiOlsiYWRtaW4iXX0"
    forged.jar[SESSION_COOKIE] = seal(container.settings().session_secret, f"{header}.{claims}.")
    assert forged.get("/dashboard/events/new").status_code == 303
    forged.jar[SESSION_COOKIE] = seal(container.settings().session_secret, f"{header}.{claims}.")
    r = forged.post("/dashboard/events", {"csrf": "x", "title": "Forged"})
    assert r.status_code == 401 and "Not signed in" in page_text(r)

    home = forged.get("/dashboard")
    assert home.status_code == 200 and 'type="password"' in page_text(home)


def test_an_expired_token_ends_the_session(client, admin):
    from freezegun import freeze_time

    assert admin.get("/dashboard/events/new").status_code == 200
    with freeze_time(datetime.now(UTC) + timedelta(hours=2)):
        r = admin.get("/dashboard/events/new")
        assert r.status_code == 303
        assert "ended=1" in r.headers["Location"]
        home = admin.get("/dashboard?ended=1")
    assert "Your session has ended" in page_text(home)
    assert SESSION_COOKIE not in admin.jar


def test_signed_out_visitors_are_sent_to_sign_in_and_their_posts_refused(client):
    visitor = Visitor(client)
    r = visitor.get("/dashboard/programme?year=2026")
    assert r.status_code == 303
    assert r.headers["Location"] == "/dashboard?next=%2Fdashboard%2Fprogramme%3Fyear%3D2026"
    r = visitor.post("/dashboard/events", {"title": "x"})
    assert r.status_code == 401


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, users):
    visitor = Visitor(client)
    form = visitor.get("/dashboard?next=/dashboard/programme")
    token = csrf_for(form, "/dashboard/sign-in")
    email, password = users["viewer"]
    r = visitor.post(
        "/dashboard/sign-in", {"csrf": token, "email": email, "password": password, "next": "/dashboard/programme"}
    )
    assert r.headers["Location"] == "/dashboard/programme"
    other = Visitor(client)
    token = csrf_for(other.get("/dashboard"), "/dashboard/sign-in")
    r = other.post("/dashboard/sign-in", {"csrf": token, "email": email, "password": password, "next": "//evil.test/"})
    assert r.headers["Location"] == "/dashboard"


# CSRF -------------------------------------------------------------------------------------------------


def test_state_changing_forms_need_a_valid_csrf_token(client, admin, viewer, stack):
    event_id = create_event(admin)
    fields = {"title": "No token", "starts_on": "2026-01-01", "ends_on": "2026-01-02", "timezone": "UTC"}
    missing = admin.post("/dashboard/events", fields)
    assert missing.status_code == 403 and "Form expired" in page_text(missing)
    invalid = admin.post("/dashboard/events", {**fields, "csrf": "not-a-token"})
    assert invalid.status_code == 403
    # A real token, but for another action, or from another session: refused too.
    other_purpose = csrf_for(admin.get("/dashboard"), "/dashboard/sign-out")
    assert admin.post("/dashboard/events", {**fields, "csrf": other_purpose}).status_code == 403
    secret = container.settings().session_secret
    other_session = csrf_token(secret, "some-other-session", "create-event")
    assert admin.post("/dashboard/events", {**fields, "csrf": other_session}).status_code == 403
    upload = admin.upload(f"/dashboard/events/{event_id}/participants", {}, "list.csv", CSV_SHORT.encode())
    assert upload.status_code == 403
    titles = [e.title for e in container.store().list_events()]
    assert titles == ["Dialogue on Migration"]
    assert container.store().list_participants(event_id) == []
    assert admin.post("/dashboard/sign-out", {"csrf": "forged"}).status_code == 403


# Roles ------------------------------------------------------------------------------------------------


def test_a_viewer_sees_reports_and_exports_but_is_refused_an_import(client, admin, viewer, stack):
    event_id = create_event(admin)
    event_page = admin.get(f"/dashboard/events/{event_id}")
    token = csrf_for(event_page, f"/dashboard/events/{event_id}/waves")
    admin.post(
        f"/dashboard/events/{event_id}/waves",
        {"csrf": token, **WAVE_FORM},
    )

    home = viewer.get("/dashboard")
    assert home.status_code == 200 and "Dialogue on Migration" in page_text(home)
    assert "New event" not in page_text(home)
    assert viewer.get(f"/dashboard/events/{event_id}/report").status_code == 200
    export = viewer.get(f"/dashboard/events/{event_id}/export.csv?kind=aggregates")
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    assert viewer.get("/dashboard/programme").status_code == 200

    # The viewer's own session and a well-formed token: the role still refuses it.
    secret = container.settings().session_secret
    from chalicelib.api.session import unseal

    own = csrf_token(secret, unseal(secret, viewer.jar[SESSION_COOKIE]) or "", f"import:{event_id}")
    refused = viewer.upload(f"/dashboard/events/{event_id}/participants", {"csrf": own}, "list.csv", CSV_SHORT.encode())
    assert refused.status_code == 403
    text = page_text(refused)
    assert "Not allowed" in text and "needs the admin role" in text and "signed in as a viewer" in text
    assert container.store().list_participants(event_id) == []
    for path in (f"/dashboard/events/{event_id}", "/dashboard/events/new"):
        r = viewer.get(path)
        assert r.status_code == 403 and "needs the admin role" in page_text(r)
    r = viewer.post("/dashboard/events", {"csrf": "x", "title": "Viewer event"})
    assert r.status_code == 403


def test_a_user_limited_to_one_event_sees_only_that_event(client, admin, stack):
    first = create_event(admin, "First workshop")
    second = create_event(admin, "Second workshop")
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool = stack.outputs["UserPoolId"]
    idp.create_group(GroupName=f"event:{first}", UserPoolId=pool)
    email, password = "scoped@example.org", identity.new_password()
    identity.ensure_user(idp, pool, email, password, "admin", all_events=False)
    idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=f"event:{first}")
    scoped = Visitor(client)
    assert sign_in(scoped, email, password).status_code == 303
    home = page_text(scoped.get("/dashboard"))
    assert "First workshop" in home and "Second workshop" not in home
    assert scoped.get(f"/dashboard/events/{first}").status_code == 200
    r = scoped.get(f"/dashboard/events/{second}")
    assert r.status_code == 403 and "no access to this event" in page_text(r)


# The admin's whole flow -------------------------------------------------------------------------------


def test_admin_creates_an_event_uploads_participants_creates_a_wave_and_sends_it(client, admin, stack):
    event_id = create_event(admin)
    event_page = admin.get(f"/dashboard/events/{event_id}?notice=event-created")
    assert event_page.status_code == 200
    assert "The event was created." in page_text(event_page)

    token = csrf_for(event_page, f"/dashboard/events/{event_id}/participants")
    result = admin.upload(f"/dashboard/events/{event_id}/participants", {"csrf": token}, "list.csv", CSV_SHORT.encode())
    assert result.status_code == 200, page_text(result)
    text = page_text(result)
    assert "4 imported, 0 updated or unchanged, 2 rejected" in text
    assert re.search(r"<td class=\"num\">6</td><td>[^<]*email", text)
    assert re.search(r"<td class=\"num\">7</td><td>[^<]*stakeholder_group", text)

    # Uploading the same file again updates; nobody is duplicated.
    again = admin.upload(f"/dashboard/events/{event_id}/participants", {"csrf": token}, "list.csv", CSV_SHORT.encode())
    assert "0 imported, 4 updated or unchanged" in page_text(again)

    # A wave with a bad rule comes back with the error and the values kept.
    event_page = admin.get(f"/dashboard/events/{event_id}")
    wave_token = csrf_for(event_page, f"/dashboard/events/{event_id}/waves")
    wave_form = {
        "csrf": wave_token,
        "questionnaire": "satisfaction",
        "opens_kind": "after_event",
        "opens_after_days": "1",
        "opens_local_time": "09:00",
        "reminders": "7, x",
        "closes_kind": "after_open",
        "closes_after_days": "21",
    }
    bad = admin.post(f"/dashboard/events/{event_id}/waves", wave_form)
    assert bad.status_code == 422
    assert "There is a problem" in page_text(bad) and 'value="7, x"' in page_text(bad)

    created = admin.post(f"/dashboard/events/{event_id}/waves", {**wave_form, "reminders": "7"})
    assert created.status_code == 303
    wave_id = re.search(r"#wave-(wv_[0-9a-f]+)$", created.headers["Location"]).group(1)
    event_page = admin.get(f"/dashboard/events/{event_id}?notice=wave-created")
    text = page_text(event_page)
    assert "The wave was created." in text and f'id="wave-{wave_id}"' in text
    assert "Amina Diallo" in text and "pending" in text

    # Search and paging of the participants table.
    found = page_text(admin.get(f"/dashboard/events/{event_id}?q=tsinghua"))
    assert "1 of 4 participants match" in found and "Li Wei" in found and "Amina Diallo" not in found

    # Previews of the email and the form in each language.
    for lang, words in (("en", "Dear Alex Example"), ("fr", "Alex Example"), ("es", "Alex Example")):
        preview = admin.get(f"/dashboard/events/{event_id}/waves/{wave_id}/preview?lang={lang}")
        assert preview.status_code == 200 and words in page_text(preview)
        form = admin.get(f"/dashboard/events/{event_id}/waves/{wave_id}/preview/form?lang={lang}")
        assert form.status_code == 200 and f'lang="{lang}"' in page_text(form)
    email_html = admin.get(f"/dashboard/events/{event_id}/waves/{wave_id}/preview/email?lang=fr&kind=reminder-1")
    assert email_html.status_code == 200 and "<html" in page_text(email_html)

    send_token = csrf_for(event_page, f"/dashboard/events/{event_id}/waves/{wave_id}/send")
    posted = admin.post(f"/dashboard/events/{event_id}/waves/{wave_id}/send", {"csrf": send_token})
    assert posted.status_code == 303  # post, redirect, get: reloading the result page sends nothing
    sending = posted.headers["Location"]
    assert re.search(rf"/dashboard/events/{event_id}/waves/{wave_id}/sending\?action=send&queued=4&", sending)
    sent = admin.get(sending)
    assert sent.status_code == 200 and sent.headers["Cache-Control"] == "no-store"
    assert 'emails queued for sending now; <span data-live="owed">4</span> still to go' in page_text(sent)
    assert re.search(r"<dt>Queued now</dt><dd>4</dd>", page_text(sent))
    assert 'data-state="running"' in page_text(sent) and "status.js" in page_text(sent)

    bodies = stack.queue_bodies()
    assert len(bodies) == 4
    send_records(bodies[:1])
    assert 'Still to go</dt><dd data-live="owed-count">3</dd>' in page_text(admin.get(sending))
    send_records(bodies[1:])
    assert len(stack.ses_messages()) == 4
    done = page_text(admin.get(sending))
    assert 'data-state="done"' in done and "all of them have gone to the mail service" in done
    assert 'Sent so far</dt><dd data-live="invited">4</dd>' in done and "status.js" not in done

    event_page = admin.get(f"/dashboard/events/{event_id}")
    funnel = dict(re.findall(r'<dd data-stage="(\w+)">([^<]*)</dd>', page_text(event_page)))
    assert funnel["invited"] == "4" and funnel["delivered"] == "0" and funnel["rate"] == "–"

    remind_token = csrf_for(event_page, f"/dashboard/events/{event_id}/waves/{wave_id}/remind")
    posted = admin.post(f"/dashboard/events/{event_id}/waves/{wave_id}/remind", {"csrf": remind_token})
    assert posted.status_code == 303
    reminded = admin.get(posted.headers["Location"])
    assert reminded.status_code == 200 and "4 reminders queued" in page_text(reminded)
    assert '<span data-live="owed">4</span> still to go' in page_text(reminded)
    send_records(stack.queue_bodies())
    assert "all of them have gone to the mail service" in page_text(admin.get(posted.headers["Location"]))

    report = admin.get(f"/dashboard/events/{event_id}/report?wave={wave_id}")
    text = page_text(report)
    assert report.status_code == 200 and "Response funnel" in text and "Copy the sentences" in text
    assert f"export.csv?wave={wave_id}&kind=responses" in text
    assert '<script src="/dashboard/static/copy.js" defer></script>' in text
    script = admin.get("/dashboard/static/copy.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")

    listing = page_text(admin.get("/dashboard"))
    assert "Dialogue on Migration" in listing and "0 of 4 invited answered" in listing


def test_an_invalid_event_form_comes_back_with_the_values_kept(client, admin):
    form = admin.get("/dashboard/events/new")
    r = admin.post(
        "/dashboard/events",
        {
            "csrf": csrf_for(form, "/dashboard/events"),
            "title": "Kept title",
            "starts_on": "2026-11-03",
            "ends_on": "2026-11-02",
            "timezone": "Europe/Zurich",
            "languages": ["en"],
        },
    )
    assert r.status_code == 422
    text = page_text(r)
    assert "Ends_on must not be before starts_on." in text and 'value="Kept title"' in text
    assert container.store().list_events() == []


def test_unknown_event_gets_a_not_found_page(client, admin):
    r = admin.get("/dashboard/events/ev_000000000000")
    assert r.status_code == 404 and "Not found" in page_text(r)


def test_an_admin_shares_a_read_only_link_from_the_report_and_revokes_it(client, admin, viewer, stack):
    event_id = create_event(admin)
    event_page = admin.get(f"/dashboard/events/{event_id}")
    admin.post(
        f"/dashboard/events/{event_id}/waves",
        {"csrf": csrf_for(event_page, f"/dashboard/events/{event_id}/waves"), **WAVE_FORM},
    )
    wave_id = container.store().list_waves(event_id)[0].wave_id
    report = admin.get(f"/dashboard/events/{event_id}/report?wave={wave_id}")
    assert "Share a read-only link" in page_text(report) and "No live link yet." in page_text(report)
    assert "Share a read-only link" not in page_text(viewer.get(f"/dashboard/events/{event_id}/report"))
    token = csrf_for(report, f"/dashboard/events/{event_id}/shares")
    made = admin.post(
        f"/dashboard/events/{event_id}/shares",
        {"csrf": token, "wave": wave_id, "by": "region", "lang": "fr", "expires_in_days": "7"},
    )
    assert made.status_code == 201, page_text(made)
    url = re.search(r'<textarea id="share-url"[^>]*>([^<]+)</textarea>', page_text(made)).group(1)
    link = "/r/" + url.rsplit("/r/", 1)[1]
    shared = client.http.get(link)
    assert shared.status_code == 200 and '<html lang="fr">' in page_text(shared)

    listed = page_text(admin.get(f"/dashboard/events/{event_id}/report?wave={wave_id}"))
    share_id = re.search(r"(sh_[0-9a-f]{12})", listed).group(1)
    assert re.search(share_id + r"</th>.*?<td class=\"num\">1</td>", listed, re.DOTALL)  # one view so far
    refused = admin.post(f"/dashboard/events/{event_id}/shares/{share_id}/revoke", {"csrf": "forged"})
    assert refused.status_code == 403 and client.http.get(link).status_code == 200
    revoke = csrf_for(
        admin.get(f"/dashboard/events/{event_id}/report"), f"/dashboard/events/{event_id}/shares/{share_id}/revoke"
    )
    done = admin.post(f"/dashboard/events/{event_id}/shares/{share_id}/revoke", {"csrf": revoke, "wave": wave_id})
    assert done.status_code == 303 and "notice=share-revoked" in done.headers["Location"]
    assert "The shared link was revoked" in page_text(admin.get(done.headers["Location"]))
    assert client.http.get(link).status_code == 404
    bad = admin.post(
        f"/dashboard/events/{event_id}/shares",
        {"csrf": token, "wave": wave_id, "expires_in_days": "400"},
    )
    assert bad.status_code == 400 and "365" in page_text(bad)


def test_an_admin_names_a_wave_and_the_name_replaces_its_id_on_the_pages(client, admin, viewer):
    event_id = create_event(admin)
    event_page = admin.get(f"/dashboard/events/{event_id}")
    admin.post(
        f"/dashboard/events/{event_id}/waves",
        {"csrf": csrf_for(event_page, f"/dashboard/events/{event_id}/waves"), **WAVE_FORM},
    )
    wave_id = container.store().list_waves(event_id)[0].wave_id
    event_page = admin.get(f"/dashboard/events/{event_id}")
    text = page_text(event_page)
    assert re.search(r"<h3>Workshop satisfaction survey, \d{1,2} [A-Z][a-z]+ \d{4}</h3>", text), text
    action = f"/dashboard/events/{event_id}/waves/{wave_id}/name"
    done = admin.post(action, {"csrf": csrf_for(event_page, action), "name": "Geneva round"})
    assert done.status_code == 303 and "notice=wave-renamed" in done.headers["Location"]
    assert "<h3>Geneva round</h3>" in page_text(admin.get(f"/dashboard/events/{event_id}"))
    report = page_text(viewer.get(f"/dashboard/events/{event_id}/report"))
    assert f'<option value="{wave_id}" selected>Geneva round</option>' in report
    assert "Geneva round (scheduled)" in page_text(viewer.get("/dashboard"))
    programme = page_text(viewer.get("/dashboard/programme?indicator=mutual_learning"))
    trend = re.search(r'<svg[^>]*id="trend".*?</svg>', programme, re.DOTALL)
    assert trend and "Dialogue on Migration: Geneva round" in trend.group(0)  # the trend names the wave
    assert admin.post(action, {"csrf": "forged", "name": "x"}).status_code == 403
