"""Reference codes of paper forms: printed the same way every time, read back however they are typed, and a
code with one wrong character or two swapped neighbours is refused rather than read as somebody else's."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.paper import ALPHABET, normalise_code, reference_code

ids = st.text(alphabet="abcdef0123456789_", min_size=1, max_size=20)


@given(wave=ids, person=ids)
def test_a_code_is_nine_symbols_and_reads_back_however_it_is_typed(wave, person):
    code = reference_code("secret", wave, person)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U]", code)
    assert normalise_code(code) == code
    assert normalise_code(code.lower().replace("-", " ")) == code
    assert normalise_code(f"  {code.replace('-', '')}  ") == code
    assert reference_code("secret", wave, person) == code
    assert reference_code("another secret", wave, person) != code or wave == person  # keyed


@given(wave=ids, person=ids, position=st.integers(0, 7), replacement=st.sampled_from(ALPHABET))
def test_one_wrong_character_is_refused(wave, person, position, replacement):
    body = reference_code("secret", wave, person).replace("-", "")
    if body[position] == replacement:
        return
    typed = body[:position] + replacement + body[position + 1 :]
    assert normalise_code(typed) is None


@given(wave=ids, person=ids, position=st.integers(0, 6))
def test_two_swapped_neighbours_are_refused(wave, person, position):
    body = reference_code("secret", wave, person).replace("-", "")
    if body[position] == body[position + 1]:
        return
    typed = body[:position] + body[position + 1] + body[position] + body[position + 2 :]
    assert normalise_code(typed) is None


def test_letters_that_look_like_digits_read_as_digits_and_other_text_is_not_a_code():
    code = reference_code("secret", "wv_1", "p_1")
    looks_alike = code.replace("0", "O").replace("1", "l")
    assert normalise_code(looks_alike) == code
    for typed in ("", "ABCD", code + "X", "ABCD-EFGH-!", "ÀBCD-EFGH-1", code.replace("-", "")[:8]):
        assert normalise_code(typed) is None
