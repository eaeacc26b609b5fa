"""Accessibility of the participant's pages in Debian's Chromium, against the local stack.

A custom questionnaire with every question type (and a conditional question), fully translated, is added
through the admin API and sent like any other; the built-in questionnaires are sent too. Then:
- axe-core (WCAG 2.0/2.1 A and AA, WCAG 2.2 AA tags) finds 0 violations on every page in every language;
  the table of results is printed and written to test-artifacts/axe-results.md;
- the keyboard alone (Tab, Space, arrow keys, Enter) answers the form;
- the form works with JavaScript disabled;
- nothing overflows horizontally at 320 px;
- the form weighs under 50 KB and loads nothing from another host.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_string
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.data import HEADER
from tests.support.live import WCAG, Live, axe_violations, token_for
from tests.support.paths import ARTIFACTS

LANGS = ("en", "fr", "es")
PAGE_LIMIT = 50 * 1024


def t(en: str, fr: str, es: str) -> dict[str, str]:
    return {"en": en, "fr": fr, "es": es}


def option(oid: str, en: str, fr: str, es: str) -> dict[str, Any]:
    return {"id": oid, "label": t(en, fr, es)}


EVERY_TYPE: dict[str, Any] = {
    "id": "a11y_every_type",
    "version": 1,
    "languages": list(LANGS),
    "title": t("Every question type", "Tous les types de question", "Todos los tipos de pregunta"),
    "intro": t(
        "A short survey that uses every kind of question.",
        "Une courte enquête qui utilise chaque type de question.",
        "Una breve encuesta que utiliza cada tipo de pregunta.",
    ),
    "questions": [
        {
            "id": "learned",
            "type": "likert",
            "required": True,
            "indicator": "learned",
            "text": t(
                "I learned something I can use in my work.",
                "J'ai appris quelque chose d'utile pour mon travail.",
                "Aprendí algo que puedo utilizar en mi trabajo.",
            ),
            "statement": t(
                "they had learned something they could use in their work",
                "ils avaient appris quelque chose d'utile pour leur travail",
                "habían aprendido algo que podían utilizar en su trabajo",
            ),
            "help": t(
                "Think of the sessions you attended.",
                "Pensez aux séances auxquelles vous avez assisté.",
                "Piense en las sesiones a las que asistió.",
            ),
        },
        {
            "id": "attended_before",
            "type": "yes_no",
            "required": True,
            "text": t(
                "Had you attended one of our workshops before?",
                "Aviez-vous déjà participé à l'un de nos ateliers ?",
                "¿Había participado antes en alguno de nuestros talleres?",
            ),
        },
        {
            "id": "changed",
            "type": "text",
            "required": False,
            "max_length": 300,
            "show_if": {"question": "attended_before", "equals": "yes"},
            "text": t(
                "What has changed since the last workshop?",
                "Qu'est-ce qui a changé depuis le dernier atelier ?",
                "¿Qué ha cambiado desde el último taller?",
            ),
        },
        {
            "id": "role",
            "type": "single_choice",
            "required": True,
            "text": t("What was your role?", "Quel était votre rôle ?", "¿Cuál fue su función?"),
            "options": [
                option("speaker", "Speaker", "Intervenant(e)", "Ponente"),
                option("delegate", "Delegate", "Délégué(e)", "Delegado(a)"),
                option("observer", "Observer", "Observateur(trice)", "Observador(a)"),
            ],
        },
        {
            "id": "formats",
            "type": "multiple_choice",
            "required": True,
            "text": t(
                "Which formats were useful? Choose all that apply.",
                "Quels formats ont été utiles ? Cochez toutes les réponses pertinentes.",
                "¿Qué formatos fueron útiles? Marque todas las opciones que correspondan.",
            ),
            "options": [
                option("plenary", "Plenary sessions", "Séances plénières", "Sesiones plenarias"),
                option("breakout", "Breakout groups", "Groupes de travail", "Grupos de trabajo"),
                option("networking", "Networking", "Réseautage", "Intercambio de contactos"),
            ],
        },
        {
            "id": "venue",
            "type": "rating",
            "required": True,
            "indicator": "venue",
            "text": t("How would you rate the venue?", "Comment évaluez-vous le lieu ?", "¿Cómo califica el lugar?"),
        },
        {
            "id": "recommend",
            "type": "nps",
            "required": False,
            "text": t(
                "How likely are you to recommend the workshop? (0 = not at all likely, 10 = extremely likely)",
                "Recommanderiez-vous l'atelier ? (0 = pas du tout probable, 10 = extrêmement probable)",
                "¿Recomendaría el taller? (0 = nada probable, 10 = extremadamente probable)",
            ),
        },
        {
            "id": "comments",
            "type": "text",
            "required": False,
            "max_length": 1000,
            "text": t("Anything else?", "Autre chose ?", "¿Algo más?"),
        },
    ],
}
IMPACT_ANSWERS = {"content_relevant": "4", "applied_in_work": "no", "informed_policy_or_research": "3"}
PEOPLE = ("en", "fr", "es", "kb", "nojs", "narrow", "out")


def csv_for(tag: str, who: tuple[str, ...]) -> bytes:
    rows = [HEADER.rstrip("\n")]
    for name in who:
        lang = name if name in LANGS else "en"
        rows.append(f"a11y.{name}.{tag}@example.org,Person {name},Org,academia,FR,{lang},,no")
    return ("\n".join(rows) + "\n").encode()


@dataclass
class Sent:
    tokens: dict[str, str] = field(default_factory=dict)  # person -> token


@dataclass
class World:
    live: Live
    every: Sent
    builtin: dict[str, Sent]

    def url(self, path: str) -> str:
        return self.live.base + path


def send_event(live: Live, tag: str, questionnaire: str, who: tuple[str, ...]) -> str:
    ends = date.today() - timedelta(days=1)
    r = live.json(
        "POST",
        "/admin/events",
        {
            "title": f"Accessibility {tag}",
            "starts_on": (ends - timedelta(days=1)).isoformat(),
            "ends_on": ends.isoformat(),
            "timezone": "Europe/Zurich",
        },
    )
    assert r.status == 201, r.body
    event_id = r.json()["event_id"]
    r = live.call("POST", f"/admin/events/{event_id}/participants", csv_for(tag, who), {"Content-Type": "text/csv"})
    assert r.status == 200 and r.json()["imported"] == len(who), r.body
    r = live.json(
        "POST",
        f"/admin/events/{event_id}/waves",
        {
            "questionnaire": questionnaire,
            "opens": {"after_event_days": 1, "local_time": "09:00"},
            "reminders_after_days": [],
            "closes": {"after_open_days": 21},
        },
    )
    assert r.status == 201, r.body
    wave_id = r.json()["wave_id"]
    assert live.call("POST", f"/admin/events/{event_id}/waves/{wave_id}/send").status == 202
    return tag


@pytest.fixture(scope="module")
def world(live: Live) -> World:
    r = live.json("POST", "/admin/questionnaires", EVERY_TYPE)
    assert r.status in (201, 409), r.body  # 409: an earlier run in this session registered it
    stamp = str(int(time.time() * 1000))[-8:]
    plan = {
        "every": send_event(live, f"every{stamp}", "a11y_every_type", PEOPLE),
        "satisfaction": send_event(live, f"sat{stamp}", "satisfaction", ("en",)),
        "impact": send_event(live, f"imp{stamp}", "impact", ("en",)),
    }
    expected = {"every": set(PEOPLE), "satisfaction": {"en"}, "impact": {"en"}}
    sent = {key: Sent() for key in plan}
    deadline = time.monotonic() + 90
    read: set[Path] = set()
    # Wait for these very recipients: other modules' emails (reminders, late sends) share the outbox.
    while any(set(sent[key].tokens) != people for key, people in expected.items()):
        assert time.monotonic() < deadline, {key: sorted(s.tokens) for key, s in sent.items()}
        time.sleep(0.5)
        for path in sorted(set(live.outbox.glob("*.eml")) - read):
            message = message_from_string(path.read_text(encoding="utf-8"), policy=default_policy)
            try:
                to = str(message["To"] or "")
                for key, tag in plan.items():
                    if f".{tag}@" in to:
                        person = to.split("a11y.", 1)[1].split(".", 1)[0]
                        sent[key].tokens[person] = token_for(message)
            except (AssertionError, LookupError, ValueError):
                continue  # still being written: read it again next round
            if to:
                read.add(path)
    return World(live=live, every=sent["every"], builtin={k: sent[k] for k in ("satisfaction", "impact")})


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    yield ctx
    ctx.close()


def describe(violations: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:4]} {v['nodes'][0].get('failureSummary', '')}"
        for v in violations
    )


def submit_empty(page: Any) -> None:
    """Send the form as it is, to get the 422 page with an error beside each required question."""
    with page.expect_navigation():
        page.locator("form button[type=submit]").click()


# axe on every page, in every language -----------------------------------------------------------------


def test_every_page_in_every_language_has_no_axe_violations(world: World, context: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = context.new_page()
    rows: list[tuple[str, str, int, str]] = []

    def scan(name: str, lang: str, path: str | None = None, status: int = 200, shot: bool = False) -> None:
        if path is not None:
            response = page.goto(world.url(path))
            assert response is not None and response.status == status, (name, lang, response and response.status)
        assert page.locator("html").get_attribute("lang") == lang, (name, lang)
        found = axe_violations(page)
        rows.append((name, lang, len(found), describe(found)))
        if shot:
            slug = "".join(c if c.isalnum() else "-" for c in name).strip("-").replace("--", "-")
            page.screenshot(path=str(ARTIFACTS / f"a11y-{slug}-{lang}.png"), full_page=True)

    every = world.every.tokens
    for lang in LANGS:
        scan("every type: form", lang, f"/s/{every[lang]}?lang={lang}", shot=True)
        assert page.locator("fieldset").count() == 6 and page.locator("textarea").count() == 2
        assert page.locator("#q-learned").get_attribute("aria-describedby") == "h-learned"  # the help text
        submit_empty(page)
        assert page.locator("#error-summary").is_visible()
        assert page.locator("#q-learned").get_attribute("aria-describedby") == "h-learned e-learned"
        scan("every type: 422 errors", lang, shot=True)
        if lang == "en":
            # The error summary takes focus on arrival (no script needed); its first link leads to the
            # first question in error, focusing its first option.
            assert focused(page)["id"] == "error-summary"
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            assert focused(page)["id"] == "f-learned"
        for key, sent in world.builtin.items():
            token = sent.tokens["en"]
            scan(f"{key}: form", lang, f"/s/{token}?lang={lang}")
            submit_empty(page)
            scan(f"{key}: 422 errors", lang)
        scan("thank-you", lang, f"/s/{every[lang]}/thanks?lang={lang}", shot=True)
        scan("unsubscribe", lang, f"/u/{every[lang]}?lang={lang}")
        scan("404 unknown link", lang, f"/s/{'x' * 43}?lang={lang}", status=404)

    # Unsubscribing (the confirmation), and then the survey link of someone who unsubscribed (410).
    out = every["out"]
    page.goto(world.url(f"/u/{out}?lang=en"))
    with page.expect_navigation():
        page.locator("form button[type=submit]").click()
    scan("unsubscribed", "en")
    for lang in LANGS:
        scan("410 opted out", lang, f"/s/{out}?lang={lang}", status=410)

    table = ["| page | language | axe violations |", "|---|---|---|"]
    table += [f"| {name} | {lang} | {count} |" for name, lang, count, _ in rows]
    (ARTIFACTS / "axe-results.md").write_text(
        f"axe-core, tags {', '.join(WCAG)}, Chromium {context.browser.version}\n\n" + "\n".join(table) + "\n",
        encoding="utf-8",
    )
    print("\n" + "\n".join(table))
    failures = [f"{name} [{lang}]: {detail}" for name, lang, count, detail in rows if count]
    assert not failures, "\n".join(failures)
    assert len(rows) == 3 * 9 + 4


# Keyboard only ----------------------------------------------------------------------------------------


def focused(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement;
                return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '', value: e.value || '',
                        id: e.id || '', cls: e.className || '', checked: !!e.checked,
                        visible: !!(e.offsetWidth || e.offsetHeight) && e.getBoundingClientRect().left >= 0}; }"""
        )
    )


def test_the_keyboard_alone_answers_the_form(world: World, context: Any) -> None:
    page = context.new_page()
    token = world.every.tokens["kb"]
    page.goto(world.url(f"/s/{token}?lang=en"))

    # The skip link is the first thing Tab reaches, it shows when focused, and it moves focus to main.
    page.keyboard.press("Tab")
    first = focused(page)
    assert first["tag"] == "a" and "skip" in first["cls"] and first["visible"], first
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"

    # Tab through the form: pick an answer in each group with Space and the arrow keys, type the texts,
    # and press Enter on the submit button. No mouse.
    targets = {"learned": "4", "attended_before": "yes", "role": "delegate", "venue": "5", "recommend": "9"}
    typed = {"changed": "More time for questions.", "comments": "Typed with the keyboard only."}
    ticked: set[str] = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        now = focused(page)
        if now["type"] == "radio" and now["name"] in targets:
            page.keyboard.press("Space")
            for _ in range(12):
                if focused(page)["value"] == targets[now["name"]]:
                    break
                page.keyboard.press("ArrowDown")  # moves to the next option and selects it
            assert focused(page)["checked"] and focused(page)["value"] == targets[now["name"]]
        elif now["type"] == "checkbox" and now["value"] in ("plenary", "networking"):
            page.keyboard.press("Space")
            ticked.add(now["value"])
        elif now["tag"] == "textarea":
            page.keyboard.type(typed[now["name"]])
        elif now["tag"] == "button":
            with page.expect_navigation():
                page.keyboard.press("Enter")
            break
    else:
        raise AssertionError("Tab never reached the submit button")
    assert ticked == {"plenary", "networking"}
    page.wait_for_url("**/thanks**")
    assert page.locator("h1").inner_text().strip() == "Thank you"

    stored = world.live.call("GET", f"/s/{token}?lang=en", auth=False).body.decode()
    for name, value in {**targets, "formats": "plenary"}.items():
        assert f'name="{name}" value="{value}" checked' in stored, name
    assert 'name="formats" value="networking" checked' in stored
    assert ">Typed with the keyboard only.</textarea>" in stored and ">More time for questions.</textarea>" in stored


# JavaScript disabled ----------------------------------------------------------------------------------


def test_the_form_works_with_javascript_disabled(world: World, browser: Any) -> None:
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = ctx.new_page()
        token = world.every.tokens["nojs"]
        page.goto(world.url(f"/s/{token}?lang=fr"))
        assert page.locator("html").get_attribute("lang") == "fr"
        # A first try with an answer missing: the server answers 422, keeping what was entered.
        page.locator('input[name="learned"][value="5"]').check()
        page.locator("#f-comments").fill("Sans JavaScript.")
        submit_empty(page)
        assert page.locator("#e-attended_before").is_visible()
        assert page.locator('input[name="learned"][value="5"]').is_checked()
        assert page.locator("#f-comments").input_value() == "Sans JavaScript."
        # Then the rest; the conditional question is answered too and kept, as its condition holds.
        page.locator('input[name="attended_before"][value="yes"]').check()
        page.locator("#f-changed").fill("Plus de temps pour les questions.")
        page.locator('input[name="role"][value="observer"]').check()
        page.locator('input[name="formats"][value="breakout"]').check()
        page.locator('input[name="venue"][value="3"]').check()
        page.locator('input[name="recommend"][value="10"]').check()
        with page.expect_navigation():
            page.locator("form button[type=submit]").click()
        page.wait_for_url("**/thanks**")
        assert page.locator("html").get_attribute("lang") == "fr"
    finally:
        ctx.close()
    stored = world.live.call("GET", f"/s/{token}?lang=fr", auth=False).body.decode()
    assert 'name="recommend" value="10" checked' in stored
    assert ">Plus de temps pour les questions.</textarea>" in stored


# 320 px -----------------------------------------------------------------------------------------------


def test_nothing_overflows_at_320_px(world: World, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = ctx.new_page()
        token = world.every.tokens["narrow"]

        def fits(name: str) -> None:
            widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
            page.screenshot(path=str(ARTIFACTS / f"a11y-320px-{name}.png"), full_page=True)
            assert widths[0] <= widths[1], (name, widths)

        ARTIFACTS.mkdir(exist_ok=True)
        for lang in LANGS:
            page.goto(world.url(f"/s/{token}?lang={lang}"))
            fits(f"form-{lang}")
        submit_empty(page)  # Spanish, the longest labels
        assert page.locator("#error-summary").is_visible()
        fits("errors-es")
        page.goto(world.url(f"/s/{world.builtin['impact'].tokens['en']}?lang=fr"))
        fits("impact-form-fr")
        page.goto(world.url(f"/s/{token}/thanks?lang=fr"))
        fits("thanks-fr")
    finally:
        ctx.close()


# Weight and hosts -------------------------------------------------------------------------------------


def test_the_form_weighs_under_50_kb_and_loads_nothing_from_another_host(world: World, context: Any) -> None:
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or request.url))
    sizes = {}
    for lang in LANGS:
        for name, token in (("every", world.every.tokens[lang]), ("impact", world.builtin["impact"].tokens["en"])):
            response = page.goto(world.url(f"/s/{token}?lang={lang}"))
            assert response is not None and response.status == 200
            sizes[f"{name}-{lang}"] = len(response.body())
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        submit_empty(page)
    assert posted.value.status == 422
    sizes["impact-422-es"] = len(posted.value.body())
    assert all(size < PAGE_LIMIT for size in sizes.values()), sizes
    assert hosts == {"127.0.0.1"}, hosts


def test_a_conditional_question_appears_only_when_its_condition_holds_without_javascript(
    world: World, browser: Any
) -> None:
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = ctx.new_page()
    page.goto(world.url(f"/s/{world.builtin['impact'].tokens['en']}?lang=en"))
    follow_up = page.locator("#q-applied_how")
    assert follow_up.is_hidden()
    page.locator('input[name="applied_in_work"][value="yes"]').check()
    assert follow_up.is_visible()
    page.locator('input[name="applied_in_work"][value="no"]').check()
    assert follow_up.is_hidden()
    ctx.close()
