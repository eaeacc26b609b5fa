"""The registration list import: row-by-row validation of the CSV, then merging with stored participants."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.participants import (
    CSV_HEADER,
    email_key,
    merge_participants,
    parse_registration_csv,
)

HEADER = ",".join(CSV_HEADER)
COUNTRIES = {"FR", "KE", "CN", "SN", "MX", "GB", "US"}


def country_valid(code: str) -> bool:
    return code in COUNTRIES


GOOD = "ada@example.org,Ada Lovelace,Analytical Society,academia,GB,en,Europe/London,no"


def csv_of(*rows: str, header: str = HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def parse(*rows: str):
    return parse_registration_csv(csv_of(*rows), country_valid=country_valid)


def only_rejection(*rows: str) -> dict:
    parsed = parse(*rows)
    assert parsed.rows == [] or len(parsed.rows) == len(rows) - 1
    assert len(parsed.rejected) == 1, parsed.rejected
    return parsed.rejected[0]


# Header ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, missing",
    [
        ("email,organisation,stakeholder_group,country,language,timezone,sponsored", ["full_name"]),
        ("full_name,organisation,stakeholder_group,country,language", ["email"]),
        ("mail,name,org,group,nation,language", ["country"]),
        (GOOD, ["email", "full_name", "stakeholder_group", "country", "language"]),
    ],
)
def test_given_a_header_without_a_needed_column_then_the_whole_file_is_refused_naming_what_is_missing(header, missing):
    with pytest.raises(ValidationFailed) as caught:
        parse_registration_csv(csv_of(GOOD, header=header), country_valid=country_valid)
    assert caught.value.details["missing"] == missing
    assert HEADER in caught.value.message  # the message shows the header that always works


def test_given_an_empty_file_when_imported_then_it_is_refused():
    with pytest.raises(ValidationFailed, match="the file is empty"):
        parse_registration_csv("", country_valid=country_valid)


def test_given_a_header_with_a_byte_order_mark_when_imported_then_it_is_accepted():
    parsed = parse_registration_csv("\ufeff" + csv_of(GOOD), country_valid=country_valid)
    assert len(parsed.rows) == 1 and parsed.rejected == []


def test_given_unix_line_endings_and_no_final_newline_when_imported_then_rows_are_read():
    parsed = parse_registration_csv(HEADER + "\n" + GOOD, country_valid=country_valid)
    assert [r.email for r in parsed.rows] == ["ada@example.org"]


# Good rows ---------------------------------------------------------------------------------------


def test_given_a_good_row_when_imported_then_every_field_is_parsed():
    parsed = parse(GOOD)
    assert parsed.rejected == []
    (row,) = parsed.rows
    assert row.number == 2
    assert (row.email, row.full_name, row.organisation) == ("ada@example.org", "Ada Lovelace", "Analytical Society")
    assert (row.stakeholder_group, row.country, row.language) == ("academia", "GB", "en")
    assert row.timezone == "Europe/London"
    assert row.sponsored is False


def test_given_mixed_case_and_padding_when_imported_then_values_are_normalised():
    parsed = parse(" Wanjiru.K@Example.CO.KE , Wanjiru Kamau , KNBS ,Government, KE ,FR,, YES ")
    assert parsed.rejected == []
    (row,) = parsed.rows
    assert row.email == "wanjiru.k@example.co.ke"
    assert row.full_name == "Wanjiru Kamau" and row.organisation == "KNBS"
    assert row.stakeholder_group == "government"
    assert row.country == "KE"
    assert row.language == "fr"
    assert row.timezone == ""
    assert row.sponsored is True


def test_given_a_lower_case_country_and_a_case_blind_validator_then_it_is_stored_in_upper_case():
    parsed = parse_registration_csv(
        csv_of("li@example.cn,Li Wei,CASS,academia,cn,en,Asia/Shanghai,no"),
        country_valid=lambda c: c.strip().upper() in COUNTRIES,
    )
    assert [r.country for r in parsed.rows] == ["CN"]


def test_given_blank_lines_when_imported_then_they_are_skipped_and_row_numbers_follow_the_file():
    parsed = parse(GOOD, "", ",,,,,,,", "bo@example.org,Bo,Org,media,SN,fr,Africa/Dakar,yes")
    assert parsed.rejected == []
    assert [r.number for r in parsed.rows] == [2, 5]


# Rejected rows -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, reason",
    [
        ("ada@example,Ada,Org,academia,GB,en,,no", "invalid email"),
        ("ada.example.org,Ada,Org,academia,GB,en,,no", "invalid email"),
        ("ada @example.org,Ada,Org,academia,GB,en,,no", "invalid email"),
        ("<ada@example.org>,Ada,Org,academia,GB,en,,no", "invalid email"),
        ("ada@@example.org,Ada,Org,academia,GB,en,,no", "invalid email"),
        (",Ada,Org,academia,GB,en,,no", "invalid email"),
        ("ada@example.org,,Org,academia,GB,en,,no", "full_name"),
        ("ada@example.org,Ada,Org,journalist,GB,en,,no", "stakeholder_group"),
        ("ada@example.org,Ada,Org,academia,XX,en,,no", "country"),
        ("ada@example.org,Ada,Org,academia,GBR,en,,no", "country"),
        ("ada@example.org,Ada,Org,academia,GB,de,,no", "language"),
        ("ada@example.org,Ada,Org,academia,GB,en,Europe/Londres,no", "timezone"),
        ("ada@example.org,Ada,Org,academia,GB,en,GMT+1,no", "timezone"),
        ("ada@example.org,Ada,Org,academia,GB,en,,maybe", "sponsored"),
        ("ada@example.org,Ada,Org,academia,GB,en,no", "expected 8 fields, found 7"),
        ("ada@example.org,Ada,Org,academia,GB,en,,no,extra", "expected 8 fields, found 9"),
        ("ada@example.org,Ada," + "x" * 301 + ",academia,GB,en,,no", "longer than"),
        ('ada@example.org,"Ada\x00",Org,academia,GB,en,,no', "control character"),
    ],
)
def test_given_a_bad_row_when_imported_then_it_alone_is_rejected_with_its_number_and_reason(row, reason):
    parsed = parse(GOOD.replace("ada@", "first@"), row, "zed@example.org,Zed,Org,other,US,es,America/Chicago,no")
    assert [r.email for r in parsed.rows] == ["first@example.org", "zed@example.org"]
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0]["row"] == 3
    assert reason in parsed.rejected[0]["reason"]


def test_given_an_unknown_group_when_rejected_then_the_reason_lists_the_allowed_groups():
    rejection = only_rejection("ada@example.org,Ada,Org,journalists,GB,en,,no")
    assert "journalists" in rejection["reason"] and "civil_society" in rejection["reason"]


def test_given_an_email_repeated_in_the_file_then_the_repeat_names_the_first_row():
    parsed = parse(
        GOOD,
        "bo@example.org,Bo,Org,media,SN,fr,,yes",
        "  ADA@Example.org ,Ada L.,Other Org,academia,GB,en,,no",
    )
    assert [r.number for r in parsed.rows] == [2, 3]
    assert parsed.rejected == [{"row": 4, "column": "email", "reason": "email repeats row 2"}]


def test_given_an_email_whose_first_row_was_rejected_then_the_later_good_row_is_kept():
    parsed = parse("ada@example.org,Ada,Org,academia,GB,de,,no", GOOD)
    assert [r.number for r in parsed.rows] == [3]
    assert parsed.rejected[0]["row"] == 2


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        '=HYPERLINK("http://evil.example","click")',
        "+SUM(1,2)",
        "@cmd",
        "Zoë Ñúñez-Ołów 李伟",
        'O\'Brien "Bob"',
    ],
)
def test_given_markup_or_formula_like_names_then_they_are_kept_as_plain_data(name):
    quoted = '"' + name.replace('"', '""') + '"'
    parsed = parse(f"ada@example.org,{quoted},Org,academia,GB,en,,no")
    assert parsed.rejected == []
    assert parsed.rows[0].full_name == name


@pytest.mark.parametrize(
    "char",
    [
        "\x00",
        "\n",
        "\r",
        "\x07",
        "\x08",
        "\x1b",
        "\x7f",
        "\t",
        "\x85",
        "\x9b",
        "\u200b",
        "\u202e",
        "\u2066",
        "\ufeff",
        "\u2028",
        "\u2029",
    ],
    ids=["NUL", "LF", "CR", "BEL", "BS", "ESC", "DEL", "TAB", "NEL", "CSI", "ZWSP", "RLO", "LRI", "BOM", "LS", "PS"],
)
def test_given_a_control_character_inside_a_name_then_the_row_is_rejected(char):
    parsed = parse(f'ada@example.org,"Ada{char}Lovelace",Org,academia,GB,en,,no')
    assert parsed.rows == []
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0]["reason"].startswith("full_name must be one line of text: it holds ")
    assert f"(U+{ord(char):04X}) at character 4" in parsed.rejected[0]["reason"]


@pytest.mark.parametrize("column", range(len(CSV_HEADER)))
def test_given_a_control_character_in_any_column_then_the_row_is_rejected_for_it(column):
    cells = GOOD.split(",")
    cells[column] = cells[column][:1] + "\x1b" + cells[column][1:] if cells[column] else "\x1b"
    parsed = parse(",".join(cells))
    (refused,) = parsed.rejected
    assert refused["row"] == 2
    assert refused["reason"].startswith(f"{CSV_HEADER[column]} must be one line of text: it holds a control character")


@pytest.mark.parametrize("name", ["Zoë Ñúñez", "Ana\u00a0María", "Łukasz Żółw", "José-María O'Neil"])
def test_given_accents_and_no_break_spaces_then_they_are_not_control_characters(name):
    parsed = parse(f"ada@example.org,{name},Org,academia,GB,en,,no")
    assert parsed.rejected == [] and parsed.rows[0].full_name == name


def test_given_a_quoted_multi_line_field_then_the_rejection_names_the_row_where_the_record_starts():
    parsed = parse('ada@example.org,"Ada\nLovelace",Org,academia,GB,en,,no')
    reason = "full_name must be one line of text: it holds a line break (U+000A) at character 4"
    assert parsed.rejected == [{"row": 2, "column": "full_name", "reason": reason}]


def test_given_a_multi_line_record_then_the_rows_after_it_keep_their_spreadsheet_row_numbers():
    parsed = parse('ada@example.org,"Ada\nLovelace",Org,academia,GB,en,,no', "bo@example.org,Bo,Org,media,SN,fr,,maybe")
    assert [r["row"] for r in parsed.rejected] == [2, 3]


def test_given_a_multi_line_record_before_a_repeated_email_then_the_repeat_names_the_spreadsheet_row():
    parsed = parse(
        'first@example.org,"Multi\nLine",Org,academia,GB,en,,no',
        GOOD,
        "bo@example.org,Bo,Org,media,SN,fr,,yes",
        GOOD.replace("Ada Lovelace", "Ada L."),
    )
    assert [r.number for r in parsed.rows] == [3, 4]
    assert parsed.rejected == [
        {
            "row": 2,
            "column": "full_name",
            "reason": "full_name must be one line of text: it holds a line break (U+000A) at character 6",
        },
        {"row": 5, "column": "email", "reason": "email repeats row 3"},
    ]


def test_given_several_multi_line_records_then_good_rows_keep_their_spreadsheet_row_numbers():
    parsed = parse(
        'a@example.org,"A\r\nB",Org,academia,GB,en,,no',
        GOOD,
        'b@example.org,"C\n\nD",Org,academia,GB,en,,no',
        "bo@example.org,Bo,Org,media,SN,fr,,yes",
    )
    assert [r.number for r in parsed.rows] == [3, 5]
    assert [r["row"] for r in parsed.rejected] == [2, 4]


def test_given_an_unterminated_quote_then_it_never_raises_anything_but_validation_failed():
    try:
        parsed = parse('ada@example.org,"Ada,Org,academia,GB,en,,no')
    except ValidationFailed:
        return
    assert parsed.rows == []


csv_text = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12), min_size=0, max_size=10).map(
            lambda cells: ",".join(cells)
        ),
        max_size=6,
    ).map(lambda rows: "\n".join([HEADER, *rows])),
    st.lists(
        st.sampled_from(['"', ",", "\n", "\r", "\x00", "a@b.co", "media", "GB", "en", "yes", " ", "\ufeff"]),
        max_size=40,
    ).map(lambda parts: HEADER + "\n" + "".join(parts)),
)


@settings(max_examples=200, deadline=None)
@given(text=csv_text)
def test_given_arbitrary_text_when_imported_then_only_validation_failed_can_be_raised(text):
    try:
        parsed = parse_registration_csv(text, country_valid=country_valid)
    except ValidationFailed:
        return
    for row in parsed.rows:
        assert row.email == row.email.lower() and "@" in row.email
        assert row.country in COUNTRIES
    for rejection in parsed.rejected:
        assert isinstance(rejection["row"], int) and isinstance(rejection["reason"], str)


# Merging -----------------------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 6, 2, 12, 0, tzinfo=UTC)
SECRET = "email-secret"
ROWS = [
    GOOD,
    "bo@example.org,Bo Diallo,ENSAE,academia,SN,fr,Africa/Dakar,yes",
    "maria@example.mx,María López,INEGI,government,MX,es,,no",
]


def place(country: str) -> tuple[str, str]:
    return {"GB": ("europe_central_asia", "high"), "SN": ("sub_saharan_africa", "lower_middle")}.get(
        country, ("latin_america_caribbean", "upper_middle")
    )


def merge(rows, existing, now=NOW):
    return merge_participants("ev_1", rows, existing, secret=SECRET, now=now, place=place)


def test_given_two_imports_of_the_same_list_at_once_then_both_name_each_new_person_alike():
    # Both see nobody stored yet: the IDs they create must be the same, so their writes land on one item.
    first, second = merge(parse(*ROWS).rows, []), merge(parse(*ROWS).rows, [])
    assert [p.participant_id for p in first.to_write] == [p.participant_id for p in second.to_write]
    other_event = merge_participants("ev_2", parse(*ROWS).rows, [], secret=SECRET, now=NOW, place=place)
    assert not {p.participant_id for p in first.to_write} & {p.participant_id for p in other_event.to_write}
    assert all(re.fullmatch(r"pt_[0-9a-f]{16}", p.participant_id) for p in first.to_write)
    assert not any("example" in p.participant_id for p in first.to_write)


def test_given_a_new_list_when_merged_then_everyone_is_imported_with_region_and_hashed_email():
    result = merge(parse(*ROWS).rows, [])
    assert (result.imported, result.updated, result.unchanged) == (3, 0, 0)
    ids = [p.participant_id for p in result.to_write]
    assert len(set(ids)) == 3 and all(i.startswith("pt_") for i in ids)
    bo = next(p for p in result.to_write if p.email == "bo@example.org")
    assert (bo.region, bo.income_group, bo.sponsored) == ("sub_saharan_africa", "lower_middle", True)
    assert bo.email_key == email_key(SECRET, "BO@example.org ")
    assert bo.created_at == bo.updated_at == NOW


def test_given_the_same_list_twice_when_merged_then_nothing_new_is_created_and_ids_are_kept():
    first = merge(parse(*ROWS).rows, [])
    ids = {p.email: p.participant_id for p in first.to_write}
    second = merge(parse(*ROWS).rows, first.to_write, now=LATER)
    assert (second.imported, second.updated, second.unchanged) == (0, 0, 3)
    assert second.to_write == []
    assert {p.email: p.participant_id for p in first.to_write} == ids
    assert all(p.updated_at == NOW for p in first.to_write)


def test_given_a_changed_organisation_when_merged_then_only_that_person_is_updated_in_place():
    first = merge(parse(*ROWS).rows, [])
    ids = {p.email: p.participant_id for p in first.to_write}
    changed = [ROWS[0].replace("Analytical Society", "Royal Society"), *ROWS[1:]]
    second = merge(parse(*changed).rows, first.to_write, now=LATER)
    assert (second.imported, second.updated, second.unchanged) == (0, 1, 2)
    (ada,) = second.to_write
    assert ada.participant_id == ids["ada@example.org"]
    assert ada.organisation == "Royal Society"
    assert ada.created_at == NOW and ada.updated_at == LATER


def test_given_the_same_person_with_different_email_case_when_merged_then_it_is_the_same_participant():
    first = merge(parse(*ROWS).rows, [])
    again = merge(parse(ROWS[0].replace("ada@example.org", "ADA@Example.ORG")).rows, first.to_write)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 1)


def test_given_an_erased_participant_reimported_then_they_count_as_updated_and_are_no_longer_erased():
    first = merge(parse(*ROWS).rows, [])
    first.to_write[0].erased_at = NOW
    second = merge(parse(*ROWS).rows, first.to_write, now=LATER)
    assert (second.imported, second.updated, second.unchanged) == (0, 1, 2)
    assert second.to_write[0].erased_at is None


def test_given_a_new_person_alongside_known_ones_then_only_they_are_imported():
    first = merge(parse(*ROWS).rows, [])
    more = [*ROWS, "zed@example.org,Zed,Org,other,US,es,America/Chicago,no"]
    second = merge(parse(*more).rows, first.to_write, now=LATER)
    assert (second.imported, second.updated, second.unchanged) == (1, 0, 3)
    assert [p.email for p in second.to_write] == ["zed@example.org"]
