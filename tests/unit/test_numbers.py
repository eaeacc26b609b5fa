"""Spelled-out numbers and per-cent phrases as they appear in report sentences, in en, fr and es."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.numbers import LANGUAGES, percent_phrase, report_percent, spell

KNOWN = {
    "en": {0: "zero", 13: "thirteen", 21: "twenty-one", 40: "forty", 98: "ninety-eight", 100: "one hundred"},
    "fr": {
        0: "zéro",
        16: "seize",
        17: "dix-sept",
        21: "vingt et un",
        70: "soixante-dix",
        71: "soixante et onze",
        72: "soixante-douze",
        80: "quatre-vingts",
        81: "quatre-vingt-un",
        90: "quatre-vingt-dix",
        91: "quatre-vingt-onze",
        98: "quatre-vingt-dix-huit",
        99: "quatre-vingt-dix-neuf",
        100: "cent",
    },
    "es": {
        0: "cero",
        15: "quince",
        16: "dieciséis",
        20: "veinte",
        21: "veintiuno",
        22: "veintidós",
        23: "veintitrés",
        26: "veintiséis",
        30: "treinta",
        31: "treinta y uno",
        98: "noventa y ocho",
        100: "cien",
    },
}
# More French and English forms that trip up hand-written spellers.
KNOWN["fr"].update({31: "trente et un", 41: "quarante et un", 51: "cinquante et un", 61: "soixante et un"})
KNOWN["fr"].update({11: "onze", 22: "vingt-deux", 60: "soixante", 77: "soixante-dix-sept", 85: "quatre-vingt-cinq"})
KNOWN["en"].update({15: "fifteen", 19: "nineteen", 50: "fifty", 85: "eighty-five", 96: "ninety-six"})
KNOWN["es"].update({25: "veinticinco", 29: "veintinueve", 40: "cuarenta", 85: "ochenta y cinco", 99: "noventa y nueve"})


@pytest.mark.parametrize(
    ("lang", "n", "words"), [(lang, n, words) for lang, table in KNOWN.items() for n, words in table.items()]
)
def test_known_spellings(lang: str, n: int, words: str) -> None:
    assert spell(n, lang) == words


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_spelling_is_clean(lang: str) -> None:
    for n in range(101):
        words = spell(n, lang)
        assert words == words.strip() and words == words.lower(), (n, words)
        assert "  " not in words and "--" not in words, (n, words)
        assert not words.endswith("-") and not words.startswith("-"), (n, words)
        assert not any(ch.isdigit() for ch in words), (n, words)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_spelling_is_distinct(lang: str) -> None:
    assert len({spell(n, lang) for n in range(101)}) == 101


@given(st.sampled_from(LANGUAGES), st.integers(0, 100), st.integers(0, 100))
def test_spelling_is_unique_per_number(lang: str, a: int, b: int) -> None:
    assert (spell(a, lang) == spell(b, lang)) == (a == b)


@pytest.mark.parametrize(("n", "lang"), [(-1, "en"), (101, "fr"), (1000, "es"), (5, "de"), (5, ""), (5, "EN")])
def test_spell_rejects_out_of_range_and_unknown_languages(n: int, lang: str) -> None:
    with pytest.raises(ValueError, match=r"is outside 0\.\.100|unknown language"):
        spell(n, lang)


def test_spell_rejects_non_integers() -> None:
    with pytest.raises(TypeError, match="expected an int"):
        spell(98.0, "en")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected an int"):
        spell(True, "en")


@pytest.mark.parametrize(
    ("pct", "lang", "start", "qualifier", "phrase"),
    [
        (98, "en", True, None, "Ninety-eight per cent"),
        (96, "en", False, None, "96 per cent"),
        (85, "en", False, "over", "over 85 per cent"),
        (85, "en", True, "over", "Over eighty-five per cent"),
        (85, "en", False, "almost", "almost 85 per cent"),
        (85, "en", True, "almost", "Almost eighty-five per cent"),
        (100, "en", True, None, "One hundred per cent"),
        (98, "fr", True, None, "Quatre-vingt-dix-huit pour cent"),
        (96, "fr", False, None, "96 pour cent"),
        (85, "fr", False, "over", "plus de 85 pour cent"),
        (85, "fr", True, "over", "Plus de quatre-vingt-cinq pour cent"),
        (85, "fr", False, "almost", "près de 85 pour cent"),
        (85, "fr", True, "almost", "Près de quatre-vingt-cinq pour cent"),
        (80, "fr", True, None, "Quatre-vingts pour cent"),
        (98, "es", True, None, "Noventa y ocho por ciento"),
        (96, "es", False, None, "96 por ciento"),
        (85, "es", False, "over", "más del 85 por ciento"),
        (85, "es", True, "over", "Más del ochenta y cinco por ciento"),
        (85, "es", False, "almost", "casi el 85 por ciento"),
        (85, "es", True, "almost", "Casi el ochenta y cinco por ciento"),
        (100, "es", True, None, "Cien por ciento"),
    ],
)
def test_percent_phrases(pct: int, lang: str, start: bool, qualifier: str | None, phrase: str) -> None:
    assert percent_phrase(pct, lang, sentence_start=start, qualifier=qualifier) == phrase


def test_the_seed_sentence() -> None:
    sentence = (
        f"{percent_phrase(98, 'en', sentence_start=True)} of respondents indicated that the workshop had "
        f"furthered mutual learning among governments and other actors, "
        f"{percent_phrase(96, 'en', sentence_start=False)} that it had helped enhance understanding of the "
        f"issues, and {percent_phrase(85, 'en', sentence_start=False, qualifier='over')} that it had served "
        "to identify measures of international cooperation and effective policies."
    )

    assert sentence.startswith("Ninety-eight per cent of respondents")
    assert ", 96 per cent that" in sentence and ", and over 85 per cent that" in sentence


@pytest.mark.parametrize(
    ("pct", "lang", "qualifier"), [(101, "en", None), (-1, "fr", None), (50, "it", None), (50, "en", "about")]
)
def test_percent_phrase_rejects_bad_input(pct: int, lang: str, qualifier: str | None) -> None:
    with pytest.raises(ValueError, match=r"is outside 0\.\.100|unknown language|unknown qualifier"):
        percent_phrase(pct, lang, sentence_start=False, qualifier=qualifier)


@pytest.mark.parametrize(("pct", "qualifier"), [(100, "over"), (0, "almost")])
def test_percent_phrase_rejects_impossible_qualifiers(pct: int, qualifier: str) -> None:
    with pytest.raises(ValueError, match="cannot qualify"):
        percent_phrase(pct, "en", sentence_start=True, qualifier=qualifier)


@given(st.sampled_from(LANGUAGES), st.integers(0, 100), st.booleans(), st.sampled_from([None, "over", "almost"]))
def test_phrases_read_cleanly(lang: str, pct: int, start: bool, qualifier: str | None) -> None:
    if (qualifier, pct) in (("over", 100), ("almost", 0)):
        return
    phrase = percent_phrase(pct, lang, sentence_start=start, qualifier=qualifier)

    assert "  " not in phrase and phrase == phrase.strip()
    assert phrase[0].isupper() if start else phrase[0].islower() or phrase[0].isdigit()
    assert (str(pct) in phrase) != start


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        (98.0, (98, None)),
        (97.6, (98, None)),
        (96.4, (96, None)),
        (84.5, (85, None)),
        (0.5, (1, None)),
        (0.49, (0, None)),
        (99.5, (100, None)),
        (100.0, (100, None)),
        (0.0, (0, None)),
        (2.5, (3, None)),
    ],
)
def test_report_percent_exact_rounds_half_up(pct: float, expected: tuple[int, str | None]) -> None:
    assert report_percent(pct) == expected


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        (87.3, (85, "over")),
        (85.1, (85, "over")),
        (89.99, (85, "over")),
        (85.0, (85, None)),
        (17 / 20 * 100, (85, None)),
        (0.1 * 3 * 100, (30, None)),
        (100.0, (100, None)),
        (5.2, (5, "over")),
        (4.9, (5, None)),
        (3.2, (3, None)),
    ],
)
def test_report_percent_over_floors_to_a_multiple_of_five(pct: float, expected: tuple[int, str | None]) -> None:
    assert report_percent(pct, style="over") == expected


@pytest.mark.parametrize(("pct", "style"), [(-0.1, "exact"), (100.1, "exact"), (float("nan"), "exact"), (50, "about")])
def test_report_percent_rejects_bad_input(pct: float, style: str) -> None:
    with pytest.raises(ValueError, match=r"is not a percentage in 0\.\.100|unknown style"):
        report_percent(pct, style=style)


@given(st.floats(0, 100, allow_nan=False), st.sampled_from(["exact", "over"]))
def test_reported_figure_is_truthful(pct: float, style: str) -> None:
    n, qualifier = report_percent(pct, style=style)

    assert 0 <= n <= 100
    if qualifier is None:
        assert abs(n - pct) <= 0.5 + 1e-9
    else:
        assert qualifier == "over" and n % 5 == 0 and n < pct < n + 5
    # Whatever comes out can be phrased.
    percent_phrase(n, "en", sentence_start=True, qualifier=qualifier)
