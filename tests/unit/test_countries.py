"""The shipped country table: lookups a participant import relies on, and the shape of every entry."""

from __future__ import annotations

import zoneinfo

import pytest

from chalicelib.domain import countries
from chalicelib.domain.countries import GLOBAL_GROUPS, INCOME_GROUPS, REGIONS, Country, is_valid, lookup


@pytest.mark.parametrize(
    ("code", "region", "income_group", "timezone", "global_group"),
    [
        ("KE", "sub_saharan_africa", "lower_middle", "Africa/Nairobi", "south"),
        ("CH", "europe_central_asia", "high", "Europe/Zurich", "north"),
        ("US", "north_america", "high", "America/New_York", "north"),
        ("BR", "latin_america_caribbean", "upper_middle", "America/Sao_Paulo", "south"),
        ("IN", "south_asia", "lower_middle", "Asia/Kolkata", "south"),
        ("RU", "europe_central_asia", "high", "Europe/Moscow", "north"),
        ("UA", "europe_central_asia", "upper_middle", "Europe/Kyiv", "south"),
        ("AU", "east_asia_pacific", "high", "Australia/Sydney", "north"),
        ("CA", "north_america", "high", "America/Toronto", "north"),
        ("MT", "middle_east_north_africa", "high", "Europe/Malta", "north"),
        ("TR", "europe_central_asia", "upper_middle", "Europe/Istanbul", "south"),
        ("SD", "sub_saharan_africa", "low", "Africa/Khartoum", "south"),
        ("VE", "latin_america_caribbean", "unclassified", "America/Caracas", "south"),
    ],
)
def test_known_countries(code: str, region: str, income_group: str, timezone: str, global_group: str) -> None:
    country = lookup(code)

    assert country is not None
    assert (country.region, country.income_group, country.timezone, country.global_group) == (
        region,
        income_group,
        timezone,
        global_group,
    )


def test_kenya_in_full() -> None:
    assert lookup("KE") == Country(
        code="KE",
        name="Kenya",
        region="sub_saharan_africa",
        income_group="lower_middle",
        timezone="Africa/Nairobi",
        global_group="south",
    )


@pytest.mark.parametrize("code", ["ke", " KE ", "Ke", "\tke\n"])
def test_lookup_ignores_case_and_surrounding_spaces(code: str) -> None:
    country = lookup(code)

    assert country is not None and country.code == "KE"
    assert is_valid(code)


@pytest.mark.parametrize("code", ["XX", "", "   ", "usa", "USA", "K", "K E", "GBR", "UK", "EU", "12"])
def test_unknown_codes(code: str) -> None:
    assert lookup(code) is None
    assert not is_valid(code)


def test_table_covers_every_country() -> None:
    assert len(countries.all_countries()) >= 240


def test_every_entry_is_complete_and_valid() -> None:
    available = zoneinfo.available_timezones()

    for country in countries.all_countries():
        assert len(country.code) == 2 and country.code.isupper(), country
        assert country.name.strip(), country
        assert country.region in REGIONS, country
        assert country.income_group in INCOME_GROUPS, country
        assert country.global_group in GLOBAL_GROUPS, country
        assert country.timezone in available, country


def test_global_north_is_high_income() -> None:
    for country in countries.all_countries():
        if country.income_group == "high":
            assert country.global_group == "north", country
        elif country.income_group != "unclassified":
            assert country.global_group == "south", country


def test_only_antarctica_has_no_region() -> None:
    assert [c.code for c in countries.all_countries() if c.region == "unknown"] == ["AQ"]


def test_every_region_and_income_group_is_used() -> None:
    table = countries.all_countries()

    assert {c.region for c in table} == set(REGIONS)
    assert {c.income_group for c in table} == set(INCOME_GROUPS)
