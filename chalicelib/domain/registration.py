"""Reading a registration list as registration systems and Excel write it.

A list arrives as bytes: text (CSV, TSV, "Unicode text") in any common encoding and separator, or an .xlsx
workbook (read by ``chalicelib.domain.workbook``). Either becomes a ``Table``: a header, numbered rows of
text cells, and what was detected. The header is matched to our fields by a normalised name (case, accents,
spaces and punctuation ignored) in English, French or Spanish, unless an explicit mapping names the columns.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.errors import TooLarge, UnsupportedFile, ValidationFailed

MAX_BYTES = 10 * 1024 * 1024  # the largest upload, in bytes
MAX_ROWS = 20000  # the most records a list may hold (the header not counted)
MAX_COLUMNS = 200  # cells beyond this are never read: no list has that many columns

# Our fields, in the contract's order, plus the two halves of a name that registration systems split.
FIELDS = (
    "email",
    "full_name",
    "organisation",
    "stakeholder_group",
    "country",
    "language",
    "timezone",
    "sponsored",
)
NAME_PARTS = ("first_name", "last_name")
MAPPABLE = FIELDS + NAME_PARTS
REQUIRED = ("email", "stakeholder_group", "country", "language")  # and a name: full_name or its parts

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The bodies the import route takes; the file itself is sniffed, whatever its label says.
UPLOAD_TYPES = (
    "text/csv",
    "text/plain",
    "application/csv",
    "text/tab-separated-values",
    XLSX_TYPE,
    "application/octet-stream",
)
# Bodies that API Gateway must hand over as bytes: a workbook, and a form that carries one (or a list in
# Windows-1252). Never a type that a response uses (a binary response needs a matching Accept header).
BINARY_REQUEST_TYPES = (XLSX_TYPE, "multipart/form-data")


@dataclass
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (spreadsheet row number, cells)
    detected: dict[str, Any] = field(default_factory=dict)


def normalise_header(name: str) -> str:
    """A header name reduced to what a person means by it: no case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed.casefold() if c.isalnum() and not unicodedata.combining(c))


def normalise_value(value: str) -> str:
    """A cell value compared as a label: no case, no accents, spaces and punctuation squeezed out."""
    return normalise_header(value)


# The usual column names, written as people write them; normalised once below.
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e-mail", "email address", "e-mail address", "mail", "courriel", "adresse courriel",
        "adresse électronique", "adresse e-mail", "adresse mail", "correo", "correo electrónico",
        "dirección de correo", "dirección de correo electrónico", "email_address",
    ),
    "full_name": (
        "full_name", "full name", "name", "participant", "participant name", "nom complet", "nom et prénom",
        "prénom et nom", "nombre completo", "nombre y apellido", "nombre y apellidos", "attendee name",
    ),
    "first_name": ("first name", "given name", "forename", "prénom", "prenom", "nombre", "nombres"),
    "last_name": (
        "last name", "surname", "family name", "nom", "nom de famille", "apellido", "apellidos", "apellido(s)",
    ),
    "organisation": (
        "organisation", "organization", "institution", "organisme", "organización", "organismo", "institución",
        "affiliation", "company", "employer", "entreprise", "empresa", "organisation name", "organization name",
    ),
    "stakeholder_group": (
        "stakeholder_group", "stakeholder group", "stakeholder", "group", "category", "sector", "catégorie",
        "categoría", "groupe", "grupo", "secteur", "constituency", "partie prenante", "groupe de parties prenantes",
        "grupo de interés", "participant type", "type de participant", "tipo de participante",
    ),
    "country": (
        "country", "pays", "país", "country of residence", "country/region", "pays de résidence",
        "país de residencia", "country code",
    ),
    "language": (
        "language", "langue", "idioma", "lengua", "preferred language", "langue préférée", "idioma preferido",
        "language code",
    ),
    "timezone": ("timezone", "time zone", "tz", "fuseau horaire", "zona horaria", "huso horario"),
    "sponsored": (
        "sponsored", "funded", "sponsorisé", "financé", "pris en charge", "patrocinado", "financiado", "becado",
        "sponsorship", "funding",
    ),
}  # fmt: skip
HEADER_ALIASES: dict[str, str] = {
    normalise_header(name): field_name for field_name, names in _HEADER_NAMES.items() for name in names
}


# Decoding ---------------------------------------------------------------------------------------------------
def decode_text(raw: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in: a byte order mark (UTF-8, UTF-16 LE/BE) decides; else UTF-8
    when the bytes are valid UTF-8; else Windows-1252 (what Excel writes as "CSV" in Western locales)."""
    boms = (
        (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 with BOM"),
        (b"\xff\xfe", "utf-16-le", "UTF-16 LE"),
        (b"\xfe\xff", "utf-16-be", "UTF-16 BE"),
    )
    for bom, codec, label in boms:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(codec), label
            except UnicodeDecodeError:
                raise ValidationFailed(f"the file starts as {label} but is not valid {label}") from None
    head = raw[:4096]
    if head.count(b"\x00") * 10 > len(head):  # binary, or UTF-16 without its byte order mark
        raise UnsupportedFile(
            "the file is neither text nor an .xlsx workbook: send a CSV, a tab-separated text or an .xlsx file"
        )
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        raise UnsupportedFile(
            "the file is neither UTF-8, UTF-16 nor Windows-1252 text, nor an .xlsx workbook"
        ) from None


def detect_separator(text: str) -> str:
    """The separator of the header line: whichever of comma, semicolon and tab occurs most outside quotes
    (comma on a tie, as in a one-column file)."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "\r\n":
            if any(counts.values()):
                break
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts.values())
    if best == 0:
        return ","
    return next(sep for sep, n in counts.items() if n == best)


def read_text_table(raw: bytes) -> Table:
    """A text list as a table: encoding and separator detected, Excel-style quoting understood."""
    text, encoding = decode_text(raw)
    separator = detect_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationFailed("the file is empty; expected a header row, such as " + ",".join(FIELDS)) from None
    except csv.Error as exc:
        raise ValidationFailed(f"the file cannot be read: {exc}") from None
    table = Table(
        header=header[:MAX_COLUMNS],
        detected={"format": "text", "encoding": encoding, "separator": SEPARATORS[separator]},
    )
    try:
        # Spreadsheet row numbers: the header is row 1 and each record is one row, even when a quoted
        # field spans several physical lines.
        for number, line in enumerate(reader, start=2):
            if not any(cell.strip() for cell in line):
                continue
            if len(table.rows) >= MAX_ROWS:
                raise TooLarge(f"the list has more than {MAX_ROWS} rows; split it")
            table.rows.append((number, line))
    except csv.Error as exc:
        raise ValidationFailed(f"the file cannot be read near line {reader.line_num}: {exc}") from None
    return table


def is_workbook(raw: bytes) -> bool:
    return raw.startswith(b"PK\x03\x04")


def read_table(raw: bytes, *, sheet: str | None = None) -> Table:
    """Any accepted upload as a table: an .xlsx workbook (its first sheet, or ``sheet``) or text."""
    if len(raw) > MAX_BYTES:
        raise TooLarge(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it")
    if not raw.strip():
        raise ValidationFailed("the file is empty; expected a header row, such as " + ",".join(FIELDS))
    if is_workbook(raw):
        from chalicelib.domain import workbook  # openpyxl only for workbooks: keep it off the cold start

        return workbook.read_workbook(raw, sheet=sheet)
    if raw.startswith((b"\xd0\xcf\x11\xe0", b"%PDF")):
        raise UnsupportedFile("an old .xls workbook or a PDF cannot be read: save the list as .xlsx or CSV")
    return read_text_table(raw)


# Mapping ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mapping_:
    """Which column (by index) feeds each of our fields, and the columns nobody reads."""

    columns: dict[str, int]
    ignored: list[str]

    def view(self, header: list[str]) -> dict[str, str]:
        return {name: header[index] for name, index in self.columns.items()}


def guess_mapping(header: list[str]) -> Mapping_:
    """Each header name matched to a field by its normalised name; the first column wins a field."""
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, name in enumerate(header):
        field_name = HEADER_ALIASES.get(normalise_header(name))
        if field_name is None or field_name in columns:
            if name.strip():
                ignored.append(name)
            continue
        columns[field_name] = index
    return Mapping_(columns, ignored)


def explicit_mapping(header: list[str], chosen: Mapping[str, str]) -> Mapping_:
    """Our field names to the file's header names, as an admin chose them (header names compared like the
    automatic match, so ``E-mail`` finds ``e-mail ``)."""
    unknown = sorted(set(chosen) - set(MAPPABLE))
    if unknown:
        raise ValidationFailed(
            f"unknown field(s) in the column mapping: {', '.join(unknown)}; the fields are {', '.join(MAPPABLE)}"
        )
    by_name: dict[str, int] = {}
    for index, name in enumerate(header):
        by_name.setdefault(normalise_header(name), index)
    columns: dict[str, int] = {}
    for field_name, column in chosen.items():
        if not isinstance(column, str):
            raise ValidationFailed(f"the column mapping for {field_name} must be a header name")
        if not column.strip():
            continue
        found = by_name.get(normalise_header(column))
        if found is None:
            raise ValidationFailed(
                f"the column mapping names {column!r} for {field_name}, but the header has no such column",
                details={"header": header},
            )
        columns[field_name] = found
    used = set(columns.values())
    ignored = [name for index, name in enumerate(header) if index not in used and name.strip()]
    return Mapping_(columns, ignored)


def missing_fields(mapped: Iterable[str]) -> list[str]:
    """The needed fields that no column feeds, in the contract's order (a name may come in two parts)."""
    present = set(mapped)
    if present & set(NAME_PARTS):
        present.add("full_name")
    return [f for f in FIELDS if (f in REQUIRED or f == "full_name") and f not in present]


def check_mapping(header: list[str], mapping: Mapping_) -> None:
    missing = missing_fields(mapping.columns)
    if missing:
        raise ValidationFailed(
            "no column found for "
            + ", ".join(missing)
            + ". Name the columns as in the template (for example "
            + ",".join(FIELDS)
            + "), or say which column is which",
            details={"header": header, "missing": missing},
        )


def parse_columns_parameter(text: str) -> dict[str, str]:
    """The ``columns`` query parameter: a JSON object, ``{"email": "Courriel", "country": "Pays"}``."""
    import json

    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationFailed('columns must be a JSON object, such as {"email": "Courriel"}') from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValidationFailed('columns must be a JSON object of header names, such as {"email": "Courriel"}')
    return {str(k): v for k, v in value.items()}


def first_rows(table: Table, count: int = 5) -> list[list[str]]:
    return [cells for _, cells in table.rows[:count]]


def template_rows() -> Iterable[list[str]]:
    yield list(FIELDS)


# Values -----------------------------------------------------------------------------------------------------
_GROUP_LABELS: dict[str, tuple[str, ...]] = {
    "government": ("government", "gouvernement", "gobierno", "public sector", "secteur public", "sector público"),
    "civil_society": (
        "civil society", "société civile", "sociedad civil", "ngo", "ong", "non-governmental organization",
        "organisation non gouvernementale", "organización no gubernamental", "cso",
    ),
    "academia": (
        "academia", "academic", "research", "university", "milieu universitaire", "université", "recherche",
        "universitaire", "académico", "mundo académico", "universidad", "investigación",
    ),
    "media": ("media", "press", "médias", "presse", "medios", "medios de comunicación", "prensa"),
    "international_organization": (
        "international organization", "international organisation", "intergovernmental organization", "igo",
        "organisation internationale", "organización internacional", "organisme international",
    ),
    "private_sector": (
        "private sector", "business", "industry", "secteur privé", "entreprise", "sector privado", "empresa",
        "empresas",
    ),
    "other": ("other", "autre", "otro", "otra", "otros"),
}  # fmt: skip
GROUP_VALUES: dict[str, str] = {
    normalise_value(label): code for code, labels in _GROUP_LABELS.items() for label in (code, *labels)
}
_LANGUAGE_LABELS: dict[str, tuple[str, ...]] = {
    "en": ("english", "anglais", "inglés", "eng"),
    "fr": ("french", "français", "francés", "fra", "fre"),
    "es": ("spanish", "espagnol", "español", "castellano", "spa"),
}
LANGUAGE_VALUES: dict[str, str] = {
    normalise_value(label): code for code, labels in _LANGUAGE_LABELS.items() for label in (code, *labels)
}
_YES = {"yes", "y", "oui", "o", "si", "true", "vrai", "verdadero", "1", "x"}
_NO = {"no", "n", "non", "false", "faux", "falso", "0", ""}


def stakeholder_group(value: str) -> str | None:
    return GROUP_VALUES.get(normalise_value(value))


def language(value: str) -> str | None:
    """A language by code (``fr``, ``fr-CA``, ``fr_FR``) or by name in English, French or Spanish."""
    found = LANGUAGE_VALUES.get(normalise_value(value))
    if found is None:
        head = value.strip().replace("_", "-").split("-")[0]
        if head != value.strip():
            found = LANGUAGE_VALUES.get(normalise_value(head))
    return found


def yes_no(value: str) -> bool | None:
    key = normalise_value(value)
    if key in _YES:
        return True
    if key in _NO:
        return False
    return None
