"""Gettext catalogues of the templates: complete, consistent, compiled and actually used by the renderer.

The catalogues are rebuilt with ``bash tools/i18n.sh``; see that script for the workflow.
"""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from chalicelib.adapters.renderer import JinjaRenderer

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "chalicelib" / "locale"
POT = LOCALE / "messages.pot"
LANGUAGES = ("fr", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
HOW_TO_FIX = "run `bash tools/i18n.sh`, translate what it reports, run it again and commit chalicelib/locale"


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "messages.po"


def mo_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / "messages.mo"


def read_catalog(path: Path, lang: str | None = None) -> Catalog:
    # The same call pybabel compile makes, so the in-memory .mo below matches the committed one.
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def ids(catalog: Catalog) -> set[str]:
    return {text for message in catalog if message.id for text in texts(message.id)[:1]}


def texts(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """All forms of a message id or string (babel uses tuples or lists for plurals)."""
    return (value,) if isinstance(value, str) else tuple(value)


def placeholders(value: str | tuple[str, ...] | list[str]) -> set[str]:
    return {name for text in texts(value) for name in PLACEHOLDER.findall(text)}


def extracted_ids() -> set[str]:
    """Run the extraction of tools/i18n.sh in-process, with the same babel.cfg."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, filename="babel.cfg")
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        found.update(texts(message)[:1])
    return found


@pytest.fixture(scope="module")
def template() -> Catalog:
    return read_catalog(POT)


def test_template_is_complete_and_current(template):
    extracted = extracted_ids()
    assert "Skip to main content" in extracted, "the jinja2 extractor found nothing; check babel.cfg"
    missing = sorted(extracted - ids(template))
    assert not missing, f"template strings not in messages.pot ({HOW_TO_FIX}): {missing}"
    stale = sorted(ids(template) - extracted)
    assert not stale, f"messages.pot lists strings no template uses any more ({HOW_TO_FIX}): {stale}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(template, lang):
    catalog = read_catalog(po_path(lang), lang)
    assert not catalog.fuzzy, f"the header of {lang}/messages.po is fuzzy, so pybabel compile skips the file"
    problems = []
    for source in template:
        if not source.id:
            continue
        message = catalog.get(source.id)
        if message is None:
            problems.append(f"missing: {source.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {source.id!r}")
        elif not all(text.strip() for text in texts(message.string or "")):
            problems.append(f"untranslated: {source.id!r}")
        elif placeholders(message.string) != placeholders(source.id):
            problems.append(f"placeholders differ: {source.id!r} -> {message.string!r}")
    assert not problems, f"{lang} ({HOW_TO_FIX}):\n" + "\n".join(problems)
    assert not list(catalog.check()), f"babel's checks fail for {lang}: {list(catalog.check())}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_are_safe_to_render(template, lang):
    """Newstyle gettext always %-formats the translation, and in autoescaped (HTML) templates it marks
    the translation as safe markup before substituting the (escaped) values. So a lone "%" breaks
    rendering, and "<", ">" or "&" would reach the page unescaped."""
    catalog = read_catalog(po_path(lang), lang)
    for source in template:
        message = catalog.get(source.id) if source.id else None
        if message is None or not message.string:
            continue
        for text in texts(message.string):
            values = dict.fromkeys(PLACEHOLDER.findall(text), "x")
            try:
                rendered = text % values
            except (KeyError, TypeError, ValueError) as exc:
                pytest.fail(f"{lang}: {text!r} is not a valid format string ({exc}); write %% for a literal %")
            assert "%" not in rendered, f"{lang}: stray % in {text!r} (write %% for a literal percent sign)"
            assert not set("<>&") & set(text), f"{lang}: HTML special character in {text!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_committed_mo_matches_po(lang):
    catalog = read_catalog(po_path(lang), lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    expected = buffer.getvalue()
    committed = mo_path(lang).read_bytes()
    # Compare the parsed catalogues first for a readable failure, then the bytes.
    expected_messages = gettext.GNUTranslations(io.BytesIO(expected))._catalog  # type: ignore[attr-defined]
    committed_messages = gettext.GNUTranslations(io.BytesIO(committed))._catalog  # type: ignore[attr-defined]
    changed = sorted(
        str(key)
        for key in expected_messages.keys() | committed_messages.keys()
        if expected_messages.get(key) != committed_messages.get(key)
    )
    assert not changed, f"{lang}/messages.mo is out of date ({HOW_TO_FIX}); differing entries: {changed}"
    assert committed == expected, f"{lang}/messages.mo is out of date ({HOW_TO_FIX})"


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("fr", "Lien non reconnu"), ("es", "Enlace no reconocido")],
)
def test_error_page_is_translated(lang, heading):
    html = JinjaRenderer().render_page("error", lang, {"kind": "not_found", "status": 404})
    assert f"<h1>{heading}</h1>" in html
    assert f"<title>{heading}</title>" in html
    assert f'<html lang="{lang}">' in html
    assert "Link not recognised" not in html
    assert "Skip to main content" not in html


def test_invitation_email_is_translated():
    subject, html, text = JinjaRenderer().render_email(
        "invitation",
        "es",
        {
            "name": "María",
            "event_title": "Diálogo",
            "survey_url": "https://x/s/t",
            "unsubscribe_url": "https://x/u/t",
            "closes_on": None,
        },
    )
    assert subject == "Diálogo: nos interesa su opinión"
    assert "Estimado/a María:" in html and "Estimado/a María:" in text
    assert "Responder a la encuesta" in html and "Responder a la encuesta:" in text
    for part in (subject, html, text):
        assert "feedback" not in part and "Dear" not in part and "survey" not in part
