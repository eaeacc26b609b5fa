"""Erasure's scrub of a person's own free text: their name, its parts, their address and organisation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.reporting import personal_strings, scrub

PERSON = personal_strings("María-José Núñez", "mj.nunez@example.org", "Red de Migrantes")


def test_the_name_its_parts_the_address_and_the_organisation_go_in_any_case() -> None:
    text = "MARÍA-JOSÉ NÚÑEZ (mj.nunez@example.org, red de migrantes) says: ask María or write to mj.nunez."
    assert scrub(text, PERSON) == "[removed] ([removed], [removed]) says: ask [removed] or write to [removed]."


def test_only_whole_words_and_nothing_shorter_than_three_characters() -> None:
    assert scrub("Marianne and Núñezes stay", PERSON) == "Marianne and Núñezes stay"
    assert scrub("Li said hi", personal_strings("Li Wei", "li@example.org", "")) == "Li said hi"
    assert scrub("Wei said hi", personal_strings("Li Wei", "li@example.org", "")) == "[removed] said hi"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_text_without_the_persons_details_is_unchanged(text: str) -> None:
    words = {p.lower() for p in PERSON if len(p) >= 3}
    if not any(w in text.lower() for w in words):
        assert scrub(text, PERSON) == text
