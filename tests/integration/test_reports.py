"""Reports leave the system only suppressed: the HTML report, both CSV exports, recount and the programme."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import container
from chalicelib.domain import answering
from chalicelib.domain.stats import wilson_interval
from tests.support.api import auth, body, make_event, make_wave
from tests.support.data import HEADER
from tests.support.mail import link_token

# 7 government, 3 academia, 2 media: academia and media are below k=5.
GROUPS = ["government"] * 7 + ["academia"] * 3 + ["media"] * 2
PATTERN = ["5", "5", "4", "4", "4", "4", "3", "2", "5", "4", "4", "1"]  # mutual_learning answers


def seeded(client, tokens, stack) -> tuple[str, str, list[str]]:
    admin = tokens["admin"]
    event_id = make_event(client, admin)
    rows = "".join(
        f"person{i}@example.org,Person {i},Org {i},{group},{'KE' if i % 2 else 'FR'},en,,{'yes' if i % 3 else 'no'}\n"
        for i, group in enumerate(GROUPS)
    )
    r = client.http.post(
        f"/admin/events/{event_id}/participants",
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "text/csv"},
        body=(HEADER + rows).encode(),
    )
    assert body(r)["imported"] == len(GROUPS)
    wave_id = make_wave(client, admin, event_id)
    client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/send", headers=auth(admin))
    stack.deliver()
    by_address = {str(m.destinations[0]).split("<")[-1].rstrip(">"): link_token(m) for m in stack.ses_messages()}
    store = container.store()
    for i, value in enumerate(PATTERN):
        token = by_address[f"person{i}@example.org"]
        form = {
            "overall": ["4"],
            "mutual_learning": [value],
            "understanding": ["4"],
            "cooperation_measures": ["3"],
            "comments": [f"Useful; call me on +41 22 717 91 11 or write to person{i}@example.org"],
        }
        assert answering.submit(store, token, form, now=datetime.now(UTC)).stored
    return event_id, wave_id, list(by_address.values())


def test_summary_matches_a_wilson_computation_and_suppresses_small_groups(client, tokens, stack):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    s = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(tokens["viewer"])))
    q = next(x for x in s["questions"] if x["id"] == "mutual_learning")
    agree = sum(v in ("4", "5") for v in PATTERN)
    assert q["n"] == len(PATTERN) and q["agree"] == agree
    assert q["agree_pct"] == pytest.approx(100 * agree / len(PATTERN), abs=0.5)
    low, high = wilson_interval(agree, len(PATTERN))
    assert q["ci95"] == pytest.approx([low, high], abs=0.5)
    assert q["groups"]["government"]["n"] == 7
    assert q["groups"]["academia"] == {"suppressed": True}
    assert q["groups"]["media"] == {"suppressed": True}


def test_recount_matches_the_aggregates(client, tokens, stack):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    r = client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(tokens["admin"]))
    assert r.status_code == 200, r.body
    assert body(r)["ok"] is True and body(r)["mismatches"] == []


def test_recount_reports_a_drifted_counter(client, tokens, stack):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    from pynamodb.expressions.operand import Path

    from chalicelib.adapters import tables as t

    t.AggregateItem(wave_id, "language#en").update(actions=[Path(["a:mutual_learning:5"]).add(1)])
    result = body(client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(tokens["admin"])))
    assert result["ok"] is False
    assert {"cell": "language#en", "counter": "a:mutual_learning:5", "stored": 4, "recount": 3} in result["mismatches"]


def test_report_has_svg_charts_sentences_and_redacted_escaped_comments(client, tokens, stack):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    r = client.http.get(f"/admin/events/{event_id}/report?wave={wave_id}", headers=auth(tokens["viewer"]))
    assert r.status_code == 200, r.body
    html = r.body.decode()
    assert "<svg" in html and '<title id="likert-t">' in html and '<desc id="likert-d">' in html
    assert "per cent of respondents indicated that" in html
    assert "[phone removed]" in html and "[email removed]" in html
    assert "person0@example.org" not in html
    assert r.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_csv_exports_carry_no_personal_data_and_neutralise_formulas(client, tokens, stack):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    agg = client.http.get(
        f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=aggregates", headers=auth(tokens["viewer"])
    )
    assert agg.status_code == 200 and agg.headers["Content-Type"].startswith("text/csv")
    text = agg.body.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    media = [
        r
        for r in rows
        if r["dimension"] == "stakeholder_group" and r["group"] == "media" and r["question"] == "mutual_learning"
    ]
    assert media and all(r["suppressed"] == "yes" and r["n"] == "" for r in media)

    resp = client.http.get(
        f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=responses", headers=auth(tokens["viewer"])
    )
    exported = resp.body.decode("utf-8")
    for secret in ("person0@example.org", "Person 0", "pt_", "Org 0"):
        assert secret not in exported
    records = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert len(records) == len(PATTERN)
    assert all(r["panel_id"].startswith("pn_") for r in records)
    combos: dict[tuple[str, ...], int] = {}
    for r in records:
        key = tuple(r[a] for a in ("region", "stakeholder_group", "language", "income_group", "sponsored"))
        combos[key] = combos.get(key, 0) + 1
    assert min(combos.values()) >= 5


def test_cells_that_look_like_formulas_are_neutralised():
    from chalicelib.domain.reporting import csv_text

    out = csv_text(["a"], [['=HYPERLINK("x")'], ["+1"], ["-2"], ["@x"], ["ok"]])
    assert "'=HYPERLINK" in out and "'+1" in out and "'-2" in out and "'@x" in out and '\r\n"ok"\r\n' in out


def test_programme_reads_one_indicator_across_events(client, tokens, stack):
    _, wave_id, _ = seeded(client, tokens, stack)
    year = datetime.now(UTC).year
    r = client.http.get(f"/admin/programme?year={year}&indicator=mutual_learning", headers=auth(tokens["viewer"]))
    assert r.status_code == 200, r.body
    waves = body(r)["waves"]
    assert [w["wave_id"] for w in waves] == [wave_id]
    assert waves[0]["n"] == len(PATTERN)
    assert client.http.get("/admin/programme?year=abc", headers=auth(tokens["viewer"])).status_code == 400
    assert (
        json.loads(
            client.http.get(f"/admin/programme?year={year}&compare={year - 1}", headers=auth(tokens["viewer"])).body
        )["compare_waves"]
        == []
    )


def test_waves_link_through_the_panel_id_and_report_attrition(client, tokens, stack):
    event_id, first_wave, _ = seeded(client, tokens, stack)
    admin = tokens["admin"]
    r = client.http.post(
        f"/admin/events/{event_id}/waves",
        headers=auth(admin),
        body=json.dumps(
            {
                "questionnaire": "impact",
                "opens": {"after_event_days": 1, "local_time": "09:00"},
                "closes": {"after_open_days": 30},
            }
        ),
    )
    second_wave = body(r)["wave_id"]
    already = len(stack.ses_messages())
    client.http.post(f"/admin/events/{event_id}/waves/{second_wave}/send", headers=auth(admin))
    stack.deliver()
    fresh = stack.ses_messages()[already:]
    store = container.store()
    impact = {
        "content_relevant": ["4"],
        "applied_in_work": ["yes"],
        "informed_policy_or_research": ["4"],
        "best_practices": ["3"],
        "shared_with_colleagues": ["yes"],
        "kept_contacts": ["no"],
    }
    answered = 0
    for message in fresh:
        address = str(message.destinations[0]).split("<")[-1].rstrip(">")
        index = int(address.removeprefix("person").split("@")[0])
        if index < 7:  # the seven government participants answer the follow-up
            assert answering.submit(store, link_token(message), impact, now=datetime.now(UTC)).stored
            answered += 1
    assert answered == 7
    result = body(
        client.http.get(
            f"/admin/events/{event_id}/panel?from={first_wave}&to={second_wave}", headers=auth(tokens["viewer"])
        )
    )
    assert result["answered_both"] == 7 and result["answered_first_only"] == 5
    assert result["retention_pct"] == round(700 / 12, 1)
    learning = next(i for i in result["indicators"] if i["indicator"] == "mutual_learning")
    both_agree = sum(v in ("4", "5") for v in PATTERN[:7])
    assert learning["answered_both"]["agree"] == both_agree and learning["answered_both"]["n"] == 7
    assert learning["answered_first_only"]["n"] == 5
    bad = client.http.get(f"/admin/events/{event_id}/panel?from={first_wave}", headers=auth(tokens["viewer"]))
    assert bad.status_code == 400


def test_a_user_scoped_to_one_event_sees_only_that_event_in_the_programme(client, tokens, stack):
    import boto3

    from devstack import identity

    _, wave_id, _ = seeded(client, tokens, stack)
    other = make_event(client, tokens["admin"])
    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool, client_id = stack.outputs["UserPoolId"], stack.outputs["UserPoolClientId"]
    idp.create_group(GroupName=f"event:{other}", UserPoolId=pool)
    password = identity.new_password()
    identity.ensure_user(idp, pool, "scoped@example.org", password, "viewer", all_events=False)
    idp.admin_add_user_to_group(UserPoolId=pool, Username="scoped@example.org", GroupName=f"event:{other}")
    scoped = identity.sign_in(idp, client_id, "scoped@example.org", password)
    year = datetime.now(UTC).year
    r = client.http.get(f"/admin/programme?year={year}&indicator=mutual_learning", headers=auth(scoped))
    assert r.status_code == 200
    assert wave_id not in [w["wave_id"] for w in body(r)["waves"]]
    everyone = client.http.get(
        f"/admin/programme?year={year}&indicator=mutual_learning", headers=auth(tokens["viewer"])
    )
    assert wave_id in [w["wave_id"] for w in body(everyone)["waves"]]


def test_a_shared_link_opens_without_sign_in_without_free_text_and_stops_when_revoked(
    client, tokens, stack, monkeypatch
):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    admin = auth(tokens["admin"])
    path = f"/admin/events/{event_id}/shares"
    assert client.http.post(path, headers=auth(tokens["viewer"]), body=json.dumps({"wave": wave_id})).status_code == 403
    for bad in ({"wave": wave_id, "expires_in_days": 366}, {"wave": wave_id, "expires_in_days": 0}, {"wave": "wv_x"}):
        r = client.http.post(path, headers=admin, body=json.dumps(bad))
        assert r.status_code in (400, 404) and "error" in body(r), r.body
    r = client.http.post(path, headers=admin, body=json.dumps({"wave": wave_id}))
    assert r.status_code == 201, r.body
    made = body(r)
    token = made["url"].rsplit("/r/", 1)[1]
    expires = datetime.fromisoformat(made["expires_at"])
    assert 29.9 < (expires - datetime.now(UTC)).total_seconds() / 86400 <= 30

    from chalicelib.adapters.store import DynamoStore

    read: list[str] = []
    original = DynamoStore.list_responses
    monkeypatch.setattr(DynamoStore, "list_responses", lambda self, w: read.append(w) or original(self, w))
    page = client.http.get(f"/r/{token}")  # no Authorization header
    assert read == []  # without the comments, no response is even read
    assert page.status_code == 200, page.body
    html = page.body.decode()
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert "<svg" in html and "n=12" in html
    assert "Useful; call me" not in html and "Comments" not in html  # no free text by default
    assert "suppressed" in html  # academia and media are below k
    assert "person0@example.org" not in html

    listed = body(client.http.get(path, headers=admin))["shares"]
    assert [(s["share_id"], s["views"], s["include_comments"]) for s in listed] == [(made["share_id"], 1, False)]
    # Only the token's hash is stored: the token appears nowhere in the tokens table.
    from chalicelib.adapters import tables as t

    assert token not in json.dumps([i.attribute_values for i in t.ShareItem.scan()], default=str)

    r = client.http.post(path, headers=admin, body=json.dumps({"wave": wave_id, "include_comments": True}))
    with_comments = body(r)["url"].rsplit("/r/", 1)[1]
    html = client.http.get(f"/r/{with_comments}").body.decode()
    assert read == [wave_id]
    assert "Useful; call me on [phone removed] or write to [email removed]" in html

    gone = client.http.get("/r/" + "x" * 43)
    assert gone.status_code == 404
    r = client.http.delete(f"{path}/{made['share_id']}", headers=admin)
    assert r.status_code == 200 and body(r)["revoked"] is True
    revoked = client.http.get(f"/r/{token}")
    assert revoked.status_code == 404 and revoked.body == gone.body  # the same page for every dead link
    assert client.http.delete(f"{path}/{made['share_id']}", headers=admin).status_code == 404
    assert [s["include_comments"] for s in body(client.http.get(path, headers=admin))["shares"]] == [True]

    later = datetime.now(UTC) + timedelta(days=31)
    monkeypatch.setattr(container, "now", lambda: later)
    expired = client.http.get(f"/r/{with_comments}")
    assert expired.status_code == 404 and expired.body == gone.body


def test_a_wave_has_a_name_editable_by_admins_and_exports_are_named_after_it(client, tokens, stack):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    admin, viewer = auth(tokens["admin"]), auth(tokens["viewer"])
    listed = body(client.http.get(f"/admin/events/{event_id}/waves", headers=viewer))["waves"]
    default = listed[0]["name"]
    assert default.startswith("Workshop satisfaction survey, ") and wave_id not in default
    path = f"/admin/events/{event_id}/waves/{wave_id}"
    assert client.http.patch(path, headers=viewer, body=json.dumps({"name": "x"})).status_code == 403
    assert client.http.patch(path, headers=admin, body=json.dumps({"name": "x" * 121})).status_code == 400
    r = client.http.patch(path, headers=admin, body=json.dumps({"name": "Genève — first round"}))
    assert r.status_code == 200 and body(r)["name"] == "Genève — first round", r.body
    summary = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=viewer))
    assert summary["wave_name"] == "Genève — first round" and summary["wave_id"] == wave_id
    report = client.http.get(f"/admin/events/{event_id}/report?wave={wave_id}", headers=viewer).body.decode()
    assert "Genève — first round" in report
    export = client.http.get(f"/admin/events/{event_id}/export.csv?wave={wave_id}&kind=aggregates", headers=viewer)
    disposition = export.headers["Content-Disposition"]
    assert disposition.endswith('-geneve-first-round-aggregates.csv"') and disposition.isascii(), disposition
    r = client.http.patch(path, headers=admin, body=json.dumps({"name": ""}))
    assert body(r)["name"] == default


def test_a_response_records_its_mode_and_summary_by_mode_counts_email_answers(client, tokens, stack):
    event_id, wave_id, _ = seeded(client, tokens, stack)
    stored = next(r for r in container.store().list_responses(wave_id))
    assert stored.mode == "email" and stored.cells["mode"] == "email"
    s = body(
        client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}&by=mode", headers=auth(tokens["viewer"]))
    )
    assert s["by"] == "mode"
    assert s["funnel"]["by_mode"] == {"email": len(PATTERN), "qr": 0, "open": 0, "paper": 0}
    assert s["funnel"]["invited"] == len(GROUPS) and s["funnel"]["completed"] == len(PATTERN)
    q = next(x for x in s["questions"] if x["id"] == "mutual_learning")
    assert set(q["groups"]) == {"email"} and q["groups"]["email"]["n"] == len(PATTERN)
    # The other dimensions' funnels say the same.
    s2 = body(client.http.get(f"/admin/events/{event_id}/summary?wave={wave_id}", headers=auth(tokens["viewer"])))
    assert s2["funnel"]["by_mode"]["email"] == len(PATTERN)
    assert body(client.http.post(f"/admin/events/{event_id}/waves/{wave_id}/recount", headers=auth(tokens["admin"])))[
        "ok"
    ]
