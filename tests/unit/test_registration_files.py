"""Registration lists as people hand them over: each encoding and separator, Excel's quoting, .xlsx, human
header names and values by label; and hostile files refused before they are read whole."""

from __future__ import annotations

import io
import string
import zipfile
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import countries, registration, workbook
from chalicelib.domain.errors import TooLarge, UnsupportedFile, ValidationFailed
from chalicelib.domain.participants import parse_registration
from chalicelib.domain.planning import read_list
from tests.support.registration_files import (
    FRENCH_HEADER,
    FRENCH_ROWS,
    HUMAN_HEADER,
    HUMAN_ROWS,
    text_file,
)
from tests.support.registration_files import (
    workbook as make_workbook,
)

CONTRACT_HEADER = "email,full_name,organisation,stakeholder_group,country,language,timezone,sponsored"


def accepted(upload: bytes, **kwargs):
    parsed = read_list(upload, **kwargs)
    assert parsed.rejected == [], parsed.rejected
    return parsed


# What was found: each of these is refused whole today ---------------------------------------------------
def test_a_french_excel_csv_in_windows_1252_with_semicolons_imports_every_row_and_says_so():
    raw = text_file(FRENCH_HEADER, FRENCH_ROWS, encoding="cp1252", delimiter=";")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # a real Windows-1252 file, not UTF-8 by luck
    parsed = accepted(raw)
    assert parsed.detected["encoding"] == "Windows-1252" and parsed.detected["separator"] == "semicolon"
    amelie, jose, li = parsed.rows
    assert (amelie.full_name, amelie.organisation) == ("Amélie Dupré", "Société « Générale »; Paris")
    assert (amelie.stakeholder_group, amelie.country, amelie.language, amelie.sponsored) == (
        "civil_society", "CI", "fr", True,
    )  # fmt: skip
    assert (jose.organisation, jose.stakeholder_group, jose.country, jose.language, jose.sponsored) == (
        'ONG "Sur"', "government", "CH", "es", False,
    )  # fmt: skip
    assert (li.stakeholder_group, li.country, li.language, li.sponsored) == ("academia", "VN", "en", False)
    assert parsed.detected["columns"]["first_name"] == "Prénom" and parsed.detected["columns"]["last_name"] == "Nom"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_excel_unicode_text_utf16_with_tabs_imports_every_row(encoding):
    parsed = accepted(text_file(HUMAN_HEADER, HUMAN_ROWS, encoding=encoding, delimiter="\t", bom=True))
    assert parsed.detected["separator"] == "tab"
    assert parsed.detected["encoding"] == {"utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE"}[encoding]
    assert [r.country for r in parsed.rows] == ["CH", "CI", "US", "TR"]


@pytest.mark.parametrize("bom, label", [(True, "UTF-8 with BOM"), (False, "UTF-8")])
def test_a_header_written_for_people_in_utf8_imports_every_row(bom, label):
    parsed = accepted(text_file(HUMAN_HEADER, HUMAN_ROWS, encoding="utf-8", delimiter=",", bom=bom))
    assert parsed.detected["encoding"] == label and parsed.detected["separator"] == "comma"
    assert parsed.detected["columns"] == dict(zip(registration.FIELDS, HUMAN_HEADER, strict=True))
    ada, bo, cy, di = parsed.rows
    assert (ada.organisation, ada.stakeholder_group, ada.language, ada.sponsored) == (
        "Analytical, Ltd", "civil_society", "en", True,
    )  # fmt: skip
    assert (bo.country, bo.language, bo.timezone, bo.sponsored) == ("CI", "fr", "Africa/Abidjan", False)
    assert (cy.stakeholder_group, cy.country, cy.language, cy.sponsored) == ("government", "US", "es", True)
    assert (di.country, di.sponsored) == ("TR", True)


def test_an_xlsx_from_a_registration_system_imports_every_row_from_its_first_sheet():
    rows = [[*row[:7], {"Yes": True, "No": False, "sí": "sí", "x": 1}[row[7]]] for row in HUMAN_ROWS]
    parsed = accepted(make_workbook(HUMAN_HEADER, rows, extra_sheets=1))
    assert parsed.detected["format"] == "xlsx" and parsed.detected["sheet"] == "Registrations"
    assert [r.sponsored for r in parsed.rows] == [True, False, True, True]
    assert [r.number for r in parsed.rows] == [2, 3, 4, 5]


def test_the_contract_header_keeps_working_unchanged_as_bytes_and_as_text():
    text = CONTRACT_HEADER + "\nada@example.org,Ada,Org,academia,GB,en,Europe/London,yes\n"
    for upload in (text, text.encode()):
        parsed = accepted(upload)
        assert parsed.detected["columns"] == {f: f for f in registration.FIELDS}
        assert parsed.detected["ignored_columns"] == []
        assert parsed.rows[0].country == "GB" and parsed.rows[0].sponsored is True


# Formats ---------------------------------------------------------------------------------------------------
def test_a_named_sheet_is_read_and_an_unknown_one_is_refused_listing_the_sheets():
    raw = make_workbook(HUMAN_HEADER, HUMAN_ROWS, extra_sheets=1)
    with pytest.raises(ValidationFailed) as caught:
        read_list(raw, sheet="Missing")
    assert caught.value.details == {"sheets": ["Registrations", "Notes 1"]}
    with pytest.raises(ValidationFailed, match="no column found"):
        read_list(raw, sheet="notes 1")


def test_xlsx_values_are_read_as_text_and_formulas_are_never_evaluated():
    header = ["Email", "Name", "Group", "Country", "Language", "Organisation"]
    rows = [
        ["ada@example.org", "Ada", "media", "CH", "en", "=1+1"],  # a formula: its cached value (none) is read
        ["bo@example.org", "Bo", "media", "CH", "en", 1234.0],
        ["cy@example.org", "Cy", "media", "CH", "en", date(2026, 5, 1)],
        ["di@example.org", "Di", "media", "CH", "en", datetime(2026, 5, 1, 9, 30)],
    ]
    parsed = accepted(make_workbook(header, rows))
    assert [r.organisation for r in parsed.rows] == ["", "1234", "2026-05-01", "2026-05-01 09:30:00"]


def test_a_workbook_whose_dimension_claims_every_column_is_read_by_its_cells():
    raw = make_workbook(HUMAN_HEADER, HUMAN_ROWS)
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<dimension ref="A1:H5" />', b'<dimension ref="A1:XFD1048576" />')
                assert b"XFD1048576" in data
            out.writestr(item, data)
    assert len(accepted(patched.getvalue()).rows) == 4


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x01\x02\x03" * 100,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,  # an old .xls
        b"%PDF-1.7\n" + bytes(range(256)),
        b"PK\x03\x04 not really a zip",
    ],
)
def test_a_file_that_is_neither_text_nor_a_workbook_is_unsupported(raw):
    with pytest.raises(UnsupportedFile):
        registration.read_table(raw)


def test_a_zip_that_is_not_a_workbook_is_unsupported():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UnsupportedFile, match=r"not an \.xlsx"):
        registration.read_table(out.getvalue())


# Limits and hostile files ----------------------------------------------------------------------------------
def bomb(name: str, size: int) -> bytes:
    """A workbook whose one part inflates to ``size`` bytes of zeros: a few kB on the wire."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open(name, "w", force_zip64=True) as part:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                part.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize(
    "name, size, reason",
    [
        ("xl/worksheets/sheet1.xml", 300 * 1024 * 1024, "expands more than"),
        ("xl/sharedStrings.xml", 60 * 1024 * 1024, "expands more than"),
    ],
)
def test_a_zip_bomb_is_refused_from_its_central_directory_before_openpyxl_reads_it(name, size, reason, monkeypatch):
    raw = bomb(name, size)
    assert len(raw) < 1024 * 1024
    monkeypatch.setattr("openpyxl.load_workbook", lambda *a, **k: pytest.fail("openpyxl opened a zip bomb"))
    with pytest.raises(TooLarge, match=reason):
        registration.read_table(raw)


def test_huge_shared_strings_are_refused_even_when_they_compress_modestly(monkeypatch):
    # openpyxl writes inline strings; Excel writes a shared-strings part, which openpyxl holds in memory.
    monkeypatch.setattr(workbook, "MAX_SHARED_STRINGS", 4096)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_workbook(HUMAN_HEADER, HUMAN_ROWS))) as src:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for item in src.infolist():
                copy.writestr(item, src.read(item.filename))
            strings = "".join(f"<si><t>person {n}</t></si>" for n in range(500))
            copy.writestr("xl/sharedStrings.xml", f"<sst>{strings}</sst>")
    with pytest.raises(TooLarge, match="shared strings"):
        registration.read_table(out.getvalue())


def test_a_workbook_of_too_many_parts_is_refused(monkeypatch):
    monkeypatch.setattr(workbook, "MAX_ENTRIES", 5)
    with pytest.raises(TooLarge, match="parts"):
        registration.read_table(make_workbook(HUMAN_HEADER, HUMAN_ROWS))


def test_over_the_size_limit_is_too_large_before_anything_is_decoded():
    with pytest.raises(TooLarge, match="10 MB"):
        registration.read_table(b"a" * (registration.MAX_BYTES + 1))


@pytest.mark.parametrize("kind", ["text", "xlsx"])
def test_over_the_row_limit_is_too_large(kind, monkeypatch):
    monkeypatch.setattr(registration, "MAX_ROWS", 3)
    monkeypatch.setattr(workbook, "MAX_ROWS", 3)
    raw = (
        text_file(HUMAN_HEADER, HUMAN_ROWS, encoding="utf-8", delimiter=",")
        if kind == "text"
        else make_workbook(HUMAN_HEADER, HUMAN_ROWS)
    )
    with pytest.raises(TooLarge, match="more than 3 rows"):
        registration.read_table(raw)


# Columns -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, field",
    [
        ("E-mail", "email"), ("Email address", "email"), ("Courriel", "email"), ("Correo electrónico", "email"),
        ("First name", "first_name"), ("Last name", "last_name"), ("Prénom", "first_name"), ("Nom", "last_name"),
        ("Nombre", "first_name"), ("Apellido(s)", "last_name"), ("Organization", "organisation"),
        ("Institution", "organisation"), ("Organisme", "organisation"), ("Organización", "organisation"),
        ("Stakeholder group", "stakeholder_group"), ("Group", "stakeholder_group"),
        ("Category", "stakeholder_group"), ("Sector", "stakeholder_group"), ("Catégorie", "stakeholder_group"),
        ("Categoría", "stakeholder_group"), ("Country", "country"), ("Pays", "country"), ("País", "country"),
        ("Language", "language"), ("Langue", "language"), ("Idioma", "language"), ("Time zone", "timezone"),
        ("Sponsored", "sponsored"), ("Funded", "sponsored"), ("  FULL_NAME ", "full_name"),
    ],
)  # fmt: skip
def test_usual_header_names_in_three_languages_are_matched(name, field):
    assert registration.guess_mapping([name]).columns == {field: 0}


@given(
    base=st.sampled_from(sorted(registration._HEADER_NAMES["email"] + registration._HEADER_NAMES["country"])),
    noise=st.lists(st.sampled_from([" ", "-", "_", ".", ":", "*", "(", ")"]), max_size=4),
    upper=st.booleans(),
)
def test_header_normalisation_ignores_case_spaces_and_punctuation(base, noise, upper):
    written = "".join(noise) + (base.upper() if upper else base) + "".join(noise)
    assert registration.normalise_header(written) == registration.normalise_header(base)
    assert registration.guess_mapping([written]).columns == registration.guess_mapping([base]).columns


@given(st.text(alphabet=string.ascii_letters + "éèàçñüÉ -_.", max_size=30))
def test_header_normalisation_is_idempotent_and_accent_blind(text):
    once = registration.normalise_header(text)
    assert registration.normalise_header(once) == once
    assert once.isascii() or not once or all(c.isalnum() for c in once)


def test_unknown_columns_are_ignored_and_listed():
    header = [*HUMAN_HEADER, "Dietary needs", "Badge printed"]
    raw = text_file(header, [[*row, "none", "yes"] for row in HUMAN_ROWS], encoding="utf-8", delimiter=",")
    assert accepted(raw).detected["ignored_columns"] == ["Dietary needs", "Badge printed"]


def test_an_explicit_mapping_overrides_the_guess():
    header = ["Contact", "Who", "Kind", "Where", "Speaks", "Sector"]
    raw = text_file(
        header, [["ada@example.org", "Ada", "media", "CH", "en", "private_sector"]], encoding="utf-8", delimiter=","
    )
    columns = {
        "email": "contact",
        "full_name": "Who",
        "stakeholder_group": "Kind",
        "country": "Where",
        "language": "Speaks",
    }
    parsed = accepted(raw, columns=columns)
    assert parsed.rows[0].stakeholder_group == "media"
    assert parsed.detected["ignored_columns"] == ["Sector"]
    with pytest.raises(ValidationFailed, match="no such column"):
        read_list(raw, columns={**columns, "email": "Mail"})
    with pytest.raises(ValidationFailed, match="unknown field"):
        read_list(raw, columns={**columns, "shoe_size": "Who"})


@pytest.mark.parametrize("text", ["[]", "nope", '{"email": 3}'])
def test_a_columns_parameter_that_is_not_an_object_of_names_is_refused(text):
    with pytest.raises(ValidationFailed, match="JSON object"):
        registration.parse_columns_parameter(text)


# Separator and encoding detection ----------------------------------------------------------------------------
cell = st.text(alphabet=string.ascii_letters + string.digits + " ,;\t\"'éàü€’«»", min_size=1, max_size=12).filter(
    lambda c: c.strip() == c
)


@given(
    # A header name never holds a separator; the data may hold all of them (quoted, as Excel does).
    header=st.lists(cell.filter(lambda c: not set(c) & set(",;\t")), min_size=2, max_size=6, unique=True),
    rows=st.lists(st.lists(cell, min_size=6, max_size=6), max_size=4),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(
        [("utf-8", False), ("utf-8", True), ("utf-16-le", True), ("utf-16-be", True), ("cp1252", False)]
    ),
)
def test_any_excel_style_file_is_read_back_cell_for_cell(header, rows, delimiter, encoding):
    rows = [row[: len(header)] for row in rows]
    codec, bom = encoding
    raw = text_file(header, rows, encoding=codec, delimiter=delimiter, bom=bom)
    table = registration.read_text_table(raw)
    assert table.header == header
    assert [cells for _, cells in table.rows] == [r for r in rows if any(c.strip() for c in r)]
    assert table.detected["separator"] == registration.SEPARATORS[delimiter]
    if codec == "cp1252" and raw.isascii():
        assert table.detected["encoding"] == "UTF-8"  # ASCII is both: the answer is UTF-8, and the text the same


@given(st.text(max_size=200))
def test_decoding_anything_gives_text_or_a_clear_refusal(text):
    for raw in (text.encode("utf-8"), text.encode("utf-16"), text.encode("utf-8", "surrogatepass")[::-1]):
        try:
            decoded, label = registration.decode_text(raw)
        except ValidationFailed:
            continue
        assert isinstance(decoded, str) and label


# Values -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "written, code",
    [
        ("CH", "CH"), ("che", "CH"), ("Switzerland", "CH"), ("Suisse", "CH"), ("Suiza", "CH"),
        ("Côte d'Ivoire", "CI"), ("Côte d’Ivoire", "CI"), ("Ivory Coast", "CI"), ("Costa de Marfil", "CI"),
        ("USA", "US"), ("United States of America", "US"), ("États-Unis", "US"), ("Estados Unidos", "US"),
        ("Viet Nam", "VN"), ("Vietnam", "VN"), ("Türkiye", "TR"), ("Turkey", "TR"), ("Turquie", "TR"),
        ("Royaume-Uni", "GB"), ("Allemagne", "DE"), ("México", "MX"), ("  brésil ", "BR"),
    ],
)  # fmt: skip
def test_a_country_is_read_from_its_code_or_its_name_in_three_languages(written, code):
    assert countries.resolve(written) == code


@pytest.mark.parametrize("written", ["", "Atlantis", "XX", "Europe"])
def test_an_unknown_country_is_none(written):
    assert countries.resolve(written) is None


@pytest.mark.parametrize(
    "written, code",
    [("Civil society", "civil_society"), ("Société civile", "civil_society"), ("sociedad civil", "civil_society"),
     ("civil_society", "civil_society"), ("Organisation internationale", "international_organization"),
     ("Secteur privé", "private_sector"), ("Médias", "media"), ("Otro", "other")],
)  # fmt: skip
def test_a_group_is_read_from_its_code_or_its_label(written, code):
    assert registration.stakeholder_group(written) == code


@pytest.mark.parametrize(
    "written, code",
    [("English", "en"), ("Français", "fr"), ("francais", "fr"), ("Español", "es"), ("Espagnol", "es"),
     ("Inglés", "en"), ("fr-CA", "fr"), ("en_GB", "en"), ("ES", "es")],
)  # fmt: skip
def test_a_language_is_read_from_its_code_or_its_name(written, code):
    assert registration.language(written) == code


@pytest.mark.parametrize("written", ["yes", "Oui", "SÍ", "si", "true", "1", "x", "X"])
def test_yes_in_any_of_its_forms(written):
    assert registration.yes_no(written) is True


@pytest.mark.parametrize("written", ["no", "Non", "false", "0", "", "  "])
def test_no_in_any_of_its_forms(written):
    assert registration.yes_no(written) is False


def test_a_rejected_row_names_its_row_its_column_and_the_reason():
    rows = [HUMAN_ROWS[0], [*HUMAN_ROWS[1][:4], "Atlantis", *HUMAN_ROWS[1][5:]], [*HUMAN_ROWS[2][:7], "peut-être"]]
    parsed = read_list(text_file(HUMAN_HEADER, rows, encoding="utf-8", delimiter=","))
    assert [r.email for r in parsed.rows] == ["ada@example.org"]
    assert [(r["row"], r["column"]) for r in parsed.rejected] == [(3, "Country"), (4, "Sponsored")]
    assert "Atlantis" in str(parsed.rejected[0]["reason"])


def test_emails_are_trimmed_and_compared_without_case():
    rows = [HUMAN_ROWS[0], [" ADA@Example.ORG ", *HUMAN_ROWS[0][1:]]]
    parsed = read_list(text_file(HUMAN_HEADER, rows, encoding="utf-8", delimiter=","))
    assert parsed.rows[0].email == "ada@example.org"
    assert parsed.rejected == [{"row": 3, "column": "Email", "reason": "email repeats row 2"}]


def test_parse_registration_takes_any_country_reader():
    table = registration.read_text_table(text_file(HUMAN_HEADER, HUMAN_ROWS[:1], encoding="utf-8", delimiter=","))
    parsed = parse_registration(table, lambda c: None)
    assert parsed.rows == [] and parsed.rejected[0]["column"] == "Country"


# The blank templates -----------------------------------------------------------------------------------------
def test_the_committed_xlsx_template_has_the_contract_header_and_its_example_imports():
    from chalicelib.api.dashboard.imports import TEMPLATE_FILE

    parsed = accepted(TEMPLATE_FILE.read_bytes())
    assert parsed.detected["columns"] == {f: f for f in registration.FIELDS}
    assert [r.email for r in parsed.rows] == ["ada@example.org"]


def test_the_csv_template_link_imports_as_it_is():
    from urllib.parse import unquote

    from chalicelib.api.dashboard.imports import template_links

    link = template_links()["csv"]
    parsed = accepted(unquote(link.split(",", 1)[1]).encode("utf-8"))
    assert parsed.detected["encoding"] == "UTF-8 with BOM" and len(parsed.rows) == 1
    assert template_links()["xlsx"].startswith("data:" + registration.XLSX_TYPE + ";base64,UEsDB")
